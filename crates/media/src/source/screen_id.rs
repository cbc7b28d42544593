//! The ids that name what can be shared: a whole desktop, one monitor, one window. They travel
//! from the listing through the page and back to [`super::ScreenSource::open`], so they are
//! text with one grammar, parsed strictly on the way back in:
//!
//! ```text
//! desktop[@DISPLAY]            every screen (X11 root window, Windows desktop, macOS screen 0)
//! monitor:WxH+X+Y[@DISPLAY]    an X11 region, as RandR reports a monitor
//! window:0xHEX[@DISPLAY]       an X11 window, by its id
//! title:TEXT                   a Windows window, by its exact title (gdigrab's `title=`)
//! avfoundation:N               a macOS screen, avfoundation's "Capture screen N"
//! ```
//!
//! `DISPLAY` is an X display name (`:0`, `host:1.0`); without it, `$DISPLAY`. The names the
//! grab devices take themselves are still accepted: an X display alone (`:0`) is its desktop,
//! `Capture screen N` an avfoundation screen, `title=TEXT` a Windows window.

use std::fmt;

/// Longest screen id accepted: room for a long window title, far below anything that would
/// cost a lookup or a log line dearly.
pub const MAX_SCREEN_ID_LEN: usize = 1024;
/// Longest X display name accepted (a host name and a display number).
pub const MAX_DISPLAY_LEN: usize = 255;
/// How much of a refused id an error quotes.
const QUOTED_CHARS: usize = 48;

/// A rectangle of an X screen, in pixels from its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    /// Left edge.
    pub x: u16,
    /// Top edge.
    pub y: u16,
    /// Width, at least 1.
    pub width: u16,
    /// Height, at least 1.
    pub height: u16,
}

/// What a screen id names; `display` is an X display name, `None` for `$DISPLAY`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScreenId {
    /// Every screen at once.
    Desktop {
        /// The X display (X11 only).
        display: Option<String>,
    },
    /// One X11 monitor: the region of the root window it shows.
    Monitor {
        /// The X display.
        display: Option<String>,
        /// What the monitor shows.
        region: Region,
    },
    /// One X11 window.
    Window {
        /// The X display.
        display: Option<String>,
        /// The window's X id.
        window: u32,
    },
    /// A Windows window by its exact title.
    Title(String),
    /// A macOS screen, avfoundation's "Capture screen N".
    CaptureScreen(u32),
}

/// Why a screen id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreenIdError {
    /// Nothing was given.
    #[error("empty screen id")]
    Empty,
    /// Longer than [`MAX_SCREEN_ID_LEN`].
    #[error("screen id of {len} bytes is longer than {MAX_SCREEN_ID_LEN}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// No known form.
    #[error("unknown screen id \"{0}\"")]
    Unknown(String),
    /// A known form with a bad part.
    #[error("malformed screen id \"{id}\": {reason}")]
    Malformed {
        /// The id, shortened.
        id: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The operating systems whose grab devices an id maps onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrabOs {
    /// x11grab.
    Linux,
    /// gdigrab.
    Windows,
    /// avfoundation.
    MacOs,
}

impl GrabOs {
    /// The system this was built for.
    pub const CURRENT: GrabOs = if cfg!(target_os = "windows") {
        GrabOs::Windows
    } else if cfg!(target_os = "macos") {
        GrabOs::MacOs
    } else {
        GrabOs::Linux
    };
}

/// What FFmpeg's grab device is opened with for an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grab {
    /// The device's input name.
    pub url: String,
    /// Device options beyond the frame rate and the cursor.
    pub options: Vec<(&'static str, String)>,
}

fn quoted(id: &str) -> String {
    if id.chars().count() <= QUOTED_CHARS {
        id.to_owned()
    } else {
        let mut s: String = id.chars().take(QUOTED_CHARS).collect();
        s.push('…');
        s
    }
}

/// True for an X display name: `[host]:number[.screen]`, host of name characters.
fn is_display(s: &str) -> bool {
    let Some((host, number)) = s.rsplit_once(':') else {
        return false;
    };
    let digits = |d: &str| !d.is_empty() && d.len() <= 5 && d.bytes().all(|b| b.is_ascii_digit());
    let number_ok = match number.split_once('.') {
        Some((n, screen)) => digits(n) && digits(screen),
        None => digits(number),
    };
    s.len() <= MAX_DISPLAY_LEN
        && number_ok
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/:".contains(&b))
}

impl ScreenId {
    /// Parses an id of the grammar above.
    pub fn parse(id: &str) -> Result<ScreenId, ScreenIdError> {
        if id.is_empty() {
            return Err(ScreenIdError::Empty);
        }
        if id.len() > MAX_SCREEN_ID_LEN {
            return Err(ScreenIdError::TooLong { len: id.len() });
        }
        let bad = |reason| ScreenIdError::Malformed {
            id: quoted(id),
            reason,
        };
        if let Some(title) = id
            .strip_prefix("title:")
            .or_else(|| id.strip_prefix("title="))
        {
            if title.is_empty() || title.chars().any(char::is_control) {
                return Err(bad("a title is text without control characters"));
            }
            return Ok(ScreenId::Title(title.to_owned()));
        }
        if let Some(n) = id
            .strip_prefix("avfoundation:")
            .or_else(|| id.strip_prefix("Capture screen "))
        {
            let n = parse_decimal(n).ok_or_else(|| bad("a screen number is expected"))?;
            return Ok(ScreenId::CaptureScreen(n));
        }
        let (body, display) = match id.split_once('@') {
            Some((body, display)) if is_display(display) => (body, Some(display.to_owned())),
            Some(_) => return Err(bad("the part after '@' is not an X display name")),
            None => (id, None),
        };
        if body == "desktop" {
            return Ok(ScreenId::Desktop { display });
        }
        if let Some(region) = body.strip_prefix("monitor:") {
            let region = parse_region(region).ok_or_else(|| bad("a region is WxH+X+Y"))?;
            return Ok(ScreenId::Monitor { display, region });
        }
        if let Some(window) = body.strip_prefix("window:") {
            let window = window
                .strip_prefix("0x")
                .and_then(|hex| {
                    (!hex.is_empty() && hex.len() <= 8)
                        .then(|| u32::from_str_radix(hex, 16).ok())
                        .flatten()
                })
                .filter(|w| *w != 0)
                .ok_or_else(|| bad("a window is 0x and its hexadecimal X id"))?;
            return Ok(ScreenId::Window { display, window });
        }
        if display.is_none() && is_display(body) {
            return Ok(ScreenId::Desktop {
                display: Some(body.to_owned()),
            });
        }
        Err(ScreenIdError::Unknown(quoted(id)))
    }

    /// How the grab device on `os` opens this; `default_display` stands for a missing display.
    pub fn grab(&self, os: GrabOs, default_display: &str) -> Result<Grab, &'static str> {
        let display = |d: &Option<String>| d.clone().unwrap_or_else(|| default_display.to_owned());
        let plain = |url: String| Grab {
            url,
            options: Vec::new(),
        };
        match (self, os) {
            (ScreenId::Desktop { display: d }, GrabOs::Linux) => Ok(plain(display(d))),
            (ScreenId::Desktop { .. }, GrabOs::Windows) => Ok(plain("desktop".to_owned())),
            (ScreenId::Desktop { .. }, GrabOs::MacOs) => Ok(plain("Capture screen 0".to_owned())),
            (ScreenId::Monitor { display: d, region }, GrabOs::Linux) => Ok(Grab {
                url: format!("{}+{},{}", display(d), region.x, region.y),
                options: vec![("video_size", format!("{}x{}", region.width, region.height))],
            }),
            (ScreenId::Window { display: d, window }, GrabOs::Linux) => Ok(Grab {
                url: display(d),
                options: vec![("window_id", window.to_string())],
            }),
            (ScreenId::Title(title), GrabOs::Windows) => Ok(plain(format!("title={title}"))),
            (ScreenId::CaptureScreen(n), GrabOs::MacOs) => Ok(plain(format!("Capture screen {n}"))),
            (ScreenId::Monitor { .. } | ScreenId::Window { .. }, _) => {
                Err("monitors and windows by X id are shared on X11 only")
            }
            (ScreenId::Title(_), _) => Err("windows by title are shared on Windows only"),
            (ScreenId::CaptureScreen(_), _) => Err("avfoundation screens are shared on macOS only"),
        }
    }
}

fn parse_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    // `parse` also takes a sign, which no part of an id has.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_region(s: &str) -> Option<Region> {
    let (size, origin) = s.split_once('+')?;
    let (width, height) = size.split_once('x')?;
    let (x, y) = origin.split_once('+')?;
    let region = Region {
        x: parse_decimal(x)?,
        y: parse_decimal(y)?,
        width: parse_decimal(width)?,
        height: parse_decimal(height)?,
    };
    (region.width > 0 && region.height > 0).then_some(region)
}

impl fmt::Display for ScreenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |f: &mut fmt::Formatter<'_>, d: &Option<String>| match d {
            Some(d) => write!(f, "@{d}"),
            None => Ok(()),
        };
        match self {
            ScreenId::Desktop { display } => {
                f.write_str("desktop")?;
                at(f, display)
            }
            ScreenId::Monitor { display, region } => {
                let Region {
                    x,
                    y,
                    width,
                    height,
                } = region;
                write!(f, "monitor:{width}x{height}+{x}+{y}")?;
                at(f, display)
            }
            ScreenId::Window { display, window } => {
                write!(f, "window:{window:#x}")?;
                at(f, display)
            }
            ScreenId::Title(title) => write!(f, "title:{title}"),
            ScreenId::CaptureScreen(n) => write!(f, "avfoundation:{n}"),
        }
    }
}

impl std::str::FromStr for ScreenId {
    type Err = ScreenIdError;
    fn from_str(s: &str) -> Result<ScreenId, ScreenIdError> {
        ScreenId::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(id: &ScreenId) {
        assert_eq!(ScreenId::parse(&id.to_string()).as_ref(), Ok(id), "{id}");
    }

    #[test]
    fn every_form_round_trips() {
        let display = Some(":3.1".to_owned());
        let region = Region {
            x: 1920,
            y: 0,
            width: 2560,
            height: 1440,
        };
        for id in [
            ScreenId::Desktop { display: None },
            ScreenId::Desktop {
                display: display.clone(),
            },
            ScreenId::Monitor {
                display: None,
                region,
            },
            ScreenId::Monitor {
                display: Some("host.example:0".into()),
                region,
            },
            ScreenId::Window {
                display: display.clone(),
                window: 0x3a0_0007,
            },
            ScreenId::Title("Untitled - Notepad @ 100% : draft".into()),
            ScreenId::CaptureScreen(2),
        ] {
            round_trip(&id);
        }
        assert_eq!(
            ScreenId::Window {
                display: None,
                window: 0x1a0_0003
            }
            .to_string(),
            "window:0x1a00003"
        );
    }

    #[test]
    fn the_devices_own_names_still_work() {
        assert_eq!(
            ScreenId::parse(":170"),
            Ok(ScreenId::Desktop {
                display: Some(":170".into())
            })
        );
        assert_eq!(
            ScreenId::parse("Capture screen 1"),
            Ok(ScreenId::CaptureScreen(1))
        );
        assert_eq!(
            ScreenId::parse("title=Notes"),
            Ok(ScreenId::Title("Notes".into()))
        );
    }

    #[test]
    fn hostile_ids_are_refused_with_a_reason() {
        assert_eq!(ScreenId::parse(""), Err(ScreenIdError::Empty));
        let huge = "window:".to_owned() + &"f".repeat(10_000);
        assert_eq!(
            ScreenId::parse(&huge),
            Err(ScreenIdError::TooLong { len: huge.len() })
        );
        for bad in [
            "monitor:1920x1080",
            "monitor:0x1080+0+0",
            "monitor:99999x1080+0+0",
            "monitor:-5x10+0+0",
            "monitor:+5x10+0+0",
            "window:12",
            "window:0x",
            "window:0x0",
            "window:0x123456789",
            "window:0xzz",
            "desktop@nowhere",
            "desktop@:0;rm -rf /",
            "avfoundation:one",
            "title:",
            "title:a\nb",
        ] {
            let e = ScreenId::parse(bad).unwrap_err();
            assert!(matches!(e, ScreenIdError::Malformed { .. }), "{bad}: {e}");
        }
        let e = ScreenId::parse(&"x".repeat(MAX_SCREEN_ID_LEN)).unwrap_err();
        assert!(matches!(e, ScreenIdError::Unknown(_)), "{e}");
        assert!(
            e.to_string().len() < 100,
            "the error quotes a short part: {e}"
        );
    }

    #[test]
    fn each_id_opens_its_own_device_and_no_other() {
        let monitor = ScreenId::parse("monitor:1280x720+1920+0@:1").unwrap();
        assert_eq!(
            monitor.grab(GrabOs::Linux, ":0"),
            Ok(Grab {
                url: ":1+1920,0".into(),
                options: vec![("video_size", "1280x720".into())],
            })
        );
        let window = ScreenId::parse("window:0x400001").unwrap();
        assert_eq!(
            window.grab(GrabOs::Linux, ":9"),
            Ok(Grab {
                url: ":9".into(),
                options: vec![("window_id", "4194305".into())],
            })
        );
        let desktop = ScreenId::parse("desktop").unwrap();
        assert_eq!(desktop.grab(GrabOs::Windows, ":0").unwrap().url, "desktop");
        assert_eq!(
            desktop.grab(GrabOs::MacOs, ":0").unwrap().url,
            "Capture screen 0"
        );
        assert_eq!(
            ScreenId::Title("Notes".into())
                .grab(GrabOs::Windows, ":0")
                .unwrap()
                .url,
            "title=Notes"
        );
        assert!(window.grab(GrabOs::Windows, ":0").is_err());
        assert!(
            ScreenId::CaptureScreen(1)
                .grab(GrabOs::Linux, ":0")
                .is_err()
        );
        assert!(
            ScreenId::Title("x".into())
                .grab(GrabOs::MacOs, ":0")
                .is_err()
        );
    }
}
