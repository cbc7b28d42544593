//! Result codes and the `{code, message, ...}` envelope every endpoint answers with.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Field of an error reply (ext) that says, for humans, why the request was refused; `message`
/// stays the original's text for the code, which clients may compare.
pub const DETAIL_FIELD: &str = "detail";

/// A v1 result code. v1 clients read only this number, so it is the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 0: success.
    Ok,
    /// 1: a required field is missing.
    BadParams,
    /// 3: unknown room (and, as in v1, `destroy_room` by a non-creator).
    NoSuchRoom,
    /// 5: the user is not a member of the room.
    NoSuchMember,
    /// 6: internal failure.
    Internal,
    /// 5001: the room is full.
    RoomFull,
    /// 7 (ext): the `userSig` token is absent, invalid, expired or for another user.
    AuthFailed,
    /// 8 (ext): the request is understood but the feature is not offered (`merge_stream`).
    NotSupported,
    /// 9 (ext): the user already holds its share of rooms, or created rooms too fast.
    QuotaExceeded,
    /// Any code this crate does not know, as read from a server.
    Other(i64),
}

impl Code {
    /// The number on the wire.
    pub fn as_i64(self) -> i64 {
        match self {
            Code::Ok => 0,
            Code::BadParams => 1,
            Code::NoSuchRoom => 3,
            Code::NoSuchMember => 5,
            Code::Internal => 6,
            Code::AuthFailed => 7,
            Code::NotSupported => 8,
            Code::QuotaExceeded => 9,
            Code::RoomFull => 5001,
            Code::Other(n) => n,
        }
    }

    /// The code for a number read off the wire.
    pub fn from_i64(n: i64) -> Code {
        match n {
            0 => Code::Ok,
            1 => Code::BadParams,
            3 => Code::NoSuchRoom,
            5 => Code::NoSuchMember,
            6 => Code::Internal,
            7 => Code::AuthFailed,
            8 => Code::NotSupported,
            9 => Code::QuotaExceeded,
            5001 => Code::RoomFull,
            n => Code::Other(n),
        }
    }

    /// v1's message for this code, exactly as the original server wrote it (for the ext codes,
    /// text in the same style); a more precise detail for humans goes in [`DETAIL_FIELD`].
    pub fn default_message(self) -> &'static str {
        match self {
            Code::Ok => "请求成功",
            Code::BadParams => "请求参数错误",
            Code::NoSuchRoom => "您请求的房间不存在",
            Code::NoSuchMember => "您请求的房间成员不存在",
            Code::Internal => "服务器内部错误",
            Code::RoomFull => "超出房间人数上限",
            Code::AuthFailed => "身份验证失败",
            Code::NotSupported => "不支持该操作",
            Code::QuotaExceeded => "超出用户配额",
            Code::Other(_) => "未知错误 (unknown error)",
        }
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.as_i64())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        i64::deserialize(d).map(Code::from_i64)
    }
}

/// A whole response: the envelope fields plus the endpoint's own fields, flattened beside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The result code.
    pub code: Code,
    /// A human-readable message; clients must not parse it.
    pub message: String,
    /// The endpoint's fields (empty on error).
    #[serde(flatten)]
    pub body: Map<String, Value>,
}

impl Reply {
    /// A success carrying `body`'s fields (which must serialize to a JSON object).
    pub fn ok<T: Serialize>(body: &T) -> Reply {
        let body = match serde_json::to_value(body) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        Reply {
            code: Code::Ok,
            message: Code::Ok.default_message().to_owned(),
            body,
        }
    }

    /// A success with no fields of its own.
    pub fn ok_empty() -> Reply {
        Reply::error(Code::Ok)
    }

    /// An error with v1's message for `code`.
    pub fn error(code: Code) -> Reply {
        Reply {
            code,
            message: code.default_message().to_owned(),
            body: Map::new(),
        }
    }

    /// An error with v1's message for `code` and, in [`DETAIL_FIELD`], why.
    pub fn error_with(code: Code, detail: impl Into<String>) -> Reply {
        let mut reply = Reply::error(code);
        reply
            .body
            .insert(DETAIL_FIELD.into(), Value::String(detail.into()));
        reply
    }

    /// The reply's [`DETAIL_FIELD`], if it has one.
    pub fn detail(&self) -> Option<&str> {
        self.body.get(DETAIL_FIELD).and_then(Value::as_str)
    }

    /// The message with the detail after it, for an error shown to a person.
    pub fn explained(&self) -> String {
        match self.detail() {
            Some(detail) if !detail.is_empty() => format!("{} ({detail})", self.message),
            _ => self.message.clone(),
        }
    }

    /// The body as an endpoint's response type, when the code is 0.
    pub fn into_body<T: serde::de::DeserializeOwned>(self) -> Result<T, ReplyError> {
        if self.code != Code::Ok {
            return Err(ReplyError::Code {
                code: self.code,
                message: self.explained(),
            });
        }
        serde_json::from_value(Value::Object(self.body))
            .map_err(|e| ReplyError::Shape(e.to_string()))
    }
}

/// Why a reply did not yield the expected body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReplyError {
    /// The server answered with a non-zero code.
    #[error("server answered code {} ({message})", code.as_i64())]
    Code {
        /// The code.
        code: Code,
        /// The server's message, followed by its detail when it gave one.
        message: String,
    },
    /// Code 0, but the fields were not what the endpoint promises.
    #[error("unexpected response shape: {0}")]
    Shape(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for n in [0, 1, 3, 5, 6, 7, 8, 9, 5001, 42] {
            assert_eq!(Code::from_i64(n).as_i64(), n);
        }
    }

    #[test]
    fn reply_flattens_body_beside_envelope() {
        #[derive(Serialize)]
        struct B {
            #[serde(rename = "roomID")]
            room_id: String,
        }
        let r = Reply::ok(&B {
            room_id: "room_1".into(),
        });
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"code": 0, "message": "请求成功", "roomID": "room_1"})
        );
    }

    #[test]
    fn error_reply_has_no_body_and_refuses_into_body() {
        let r = Reply::error(Code::RoomFull);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"code": 5001, "message": "超出房间人数上限"})
        );
        let e = r.into_body::<Map<String, Value>>().unwrap_err();
        assert!(matches!(
            e,
            ReplyError::Code {
                code: Code::RoomFull,
                ..
            }
        ));
    }

    #[test]
    fn an_error_keeps_the_original_message_and_carries_the_detail_beside_it() {
        let r = Reply::error_with(Code::NoSuchMember, "u is not a member of room r");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"code": 5, "message": "您请求的房间成员不存在",
                               "detail": "u is not a member of room r"})
        );
        assert_eq!(r.detail(), Some("u is not a member of room r"));
        match r.into_body::<Map<String, Value>>() {
            Err(ReplyError::Code { code, message }) => {
                assert_eq!(code, Code::NoSuchMember);
                assert_eq!(
                    message,
                    "您请求的房间成员不存在 (u is not a member of room r)"
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(Reply::error(Code::AuthFailed).explained(), "身份验证失败");
    }

    #[test]
    fn messages_carry_no_english_suffix() {
        for n in [0, 1, 3, 5, 6, 7, 8, 9, 5001] {
            let m = Code::from_i64(n).default_message();
            assert!(!m.is_ascii() && !m.contains('('), "{n}: {m}");
        }
    }
}
