//! Messages of the event channel (ext, spec §4): JSON text frames from server to client, and
//! the one a client may send: a keyframe request for another member's stream.

use serde::{Deserialize, Deserializer, Serialize};

/// One server → client message on `GET /weapp/{kind}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum ServerEvent {
    /// Membership changed: refetch `get_pushers` (v1's IM group notice, carrying no data).
    #[serde(rename = "notifyPusherChange")]
    PusherChange {
        /// Always the empty string, as in v1.
        #[serde(default)]
        data: String,
    },
    /// The room is gone.
    #[serde(rename = "roomClosed")]
    RoomClosed {
        /// Why.
        data: RoomClosedData,
    },
    /// A room text message.
    #[serde(rename = "CustomTextMsg")]
    Text {
        /// Sender's display head.
        data: TextHead,
        /// Sender's userID.
        #[serde(rename = "userID")]
        user_id: String,
        /// The text.
        text: String,
        /// When the server accepted it, unix milliseconds.
        #[serde(deserialize_with = "number_or_string")]
        time: u64,
    },
    /// Another member plays our stream and has no picture yet: send a keyframe (WebRTC's PLI).
    /// Only ever sent to the member whose stream is meant.
    #[serde(rename = "keyframeRequest")]
    KeyframeRequest {
        /// Who asks.
        #[serde(rename = "userID")]
        user_id: String,
    },
}

/// One client → server message on the event channel (ext).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd")]
pub enum ClientEvent {
    /// We play `user_id`'s stream and have no picture yet: ask its publisher for a keyframe.
    #[serde(rename = "requestKeyframe")]
    RequestKeyframe {
        /// The member whose stream is meant.
        #[serde(rename = "userID")]
        user_id: String,
    },
}

impl ServerEvent {
    /// The v1-shaped "membership changed" notice.
    pub fn pusher_change() -> ServerEvent {
        ServerEvent::PusherChange {
            data: String::new(),
        }
    }

    /// A "room closed" event for `reason`.
    pub fn room_closed(reason: CloseReason) -> ServerEvent {
        ServerEvent::RoomClosed {
            data: RoomClosedData {
                reason: reason.as_str().to_owned(),
            },
        }
    }
}

/// Payload of `roomClosed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomClosedData {
    /// One of [`CloseReason`]'s strings, or a server's own.
    pub reason: String,
}

/// Why a room closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The creator called `destroy_room`.
    Destroyed,
    /// The creator called `delete_pusher`.
    CreatorLeft,
    /// The creator stopped heartbeating (or its socket closed and did not come back).
    CreatorTimedOut,
    /// The server is shutting down.
    ServerShutdown,
}

impl CloseReason {
    /// Every reason.
    pub const ALL: [CloseReason; 4] = [
        CloseReason::Destroyed,
        CloseReason::CreatorLeft,
        CloseReason::CreatorTimedOut,
        CloseReason::ServerShutdown,
    ];

    /// The reason whose wire string is `s`.
    pub fn parse(s: &str) -> Option<CloseReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Destroyed => "destroyed",
            CloseReason::CreatorLeft => "creator_left",
            CloseReason::CreatorTimedOut => "creator_timeout",
            CloseReason::ServerShutdown => "server_shutdown",
        }
    }
}

/// The head v1 sent before a text message's body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TextHead {
    /// Sender's display name.
    #[serde(rename = "nickName", default)]
    pub nick_name: String,
    /// Sender's avatar (v1's Windows client spelled it `headpic`).
    #[serde(rename = "headPic", alias = "headpic", default)]
    pub head_pic: String,
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        N(u64),
        S(String),
    }
    match Either::deserialize(d)? {
        Either::N(n) => Ok(n),
        Either::S(s) => s.parse().map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_have_v1_shapes() {
        assert_eq!(
            serde_json::to_value(ServerEvent::pusher_change()).unwrap(),
            json!({"cmd": "notifyPusherChange", "data": ""})
        );
        assert_eq!(
            serde_json::to_value(ServerEvent::room_closed(CloseReason::CreatorLeft)).unwrap(),
            json!({"cmd": "roomClosed", "data": {"reason": "creator_left"}})
        );
        let text = ServerEvent::Text {
            data: TextHead {
                nick_name: "Ann".into(),
                head_pic: "a.png".into(),
            },
            user_id: "user_1".into(),
            text: "hi".into(),
            time: 7,
        };
        assert_eq!(
            serde_json::to_value(&text).unwrap(),
            json!({"cmd": "CustomTextMsg", "data": {"nickName": "Ann", "headPic": "a.png"}, "userID": "user_1", "text": "hi", "time": 7})
        );
    }

    #[test]
    fn keyframe_requests_have_their_shapes_both_ways() {
        let ask = ClientEvent::RequestKeyframe {
            user_id: "user_2".into(),
        };
        assert_eq!(
            serde_json::to_value(&ask).unwrap(),
            json!({"cmd": "requestKeyframe", "userID": "user_2"})
        );
        assert_eq!(
            serde_json::from_value::<ClientEvent>(
                json!({"cmd": "requestKeyframe", "userID": "user_2"})
            )
            .unwrap(),
            ask
        );
        assert!(serde_json::from_value::<ClientEvent>(json!({"cmd": "requestKeyframe"})).is_err());
        assert!(
            serde_json::from_value::<ClientEvent>(json!({"cmd": "notifyPusherChange"})).is_err()
        );
        assert_eq!(
            serde_json::to_value(ServerEvent::KeyframeRequest {
                user_id: "user_1".into()
            })
            .unwrap(),
            json!({"cmd": "keyframeRequest", "userID": "user_1"})
        );
    }

    #[test]
    fn windows_client_spelling_and_string_time_are_read() {
        let e: ServerEvent = serde_json::from_value(
            json!({"cmd": "CustomTextMsg", "data": {"nickName": "B", "headpic": "b.png"}, "userID": "u", "text": "t", "time": "12"}),
        )
        .unwrap();
        match e {
            ServerEvent::Text { data, time, .. } => {
                assert_eq!(data.head_pic, "b.png");
                assert_eq!(time, 12);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
