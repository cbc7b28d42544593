//! The screen as a video source, through FFmpeg's grab devices: x11grab on Linux (an X server,
//! or XWayland, which shows X windows only), gdigrab on Windows, avfoundation's screen devices
//! on macOS. FFmpeg's devices are already linked for cameras, so no second capture stack is
//! needed for the same frames.
//!
//! The picture keeps the screen's aspect ratio and is scaled down to fit
//! [`MAX_SCREEN_WIDTH`]×[`MAX_SCREEN_HEIGHT`]: text stays legible where a camera's 640×360
//! would blur it.

use super::device::DeviceVideo;
use super::screen_id::{GrabOs, ScreenId};
use super::{DeviceKind, Interrupter, SourceError, VideoSource};
use crate::convert::Scaler;
use crate::ffi;
use crate::frame::{VideoFrame, even};
use ffmpeg_next::{Dictionary, Error};

/// FFmpeg's screen grab device on this platform.
#[cfg(target_os = "windows")]
pub const SCREEN_DEVICE_FORMAT: &str = "gdigrab";
/// FFmpeg's screen grab device on this platform.
#[cfg(target_os = "macos")]
pub const SCREEN_DEVICE_FORMAT: &str = "avfoundation";
/// FFmpeg's screen grab device on this platform.
#[cfg(not(any(target_os = "windows", target_os = "macos")))]
pub const SCREEN_DEVICE_FORMAT: &str = "x11grab";

/// Widest picture a shared screen is sent at.
pub const MAX_SCREEN_WIDTH: u32 = 1920;
/// Tallest picture a shared screen is sent at.
pub const MAX_SCREEN_HEIGHT: u32 = 1080;
/// Frames per second of a shared screen unless asked otherwise: text changes seldom, and a
/// lower rate leaves the bits for sharpness.
pub const DEFAULT_SCREEN_FPS: u32 = 10;

/// The screen grabbed when none is named: `$DISPLAY` on X11, the whole desktop on Windows, the
/// first screen on macOS.
pub fn default_screen() -> String {
    if cfg!(target_os = "windows") {
        "desktop".to_owned()
    } else if cfg!(target_os = "macos") {
        "Capture screen 0".to_owned()
    } else {
        std::env::var("DISPLAY")
            .ok()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| ":0".to_owned())
    }
}

/// `width`×`height` scaled down, aspect kept, to fit `max_width`×`max_height`; even sides, as
/// 4:2:0 pictures need.
pub fn fit_within(width: u32, height: u32, max_width: u32, max_height: u32) -> (u32, u32) {
    if width == 0 || height == 0 {
        return (0, 0);
    }
    let scale = (f64::from(max_width) / f64::from(width))
        .min(f64::from(max_height) / f64::from(height))
        .min(1.0);
    let side = |v: u32| even(((f64::from(v) * scale).round() as u32).max(2));
    (side(width), side(height))
}

/// A screen, captured.
pub struct ScreenSource {
    name: String,
    #[cfg_attr(any(target_os = "windows", target_os = "macos"), allow(dead_code))]
    id: ScreenId,
    device: DeviceVideo,
    interrupter: Interrupter,
}

impl ScreenSource {
    /// Opens `screen`, a [`ScreenId`] as text ([`default_screen`]'s desktop when `None`), at
    /// `fps` frames per second.
    pub fn open(screen: Option<&str>, fps: u32) -> Result<ScreenSource, SourceError> {
        crate::init();
        let id = match screen {
            Some(text) => {
                ScreenId::parse(text).map_err(|e| SourceError::InvalidSettings(e.to_string()))?
            }
            None => ScreenId::Desktop { display: None },
        };
        let name = id.to_string();
        let grab = id
            .grab(GrabOs::CURRENT, &default_screen())
            .map_err(|reason| SourceError::InvalidSettings(format!("screen {name}: {reason}")))?;
        let mut options = Dictionary::new();
        options.set("framerate", &fps.max(1).to_string());
        if cfg!(target_os = "macos") {
            options.set("capture_cursor", "1");
        } else {
            options.set("draw_mouse", "1");
        }
        for (key, value) in &grab.options {
            options.set(key, value);
        }
        let interrupter = Interrupter::new();
        let input = ffi::open_input(
            &grab.url,
            Some(SCREEN_DEVICE_FORMAT),
            options,
            interrupter.checker(),
            true,
        )
        .map_err(|e| match e {
            Error::DemuxerNotFound => SourceError::NoDevice(DeviceKind::Screen),
            e => SourceError::Unavailable {
                kind: DeviceKind::Screen,
                name: name.clone(),
                reason: e.to_string(),
            },
        })?;
        let unavailable = |reason: String| SourceError::Unavailable {
            kind: DeviceKind::Screen,
            name: name.clone(),
            reason,
        };
        let device = DeviceVideo::new(DeviceKind::Screen, input, unavailable)?;
        Ok(ScreenSource {
            name,
            id,
            device,
            interrupter,
        })
    }

    /// `error` as the person would put it: a shared window that is gone was closed.
    fn explain(&self, error: SourceError) -> SourceError {
        #[cfg(not(any(target_os = "windows", target_os = "macos")))]
        if let (ScreenId::Window { display, window }, SourceError::Failed { reason, .. }) =
            (&self.id, &error)
        {
            let display = display.clone().unwrap_or_else(default_screen);
            let reason = match super::x11::window_exists(&display, *window) {
                Some(false) => format!("the shared window {} was closed", self.name),
                // x11grab reads the region it opened with; a window that shrank or was
                // minimised no longer has it.
                Some(true) => format!(
                    "the shared window {} can no longer be read (made smaller or minimised): {reason}",
                    self.name
                ),
                None => return error,
            };
            return SourceError::Failed {
                kind: DeviceKind::Screen,
                reason,
            };
        }
        error
    }
}

impl VideoSource for ScreenSource {
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        self.device
            .next_frame(|w, h| fit_within(w, h, MAX_SCREEN_WIDTH, MAX_SCREEN_HEIGHT))
            .map_err(|e| self.explain(e))
    }

    fn describe(&self) -> String {
        format!("screen {}", self.name)
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(self.interrupter.clone())
    }
}

/// Frame rate a thumbnail's grab is opened at: FFmpeg reads a few frames while opening, so a
/// low rate makes the wait long (about 5 s at 1 fps, for one picture).
pub const THUMBNAIL_FPS: u32 = 30;
/// Longest a thumbnail waits for the screen's first picture.
pub const THUMBNAIL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// One picture of `screen` at `width`×`height` (its shape kept inside that box), to show the
/// person what sharing it would show before anyone sees it.
pub fn screen_thumbnail(
    screen: Option<&str>,
    width: u32,
    height: u32,
) -> Result<VideoFrame, SourceError> {
    let mut source = ScreenSource::open(screen, THUMBNAIL_FPS)?;
    let started = std::time::Instant::now();
    let frame = loop {
        if let Some(frame) = source.next_frame()? {
            break frame;
        }
        if started.elapsed() > THUMBNAIL_TIMEOUT {
            return Err(SourceError::Unavailable {
                kind: DeviceKind::Screen,
                name: source.name.clone(),
                reason: "no picture came".into(),
            });
        }
    };
    let (w, h) = fit_within(frame.width(), frame.height(), width, height);
    let mut scaler = Scaler::default();
    scaler
        .frame_at(&crate::convert::to_av(&frame), w, h)
        .map_err(|e| SourceError::Failed {
            kind: DeviceKind::Screen,
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_screen_is_scaled_down_keeping_its_shape() {
        assert_eq!(fit_within(3840, 2160, 1920, 1080), (1920, 1080));
        assert_eq!(fit_within(2560, 1600, 1920, 1080), (1728, 1080));
        assert_eq!(fit_within(1280, 800, 1920, 1080), (1280, 800));
    }

    #[test]
    fn sides_stay_even_and_never_vanish() {
        assert_eq!(fit_within(1365, 767, 1920, 1080), (1364, 766));
        assert_eq!(fit_within(10_000, 3, 1920, 1080), (1920, 2));
        assert_eq!(fit_within(0, 600, 1920, 1080), (0, 0));
    }
}
