//! Invite links (`quartet://join?…`) that open the app: from the system (the scheme the app
//! registers), from a second launch handed over by the single-instance plugin, or from the
//! command line that started it. A link is read by `quartet_proto::invite`; the page is told and
//! shows that room's pre-join, or why the link could not be used.

use crate::commands::AppState;
use quartet_proto::{INVITE_SCHEME, InviteLink};
use serde::Serialize;
use std::sync::Mutex;
use tauri::{AppHandle, Emitter, Manager, State};
#[cfg(test)]
use ts_rs::TS;

/// Event the page gets when a link arrives while it runs.
pub const INVITE_EVENT: &str = "invite-link";

/// A link as the page reads it: a room to go to, or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "InviteEvent"))]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "type"
)]
pub enum InviteDto {
    /// A room to join.
    Room {
        /// The room server's base URL.
        server: String,
        /// The room's ID.
        room_id: String,
        /// Its kind, when the link says.
        #[cfg_attr(test, ts(type = "RoomKind | null"))]
        kind: Option<String>,
    },
    /// A link that could not be read.
    Refused {
        /// Why, in English (the page says it in its own words).
        reason: String,
    },
}

impl InviteDto {
    /// What the page should make of `link`.
    pub fn of(link: &str) -> InviteDto {
        match link.parse::<InviteLink>() {
            Ok(l) => InviteDto::Room {
                server: l.server,
                room_id: l.room_id,
                kind: l.kind.map(|k| k.as_str().to_owned()),
            },
            Err(e) => InviteDto::Refused {
                reason: e.to_string(),
            },
        }
    }
}

/// The last link that arrived and the page has not taken yet (one that came before the page
/// could listen, at launch).
#[derive(Debug, Default)]
pub struct InviteInbox(Mutex<Option<InviteDto>>);

impl InviteInbox {
    fn put(&self, invite: InviteDto) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(invite);
    }

    fn take(&self) -> Option<InviteDto> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// The invite links among `args` (a launch's command line, or one handed over).
pub fn links_in<'a>(args: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let scheme = format!("{INVITE_SCHEME}:");
    args.into_iter()
        .filter(|a| a.len() >= scheme.len() && a[..scheme.len()].eq_ignore_ascii_case(&scheme))
        .collect()
}

/// Keeps the last of `links` for the page and tells it.
pub fn deliver<'a>(app: &AppHandle, links: impl IntoIterator<Item = &'a str>) {
    let Some(link) = links.into_iter().last() else {
        return;
    };
    let invite = InviteDto::of(link);
    log::info!("invite link: {invite:?}");
    app.state::<AppState>().invites.put(invite.clone());
    if let Err(e) = app.emit(INVITE_EVENT, invite) {
        log::warn!("cannot tell the page about an invite link: {e}");
    }
}

/// The link that arrived and was not taken yet, if any.
#[tauri::command]
pub fn take_invite(state: State<'_, AppState>) -> Option<InviteDto> {
    state.invites.take()
}

/// Listens for links from the system, and reads the one that launched the app.
pub fn listen(app: &AppHandle) {
    use tauri_plugin_deep_link::DeepLinkExt;
    let links = app.deep_link();
    #[cfg(any(target_os = "linux", windows))]
    if let Err(e) = links.register_all() {
        // Installers register the scheme; a build run in place registers it here.
        log::info!("cannot register the {INVITE_SCHEME}: scheme: {e}");
    }
    let handle = app.clone();
    links.on_open_url(move |event| {
        let urls: Vec<String> = event.urls().iter().map(|u| u.to_string()).collect();
        deliver(&handle, urls.iter().map(String::as_str));
    });
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut at_launch = links_in(args.iter().map(String::as_str));
    let current = links.get_current().ok().flatten().unwrap_or_default();
    let current: Vec<String> = current.iter().map(|u| u.to_string()).collect();
    if at_launch.is_empty() {
        at_launch = current.iter().map(String::as_str).collect();
    }
    deliver(app, at_launch);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_among_a_launchs_arguments() {
        let args = [
            "--flag",
            "QUARTET://join?server=http://h&room=r",
            "quartetx",
            "q",
        ];
        assert_eq!(links_in(args), ["QUARTET://join?server=http://h&room=r"]);
    }

    #[test]
    fn the_page_gets_a_room_or_a_reason() {
        assert_eq!(
            InviteDto::of("quartet://join?server=http%3A%2F%2Fh%3A8080&room=r1&kind=live_room"),
            InviteDto::Room {
                server: "http://h:8080".into(),
                room_id: "r1".into(),
                kind: Some("live_room".into()),
            }
        );
        let refused = InviteDto::of("quartet://join?server=ftp://h&room=r");
        assert!(
            matches!(&refused, InviteDto::Refused { reason } if reason.contains("http(s)")),
            "{refused:?}"
        );
        let json =
            serde_json::to_value(InviteDto::of("quartet://join?server=http://h&room=r")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "room", "server": "http://h", "roomId": "r", "kind": null})
        );
    }
}
