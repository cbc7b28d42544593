//! What a call needs before it starts: the room session, the media settings and which devices
//! to capture from and play to.

use crate::receive::Receive;
use quartet_media::publish::{MAX_KEYFRAME_INTERVAL, VideoContent};
use quartet_media::source::CameraSettings;
use quartet_media::{AudioProcessing, PublisherConfig, SmallStreamConfig, VideoDecoding, publish};
use quartet_room::SessionConfig;
use std::path::PathBuf;
use std::time::Duration;

/// Encoded width unless told otherwise.
pub const DEFAULT_WIDTH: u32 = 640;
/// Encoded height unless told otherwise.
pub const DEFAULT_HEIGHT: u32 = 360;
/// Frames per second unless told otherwise.
pub const DEFAULT_FPS: u32 = 15;
/// Video bitrate unless told otherwise, kbit/s.
pub const DEFAULT_VIDEO_KBPS: u32 = 500;
/// Audio bitrate unless told otherwise, kbit/s.
pub const DEFAULT_AUDIO_KBPS: u32 = 64;
/// Keyframe interval unless told otherwise: short, because nginx-rtmp and most CDNs have no
/// keyframe cache and a joiner waits for the next keyframe.
pub const DEFAULT_KEYFRAME_INTERVAL: Duration = Duration::from_secs(1);
/// Pitch of [`AudioInput::Tone`].
pub const TONE_HZ: f32 = 440.0;

/// Where our pictures come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoInput {
    /// A camera: its id or name, or the first camera when `None`.
    Camera(Option<String>),
    /// A moving test pattern showing `name` and a frame clock.
    Synthetic {
        /// The name drawn on the pattern.
        name: String,
    },
    /// A media file, looped.
    File(PathBuf),
    /// A screen, shared: its name (an X display, `desktop`, a screen device), or the main one
    /// when `None`.
    Screen(Option<String>),
    /// A screen, shared, with a camera's picture in its bottom-right corner.
    ScreenWithCorner {
        /// The screen, as for [`VideoInput::Screen`].
        screen: Option<String>,
        /// Where the corner's pictures come from (a camera; a test pattern in tests).
        corner: Box<VideoInput>,
    },
    /// No video: camera-off frames.
    None,
}

impl VideoInput {
    /// What its pictures show, for the encoder (a screen keeps its keyframes far apart).
    pub fn content(&self) -> VideoContent {
        match self {
            VideoInput::Screen(_) | VideoInput::ScreenWithCorner { .. } => VideoContent::Screen,
            _ => VideoContent::Camera,
        }
    }
}

/// Where our sound comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioInput {
    /// A microphone: its name, or the default one when `None`.
    Microphone(Option<String>),
    /// A steady [`TONE_HZ`] tone.
    Tone,
    /// A media file's sound, looped.
    File(PathBuf),
    /// No sound: silence.
    None,
}

/// Where the others' sound goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AudioOutputChoice {
    /// The default speaker. When there is none at join, the call plays into a sink that discards
    /// sound and reports a speaker error; switching to it mid-call fails and keeps the old one.
    #[default]
    Default,
    /// A named speaker (like the default one when it cannot be opened).
    Device(String),
    /// No speaker at all (bots, tests): sound is mixed and discarded at real-time pace.
    Null,
}

/// Sizes, rates and bitrates of what we send and how we show what we receive.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaSettings {
    /// Encoded width (even).
    pub width: u32,
    /// Encoded height (even).
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Video bitrate, kbit/s.
    pub video_kbps: u32,
    /// Audio bitrate, kbit/s.
    pub audio_kbps: u32,
    /// Time between keyframes.
    pub keyframe_interval: Duration,
    /// Width of each remote tile's decoded frames.
    pub tile_width: u32,
    /// Height of each remote tile's decoded frames.
    pub tile_height: u32,
    /// When remote video is decoded in Rust (on demand when the page decodes the packet taps
    /// itself, never when nobody looks).
    pub video_decoding: VideoDecoding,
    /// Which of the members' streams tiles receive (main, small, or each as its link allows).
    pub receive: Receive,
    /// Send a small second stream beside ours, where the room server offers one.
    pub send_small: bool,
    /// How a microphone's sound is cleaned before it is sent (see [`processing_for`]).
    pub processing: AudioProcessing,
}

impl Default for MediaSettings {
    fn default() -> Self {
        MediaSettings {
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
            fps: DEFAULT_FPS,
            video_kbps: DEFAULT_VIDEO_KBPS,
            audio_kbps: DEFAULT_AUDIO_KBPS,
            keyframe_interval: DEFAULT_KEYFRAME_INTERVAL,
            tile_width: DEFAULT_WIDTH / 2,
            tile_height: DEFAULT_HEIGHT / 2,
            video_decoding: VideoDecoding::Always,
            receive: Receive::Auto,
            send_small: true,
            processing: AudioProcessing::ALL,
        }
    }
}

/// The cleaning `input` gets when `wanted` is asked for: microphones get it; test tones, media
/// files and silence are sent as they are (noise suppression would take a steady tone for
/// noise, and a file was cleaned when it was made).
pub fn processing_for(input: &AudioInput, wanted: AudioProcessing) -> AudioProcessing {
    match input {
        AudioInput::Microphone(_) => wanted,
        AudioInput::Tone | AudioInput::File(_) | AudioInput::None => AudioProcessing::OFF,
    }
}

impl MediaSettings {
    /// The publisher settings for pushing to `url`.
    pub fn publisher(&self, url: &str) -> PublisherConfig {
        PublisherConfig {
            url: url.to_owned(),
            width: self.width,
            height: self.height,
            fps: self.fps,
            video_kbps: self.video_kbps,
            audio_kbps: self.audio_kbps,
            keyframe_interval: self.keyframe_interval,
            preset: publish::DEFAULT_PRESET.to_owned(),
            processing: AudioProcessing::OFF,
        }
    }

    /// The small second stream pushed to `url`, if we send one.
    pub fn small_stream(&self, url: Option<String>) -> Option<SmallStreamConfig> {
        url.filter(|_| self.send_small).map(SmallStreamConfig::new)
    }

    /// What to ask a camera for.
    pub fn camera(&self) -> CameraSettings {
        CameraSettings {
            width: self.width,
            height: self.height,
            fps: self.fps,
        }
    }

    /// The first problem with these settings, if any.
    pub fn problem(&self) -> Option<String> {
        if self.width < 16 || self.height < 16 || self.width % 2 == 1 || self.height % 2 == 1 {
            return Some(format!(
                "video size {}x{} must be even and at least 16x16",
                self.width, self.height
            ));
        }
        if !(1..=60).contains(&self.fps) {
            return Some(format!("fps {} not in 1..=60", self.fps));
        }
        if self.video_kbps == 0 || self.audio_kbps == 0 {
            return Some("bitrates must be positive".to_owned());
        }
        if self.keyframe_interval.is_zero() || self.keyframe_interval > MAX_KEYFRAME_INTERVAL {
            return Some(format!(
                "keyframe interval must be in (0, {MAX_KEYFRAME_INTERVAL:?}]"
            ));
        }
        if self.tile_width < 2 || self.tile_height < 2 {
            return Some(format!(
                "tile size {}x{} is too small",
                self.tile_width, self.tile_height
            ));
        }
        None
    }
}

/// Everything [`crate::Call::start`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct CallConfig {
    /// The room server, the room and who we are.
    pub session: SessionConfig,
    /// What we send and how we show what we receive.
    pub media: MediaSettings,
    /// Where our pictures come from.
    pub video: VideoInput,
    /// Where our sound comes from.
    pub audio: AudioInput,
    /// Where the others' sound goes.
    pub output: AudioOutputChoice,
    /// Join with the microphone muted.
    pub start_muted: bool,
    /// Join with the camera off.
    pub start_camera_off: bool,
}

impl CallConfig {
    /// A call with the default camera and microphone and the default speaker.
    pub fn new(session: SessionConfig) -> CallConfig {
        CallConfig {
            session,
            media: MediaSettings::default(),
            video: VideoInput::Camera(None),
            audio: AudioInput::Microphone(None),
            output: AudioOutputChoice::Default,
            start_muted: false,
            start_camera_off: false,
        }
    }

    /// A headless member: a test pattern with our name, a tone, and no speaker.
    pub fn synthetic(session: SessionConfig) -> CallConfig {
        let name = session.user_name.clone();
        CallConfig {
            video: VideoInput::Synthetic { name },
            audio: AudioInput::Tone,
            output: AudioOutputChoice::Null,
            ..CallConfig::new(session)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_are_valid_and_tiles_are_quarter_size() {
        let m = MediaSettings::default();
        assert_eq!(m.problem(), None);
        assert_eq!((m.tile_width * 2, m.tile_height * 2), (m.width, m.height));
        let p = m.publisher("rtmp://127.0.0.1/live/x");
        assert_eq!((p.width, p.height, p.fps), (640, 360, 15));
        assert_eq!(p.keyframe_interval, DEFAULT_KEYFRAME_INTERVAL);
    }

    #[test]
    fn bad_settings_are_named() {
        let ok = MediaSettings::default();
        let odd = MediaSettings {
            width: 641,
            ..ok.clone()
        };
        assert!(odd.problem().is_some_and(|p| p.contains("641x360")));
        let slow = MediaSettings {
            fps: 0,
            ..ok.clone()
        };
        assert!(slow.problem().is_some_and(|p| p.contains("fps")));
        let long_gop = MediaSettings {
            keyframe_interval: Duration::from_secs(5),
            ..ok.clone()
        };
        assert!(long_gop.problem().is_some());
        let tiny = MediaSettings {
            tile_width: 0,
            ..ok
        };
        assert!(tiny.problem().is_some_and(|p| p.contains("tile")));
    }
}
