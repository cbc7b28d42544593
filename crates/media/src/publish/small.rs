//! The small stream: a second, low-resolution encode of the same captured frames, pushed on its
//! own RTMP connection so a viewer on a weak downlink can play it instead of the main stream.
//!
//! It never holds the main stream back: it has its own queue (bounded, frames beyond it are
//! dropped and counted), its own thread, connection, reconnect and figures. It carries the same
//! AAC packets as the main stream (audio is encoded once), so a viewer hears the member whichever
//! stream it plays.

use super::{PublishError, PublisherConfig};
use crate::adapt::Rung;
use crate::frame::even;

/// Default small-stream width: 320×180 is the smallest size a tile in a grid still reads as a
/// face, and a quarter of the main stream's pixels.
pub const SMALL_WIDTH: u32 = 320;
/// Default small-stream height (16:9 with [`SMALL_WIDTH`]).
pub const SMALL_HEIGHT: u32 = 180;
/// Default small-stream frame rate: 15 fps keeps motion fluid, and is the main stream's own.
pub const SMALL_FPS: u32 = 15;
/// Default small-stream video bitrate, kbit/s: x264 gives a clean 320×180@15 picture from about
/// 100 kbit/s, and 120 + 64 of audio fits a 300 kbit/s downlink with room for a second tile.
pub const SMALL_VIDEO_KBPS: u32 = 120;
/// Video frames allowed between capture and the small stream's encoder; more are dropped, so a
/// stalled small connection costs the capture nothing.
pub const MAX_QUEUED_SMALL_VIDEO: usize = 2;

/// Where and how to push the small stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmallStreamConfig {
    /// The RTMP URL to publish the small stream to (signed like the main one).
    pub url: String,
    /// Width of the box the picture is fitted into, in landscape; a portrait main stream gets
    /// it turned (320×180 becomes 180×320), and it never exceeds the main size being sent.
    pub width: u32,
    /// Height of that box.
    pub height: u32,
    /// Frames per second (never more than the main stream sends).
    pub fps: u32,
    /// Video bitrate in kbit/s.
    pub video_kbps: u32,
}

impl SmallStreamConfig {
    /// [`SMALL_WIDTH`]×[`SMALL_HEIGHT`] at [`SMALL_FPS`] and [`SMALL_VIDEO_KBPS`].
    pub fn new(url: impl Into<String>) -> SmallStreamConfig {
        SmallStreamConfig {
            url: url.into(),
            width: SMALL_WIDTH,
            height: SMALL_HEIGHT,
            fps: SMALL_FPS,
            video_kbps: SMALL_VIDEO_KBPS,
        }
    }

    /// The settings its encoder and connection use: the main stream's with this URL, size, rate
    /// and bitrate (checked by the same rules).
    pub(super) fn encoding(&self, main: &PublisherConfig) -> Result<PublisherConfig, PublishError> {
        let config = PublisherConfig {
            url: self.url.clone(),
            width: self.width,
            height: self.height,
            fps: self.fps,
            video_kbps: self.video_kbps,
            ..main.clone()
        };
        config.validate().map_err(|e| match e {
            PublishError::InvalidConfig(m) => {
                PublishError::InvalidConfig(format!("small stream: {m}"))
            }
            e => e,
        })?;
        Ok(config)
    }
}

/// The small stream's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SmallStreamStats {
    /// Connected to the server now.
    pub connected: bool,
    /// Successful connections after the first.
    pub reconnects: u64,
    /// Video frames encoded per second (recent).
    pub fps: f64,
    /// Bits per second written, video and audio, in kbit/s (recent).
    pub kbps: f64,
    /// Video frames encoded since start.
    pub frames_encoded: u64,
    /// Keyframes produced since start.
    pub keyframes: u64,
    /// Video frames dropped because this stream's encoder or connection fell behind.
    pub dropped_frames: u64,
    /// The size and frame rate being sent.
    pub rung: Rung,
}

/// Which of a publisher's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// The main stream, the one v1 clients play.
    Main,
    /// The small stream beside it.
    Small,
}

/// The small stream's size: `box_size` turned to the main picture's orientation, the main
/// picture's aspect fitted inside it, and never larger than `main` (when the main stream has
/// come down to the box's size, both are the same size: viewers may be playing either).
pub fn small_size(box_size: (u32, u32), main: (u32, u32)) -> (u32, u32) {
    let (bw, bh) = if (main.1 > main.0) == (box_size.1 > box_size.0) {
        box_size
    } else {
        (box_size.1, box_size.0)
    };
    let (mw, mh) = (f64::from(main.0.max(1)), f64::from(main.1.max(1)));
    let scale = (f64::from(bw) / mw).min(f64::from(bh) / mh).min(1.0);
    let fit = |m: f64, limit: u32| even(((m * scale).round() as u32).min(limit));
    (fit(mw, main.0), fit(mh, main.1))
}

/// The small stream's frame rate: its own, never more than the main stream sends now.
pub fn small_fps(own: u32, main: u32) -> u32 {
    own.min(main).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_small_size_follows_the_main_aspect_and_orientation() {
        let b = (SMALL_WIDTH, SMALL_HEIGHT);
        assert_eq!(small_size(b, (640, 360)), (320, 180));
        assert_eq!(small_size(b, (1280, 720)), (320, 180));
        assert_eq!(small_size(b, (360, 640)), (180, 320));
        assert_eq!(small_size(b, (640, 480)), (240, 180));
        assert_eq!(small_size(b, (480, 640)), (180, 240));
        assert_eq!(small_size(b, (480, 270)), (320, 180));
        // A portrait box configured for a landscape main is turned back.
        assert_eq!(small_size((180, 320), (640, 360)), (320, 180));
    }

    #[test]
    fn the_small_size_is_never_larger_than_the_main_one() {
        let b = (SMALL_WIDTH, SMALL_HEIGHT);
        // The main ladder's lowest rung: same size, still sent.
        assert_eq!(small_size(b, (320, 180)), (320, 180));
        assert_eq!(small_size(b, (256, 144)), (256, 144));
        assert_eq!(small_size(b, (160, 90)), (160, 90));
        assert_eq!(small_size(b, (322, 180)), (320, 178));
        for main in [(16, 16), (100, 50), (2000, 30), (30, 2000), (641, 361)] {
            let (w, h) = small_size(b, main);
            assert!(
                w <= main.0.max(2) && h <= main.1.max(2),
                "{main:?} → {w}x{h}"
            );
            assert!(
                w.is_multiple_of(2) && h.is_multiple_of(2),
                "{main:?} → {w}x{h}"
            );
        }
    }

    #[test]
    fn the_small_rate_is_never_above_the_main_one() {
        assert_eq!(small_fps(SMALL_FPS, 15), 15);
        assert_eq!(small_fps(SMALL_FPS, 10), 10);
        assert_eq!(small_fps(10, 30), 10);
    }

    #[test]
    fn a_bad_small_config_is_refused() {
        let main = PublisherConfig::new("rtmp://127.0.0.1:1/live/x");
        assert!(
            SmallStreamConfig::new("rtmp://h/live/x_small")
                .encoding(&main)
                .is_ok()
        );
        let bad = [
            SmallStreamConfig::new("http://h/x"),
            SmallStreamConfig {
                width: 321,
                ..SmallStreamConfig::new("rtmp://h/live/x")
            },
            SmallStreamConfig {
                fps: 0,
                ..SmallStreamConfig::new("rtmp://h/live/x")
            },
            SmallStreamConfig {
                video_kbps: 0,
                ..SmallStreamConfig::new("rtmp://h/live/x")
            },
        ];
        for b in bad {
            assert!(
                matches!(b.encoding(&main), Err(PublishError::InvalidConfig(_))),
                "{b:?}"
            );
        }
    }
}
