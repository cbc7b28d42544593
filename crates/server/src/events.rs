//! The event channel (spec §4): `GET /weapp/{kind}/events?roomID=..&userID=..` with the token in
//! an `Authorization: Bearer` header upgrades to a WebSocket that carries the room's `ServerEvent`s as JSON text frames, and the
//! keyframe requests (ext) a client sends for another member's stream.

use crate::answer::{bearer_token, json_error};
use crate::rooms::RoomError;
use crate::server::{PreJoinPass, Refusal, Server, Subscription};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use quartet_proto::{ClientEvent, Code, Fields, RoomKind, ServerEvent};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::task::task_tracker::TaskTrackerToken;

/// How often the server pings a socket, so dead peers and idle proxies are noticed.
pub const PING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15);
/// A socket that has not been heard from (pong or anything else) for this long is dead.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45);
/// Longest wait for one frame to be written, so a peer that stopped reading cannot hold a task.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Largest frame a client may send; clients answer pings, close, and send keyframe requests of
/// well under a hundred bytes.
pub const MAX_INBOUND_MESSAGE: usize = 4 * 1024;

/// Serves `GET /weapp/{kind}/events`: checks the caller, then upgrades.
///
/// The token comes in an `Authorization: Bearer` header; the `userSig` query parameter is still
/// read for older clients but is deprecated (a URL ends up in logs and proxies).
pub(crate) async fn open(
    server: Server,
    kind: RoomKind,
    query: Option<String>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let fields = Fields::from_pairs(pairs);
    let (room_id, user_id) = match (fields.required("roomID"), fields.required("userID")) {
        (Ok(room), Ok(user)) => (room, user),
        (Err(e), _) | (_, Err(e)) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                Code::BadParams,
                format!("event channel query: {e}"),
            );
        }
    };
    let token = bearer_token(&headers).or_else(|| fields.optional("userSig"));
    let prejoin = match server.admit_socket(kind, &room_id, &user_id, token.as_deref()) {
        Ok(prejoin) => prejoin,
        Err(refusal) => {
            let status = match &refusal {
                Refusal::Auth(_) => StatusCode::UNAUTHORIZED,
                Refusal::Room(RoomError::NoSuchMember { .. }) => StatusCode::FORBIDDEN,
                Refusal::Room(_) => StatusCode::NOT_FOUND,
                Refusal::PreJoin(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::BAD_REQUEST,
            };
            return json_error(status, refusal.code(), refusal.to_string());
        }
    };
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => {
            return json_error(
                rejection.status(),
                Code::BadParams,
                format!("the event channel is a WebSocket: {rejection}"),
            );
        }
    };
    let session = EventSession {
        _claim: server.socket_token(),
        server,
        kind,
        room_id,
        user_id,
    };
    upgrade
        .max_message_size(MAX_INBOUND_MESSAGE)
        .on_upgrade(move |socket| session.run(socket, prejoin))
}

/// One event socket: forwards the room's events until the room closes, the member leaves, the
/// peer goes away or the server shuts down. A socket opened before its user joined listens to
/// the room's membership notices (not its text: that is for members) and becomes a member's
/// socket when the user's `add_pusher` lands, or is closed after the join grace.
struct EventSession {
    server: Server,
    kind: RoomKind,
    room_id: String,
    user_id: String,
    /// Held for the session's life so shutdown waits for it.
    _claim: TaskTrackerToken,
}

/// Unregisters the socket however the session ends.
struct Detach<'a> {
    session: &'a EventSession,
    /// The membership the socket belongs to; `None` while the user has not joined.
    serial: Option<u64>,
    slot: u64,
}

impl Drop for Detach<'_> {
    fn drop(&mut self) {
        let s = self.session;
        s.server
            .close_socket_slot(&s.room_id, &s.user_id, self.slot);
        if let Some(serial) = self.serial {
            s.server.detach_socket(&s.room_id, &s.user_id, serial);
        }
        tracing::debug!(room = %s.room_id, user = %s.user_id, "event socket closed");
    }
}

/// Why the session ends, as told to the peer in the close frame.
enum End {
    RoomClosed,
    NotMember,
    NeverJoined,
    PeerGone,
    Silent,
    Displaced,
}

impl EventSession {
    async fn run(self, mut socket: WebSocket, mut prejoin: Option<PreJoinPass>) {
        let Subscription { serial, mut events } =
            match self
                .server
                .subscribe_socket(self.kind, &self.room_id, &self.user_id)
            {
                Ok(s) if s.serial.is_some() || prejoin.is_some() => s,
                Ok(_) => {
                    // An admitted member left between the check and the upgrade.
                    close(&mut socket, close_code::POLICY, NOT_A_MEMBER).await;
                    return;
                }
                Err(e) => {
                    // The room closed between the check and the upgrade.
                    close(&mut socket, close_code::POLICY, &e.to_string()).await;
                    return;
                }
            };
        if serial.is_some() {
            prejoin = None;
        }
        let (slot, mut direct) = self.server.open_socket_slot(&self.room_id, &self.user_id);
        let mut detach = Detach {
            session: &self,
            serial,
            slot: slot.id,
        };
        tracing::debug!(room = %self.room_id, user = %self.user_id, member = serial.is_some(), "event socket opened");
        let grace = self.server.join_grace();
        let join_deadline = tokio::time::sleep(grace);
        tokio::pin!(join_deadline);
        let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let end = loop {
            tokio::select! {
                () = slot.displaced.cancelled() => break End::Displaced,
                event = events.recv() => {
                    if let Err(RecvError::Lagged(skipped)) = &event {
                        tracing::debug!(room = %self.room_id, user = %self.user_id, skipped, "event socket fell behind");
                    }
                    let Some(event) = catch_up(event) else {
                        break End::RoomClosed;
                    };
                    if detach.serial.is_none() {
                        detach.serial = self.joined(&event);
                        if detach.serial.is_some() {
                            prejoin = None;
                        } else if !for_listeners(&event) {
                            continue;
                        }
                    }
                    if let Some(end) = self.forward(&mut socket, &event, detach.serial).await {
                        break end;
                    }
                }
                Some(event) = direct.recv() => {
                    if !send_event(&mut socket, &event).await {
                        break End::PeerGone;
                    }
                }
                incoming = socket.recv() => match incoming {
                    // After a close frame, keep reading so the reply is flushed; then `None`.
                    Some(Ok(message)) => {
                        last_heard = Instant::now();
                        self.on_client_message(&message, detach.serial);
                    }
                    None | Some(Err(_)) => break End::PeerGone,
                },
                _ = ping.tick() => {
                    if last_heard.elapsed() > IDLE_TIMEOUT {
                        break End::Silent;
                    }
                    if !send(&mut socket, Message::Ping(Default::default())).await {
                        break End::PeerGone;
                    }
                }
                () = &mut join_deadline, if detach.serial.is_none() => break End::NeverJoined,
            }
        };
        drop(prejoin);
        let reason = match end {
            End::RoomClosed => Some((close_code::NORMAL, "room closed".to_owned())),
            End::NotMember => Some((close_code::POLICY, NOT_A_MEMBER.to_owned())),
            End::NeverJoined => Some((
                close_code::POLICY,
                format!("did not join the room within {grace:?} of subscribing"),
            )),
            End::Silent => Some((close_code::AWAY, "no pong received".to_owned())),
            End::Displaced => Some((
                close_code::POLICY,
                "replaced by a newer event socket of the same member".to_owned(),
            )),
            End::PeerGone => None,
        };
        if let Some((code, reason)) = reason {
            close(&mut socket, code, &reason).await;
        }
    }

    /// For a socket whose user has not joined: on a membership notice, whether the user is a
    /// member now, in which case the socket becomes one of its (the serial is returned).
    fn joined(&self, event: &ServerEvent) -> Option<u64> {
        if !matches!(event, ServerEvent::PusherChange { .. }) {
            return None;
        }
        let serial = self
            .server
            .attach_subscribed(self.kind, &self.room_id, &self.user_id)
            .ok()?;
        tracing::debug!(room = %self.room_id, user = %self.user_id, "a listening event socket joined");
        Some(serial)
    }

    /// Sends a room event; says why the session ends if it must.
    async fn forward(
        &self,
        socket: &mut WebSocket,
        event: &ServerEvent,
        serial: Option<u64>,
    ) -> Option<End> {
        if !send_event(socket, event).await {
            return Some(End::PeerGone);
        }
        match (event, serial) {
            (ServerEvent::RoomClosed { .. }, _) => Some(End::RoomClosed),
            (ServerEvent::PusherChange { .. }, Some(serial))
                if !self.server.is_member(&self.room_id, &self.user_id, serial) =>
            {
                Some(End::NotMember)
            }
            _ => None,
        }
    }
}

/// Close reason of a socket whose member left.
const NOT_A_MEMBER: &str = "no longer a member of the room";

/// Whether a socket whose user has not joined hears `event`: membership notices and the room
/// closing, which a client about to join needs; text is for members only, so a token holder
/// cannot read a room's chat by subscribing again and again without joining.
fn for_listeners(event: &ServerEvent) -> bool {
    matches!(
        event,
        ServerEvent::PusherChange { .. } | ServerEvent::RoomClosed { .. }
    )
}

impl EventSession {
    /// Acts on what a client sent: a member's keyframe request is passed on (or dropped,
    /// silently: the channel has no replies); anything else, and anything from a socket whose
    /// user has not joined, is ignored.
    fn on_client_message(&self, message: &Message, serial: Option<u64>) {
        let Message::Text(text) = message else {
            return;
        };
        match serde_json::from_str::<ClientEvent>(text.as_str()) {
            Ok(ClientEvent::RequestKeyframe { user_id: target }) => {
                let Some(serial) = serial else {
                    tracing::debug!(room = %self.room_id, user = %self.user_id, %target, "keyframe request from a socket that has not joined: dropped");
                    return;
                };
                if let Err(refusal) = self.server.request_keyframe(
                    self.kind,
                    &self.room_id,
                    &self.user_id,
                    serial,
                    &target,
                ) {
                    tracing::debug!(room = %self.room_id, user = %self.user_id, %target, %refusal, "keyframe request dropped");
                }
            }
            Err(e) => {
                tracing::debug!(room = %self.room_id, user = %self.user_id, error = %e, "ignoring a client message");
            }
        }
    }
}

/// The queue-skipping policy: a socket that fell more than [`crate::EVENT_BUFFER`] events
/// behind skips to the oldest event still buffered, and is told to refetch the member list in
/// place of the membership notices it missed (skipped text messages are gone: chat, not state).
/// `None` when the room's channel has closed.
fn catch_up(received: Result<ServerEvent, RecvError>) -> Option<ServerEvent> {
    match received {
        Ok(event) => Some(event),
        Err(RecvError::Lagged(_)) => Some(ServerEvent::pusher_change()),
        Err(RecvError::Closed) => None,
    }
}

async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn send_event(socket: &mut WebSocket, event: &ServerEvent) -> bool {
    match serde_json::to_string(event) {
        Ok(json) => send(socket, Message::Text(json.into())).await,
        Err(e) => {
            tracing::error!(error = %e, "event did not serialize");
            true
        }
    }
}

/// Longest close reason: a close frame's payload is at most 125 bytes, two of them the code.
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// `reason` cut to fit a close frame, on a character boundary.
fn fit_close_reason(reason: &str) -> &str {
    let mut end = reason.len().min(MAX_CLOSE_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: fit_close_reason(reason).into(),
    };
    send(socket, Message::Close(Some(frame))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_socket_that_fell_behind_refetches_then_resumes_with_what_is_buffered() {
        let (tx, mut rx) = tokio::sync::broadcast::channel(2);
        let text = |n: u64| ServerEvent::Text {
            data: Default::default(),
            user_id: "u".into(),
            text: n.to_string(),
            time: n,
        };
        for n in 0..5 {
            tx.send(text(n)).unwrap();
        }
        assert_eq!(
            catch_up(rx.recv().await),
            Some(ServerEvent::pusher_change())
        );
        assert_eq!(catch_up(rx.recv().await), Some(text(3)));
        assert_eq!(catch_up(rx.recv().await), Some(text(4)));
        drop(tx);
        assert_eq!(catch_up(rx.recv().await), None);
    }

    #[test]
    fn close_reasons_fit_a_frame_without_splitting_a_character() {
        assert_eq!(fit_close_reason("room closed"), "room closed");
        let long = "房".repeat(60);
        let cut = fit_close_reason(&long);
        assert!(cut.len() <= MAX_CLOSE_REASON_BYTES);
        assert_eq!(cut.len(), 123);
        let long = format!("a{}", "房".repeat(60));
        assert_eq!(fit_close_reason(&long).len(), 121);
    }
}
