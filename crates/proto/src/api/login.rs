//! Signing in: `get_im_login_info` and `get_push_url`, and what they answer.

use super::{Endpoint, Request, id, optional_id};
use crate::fields::{Fields, FieldsError};
use crate::limits::{MAX_USER_ID_PREFIX_BYTES, check_token};
use serde::{Deserialize, Serialize};

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
    /// ext: the room the stream is for, so it goes to that room's relay (see
    /// [`EXT_ROOM_RELAY`]); v1 sent none.
    #[serde(rename = "roomID", skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
}

impl Request for GetPushUrl {
    const ENDPOINT: Endpoint = Endpoint::GetPushUrl;
    fn from_fields(f: &Fields) -> Result<Self, FieldsError> {
        Ok(Self {
            user_id: id(f, "userID")?,
            room_id: optional_id(f, "roomID")?,
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

/// The extension a server lists in [`LoginInfo::extensions`] when each room's streams live on
/// one of several relays: a member then asks `get_push_url` again with the room's `roomID`
/// once it has created or joined it, and pushes where that answer says.
pub const EXT_ROOM_RELAY: &str = "room_relay";

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
