//! What the pictures show, for the encoder: a camera's moving scene, or a screen whose text must
//! stay sharp. A shared screen keeps its keyframes far apart: each one repaints a page that did
//! not change with a frame's share of the bitrate, and measured at 1280×720, 5 fps, 800 kbit/s
//! the viewer's picture fell from SSIM 0.95 to 0.72 at every keyframe of a 2 s GOP, where with
//! keyframes [`SCREEN_KEYFRAME_INTERVAL`] apart it climbed to 0.99 and stayed. Members joining
//! meanwhile get a keyframe from the relay's cache or ask for one (see `quartet-call`'s
//! keyframe requests).
//!
//! A screen is also encoded for text ([`VideoContent::x264_tuning`]): psy optimisations off and
//! a constant quality under the bitrate cap. `cargo xtask bench media`'s text page, viewer's luma
//! SSIM (median) and the mean bitrate sent, before → after:
//!
//! | picture | cap kbit/s | before: SSIM, kbit/s | after: SSIM, kbit/s |
//! |---|---:|---|---|
//! | 1280×720 @ 5 | 800 | 0.941–0.972, 300–780 | 0.983–0.985, 445–745 |
//! | 1280×720 @ 15 | 1,200 | 0.984, 580–1,050 | 0.991–0.995, 570–630 |
//! | 1920×1080 @ 5 | 1,500 | 0.956, 990–1,270 | 0.968–0.986, 1,380–1,420 |
//! | 1920×1080 @ 15 | 2,500 | 0.985–0.995, 1,250–2,480 | 0.991–0.994, 940–1,410 |
//!
//! at the same encode time (8 ms a frame at 720p, 16 at 1080p, of a 200 ms budget at 5 fps). The
//! encoder is reopened when the content changes mid-stream (x264 cannot change its tune while
//! open), on the same connection, as for a new picture size.

use std::time::Duration;

/// Time between a shared screen's keyframes. Long enough that a page settles sharp; short
/// enough that the embedded relay's cached group (`GOP_CACHE_MAX_MESSAGES`: 512 messages, about
/// 8 s of screen at 10 fps with its sound) still holds a whole one, and that a viewer who can
/// ask for none (a v1 client through a relay without a cache) waits no longer than this.
pub const SCREEN_KEYFRAME_INTERVAL: Duration = Duration::from_secs(8);

/// A shared screen's x264 preset: the camera's. `medium` was no sharper (SSIM 0.983 against
/// 0.981–0.983) for three times the encode time (25 ms a frame against 8).
pub const SCREEN_PRESET: &str = "veryfast";
/// A shared screen's x264 tune: no frame delay as for a camera, and `ssim`, which turns psy
/// optimisations off (they add grain-like detail around text edges) and spreads bits by each
/// block's variance (adaptive quantisation mode 2), so flat page background gets few.
pub const SCREEN_TUNE: &str = "zerolatency,ssim";
/// A shared screen's quality: this constant rate factor, within the bitrate, which stays the cap
/// (VBV). A page that does not change then costs few bits, where average-bitrate mode spent the
/// budget unevenly: 300 to 780 kbit/s from run to run and an SSIM of 0.947 to 0.972. 24 measured
/// 0.977, 22 0.981–0.985 within the cap.
pub const SCREEN_CRF: u32 = 22;

/// What the pictures show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VideoContent {
    /// A camera (or a test pattern): moving pictures, keyframes as configured.
    #[default]
    Camera,
    /// A shared screen: mostly still, text that must stay legible.
    Screen,
}

impl VideoContent {
    /// The keyframe interval for this content, `camera` being the configured one.
    pub fn keyframe_interval(self, camera: Duration) -> Duration {
        match self {
            VideoContent::Camera => camera,
            VideoContent::Screen => SCREEN_KEYFRAME_INTERVAL.max(camera),
        }
    }
}

/// How x264 is set up for some content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct X264Tuning<'a> {
    /// x264 preset.
    pub preset: &'a str,
    /// x264 tune (comma-separated).
    pub tune: &'a str,
    /// Constant rate factor under the bitrate cap; `None`: average bitrate.
    pub crf: Option<u32>,
}

impl VideoContent {
    /// The encoder settings for this content, `camera_preset` being the configured preset.
    pub fn x264_tuning(self, camera_preset: &str) -> X264Tuning<'_> {
        match self {
            VideoContent::Camera => X264Tuning {
                preset: camera_preset,
                tune: "zerolatency",
                crf: None,
            },
            VideoContent::Screen => X264Tuning {
                preset: SCREEN_PRESET,
                tune: SCREEN_TUNE,
                crf: Some(SCREEN_CRF),
            },
        }
    }
}

/// x264's own keyframe interval, in frames: the longest any content may use, since keyframes
/// are forced by time (`keyframe_due`) and content can change while the encoder runs.
pub fn encoder_keyint(fps: u32, camera: Duration) -> u32 {
    let longest = VideoContent::Screen.keyframe_interval(camera);
    ((longest.as_secs_f64() * f64::from(fps)).round() as u32).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screen_keeps_keyframes_far_apart_and_a_camera_as_configured() {
        let camera = Duration::from_secs(1);
        assert_eq!(VideoContent::Camera.keyframe_interval(camera), camera);
        assert_eq!(
            VideoContent::Screen.keyframe_interval(camera),
            SCREEN_KEYFRAME_INTERVAL
        );
    }

    #[test]
    fn a_screen_is_encoded_for_sharp_text_and_a_camera_as_configured() {
        let camera = VideoContent::Camera.x264_tuning("faster");
        assert_eq!(
            (camera.preset, camera.tune, camera.crf),
            ("faster", "zerolatency", None)
        );
        let screen = VideoContent::Screen.x264_tuning("faster");
        assert!(
            screen.tune.split(',').any(|t| t == "zerolatency"),
            "no frame delay"
        );
        assert!(
            screen.tune.split(',').any(|t| t == "ssim"),
            "psy off for text"
        );
        assert_eq!(screen.crf, Some(SCREEN_CRF), "quality within the cap");
    }

    #[test]
    fn the_encoder_never_inserts_a_keyframe_before_time_asks_for_one() {
        assert_eq!(encoder_keyint(5, Duration::from_secs(1)), 40);
        assert_eq!(encoder_keyint(15, Duration::from_secs(2)), 120);
    }
}
