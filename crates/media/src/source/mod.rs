//! Where pictures and sound come from. Every real device has a synthetic twin so calls, tests
//! and bots run the real pipeline without a camera or microphone.
//!
//! Sources are pulled by a capture thread: `next_*` blocks for at most about one frame (or
//! [`SOURCE_READ_TIMEOUT`]) and returns `Ok(None)` when nothing came in that time, so the
//! thread can notice a stop request between reads.

mod camera;
mod corner;
mod device;
mod file;
mod microphone;
mod null_device;
mod screen;
mod screen_id;
mod screens;
mod synthetic;
mod tone;
#[cfg(not(any(target_os = "windows", target_os = "macos")))]
mod x11;

pub use camera::{
    CAMERA_PROMPT_TIMEOUT, CameraAccess, CameraInfo, CameraSettings, CameraSource, camera_access,
    classify_open_error, list_cameras,
};
pub use corner::{
    CORNER_MARGIN_DIVISOR, CORNER_STALE_AFTER, CORNER_WIDTH_DIVISOR, PictureInPicture, corner_rect,
    paste,
};
pub use file::{FileAudioSource, FileVideoSource};
pub(crate) use microphone::is_null as is_null_device;
pub use microphone::{AudioDeviceInfo, Microphone, list_microphones, list_microphones_on};
pub use screen::{
    DEFAULT_SCREEN_FPS, MAX_SCREEN_HEIGHT, MAX_SCREEN_WIDTH, SCREEN_DEVICE_FORMAT, ScreenSource,
    THUMBNAIL_TIMEOUT, default_screen, fit_within, screen_thumbnail,
};
pub use screen_id::{
    Grab, GrabOs, MAX_DISPLAY_LEN, MAX_SCREEN_ID_LEN, Region, ScreenId, ScreenIdError,
};
pub use screens::{
    MAX_CAPTURE_SCREENS, MAX_LISTED_WINDOWS, MIN_WINDOW_SIDE, ScreenKind, ShareableScreen,
    list_screen_sources, list_screen_sources_on,
};
pub use synthetic::SyntheticVideo;
pub use tone::SyntheticTone;

use crate::frame::{AudioChunk, VideoFrame};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The longest a source read blocks before returning `Ok(None)`.
pub const SOURCE_READ_TIMEOUT: Duration = Duration::from_millis(500);

/// Which kind of device an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// A camera.
    Camera,
    /// A microphone.
    Microphone,
    /// A speaker or headphones.
    Speaker,
    /// A screen being shared.
    Screen,
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceKind::Camera => "camera",
            DeviceKind::Microphone => "microphone",
            DeviceKind::Speaker => "speaker",
            DeviceKind::Screen => "screen",
        })
    }
}

/// Why a source could not be opened or stopped delivering.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The machine has no device of this kind: carry on without it.
    #[error("no {0} found")]
    NoDevice(DeviceKind),
    /// The named device is not (or no longer) there.
    #[error("{kind} \"{name}\" not found")]
    NotFound {
        /// The kind of device.
        kind: DeviceKind,
        /// The name asked for.
        name: String,
    },
    /// The system does not let this app use the device (a privacy setting, or file permissions
    /// on a device node): the person has to allow it, a retry alone will not help.
    #[error(
        "{kind} \"{name}\" is blocked: the system does not allow this app to use it ({reason})"
    )]
    PermissionDenied {
        /// The kind of device.
        kind: DeviceKind,
        /// The device name.
        name: String,
        /// What the system said.
        reason: String,
    },
    /// The device exists but cannot be used (busy, no hardware behind it, or a refusal the
    /// system did not say was about permission).
    #[error("{kind} \"{name}\" cannot be opened: {reason}")]
    Unavailable {
        /// The kind of device.
        kind: DeviceKind,
        /// The device name.
        name: String,
        /// What the system said.
        reason: String,
    },
    /// A device that was delivering stopped (unplugged, driver error).
    #[error("{kind} failed: {reason}")]
    Failed {
        /// The kind of device.
        kind: DeviceKind,
        /// What went wrong.
        reason: String,
    },
    /// A media file cannot be opened or has no stream of the needed kind.
    #[error("media file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Bad settings (sizes, rates).
    #[error("invalid source settings: {0}")]
    InvalidSettings(String),
    /// A read was cut short by [`Interrupter::interrupt`].
    #[error("interrupted")]
    Interrupted,
    /// FFmpeg failed while decoding or converting.
    #[error("ffmpeg: {0}")]
    Ffmpeg(#[from] ffmpeg_next::Error),
}

/// Lets another thread cut a source's blocking read short (on stop or replacement).
#[derive(Clone, Debug, Default)]
pub struct Interrupter {
    flag: Arc<AtomicBool>,
}

impl Interrupter {
    /// A fresh, unset interrupter.
    pub fn new() -> Interrupter {
        Interrupter::default()
    }

    /// Makes the source's current and future reads return [`SourceError::Interrupted`].
    pub fn interrupt(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// True once interrupted.
    pub fn is_interrupted(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    pub(crate) fn checker(&self) -> impl FnMut() -> bool + Send + 'static {
        let flag = Arc::clone(&self.flag);
        move || flag.load(Ordering::Relaxed)
    }
}

/// A source of pictures.
pub trait VideoSource: Send {
    /// The next picture, blocking at most about one frame interval or [`SOURCE_READ_TIMEOUT`];
    /// `Ok(None)` when none came in that time. Pictures carry their capture time.
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError>;

    /// A short description for logs and the UI (device or file name).
    fn describe(&self) -> String;

    /// A handle that cuts a blocked read short; sources that never block long have none.
    fn interrupter(&self) -> Option<Interrupter> {
        None
    }
}

/// A source of mono sound at [`crate::AUDIO_SAMPLE_RATE`].
pub trait AudioSource: Send {
    /// The next chunk, blocking at most [`SOURCE_READ_TIMEOUT`]; `Ok(None)` when none came.
    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, SourceError>;

    /// A short description for logs and the UI.
    fn describe(&self) -> String;

    /// A handle that cuts a blocked read short; sources that never block long have none.
    fn interrupter(&self) -> Option<Interrupter> {
        None
    }
}

impl VideoSource for Box<dyn VideoSource> {
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        (**self).next_frame()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn interrupter(&self) -> Option<Interrupter> {
        (**self).interrupter()
    }
}

impl AudioSource for Box<dyn AudioSource> {
    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, SourceError> {
        (**self).next_chunk()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn interrupter(&self) -> Option<Interrupter> {
        (**self).interrupter()
    }
}

/// Sleeps until `deadline` in slices no longer than [`SOURCE_READ_TIMEOUT`]; false when the
/// deadline is further away than that (the caller returns `Ok(None)` and is called again).
pub(crate) fn pace_until(deadline: std::time::Instant) -> bool {
    let now = std::time::Instant::now();
    if deadline <= now {
        return true;
    }
    let wait = deadline - now;
    if wait > SOURCE_READ_TIMEOUT {
        std::thread::sleep(SOURCE_READ_TIMEOUT);
        return false;
    }
    std::thread::sleep(wait);
    true
}
