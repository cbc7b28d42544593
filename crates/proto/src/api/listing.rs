//! Listing rooms: `get_room_list` and the page it answers.

use super::{Endpoint, Pusher, Request};
use crate::fields::{Fields, FieldsError};
use serde::{Deserialize, Serialize};

/// `get_room_list` request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GetRoomList {
    /// Offset into the rooms in creation order.
    pub index: usize,
    /// Most rooms to return.
    pub cnt: usize,
}

impl Request for GetRoomList {
    const ENDPOINT: Endpoint = Endpoint::GetRoomList;
    fn from_fields(f: &Fields) -> Result<Self, FieldsError> {
        Ok(Self {
            index: f.required_count("index")?,
            cnt: f.required_count("cnt")?,
        })
    }
}

/// One room as `get_room_list` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomInfo {
    /// The room's ID.
    #[serde(rename = "roomID")]
    pub room_id: String,
    /// Display name.
    #[serde(rename = "roomName", default)]
    pub room_name: String,
    /// The creator's userID.
    #[serde(rename = "roomCreator", default)]
    pub room_creator: String,
    /// The creator's stream for viewers.
    #[serde(rename = "mixedPlayURL", default)]
    pub mixed_play_url: String,
    /// Members, creator first.
    #[serde(default)]
    pub pushers: Vec<Pusher>,
    /// ext: the room's capacity.
    #[serde(
        rename = "maxMembers",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_members: Option<usize>,
}

/// `get_room_list` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomList {
    /// Rooms in creation order, at most [`MAX_ROOM_LIST_CNT`] of them.
    pub rooms: Vec<RoomInfo>,
    /// ext: how many rooms of this kind there are, so a client can page through them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<usize>,
}

/// Most rooms one `get_room_list` answers, whatever `cnt` asks: a page of 100 rooms of four
/// members is ~150 KB; v1 clients ask for pages of about 20.
pub const MAX_ROOM_LIST_CNT: usize = 100;
