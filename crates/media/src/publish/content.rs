//! What the pictures show, for the encoder: a camera's moving scene, or a screen whose text must
//! stay sharp. A shared screen keeps its keyframes far apart: each one repaints a page that did
//! not change with a frame's share of the bitrate, and measured at 1280×720, 5 fps, 800 kbit/s
//! the viewer's picture fell from SSIM 0.95 to 0.72 at every keyframe of a 2 s GOP, where with
//! keyframes [`SCREEN_KEYFRAME_INTERVAL`] apart it climbed to 0.99 and stayed. Members joining
//! meanwhile get a keyframe from the relay's cache or ask for one (see `quartet-call`'s
//! keyframe requests).

use std::time::Duration;

/// Time between a shared screen's keyframes. Long enough that a page settles sharp; short
/// enough that the embedded relay's cached group (`GOP_CACHE_MAX_MESSAGES`: 512 messages, about
/// 8 s of screen at 10 fps with its sound) still holds a whole one, and that a viewer who can
/// ask for none (a v1 client through a relay without a cache) waits no longer than this.
pub const SCREEN_KEYFRAME_INTERVAL: Duration = Duration::from_secs(8);

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
    fn the_encoder_never_inserts_a_keyframe_before_time_asks_for_one() {
        assert_eq!(encoder_keyint(5, Duration::from_secs(1)), 40);
        assert_eq!(encoder_keyint(15, Duration::from_secs(2)), 120);
    }
}
