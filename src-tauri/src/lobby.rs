//! The lobby's view of a room server: its address as people type it, and its rooms.

use crate::error::AppError;
use quartet_proto::RoomKind;
use quartet_room::ApiClient;
use serde::Serialize;
use url::Url;

/// The room kind the app creates and lists: the four-person conference of v1.
pub const ROOM_KIND: RoomKind = RoomKind::MultiRoom;
/// Most rooms the lobby lists.
pub const ROOM_LIST_MAX: usize = 100;
/// v1 clients' placeholder when a user has no avatar picture (v1 requires the field).
pub const DEFAULT_AVATAR: &str = "quartet:initials";

/// One room as the lobby lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The rooms on `server`, in creation order.
pub async fn list_rooms(server: &str) -> Result<Vec<RoomSummary>, AppError> {
    let client = ApiClient::new(parse_server_url(server)?, ROOM_KIND)?;
    let list = client.get_room_list(0, ROOM_LIST_MAX).await?;
    Ok(list
        .rooms
        .into_iter()
        .map(|r| RoomSummary {
            creator_name: r
                .pushers
                .iter()
                .find(|p| p.user_id == r.room_creator)
                .map(|p| p.user_name.clone()),
            members: r.pushers.len(),
            max_members: r.max_members.unwrap_or(ROOM_KIND.default_capacity()),
            room_name: r.room_name,
            room_id: r.room_id,
        })
        .collect())
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
}
