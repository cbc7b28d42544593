//! Endpoints, their requests (parsed from [`Fields`] by v1's rules) and their responses.

use crate::fields::{Fields, FieldsError};
use crate::limits::{
    MAX_ID_BYTES, MAX_PUSH_URL_BYTES, MAX_USER_NAME_CHARS, check_avatar, check_name, check_token,
};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Every endpoint under `/weapp/{kind}/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `get_im_login_info`: a fresh userID and its `userSig`.
    GetImLoginInfo,
    /// `get_push_url`: the signed push URL for a userID.
    GetPushUrl,
    /// `create_room`: a new room with the caller as creator and first pusher.
    CreateRoom,
    /// `destroy_room`: the creator closes the room.
    DestroyRoom,
    /// `add_pusher`: join (or refresh) a room.
    AddPusher,
    /// `delete_pusher`: leave a room.
    DeletePusher,
    /// `get_pushers`: the room's members, creator first.
    GetPushers,
    /// `pusher_heartbeat`: "I am still here".
    PusherHeartbeat,
    /// `get_room_list`: a page of rooms of this kind.
    GetRoomList,
    /// `merge_stream` (`live_room` only): cloud mixing, not offered.
    MergeStream,
    /// `send_room_text_msg` (ext): broadcast a text message to the room.
    SendRoomTextMsg,
    /// `hand_over_room` (ext): the creator leaves and the room passes to the member present
    /// longest, instead of closing. Offered when the login answer lists [`EXT_HAND_OVER`].
    HandOverRoom,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 12] = [
        Endpoint::GetImLoginInfo,
        Endpoint::GetPushUrl,
        Endpoint::CreateRoom,
        Endpoint::DestroyRoom,
        Endpoint::AddPusher,
        Endpoint::DeletePusher,
        Endpoint::GetPushers,
        Endpoint::PusherHeartbeat,
        Endpoint::GetRoomList,
        Endpoint::MergeStream,
        Endpoint::SendRoomTextMsg,
        Endpoint::HandOverRoom,
    ];

    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::GetImLoginInfo => "get_im_login_info",
            Endpoint::GetPushUrl => "get_push_url",
            Endpoint::CreateRoom => "create_room",
            Endpoint::DestroyRoom => "destroy_room",
            Endpoint::AddPusher => "add_pusher",
            Endpoint::DeletePusher => "delete_pusher",
            Endpoint::GetPushers => "get_pushers",
            Endpoint::PusherHeartbeat => "pusher_heartbeat",
            Endpoint::GetRoomList => "get_room_list",
            Endpoint::MergeStream => "merge_stream",
            Endpoint::SendRoomTextMsg => "send_room_text_msg",
            Endpoint::HandOverRoom => EXT_HAND_OVER,
        }
    }

    /// Whether the call acts for a user, and so must carry that user's token: every call that
    /// changes state, and `get_push_url`, whose signed URL lets its holder take over the stream.
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Endpoint::GetPushUrl
                | Endpoint::CreateRoom
                | Endpoint::DestroyRoom
                | Endpoint::AddPusher
                | Endpoint::DeletePusher
                | Endpoint::PusherHeartbeat
                | Endpoint::MergeStream
                | Endpoint::SendRoomTextMsg
                | Endpoint::HandOverRoom
        )
    }
}

impl Endpoint {
    /// Whether a strict server requires a [`crate::nonce`] on this call: the calls whose replay
    /// would do something again. `pusher_heartbeat` and `get_push_url` are idempotent.
    pub fn needs_nonce(self) -> bool {
        matches!(
            self,
            Endpoint::CreateRoom
                | Endpoint::DestroyRoom
                | Endpoint::AddPusher
                | Endpoint::DeletePusher
                | Endpoint::SendRoomTextMsg
                | Endpoint::HandOverRoom
        )
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The path named no endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown endpoint {0:?}")]
pub struct UnknownEndpoint(pub String);

impl FromStr for Endpoint {
    type Err = UnknownEndpoint;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Endpoint::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownEndpoint(s.to_owned()))
    }
}

/// A request type: how to read it from a body, and which endpoint it goes to.
pub trait Request: Serialize + Sized {
    /// The endpoint this request is for.
    const ENDPOINT: Endpoint;
    /// Reads the request by v1's rules ("missing" = absent, not a string, or empty).
    fn from_fields(f: &Fields) -> Result<Self, FieldsError>;
    /// The userID the request acts for, which its token must be bound to.
    fn acting_user(&self) -> Option<&str> {
        None
    }
}

/// A required ID (`roomID`, `userID`), bounded by [`MAX_ID_BYTES`].
fn id(f: &Fields, name: &'static str) -> Result<String, FieldsError> {
    let value = f.required(name)?;
    check_token(name, &value, MAX_ID_BYTES)?;
    Ok(value)
}

/// An optional ID, bounded like a required one when present.
fn optional_id(f: &Fields, name: &'static str) -> Result<Option<String>, FieldsError> {
    let value = f.optional(name);
    if let Some(v) = &value {
        check_token(name, v, MAX_ID_BYTES)?;
    }
    Ok(value)
}

/// A required `userName`.
fn user_name(f: &Fields) -> Result<String, FieldsError> {
    let value = f.required("userName")?;
    check_name("userName", &value, MAX_USER_NAME_CHARS)?;
    Ok(value)
}

/// A required `userAvatar`.
fn user_avatar(f: &Fields) -> Result<String, FieldsError> {
    let value = f.required("userAvatar")?;
    check_avatar("userAvatar", &value)?;
    Ok(value)
}

/// A required `pushURL`.
fn push_url(f: &Fields) -> Result<String, FieldsError> {
    let value = f.required("pushURL")?;
    check_token("pushURL", &value, MAX_PUSH_URL_BYTES)?;
    Ok(value)
}

macro_rules! acting {
    () => {
        fn acting_user(&self) -> Option<&str> {
            Some(&self.user_id)
        }
    };
}

mod listing;
mod login;
mod membership;
mod merge;
mod text;

pub use listing::{GetRoomList, MAX_ROOM_LIST_CNT, RoomInfo, RoomList};
pub use login::{
    EXT_HAND_OVER, EXT_ROOM_RELAY, GetImLoginInfo, GetPushUrl, LoginInfo, PushUrl, TOKEN_HEADER,
};
pub use membership::{
    AddPusher, CreateRoom, CreatedRoom, DeletePusher, DestroyRoom, GetPushers, HandOverRoom,
    HandedOver, Pusher, PusherHeartbeat, Pushers, RoomUser,
};
pub use merge::{MergeResult, MergeStream};
pub use text::SendRoomTextMsg;

#[cfg(test)]
mod tests;
