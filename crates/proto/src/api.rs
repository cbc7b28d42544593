//! Endpoints, their requests (parsed from [`Fields`] by v1's rules) and their responses.

use crate::fields::{Fields, FieldsError};
use crate::limits::{
    MAX_ID_BYTES, MAX_PUSH_URL_BYTES, MAX_ROOM_NAME_CHARS, MAX_USER_ID_PREFIX_BYTES,
    MAX_USER_NAME_CHARS, check_avatar, check_name, check_token,
};
use serde::{Deserialize, Serialize};
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

/// `get_im_login_info` request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GetImLoginInfo {
    /// Prefix v1 put in front of generated userIDs (the server may ignore it).
    #[serde(rename = "userIDPrefix")]
    pub user_id_prefix: String,
    /// WeChat login code in v1; unused here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Request for GetImLoginInfo {
    const ENDPOINT: Endpoint = Endpoint::GetImLoginInfo;
    fn from_fields(f: &Fields) -> Result<Self, FieldsError> {
        Ok(Self {
            user_id_prefix: {
                let prefix = f.required("userIDPrefix")?;
                check_token("userIDPrefix", &prefix, MAX_USER_ID_PREFIX_BYTES)?;
                prefix
            },
            code: f.optional("code"),
        })
    }
}

/// `get_push_url` request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GetPushUrl {
    /// Whose stream.
    #[serde(rename = "userID")]
    pub user_id: String,
}

impl Request for GetPushUrl {
    const ENDPOINT: Endpoint = Endpoint::GetPushUrl;
    fn from_fields(f: &Fields) -> Result<Self, FieldsError> {
        Ok(Self {
            user_id: id(f, "userID")?,
        })
    }
    acting!();
}

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

/// `merge_stream` request (`live_room`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeStream {
    /// The caller.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The room.
    #[serde(rename = "roomID")]
    pub room_id: String,
    /// Mixing parameters, passed through untouched in v1.
    #[serde(rename = "mergeParams")]
    pub merge_params: serde_json::Value,
}

impl Request for MergeStream {
    const ENDPOINT: Endpoint = Endpoint::MergeStream;
    fn from_fields(f: &Fields) -> Result<Self, FieldsError> {
        let user_id = id(f, "userID")?;
        let room_id = id(f, "roomID")?;
        let merge_params = match f.raw("mergeParams") {
            None | Some(serde_json::Value::Null) => {
                return Err(FieldsError::Missing("mergeParams"));
            }
            Some(serde_json::Value::String(s)) if s.is_empty() => {
                return Err(FieldsError::Missing("mergeParams"));
            }
            Some(v) => v.clone(),
        };
        Ok(Self {
            user_id,
            room_id,
            merge_params,
        })
    }
    acting!();
}

/// `send_room_text_msg` request (ext).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SendRoomTextMsg {
    /// The room.
    #[serde(rename = "roomID")]
    pub room_id: String,
    /// The sender, who must be a member.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The text.
    pub msg: String,
    /// Display name v1 clients send; ignored: the server shows the sender's stored userName.
    #[serde(rename = "nickName", skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// Avatar v1 clients send; ignored: the server shows the sender's stored userAvatar.
    #[serde(rename = "headPic", skip_serializing_if = "Option::is_none")]
    pub head_pic: Option<String>,
}

impl Request for SendRoomTextMsg {
    const ENDPOINT: Endpoint = Endpoint::SendRoomTextMsg;
    fn from_fields(f: &Fields) -> Result<Self, FieldsError> {
        Ok(Self {
            room_id: id(f, "roomID")?,
            user_id: id(f, "userID")?,
            msg: f.required("msg")?,
            nick_name: f.optional("nickName"),
            head_pic: f.optional("headPic").or_else(|| f.optional("headpic")),
        })
    }
    acting!();
}

/// `get_im_login_info` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginInfo {
    /// The new user's ID.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// IM application ID in v1; a fixed number here.
    #[serde(rename = "sdkAppID")]
    pub sdk_app_id: u64,
    /// IM account type in v1; a fixed string here.
    #[serde(rename = "accType")]
    pub acc_type: String,
    /// The token bound to `user_id` (ext: signed by the server, see [`crate::token`]).
    #[serde(rename = "userSig")]
    pub user_sig: String,
    /// ext: the server wants the token back in this header, as `Bearer {userSig}`
    /// ([`TOKEN_HEADER`]). An original v1 server has no such field, and a client then sends the
    /// token nowhere (v1 requests carry none).
    #[serde(
        rename = "tokenHeader",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub token_header: Option<String>,
    /// ext: the extension endpoints this server offers beyond v1 (e.g. [`EXT_HAND_OVER`]); an
    /// original v1 server has no such field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
}

/// The extension a server lists in [`LoginInfo::extensions`] when it offers `hand_over_room`.
pub const EXT_HAND_OVER: &str = "hand_over_room";

/// The header a Quartet server announces in [`LoginInfo::token_header`]: tokens travel as
/// `Authorization: Bearer {userSig}`, never in a URL and never in a body.
pub const TOKEN_HEADER: &str = "Authorization";

impl LoginInfo {
    /// Whether the server offers the extension `name` (see [`LoginInfo::extensions`]).
    pub fn offers(&self, name: &str) -> bool {
        self.extensions.iter().any(|e| e == name)
    }

    /// Whether the server asked for the token in the `Authorization` header (the only header
    /// this protocol defines; a server naming another is not understood, and gets no token).
    pub fn wants_bearer_token(&self) -> bool {
        self.token_header
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(TOKEN_HEADER))
    }
}

/// `get_push_url` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushUrl {
    /// The signed RTMP push URL.
    #[serde(rename = "pushURL")]
    pub push_url: String,
    /// ext: where to push a small second stream beside it, when the server offers one.
    #[serde(
        rename = "smallPushURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub small_push_url: Option<String>,
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

/// `merge_stream` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeResult {
    /// What the mixing service answered.
    pub result: serde_json::Value,
}

#[cfg(test)]
mod tests;
