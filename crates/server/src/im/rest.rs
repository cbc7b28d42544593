//! The IM REST API v4 calls the original server made, and a client for them.
//!
//! Every call is `POST {base}/v4/group_open_http_svc/{name}?sdkappid=…&identifier={admin}
//! &usersig={admin's sig}&random={u32}&contenttype=json` with a JSON body, answered with
//! `{"ActionStatus":"OK"|"FAIL","ErrorCode":n,"ErrorInfo":…}`.

use super::sig::SigKey;
use quartet_proto::event::TextHead;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest wait for one REST call, connection included.
pub const IM_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Lifetime of the administrator's `usersig` made for each call.
pub const ADMIN_SIG_VALID: Duration = Duration::from_secs(24 * 60 * 60);
/// The group name the original gave every room's group (it passed this literal, not the room
/// name; IM limits names to 30 bytes, which room names may exceed).
pub const GROUP_NAME: &str = "group_name";
/// IM's "this group ID is already used" error: for `create_group`, the group is there, which is
/// all the original wanted of it.
const GROUP_ID_IN_USE: i64 = 10025;
/// Path of the group calls under the base URL.
const GROUP_SERVICE: &str = "v4/group_open_http_svc";

/// One call to the IM REST API.
#[derive(Debug, Clone, PartialEq)]
pub enum ImCall {
    /// `create_group`: the room's AVChatRoom group, owned by the administrator.
    CreateGroup {
        /// The roomID.
        group_id: String,
    },
    /// `send_group_system_notification` with `{"cmd":"notifyPusherChange","data":""}`.
    NotifyPusherChange {
        /// The roomID.
        group_id: String,
    },
    /// `send_group_msg`: a text message as v1 clients sent it, a custom element with the head
    /// `{"cmd":"CustomTextMsg","data":{"nickName":…,"headPic":…}}` then a text element.
    SendText {
        /// The roomID.
        group_id: String,
        /// The sender's userID.
        from: String,
        /// The sender's name and avatar.
        head: TextHead,
        /// The message.
        text: String,
        /// IM's de-duplication number.
        random: u32,
    },
    /// `destroy_group`.
    DestroyGroup {
        /// The roomID.
        group_id: String,
    },
}

/// The head of a v1 text message, fields in v1's order.
#[derive(Serialize)]
struct CustomTextHead<'a> {
    cmd: &'static str,
    data: &'a TextHead,
}

/// The notice v1 sent on every member change, fields in v1's order.
#[derive(Serialize)]
struct Command {
    cmd: &'static str,
    data: &'static str,
}

impl ImCall {
    /// The API's name (last path segment).
    pub fn name(&self) -> &'static str {
        match self {
            ImCall::CreateGroup { .. } => "create_group",
            ImCall::NotifyPusherChange { .. } => "send_group_system_notification",
            ImCall::SendText { .. } => "send_group_msg",
            ImCall::DestroyGroup { .. } => "destroy_group",
        }
    }

    /// The group it acts on.
    pub fn group_id(&self) -> &str {
        match self {
            ImCall::CreateGroup { group_id }
            | ImCall::NotifyPusherChange { group_id }
            | ImCall::SendText { group_id, .. }
            | ImCall::DestroyGroup { group_id } => group_id,
        }
    }

    /// The JSON body, as Tencent's documentation describes each request.
    pub fn body(&self, admin: &str) -> Value {
        match self {
            ImCall::CreateGroup { group_id } => json!({
                "Owner_Account": admin,
                "Type": "AVChatRoom",
                "GroupId": group_id,
                "Name": GROUP_NAME,
            }),
            ImCall::NotifyPusherChange { group_id } => {
                let content = Command {
                    cmd: "notifyPusherChange",
                    data: "",
                };
                json!({
                    "GroupId": group_id,
                    "Content": serde_json::to_string(&content).unwrap_or_default(),
                })
            }
            ImCall::SendText {
                group_id,
                from,
                head,
                text,
                random,
            } => {
                let head = CustomTextHead {
                    cmd: "CustomTextMsg",
                    data: head,
                };
                json!({
                    "GroupId": group_id,
                    "From_Account": from,
                    "Random": random,
                    "MsgBody": [
                        {"MsgType": "TIMCustomElem", "MsgContent": {
                            "Data": serde_json::to_string(&head).unwrap_or_default(),
                            "Desc": "",
                            "Ext": "",
                        }},
                        {"MsgType": "TIMTextElem", "MsgContent": {"Text": text}},
                    ],
                })
            }
            ImCall::DestroyGroup { group_id } => json!({ "GroupId": group_id }),
        }
    }

    /// Whether IM error `code` still leaves the call's purpose met.
    fn tolerates(&self, code: i64) -> bool {
        matches!(self, ImCall::CreateGroup { .. }) && code == GROUP_ID_IN_USE
    }
}

/// Why a call failed. Never carries the request URL: its query holds the admin's `usersig`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImError {
    /// The API could not be reached, or did not answer in time.
    #[error("IM REST API unreachable: {0}")]
    Transport(String),
    /// The API answered with an HTTP status other than 200.
    #[error("IM REST API answered HTTP {0}")]
    Status(u16),
    /// IM refused the call.
    #[error("IM refused the call: ErrorCode {code} ({info})")]
    Refused {
        /// IM's `ErrorCode`.
        code: i64,
        /// IM's `ErrorInfo`.
        info: String,
    },
    /// The answer was not IM's JSON.
    #[error("IM REST API answer unreadable: {0}")]
    Decode(String),
}

impl ImError {
    /// Whether the same call may succeed later: the service was unreachable or overloaded.
    pub fn is_transient(&self) -> bool {
        match self {
            ImError::Transport(_) => true,
            ImError::Status(status) => *status == 429 || *status >= 500,
            ImError::Refused { .. } | ImError::Decode(_) => false,
        }
    }
}

/// IM's answer envelope.
#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "ActionStatus", default)]
    _status: String,
    #[serde(rename = "ErrorCode", default)]
    code: i64,
    #[serde(rename = "ErrorInfo", default)]
    info: String,
}

/// A client of one application's IM REST API, acting as its administrator.
#[derive(Debug, Clone)]
pub(crate) struct ImRest {
    http: reqwest::Client,
    base: String,
    admin: String,
    key: SigKey,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl ImRest {
    /// A client of `base` acting as `admin`, signing with `key`.
    pub fn new(base: &str, admin: &str, key: SigKey) -> Result<Self, ImError> {
        let http = reqwest::Client::builder()
            .timeout(IM_REQUEST_TIMEOUT)
            .build()
            .map_err(|e| ImError::Transport(e.without_url().to_string()))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            admin: admin.to_owned(),
            key,
        })
    }

    /// Makes `call` once.
    pub async fn send(&self, call: &ImCall) -> Result<(), ImError> {
        let url = format!("{}/{GROUP_SERVICE}/{}", self.base, call.name());
        let usersig = self
            .key
            .sign(&self.admin, unix_now(), ADMIN_SIG_VALID.as_secs());
        let query = [
            ("sdkappid", self.key.sdk_app_id().to_string()),
            ("identifier", self.admin.clone()),
            ("usersig", usersig),
            ("random", rand::random::<u32>().to_string()),
            ("contenttype", "json".to_owned()),
        ];
        let response = self
            .http
            .post(url)
            .query(&query)
            .json(&call.body(&self.admin))
            .send()
            .await
            .map_err(|e| ImError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            return Err(ImError::Status(status.as_u16()));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ImError::Transport(e.without_url().to_string()))?;
        let answer: Answer =
            serde_json::from_slice(&bytes).map_err(|e| ImError::Decode(e.to_string()))?;
        if answer.code == 0 || call.tolerates(answer.code) {
            Ok(())
        } else {
            Err(ImError::Refused {
                code: answer.code,
                info: answer.info,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_the_documented_requests_with_v1s_contents() {
        let admin = "administrator";
        assert_eq!(
            ImCall::CreateGroup {
                group_id: "room_1".into()
            }
            .body(admin),
            json!({"Owner_Account": "administrator", "Type": "AVChatRoom",
                   "GroupId": "room_1", "Name": "group_name"})
        );
        let notify = ImCall::NotifyPusherChange {
            group_id: "room_1".into(),
        }
        .body(admin);
        assert_eq!(
            notify["Content"], r#"{"cmd":"notifyPusherChange","data":""}"#,
            "byte for byte what v1 sent"
        );
        let text = ImCall::SendText {
            group_id: "room_1".into(),
            from: "user_1".into(),
            head: TextHead {
                nick_name: "Ann \"A\"".into(),
                head_pic: "https://a/p.png".into(),
            },
            text: "hello".into(),
            random: 7,
        }
        .body(admin);
        assert_eq!(
            text["MsgBody"][0]["MsgContent"]["Data"],
            r#"{"cmd":"CustomTextMsg","data":{"nickName":"Ann \"A\"","headPic":"https://a/p.png"}}"#
        );
        assert_eq!(
            text["MsgBody"][1],
            json!({"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}})
        );
        assert_eq!(
            (text["From_Account"].clone(), text["Random"].clone()),
            (json!("user_1"), json!(7))
        );
    }

    #[test]
    fn only_outages_are_retried_and_a_taken_group_id_is_a_group() {
        assert!(ImError::Transport("refused".into()).is_transient());
        assert!(ImError::Status(503).is_transient() && ImError::Status(429).is_transient());
        assert!(!ImError::Status(404).is_transient());
        let refused = ImError::Refused {
            code: 10010,
            info: "group not found".into(),
        };
        assert!(!refused.is_transient());
        let create = ImCall::CreateGroup {
            group_id: "r".into(),
        };
        assert!(create.tolerates(GROUP_ID_IN_USE));
        assert!(
            !ImCall::DestroyGroup {
                group_id: "r".into()
            }
            .tolerates(GROUP_ID_IN_USE)
        );
    }
}
