//! The lobby's view of a room server: its address as people type it, and its rooms.

use crate::error::AppError;
use quartet_call::{ApiClient, ApiError};
use quartet_proto::{RoomKind, RoomList};
use serde::Serialize;
#[cfg(test)]
use ts_rs::TS;
use url::Url;

/// The room kind the app creates unless asked for another: the four-person conference of v1.
pub const DEFAULT_CREATE_KIND: RoomKind = RoomKind::MultiRoom;
/// Most rooms the lobby lists of each kind.
pub const ROOM_LIST_MAX: usize = 100;
/// v1 clients' placeholder when a user has no avatar picture (v1 requires the field).
pub const DEFAULT_AVATAR: &str = quartet_proto::limits::INITIALS_AVATAR;

/// One room as the lobby lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
pub struct RoomSummary {
    /// The room's ID.
    pub room_id: String,
    /// Its display name.
    pub room_name: String,
    /// The creator's nickname, when the creator is still listed.
    pub creator_name: Option<String>,
    /// Members now.
    pub members: usize,
    /// Its capacity, when the server says (ext).
    pub max_members: usize,
    /// The kind it is listed under (and must be joined as).
    #[cfg_attr(test, ts(type = "RoomKind"))]
    pub kind: RoomKind,
}

/// The server address a person typed, as a URL: `host:port` gets `http://`, surrounding
/// spaces and a trailing slash are ignored.
pub fn parse_server_url(typed: &str) -> Result<Url, AppError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(AppError::InvalidInput("the server address is empty".into()));
    }
    let with_scheme = if typed.contains("://") {
        typed.to_owned()
    } else {
        format!("http://{typed}")
    };
    let mut url = Url::parse(&with_scheme)
        .map_err(|e| AppError::InvalidInput(format!("\"{typed}\" is not a server address: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(AppError::InvalidInput(format!(
            "\"{typed}\" is not an http(s) server address"
        )));
    }
    // A path prefix is a folder: endpoints are joined below it.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The rooms of every kind on `server`, each kind's in creation order.
pub async fn list_rooms(server: &str) -> Result<Vec<RoomSummary>, AppError> {
    let base = parse_server_url(server)?;
    let [a, b, c] = RoomKind::ALL.map(|kind| ApiClient::new(base.clone(), kind));
    let (a, b, c) = (a?, b?, c?);
    let (ra, rb, rc) = tokio::join!(
        a.get_room_list(0, ROOM_LIST_MAX),
        b.get_room_list(0, ROOM_LIST_MAX),
        c.get_room_list(0, ROOM_LIST_MAX)
    );
    merge_room_lists([(a.kind(), ra), (b.kind(), rb), (c.kind(), rc)])
}

/// The lobby's list from each kind's answer: the rooms of every kind that answered (a server
/// that serves fewer kinds still lists its rooms), or the first failure when none answered.
pub fn merge_room_lists<I>(answers: I) -> Result<Vec<RoomSummary>, AppError>
where
    I: IntoIterator<Item = (RoomKind, Result<RoomList, ApiError>)>,
{
    let mut rooms = Vec::new();
    let mut answered = false;
    let mut failure = None;
    for (kind, answer) in answers {
        match answer {
            Ok(list) => {
                answered = true;
                rooms.extend(list.rooms.into_iter().map(|r| summary(kind, r)));
            }
            Err(e) => {
                log::debug!("listing {kind} rooms: {e}");
                failure.get_or_insert(e);
            }
        }
    }
    match failure {
        Some(e) if !answered => Err(e.into()),
        _ => Ok(rooms),
    }
}

fn summary(kind: RoomKind, r: quartet_proto::RoomInfo) -> RoomSummary {
    RoomSummary {
        creator_name: r
            .pushers
            .iter()
            .find(|p| p.user_id == r.room_creator)
            .map(|p| p.user_name.clone()),
        members: r.pushers.len(),
        max_members: r.max_members.unwrap_or(kind.default_capacity()),
        room_name: r.room_name,
        room_id: r.room_id,
        kind,
    }
}

/// The kind holding room `room_id` on `server`, asked of the server when not `known`.
pub async fn room_kind(
    server: &str,
    room_id: &str,
    known: Option<RoomKind>,
) -> Result<RoomKind, AppError> {
    match known {
        Some(kind) => Ok(kind),
        None => Ok(quartet_call::find_room_kind(&parse_server_url(server)?, room_id).await?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_addresses_become_urls() {
        let ok = |s: &str| parse_server_url(s).unwrap().to_string();
        assert_eq!(ok("127.0.0.1:8080"), "http://127.0.0.1:8080/");
        assert_eq!(ok("  http://10.0.0.2:8080/ "), "http://10.0.0.2:8080/");
        assert_eq!(
            ok("https://rooms.example/weapp"),
            "https://rooms.example/weapp/"
        );
        for bad in ["", "   ", "rtmp://x/live", "http://"] {
            let e = parse_server_url(bad).unwrap_err();
            assert_eq!(e.kind(), "invalidInput", "{bad}");
        }
    }

    fn listed(ids: &[&str]) -> Result<RoomList, ApiError> {
        let rooms = ids
            .iter()
            .map(|id| {
                serde_json::from_value(serde_json::json!({"roomID": id, "roomName": id})).unwrap()
            })
            .collect();
        Ok(RoomList { rooms, total: None })
    }

    fn refused() -> Result<RoomList, ApiError> {
        Err(ApiError::Status {
            status: 404,
            message: "not found".into(),
        })
    }

    #[test]
    fn every_kind_is_listed_with_its_own_capacity() {
        let rooms = merge_room_lists([
            (RoomKind::MultiRoom, listed(&["m1"])),
            (RoomKind::DoubleRoom, listed(&["d1", "d2"])),
            (RoomKind::LiveRoom, refused()),
        ])
        .unwrap();
        let seen: Vec<_> = rooms
            .iter()
            .map(|r| (r.room_id.as_str(), r.kind, r.max_members))
            .collect();
        assert_eq!(
            seen,
            [
                ("m1", RoomKind::MultiRoom, 4),
                ("d1", RoomKind::DoubleRoom, 2),
                ("d2", RoomKind::DoubleRoom, 2),
            ]
        );
        let json = serde_json::to_value(&rooms[1]).unwrap();
        assert_eq!(json["kind"], "double_room");
    }

    #[test]
    fn a_server_no_kind_answers_is_an_error() {
        let e = merge_room_lists(RoomKind::ALL.map(|k| (k, refused()))).unwrap_err();
        assert_eq!(e.kind(), "server");
        assert!(
            merge_room_lists([(RoomKind::LiveRoom, listed(&[]))])
                .unwrap()
                .is_empty()
        );
    }
}
