//! What the main stream is sent as, by what its pictures show: a camera at the configured size,
//! rate and bitrate; a shared screen at its own shape and size (up to the source's 1920×1080),
//! 5 to 15 frames a second, with a bitrate for text, stepping down first in frame rate (text
//! needs its pixels more than its motion), then in size.

use super::PublisherConfig;
use super::content::VideoContent;
use crate::adapt::{Ladder, Rung};
use crate::frame::even;

/// Fewest frames a second a screen is sent at.
pub const SCREEN_MIN_FPS: u32 = 5;
/// Most frames a second a screen is sent at: a scrolled page or a played video stays readable.
pub const SCREEN_MAX_FPS: u32 = 15;
/// Frames a second of a screen's lowest rungs: a still page, refreshed.
pub const SCREEN_FLOOR_FPS: u32 = 3;
/// A 1280×720 screen at 5 fps is legible (SSIM ≥ 0.95 at the viewer, `cargo xtask bench
/// media`) within this many kbit/s; other sizes and rates scale from it.
pub const SCREEN_KBPS_720P5: u32 = 800;
/// How a screen's bitrate grows with its frame rate: 1,200 kbit/s kept 1280×720 at 15 fps as
/// sharp as 800 at 5 (`3^0.37 ≈ 1.5`); later frames mostly repeat the page.
pub const SCREEN_FPS_EXPONENT: f64 = 0.37;
/// How a screen's bitrate grows with its pixels, the camera ladder's own exponent: 1,470 kbit/s
/// for 1920×1080 at 5 fps (`2.25^0.75 ≈ 1.84`), where 1,500 measured SSIM 0.97–0.99.
pub const SCREEN_PIXEL_EXPONENT: f64 = crate::adapt::PIXEL_RATE_EXPONENT;
/// Sizes a screen steps down to, as fractions of its own (numerator, denominator).
pub const SCREEN_SCALES: [(u32, u32); 2] = [(2, 3), (1, 2)];

/// The top rung for a screen whose pictures are `width`×`height`, with `fps` asked for.
pub fn screen_rung(width: u32, height: u32, fps: u32) -> Rung {
    Rung::new(
        even(width),
        even(height),
        fps.clamp(SCREEN_MIN_FPS, SCREEN_MAX_FPS),
    )
}

/// The bitrate that keeps text on `rung` legible, kbit/s.
pub fn screen_kbps(rung: Rung) -> u32 {
    let pixels = f64::from(rung.width) * f64::from(rung.height) / (1280.0 * 720.0);
    let rate = f64::from(rung.fps) / f64::from(SCREEN_MIN_FPS);
    (f64::from(SCREEN_KBPS_720P5)
        * pixels.powf(SCREEN_PIXEL_EXPONENT)
        * rate.powf(SCREEN_FPS_EXPONENT))
    .round() as u32
}

/// The rungs under a screen's top: its full size at lower rates, then smaller at the floor rate.
fn screen_rungs_below(top: Rung) -> Vec<Rung> {
    let mut below = Vec::new();
    let mut fps = top.fps / 2;
    while fps >= SCREEN_FLOOR_FPS {
        below.push(Rung::new(top.width, top.height, fps));
        fps /= 2;
    }
    below.push(Rung::new(top.width, top.height, SCREEN_FLOOR_FPS));
    for (n, d) in SCREEN_SCALES {
        below.push(Rung::new(
            even(top.width * n / d),
            even(top.height * n / d),
            SCREEN_FLOOR_FPS,
        ));
    }
    below.dedup();
    below.retain(|r| *r != top);
    below
}

/// The ladder for `content`: a camera's from `config`; a screen's from the size of its pictures,
/// `source`.
pub fn ladder_for(content: VideoContent, config: &PublisherConfig, source: (u32, u32)) -> Ladder {
    match content {
        VideoContent::Camera => Ladder::new(
            Rung::new(config.width, config.height, config.fps),
            config.video_kbps,
            config.audio_kbps,
        ),
        VideoContent::Screen => {
            let top = screen_rung(source.0, source.1, config.fps);
            Ladder::of(
                top,
                screen_rungs_below(top),
                screen_kbps(top),
                config.audio_kbps,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screens_bitrate_follows_the_measured_points() {
        assert_eq!(screen_kbps(Rung::new(1280, 720, 5)), 800);
        let hd15 = screen_kbps(Rung::new(1280, 720, 15));
        assert!((1_150..=1_250).contains(&hd15), "{hd15}");
        let fhd5 = screen_kbps(Rung::new(1920, 1080, 5));
        assert!((1_400..=1_550).contains(&fhd5), "{fhd5}");
    }

    #[test]
    fn a_screen_keeps_its_shape_and_a_rate_for_text() {
        assert_eq!(screen_rung(1440, 900, 30), Rung::new(1440, 900, 15));
        assert_eq!(screen_rung(1281, 721, 1), Rung::new(1280, 720, 5));
    }

    #[test]
    fn a_screen_steps_down_in_rate_before_size() {
        let config = PublisherConfig {
            fps: 10,
            ..PublisherConfig::new("rtmp://x/live/s")
        };
        let ladder = ladder_for(VideoContent::Screen, &config, (1920, 1080));
        let rungs: Vec<Rung> = (0..ladder.len()).map(|i| ladder.rung(i)).collect();
        assert_eq!(
            rungs,
            [
                Rung::new(1920, 1080, 10),
                Rung::new(1920, 1080, 5),
                Rung::new(1920, 1080, 3),
                Rung::new(1280, 720, 3),
                Rung::new(960, 540, 3),
            ]
        );
        for i in 1..ladder.len() {
            assert!(ladder.range(i).1 < ladder.range(i - 1).1, "rung {i}");
        }
    }

    #[test]
    fn a_camera_keeps_the_configured_ladder() {
        let config = PublisherConfig::new("rtmp://x/live/s");
        let ladder = ladder_for(VideoContent::Camera, &config, (1920, 1080));
        assert_eq!(
            ladder.rung(0),
            Rung::new(config.width, config.height, config.fps)
        );
        assert_eq!(ladder.range(0).1, config.video_kbps);
    }
}
