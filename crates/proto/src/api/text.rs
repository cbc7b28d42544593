//! `send_room_text_msg`: a text message to everyone in a room.

use super::{Endpoint, Request, id};
use crate::fields::{Fields, FieldsError};
use serde::Serialize;

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
