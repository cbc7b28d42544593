//! Invite links: `quartet://join?server=…&room=…[&kind=…]`, which open the app at the pre-join
//! of a room on any room server, and which `quartet join --link` accepts. A link arrives from
//! anywhere (a chat, a web page, the command line), so it is read strictly: bounded, an http(s)
//! server, a room ID as the API accepts it, nothing that could hide or forge text.

use crate::RoomKind;
use crate::limits::{MAX_ID_BYTES, is_bidi_control, is_control};
use std::fmt;
use std::str::FromStr;

/// The scheme the app registers with the system.
pub const INVITE_SCHEME: &str = "quartet";
/// What every invite link starts with.
pub const INVITE_PREFIX: &str = "quartet://join?";
/// Longest link read: far more than a server address and a room ID need.
pub const MAX_INVITE_LINK_BYTES: usize = 2048;
/// Longest server address in a link.
pub const MAX_INVITE_SERVER_BYTES: usize = 1024;

/// A room to join, as a link names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteLink {
    /// The room server's base URL (http or https).
    pub server: String,
    /// The room's ID.
    pub room_id: String,
    /// The room's kind, when the link says (else the joining app asks the server).
    pub kind: Option<RoomKind>,
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// Longer than [`MAX_INVITE_LINK_BYTES`].
    #[error("the link is {0} bytes long; an invite link is at most {MAX_INVITE_LINK_BYTES}")]
    TooLong(usize),
    /// Not `quartet://join?…`.
    #[error("not an invite link: it must start with {INVITE_PREFIX}")]
    NotAnInvite,
    /// The query could not be read.
    #[error("the link's parameters cannot be read: {0}")]
    Malformed(String),
    /// A parameter is missing.
    #[error("the link names no {0}")]
    Missing(&'static str),
    /// A parameter appears twice.
    #[error("the link names its {0} twice")]
    Repeated(&'static str),
    /// The server is not an http(s) address, is too long, or holds spaces or control characters.
    #[error("the link's server is not an http(s) address: {0}")]
    BadServer(String),
    /// The room ID is empty, too long or holds control characters.
    #[error("the link's room ID is not one a room server gives")]
    BadRoom,
    /// The kind is none of the three.
    #[error("the link's room kind {0:?} is not multi_room, double_room or live_room")]
    BadKind(String),
}

fn clean(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_whitespace() || is_control(c) || is_bidi_control(c))
}

impl FromStr for InviteLink {
    type Err = InviteError;

    fn from_str(link: &str) -> Result<Self, Self::Err> {
        let link = link.trim();
        if link.len() > MAX_INVITE_LINK_BYTES {
            return Err(InviteError::TooLong(link.len()));
        }
        let query = link
            .get(..INVITE_PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(INVITE_PREFIX))
            .map(|_| &link[INVITE_PREFIX.len()..])
            .ok_or(InviteError::NotAnInvite)?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|e| InviteError::Malformed(e.to_string()))?;
        let one = |name: &'static str| -> Result<Option<&str>, InviteError> {
            let mut found = pairs
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str());
            let first = found.next();
            if found.next().is_some() {
                return Err(InviteError::Repeated(name));
            }
            Ok(first)
        };
        let server = one("server")?.ok_or(InviteError::Missing("server"))?;
        let lower = server.to_ascii_lowercase();
        let has_host = ["http://", "https://"]
            .iter()
            .any(|s| lower.starts_with(s) && lower.len() > s.len());
        if !has_host || server.len() > MAX_INVITE_SERVER_BYTES || !clean(server) {
            return Err(InviteError::BadServer(
                server
                    .chars()
                    .take(80)
                    .filter(|c| !is_control(*c))
                    .collect(),
            ));
        }
        let room = one("room")?.ok_or(InviteError::Missing("room"))?;
        if room.is_empty() || room.len() > MAX_ID_BYTES || !clean(room) {
            return Err(InviteError::BadRoom);
        }
        let kind = one("kind")?
            .map(|k| {
                k.parse()
                    .map_err(|_| InviteError::BadKind(k.chars().take(40).collect()))
            })
            .transpose()?;
        Ok(InviteLink {
            server: server.trim_end_matches('/').to_owned(),
            room_id: room.to_owned(),
            kind,
        })
    }
}

impl fmt::Display for InviteLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pairs = vec![("server", self.server.as_str()), ("room", &self.room_id)];
        if let Some(kind) = self.kind {
            pairs.push(("kind", kind.as_str()));
        }
        let query = serde_urlencoded::to_string(pairs).map_err(|_| fmt::Error)?;
        write!(f, "{INVITE_PREFIX}{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<InviteLink, InviteError> {
        s.parse()
    }

    #[test]
    fn a_link_names_the_server_the_room_and_maybe_its_kind() {
        let link = InviteLink {
            server: "http://192.168.1.20:8080".into(),
            room_id: "room_1796_3".into(),
            kind: Some(RoomKind::DoubleRoom),
        };
        let text = link.to_string();
        assert_eq!(
            text,
            "quartet://join?server=http%3A%2F%2F192.168.1.20%3A8080&room=room_1796_3&kind=double_room"
        );
        assert_eq!(parse(&text), Ok(link));
        let plain = parse("QUARTET://join?room=r&server=https://rooms.example/api/").unwrap();
        assert_eq!(plain.server, "https://rooms.example/api");
        assert_eq!((plain.room_id.as_str(), plain.kind), ("r", None));
        assert!(parse("quartet://join?server=http://h&room=r&later=1").is_ok());
    }

    #[test]
    fn hostile_links_are_refused_with_a_reason() {
        let long = format!("quartet://join?server=http://h&room={}", "r".repeat(3000));
        assert_eq!(parse(&long), Err(InviteError::TooLong(long.len())));
        assert_eq!(
            parse("https://h/join?room=r"),
            Err(InviteError::NotAnInvite)
        );
        assert_eq!(
            parse("quartet://join?room=r"),
            Err(InviteError::Missing("server"))
        );
        assert_eq!(
            parse("quartet://join?server=http://h"),
            Err(InviteError::Missing("room"))
        );
        assert_eq!(
            parse("quartet://join?server=http://a&server=http://b&room=r"),
            Err(InviteError::Repeated("server"))
        );
        for server in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://",
            "http://h%0Ax",
        ] {
            let link = format!("quartet://join?server={server}&room=r");
            assert!(
                matches!(parse(&link), Err(InviteError::BadServer(_))),
                "{server}"
            );
        }
        for room in ["", "a%20b", "%E2%80%AEevil", &"x".repeat(MAX_ID_BYTES + 1)] {
            let link = format!("quartet://join?server=http://h&room={room}");
            assert_eq!(parse(&link), Err(InviteError::BadRoom), "{room}");
        }
        assert!(matches!(
            parse("quartet://join?server=http://h&room=r&kind=party"),
            Err(InviteError::BadKind(_))
        ));
    }
}
