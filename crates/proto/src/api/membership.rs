//! Being in a room: creating it, joining and leaving, heartbeats, and the member list.

use super::{Endpoint, Request, id, push_url, user_avatar, user_name};
use crate::fields::{Fields, FieldsError};
use crate::limits::{MAX_ROOM_NAME_CHARS, check_name};
use serde::{Deserialize, Serialize};

/// `create_room` request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateRoom {
    /// Display name of the room.
    #[serde(rename = "roomName")]
    pub room_name: String,
    /// The creator.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The creator's nickname.
    #[serde(rename = "userName")]
    pub user_name: String,
    /// The creator's avatar URL.
    #[serde(rename = "userAvatar")]
    pub user_avatar: String,
    /// The URL the creator pushes to.
    #[serde(rename = "pushURL")]
    pub push_url: String,
}

impl Request for CreateRoom {
    const ENDPOINT: Endpoint = Endpoint::CreateRoom;
    fn from_fields(f: &Fields) -> Result<Self, FieldsError> {
        Ok(Self {
            room_name: {
                let name = f.required("roomName")?;
                check_name("roomName", &name, MAX_ROOM_NAME_CHARS)?;
                name
            },
            user_id: id(f, "userID")?,
            user_name: user_name(f)?,
            user_avatar: user_avatar(f)?,
            push_url: push_url(f)?,
        })
    }
    acting!();
}

/// A request naming a room and a user: `destroy_room`, `delete_pusher`, `pusher_heartbeat`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomUser {
    /// The room.
    #[serde(rename = "roomID")]
    pub room_id: String,
    /// The user acting.
    #[serde(rename = "userID")]
    pub user_id: String,
}

impl RoomUser {
    fn read(f: &Fields) -> Result<Self, FieldsError> {
        Ok(Self {
            room_id: id(f, "roomID")?,
            user_id: id(f, "userID")?,
        })
    }
}

macro_rules! room_user_request {
    ($(#[$doc:meta])* $name:ident, $endpoint:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize)]
        pub struct $name(pub RoomUser);

        impl Request for $name {
            const ENDPOINT: Endpoint = $endpoint;
            fn from_fields(f: &Fields) -> Result<Self, FieldsError> {
                RoomUser::read(f).map($name)
            }
            fn acting_user(&self) -> Option<&str> {
                Some(&self.0.user_id)
            }
        }
    };
}

room_user_request!(
    /// `destroy_room` request.
    DestroyRoom,
    Endpoint::DestroyRoom
);
room_user_request!(
    /// `delete_pusher` request.
    DeletePusher,
    Endpoint::DeletePusher
);
room_user_request!(
    /// `hand_over_room` request (ext): `userID` is the creator leaving.
    HandOverRoom,
    Endpoint::HandOverRoom
);
room_user_request!(
    /// `pusher_heartbeat` request.
    PusherHeartbeat,
    Endpoint::PusherHeartbeat
);

/// `add_pusher` request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddPusher {
    /// The room to join.
    #[serde(rename = "roomID")]
    pub room_id: String,
    /// The joining user.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// Nickname.
    #[serde(rename = "userName")]
    pub user_name: String,
    /// Avatar URL.
    #[serde(rename = "userAvatar")]
    pub user_avatar: String,
    /// The URL this user pushes to.
    #[serde(rename = "pushURL")]
    pub push_url: String,
    /// ext: the member's stream shows a shared screen. A refresh that changes it tells the
    /// room, so viewers can show that stream large; v1 clients never send it.
    #[serde(rename = "sharingScreen", default, skip_serializing_if = "is_false")]
    pub sharing_screen: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Request for AddPusher {
    const ENDPOINT: Endpoint = Endpoint::AddPusher;
    fn from_fields(f: &Fields) -> Result<Self, FieldsError> {
        Ok(Self {
            room_id: id(f, "roomID")?,
            user_id: id(f, "userID")?,
            user_name: user_name(f)?,
            user_avatar: user_avatar(f)?,
            push_url: push_url(f)?,
            sharing_screen: f.flag("sharingScreen")?,
        })
    }
    acting!();
}

/// `get_pushers` request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GetPushers {
    /// The room.
    #[serde(rename = "roomID")]
    pub room_id: String,
}

impl Request for GetPushers {
    const ENDPOINT: Endpoint = Endpoint::GetPushers;
    fn from_fields(f: &Fields) -> Result<Self, FieldsError> {
        Ok(Self {
            room_id: id(f, "roomID")?,
        })
    }
}

/// `create_room` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedRoom {
    /// The new room's ID.
    #[serde(rename = "roomID")]
    pub room_id: String,
}

/// `hand_over_room` response (ext).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandedOver {
    /// The room's new creator; absent when nobody else was in the room, so it closed as v1's
    /// `delete_pusher` would close it.
    #[serde(
        rename = "roomCreator",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub room_creator: Option<String>,
}

/// One member as `get_pushers` and `get_room_list` list it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pusher {
    /// The member's userID.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// Nickname.
    #[serde(rename = "userName", default)]
    pub user_name: String,
    /// Avatar URL.
    #[serde(rename = "userAvatar", default)]
    pub user_avatar: String,
    /// Signed low-latency play URL of the member's stream.
    #[serde(rename = "accelerateURL", default)]
    pub accelerate_url: String,
    /// ext: signed play URL of the member's small second stream, when the server offers one
    /// (the member may not be sending it: a client that does not play it keeps the main one).
    #[serde(
        rename = "smallAccelerateURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub small_accelerate_url: Option<String>,
    /// ext: the member's stream shows a shared screen (see [`AddPusher::sharing_screen`]).
    #[serde(rename = "sharingScreen", default, skip_serializing_if = "is_false")]
    pub sharing_screen: bool,
}

/// `get_pushers` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pushers {
    /// Members, creator first, caller included.
    pub pushers: Vec<Pusher>,
    /// ext: the room's ID.
    #[serde(rename = "roomID", default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    /// ext: the room's name.
    #[serde(rename = "roomName", default, skip_serializing_if = "Option::is_none")]
    pub room_name: Option<String>,
    /// ext: the creator's userID.
    #[serde(
        rename = "roomCreator",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub room_creator: Option<String>,
    /// ext: the creator's stream for viewers.
    #[serde(
        rename = "mixedPlayURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mixed_play_url: Option<String>,
}
