//! What an X server offers to share: its monitors (RandR 1.5) and the top-level windows of
//! applications (the window manager's EWMH `_NET_CLIENT_LIST`, or with no such window manager,
//! the root's viewable children that have a name). Asked over x11rb's own connection, so no
//! X library is linked and no tool is run.

use super::screen_id::{Region, ScreenId};
use super::screens::{MAX_LISTED_WINDOWS, MIN_WINDOW_SIDE, ScreenKind, ShareableScreen};
use x11rb::connection::Connection;
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::{Atom, AtomEnum, ConnectionExt as _, MapState, Window};
use x11rb::rust_connection::RustConnection;

/// Most bytes of a window's name read: any app can set a name of megabytes, and a label needs
/// a line.
const MAX_NAME_BYTES: usize = 1024;

/// Most entries of a window list or type list read.
const MAX_LIST_WORDS: u32 = 4096;

/// Why the X server could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum X11Error {
    /// No connection to the display.
    #[error("cannot reach X display {display}: {reason}")]
    Connect {
        /// The display asked for.
        display: String,
        /// What the connection said.
        reason: String,
    },
    /// A request failed.
    #[error("X request failed: {0}")]
    Request(String),
}

fn request<E: std::fmt::Display>(e: E) -> X11Error {
    X11Error::Request(e.to_string())
}

struct Server {
    conn: RustConnection,
    root: Window,
    root_size: (u16, u16),
}

impl Server {
    fn connect(display: &str) -> Result<Server, X11Error> {
        let (conn, screen) = x11rb::connect(Some(display)).map_err(|e| X11Error::Connect {
            display: display.to_owned(),
            reason: e.to_string(),
        })?;
        let setup = &conn.setup().roots[screen];
        let (root, root_size) = (setup.root, (setup.width_in_pixels, setup.height_in_pixels));
        Ok(Server {
            conn,
            root,
            root_size,
        })
    }

    fn atom(&self, name: &str) -> Result<Atom, X11Error> {
        Ok(self
            .conn
            .intern_atom(false, name.as_bytes())
            .map_err(request)?
            .reply()
            .map_err(request)?
            .atom)
    }

    /// A name property's first [`MAX_NAME_BYTES`] and its type; `None` when the window has no
    /// such property (or is gone).
    fn property(&self, window: Window, name: Atom) -> Option<(Atom, Vec<u8>)> {
        let words = (MAX_NAME_BYTES / 4) as u32;
        let reply = self
            .conn
            .get_property(false, window, name, AtomEnum::ANY, 0, words)
            .ok()?
            .reply()
            .ok()?;
        (reply.type_ != u32::from(AtomEnum::NONE)).then_some((reply.type_, reply.value))
    }

    fn property32(&self, window: Window, name: Atom) -> Option<Vec<u32>> {
        let reply = self
            .conn
            .get_property(false, window, name, AtomEnum::ANY, 0, MAX_LIST_WORDS)
            .ok()?
            .reply()
            .ok()?;
        Some(reply.value32()?.collect())
    }

    fn monitors(&self) -> Vec<(String, Region)> {
        let Ok(reply) = self
            .conn
            .randr_get_monitors(self.root, true)
            .map_err(request)
            .and_then(|c| c.reply().map_err(request))
        else {
            return Vec::new();
        };
        let mut monitors: Vec<_> = reply
            .monitors
            .iter()
            .filter(|m| m.width > 0 && m.height > 0 && m.x >= 0 && m.y >= 0)
            .map(|m| {
                let name = self
                    .conn
                    .get_atom_name(m.name)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .map(|r| String::from_utf8_lossy(&r.name).into_owned())
                    .unwrap_or_default();
                let region = Region {
                    x: m.x.unsigned_abs(),
                    y: m.y.unsigned_abs(),
                    width: m.width,
                    height: m.height,
                };
                (m.primary, name, region)
            })
            .collect();
        // The primary monitor first, then left to right, top to bottom.
        monitors.sort_by_key(|(primary, _, r)| (!primary, r.x, r.y));
        monitors.into_iter().map(|(_, n, r)| (n, r)).collect()
    }

    fn title(&self, window: Window, net_wm_name: Atom, utf8: Atom) -> Option<String> {
        if let Some((kind, bytes)) = self.property(window, net_wm_name)
            && kind == utf8
        {
            let name = String::from_utf8_lossy(&bytes).trim().to_owned();
            if !name.is_empty() {
                return Some(name);
            }
        }
        let (kind, bytes) = self.property(window, AtomEnum::WM_NAME.into())?;
        let name: String = if kind == u32::from(AtomEnum::STRING) {
            bytes.iter().map(|&b| char::from(b)).collect()
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let name = name.trim().to_owned();
        (!name.is_empty()).then_some(name)
    }

    /// The windows a person would call applications: in the window manager's list when it
    /// keeps one, else the root's children; shown now, named, not a panel or the desktop.
    fn windows(&self, display: &str) -> Result<Vec<ShareableScreen>, X11Error> {
        let client_list = self.atom("_NET_CLIENT_LIST")?;
        let candidates = match self.property32(self.root, client_list) {
            Some(list) => list,
            None => {
                self.conn
                    .query_tree(self.root)
                    .map_err(request)?
                    .reply()
                    .map_err(request)?
                    .children
            }
        };
        let net_wm_name = self.atom("_NET_WM_NAME")?;
        let utf8 = self.atom("UTF8_STRING")?;
        let window_type = self.atom("_NET_WM_WINDOW_TYPE")?;
        let not_apps = [
            self.atom("_NET_WM_WINDOW_TYPE_DESKTOP")?,
            self.atom("_NET_WM_WINDOW_TYPE_DOCK")?,
        ];
        let mut windows = Vec::new();
        for window in candidates {
            if windows.len() >= MAX_LISTED_WINDOWS {
                break;
            }
            let Some(attributes) = self
                .conn
                .get_window_attributes(window)
                .ok()
                .and_then(|c| c.reply().ok())
            else {
                continue;
            };
            // x11grab cannot read an unmapped (minimised) window's pixels.
            if attributes.map_state != MapState::VIEWABLE || attributes.override_redirect {
                continue;
            }
            let types = self.property32(window, window_type).unwrap_or_default();
            if types.iter().any(|t| not_apps.contains(t)) {
                continue;
            }
            let Some(geometry) = self
                .conn
                .get_geometry(window)
                .ok()
                .and_then(|c| c.reply().ok())
            else {
                continue;
            };
            if geometry.width < MIN_WINDOW_SIDE || geometry.height < MIN_WINDOW_SIDE {
                continue;
            }
            let Some(label) = self.title(window, net_wm_name, utf8) else {
                continue;
            };
            windows.push(ShareableScreen {
                id: ScreenId::Window {
                    display: Some(display.to_owned()),
                    window,
                },
                label,
                kind: ScreenKind::Window,
                width: u32::from(geometry.width),
                height: u32::from(geometry.height),
            });
        }
        Ok(windows)
    }
}

/// The monitors of `display` (all of them first, when there are several), then its windows.
pub(crate) fn list(display: &str) -> Result<Vec<ShareableScreen>, X11Error> {
    let server = Server::connect(display)?;
    let monitors = server.monitors();
    let mut out = vec![ShareableScreen {
        id: ScreenId::Desktop {
            display: Some(display.to_owned()),
        },
        label: match monitors.as_slice() {
            [(name, _)] => name.clone(),
            _ => String::new(),
        },
        kind: ScreenKind::Desktop,
        width: u32::from(server.root_size.0),
        height: u32::from(server.root_size.1),
    }];
    if monitors.len() > 1 {
        out.extend(monitors.into_iter().map(|(label, region)| ShareableScreen {
            id: ScreenId::Monitor {
                display: Some(display.to_owned()),
                region,
            },
            label,
            kind: ScreenKind::Monitor,
            width: u32::from(region.width),
            height: u32::from(region.height),
        }));
    }
    out.extend(server.windows(display)?);
    Ok(out)
}

/// Whether `window` still exists on `display`: tells a closed shared window from other
/// failures. `None` when the server cannot be asked.
pub(crate) fn window_exists(display: &str, window: Window) -> Option<bool> {
    let server = Server::connect(display).ok()?;
    let cookie = server.conn.get_window_attributes(window).ok()?;
    match cookie.reply() {
        Ok(_) => Some(true),
        Err(x11rb::errors::ReplyError::X11Error(_)) => Some(false),
        Err(_) => None,
    }
}
