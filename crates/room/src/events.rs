//! The event channel (ext): a WebSocket at `{base}/weapp/{kind}/events` on which the server
//! pushes membership notices, room closure and text messages.

use crate::api::ApiClient;
use quartet_proto::{Code, ServerEvent};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;

/// The path segment of the event channel under `/weapp/{kind}/`.
pub const EVENTS_ENDPOINT: &str = "events";
/// Longest opening the event channel (connect, TLS and upgrade) may take.
pub const EVENT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An open event channel.
pub(crate) type EventSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why the event channel could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum EventChannelError {
    /// The server has no event channel (an original v1 server answers 404): poll instead.
    #[error("the room server has no event channel (HTTP {0})")]
    Unsupported(u16),
    /// The server refused the upgrade with another status; it may accept later.
    #[error("the room server refused the event channel (HTTP {0})")]
    Refused(u16),
    /// The server could not be reached or the handshake failed.
    #[error("event channel unreachable: {0}")]
    Transport(String),
    /// The server did not finish the upgrade within [`EVENT_CONNECT_TIMEOUT`].
    #[error("event channel did not open within {EVENT_CONNECT_TIMEOUT:?}")]
    Timeout,
}

impl EventChannelError {
    /// Whether the server will never offer the channel, so retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        matches!(self, EventChannelError::Unsupported(_))
    }
}

/// The WebSocket URL of the event channel for one member (`ws://` for `http://`, `wss://` for
/// `https://`). It carries no token: [`open`] sends that in a header.
pub fn events_url(api: &ApiClient, room_id: &str, user_id: &str) -> Url {
    let mut url = api.endpoint_url(EVENTS_ENDPOINT);
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    // http(s) → ws(s) is always allowed: all four are "special" schemes.
    if url.set_scheme(scheme).is_err() {
        tracing::warn!(url = %quartet_proto::redact::Redacted(url.as_str()), "could not switch the event channel URL to {scheme}");
    }
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("roomID", room_id);
        query.append_pair("userID", user_id);
    }
    url
}

/// Opens the event channel at `url`, sending the token (if any) as a bearer header.
pub(crate) async fn open(
    url: &Url,
    user_sig: Option<&str>,
) -> Result<EventSocket, EventChannelError> {
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| EventChannelError::Transport(e.to_string()))?;
    if let Some(sig) = user_sig
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {sig}"))
    {
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    let connecting = tokio_tungstenite::connect_async(request);
    match tokio::time::timeout(EVENT_CONNECT_TIMEOUT, connecting).await {
        Err(_) => Err(EventChannelError::Timeout),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let status = response.status();
            let code = response.body().as_deref().and_then(reply_code);
            if status == StatusCode::NOT_FOUND && code != Some(Code::NoSuchRoom) {
                Err(EventChannelError::Unsupported(status.as_u16()))
            } else {
                Err(EventChannelError::Refused(status.as_u16()))
            }
        }
        Ok(Err(e)) => Err(EventChannelError::Transport(e.to_string())),
    }
}

/// The result code of a refusal's JSON body, if it has one: a server with an event channel may
/// answer 404 for an unknown room (code 3), which is not the same as having no channel.
fn reply_code(body: &[u8]) -> Option<Code> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        code: Code,
    }
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|e| e.code)
}

/// What one frame of the event channel means to the session.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame {
    /// A server event.
    Event(ServerEvent),
    /// Nothing to act on (control frames, or a message this client does not understand).
    Ignore,
    /// The server closed the channel.
    Closed,
}

impl Frame {
    /// How the frame is recorded in the journal: its kind and a short detail (who, why; never
    /// message contents); an empty kind for frames not worth recording.
    pub(crate) fn journal_entry(&self) -> (&'static str, String) {
        match self {
            Frame::Event(ServerEvent::PusherChange { .. }) => ("pusher_change", String::new()),
            Frame::Event(ServerEvent::RoomClosed { data }) => ("room_closed", data.reason.clone()),
            Frame::Event(ServerEvent::Text { user_id, .. }) => ("text", user_id.clone()),
            Frame::Event(ServerEvent::KeyframeRequest { user_id }) => {
                ("keyframe_request", user_id.clone())
            }
            Frame::Closed => ("closed", String::new()),
            Frame::Ignore => ("", String::new()),
        }
    }
}

/// Reads one frame; unknown or malformed messages are skipped, not fatal.
pub(crate) fn read_frame(message: &Message) -> Frame {
    let text = match message {
        Message::Text(text) => text.as_str(),
        Message::Binary(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => return Frame::Ignore,
        },
        Message::Close(_) => return Frame::Closed,
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return Frame::Ignore,
    };
    match serde_json::from_str::<ServerEvent>(text) {
        Ok(event) => Frame::Event(event),
        Err(e) => {
            tracing::warn!(error = %e, "ignoring an event the client does not understand");
            Frame::Ignore
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quartet_proto::RoomKind;
    use quartet_proto::event::{RoomClosedData, TextHead};

    #[test]
    fn the_event_url_swaps_the_scheme_and_carries_the_member() {
        let api = ApiClient::new(
            Url::parse("http://127.0.0.1:9/").unwrap(),
            RoomKind::MultiRoom,
        )
        .unwrap()
        .with_user_sig("a.b+c");
        assert_eq!(
            events_url(&api, "room_1", "user 1").as_str(),
            "ws://127.0.0.1:9/weapp/multi_room/events?roomID=room_1&userID=user+1"
        );
        let api = ApiClient::new(
            Url::parse("https://rooms.example/base").unwrap(),
            RoomKind::LiveRoom,
        )
        .unwrap();
        assert_eq!(
            events_url(&api, "r", "u").as_str(),
            "wss://rooms.example/base/weapp/live_room/events?roomID=r&userID=u"
        );
    }

    #[test]
    fn refusal_bodies_tell_an_unknown_room_from_a_missing_channel() {
        assert_eq!(
            reply_code(br#"{"code":3,"message":"no room"}"#),
            Some(Code::NoSuchRoom)
        );
        assert_eq!(
            reply_code(br#"{"code":1,"message":"no event channel"}"#),
            Some(Code::BadParams)
        );
        assert_eq!(reply_code(b"Not Found"), None);
    }

    #[test]
    fn frames_are_read_leniently() {
        assert_eq!(
            read_frame(&Message::text(r#"{"cmd":"notifyPusherChange","data":""}"#)),
            Frame::Event(ServerEvent::pusher_change())
        );
        assert_eq!(
            read_frame(&Message::text(
                r#"{"cmd":"roomClosed","data":{"reason":"creator_left"}}"#
            )),
            Frame::Event(ServerEvent::RoomClosed {
                data: RoomClosedData {
                    reason: "creator_left".into()
                }
            })
        );
        assert_eq!(
            read_frame(&Message::binary(
                br#"{"cmd":"CustomTextMsg","data":{"nickName":"A","headpic":"p"},"userID":"u","text":"hi","time":"5"}"#.to_vec()
            )),
            Frame::Event(ServerEvent::Text {
                data: TextHead {
                    nick_name: "A".into(),
                    head_pic: "p".into()
                },
                user_id: "u".into(),
                text: "hi".into(),
                time: 5
            })
        );
        assert_eq!(
            read_frame(&Message::text("{\"cmd\":\"shrug\"}")),
            Frame::Ignore
        );
        assert_eq!(read_frame(&Message::text("not json")), Frame::Ignore);
        assert_eq!(read_frame(&Message::Ping(vec![1].into())), Frame::Ignore);
        assert_eq!(read_frame(&Message::Close(None)), Frame::Closed);
    }
}
