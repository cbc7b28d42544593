//! What a person can choose to share, each with a [`ScreenId`] that [`ScreenSource::open`]
//! takes back.
//!
//! - X11: the whole desktop; each monitor (RandR) when there are several; the applications'
//!   top-level windows (EWMH), shown and named. Wayland sessions offer what XWayland shows.
//! - Windows: the whole desktop only. Windows are shared by title (`title:TEXT`) when asked
//!   for by id, but not listed: listing them needs Win32 calls this crate does not make yet.
//! - macOS: avfoundation's screens, "Capture screen 0" up, found by opening each in turn.

#[cfg(not(target_os = "windows"))]
use super::DeviceKind;
use super::SourceError;
use super::screen_id::ScreenId;

/// Most windows offered: a long list helps nobody choose, and each costs a thumbnail.
pub const MAX_LISTED_WINDOWS: usize = 32;
/// Smallest window side offered: tool tips and one-pixel helpers are not what people share.
pub const MIN_WINDOW_SIDE: u16 = 32;
/// Most macOS screens looked for.
pub const MAX_CAPTURE_SCREENS: u32 = 8;

/// What a shareable source shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScreenKind {
    /// Everything on every screen (the only screen, when there is one).
    Desktop,
    /// One monitor.
    Monitor,
    /// One application window.
    Window,
}

/// One thing a person can share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareableScreen {
    /// What [`ScreenSource::open`](super::ScreenSource::open) takes (as text).
    pub id: ScreenId,
    /// The monitor's or window's name; empty where the system gives none.
    pub label: String,
    /// What it shows.
    pub kind: ScreenKind,
    /// Its width in pixels, 0 when unknown.
    pub width: u32,
    /// Its height in pixels, 0 when unknown.
    pub height: u32,
}

/// Everything this machine offers to share: screens first, then windows.
pub fn list_screen_sources() -> Result<Vec<ShareableScreen>, SourceError> {
    list_screen_sources_on(None)
}

/// [`list_screen_sources`] of X display `display` (`$DISPLAY` when `None`; other systems have
/// one desktop and ignore it).
#[cfg(not(any(target_os = "windows", target_os = "macos")))]
pub fn list_screen_sources_on(display: Option<&str>) -> Result<Vec<ShareableScreen>, SourceError> {
    let display = display.map_or_else(super::default_screen, str::to_owned);
    super::x11::list(&display).map_err(|e| SourceError::Unavailable {
        kind: DeviceKind::Screen,
        name: display,
        reason: e.to_string(),
    })
}

/// [`list_screen_sources`]; only X11 has displays to choose from.
#[cfg(target_os = "windows")]
pub fn list_screen_sources_on(_display: Option<&str>) -> Result<Vec<ShareableScreen>, SourceError> {
    Ok(vec![ShareableScreen {
        id: ScreenId::Desktop { display: None },
        label: String::new(),
        kind: ScreenKind::Desktop,
        width: 0,
        height: 0,
    }])
}

/// [`list_screen_sources`]; only X11 has displays to choose from.
#[cfg(target_os = "macos")]
pub fn list_screen_sources_on(_display: Option<&str>) -> Result<Vec<ShareableScreen>, SourceError> {
    let mut screens = Vec::new();
    for n in 0..MAX_CAPTURE_SCREENS {
        let id = ScreenId::CaptureScreen(n);
        // avfoundation numbers screens after the cameras; the first that fails to open is
        // past the last screen.
        if super::ScreenSource::open(Some(&id.to_string()), 1).is_err() {
            break;
        }
        screens.push(ShareableScreen {
            id,
            label: String::new(),
            kind: ScreenKind::Monitor,
            width: 0,
            height: 0,
        });
    }
    if screens.is_empty() {
        return Err(SourceError::NoDevice(DeviceKind::Screen));
    }
    Ok(screens)
}
