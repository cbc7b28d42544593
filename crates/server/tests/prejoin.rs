//! The event channel before joining: v1 clients subscribe to a room's notices first and call
//! `add_pusher` after, so a valid token may listen to an existing room for the join grace.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::sockets::{PATIENCE, Running, Socket, connect_with_header, next_close, next_event};
use common::{User, config};
use futures_util::SinkExt;
use quartet_proto::{RoomKind, ServerEvent};
use quartet_server::{MAX_PREJOIN_SOCKETS_PER_ROOM, ServerConfig};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

/// A join grace short enough for a test to wait out.
const SHORT_GRACE: Duration = Duration::from_millis(300);

/// Waits until `check` holds, or fails the test after [`PATIENCE`].
async fn until(what: &str, check: impl Fn() -> bool) {
    tokio::time::timeout(PATIENCE, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never: {what}"));
}

/// Opens a socket with the token in a header and waits until the server has subscribed it.
async fn listen(r: &Running, kind: RoomKind, room: &str, user: &User) -> Socket {
    let before = r.h.server.room_subscribers(room);
    let socket = connect_with_header(r.addr, kind, room, user).await.unwrap();
    until("the socket is subscribed", || {
        r.h.server.room_subscribers(room) > before
    })
    .await;
    socket
}

/// The HTTP status and JSON body of a refused upgrade.
fn refused(result: Result<Socket, tungstenite::Error>) -> (u16, serde_json::Value) {
    match result {
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            (
                response.status().as_u16(),
                serde_json::from_slice(&body).unwrap_or_default(),
            )
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("upgrade was accepted"),
    }
}

async fn say(r: &Running, kind: RoomKind, room: &str, user: &User, text: &str) {
    let body = json!({"roomID": room, "userID": user.id, "msg": text, "userSig": user.sig});
    assert_eq!(r.h.code(kind, "send_room_text_msg", body).await, 0);
}

#[tokio::test]
async fn a_token_holder_that_subscribes_before_joining_hears_its_own_join_then_the_room() {
    let r = Running::start(config()).await;
    let h = &r.h;
    let kind = RoomKind::MultiRoom;
    let a = h.login().await;
    let b = h.login().await;
    let room = h.create_room(kind, &a, "r").await;
    let mut b_socket = listen(&r, kind, &room, &b).await;
    assert_eq!(h.server.prejoin_sockets(), 1);
    assert_eq!(
        h.server.connected_sockets(),
        0,
        "a listener is no member's socket"
    );

    // Chat is for members: a listener does not hear it.
    say(&r, kind, &room, &a, "before b joined").await;
    assert_eq!(h.join(kind, &room, &b).await, 0);
    assert_eq!(
        next_event(&mut b_socket).await,
        ServerEvent::pusher_change()
    );
    until("b's socket counts as its member's", || {
        h.server.connected_sockets() == 1
    })
    .await;
    assert_eq!(h.server.prejoin_sockets(), 0);

    // Now a member's socket: text, others' joins, and closing when b leaves.
    say(&r, kind, &room, &a, "after").await;
    match next_event(&mut b_socket).await {
        ServerEvent::Text { text, user_id, .. } => {
            assert_eq!((text.as_str(), user_id), ("after", a.id.clone()))
        }
        other => panic!("expected the text sent after joining, got {other:?}"),
    }
    let c = h.login().await;
    assert_eq!(h.join(kind, &room, &c).await, 0);
    assert_eq!(
        next_event(&mut b_socket).await,
        ServerEvent::pusher_change()
    );
    let leave = json!({"roomID": room, "userID": b.id, "userSig": b.sig});
    assert_eq!(h.code(kind, "delete_pusher", leave).await, 0);
    assert_eq!(
        next_event(&mut b_socket).await,
        ServerEvent::pusher_change()
    );
    let (code, reason) = next_close(&mut b_socket).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(reason.contains("no longer a member"), "{reason}");
    r.stop().await;
}

#[tokio::test]
async fn a_listener_that_never_joins_is_closed_after_the_grace_and_cannot_ask_for_keyframes() {
    let r = Running::start(ServerConfig {
        join_grace: SHORT_GRACE,
        ..config()
    })
    .await;
    let h = &r.h;
    let kind = RoomKind::DoubleRoom;
    let a = h.login().await;
    let b = h.login().await;
    let room = h.create_room(kind, &a, "r").await;
    // a's own socket is open, so a member's keyframe request to a would be passed on.
    let _a_socket = r.connect_registered(kind, &room, &a).await;
    let mut b_socket = listen(&r, kind, &room, &b).await;
    let ask = json!({"cmd": "requestKeyframe", "userID": a.id}).to_string();
    b_socket.send(Message::text(ask)).await.unwrap();

    let (code, reason) = next_close(&mut b_socket).await;
    assert_eq!(code, CloseCode::Policy);
    assert!(
        reason.contains("did not join the room within 300ms"),
        "{reason}"
    );
    assert_eq!(h.server.keyframe_requests_passed(), 0);
    until("the listener's place is given back", || {
        h.server.prejoin_sockets() == 0
    })
    .await;
    // a is unaffected, and b never became a member.
    assert_eq!(h.members(kind, &room).await, Ok(vec![a.id.clone()]));
    assert_eq!(h.server.connected_sockets(), 1);
    r.stop().await;
}

#[tokio::test]
async fn a_bad_token_or_a_missing_room_gets_nothing_and_listeners_are_capped() {
    let r = Running::start(config()).await;
    let h = &r.h;
    let kind = RoomKind::LiveRoom;
    let a = h.login().await;
    let b = h.login().await;
    let room = h.create_room(kind, &a, "r").await;

    let forged = User {
        id: b.id.clone(),
        sig: format!("{}x", b.sig),
    };
    let (status, body) = refused(connect_with_header(r.addr, kind, &room, &forged).await);
    assert_eq!((status, body["code"].clone()), (401, json!(7)), "{body}");
    let (status, body) = refused(connect_with_header(r.addr, kind, "room_nope", &b).await);
    assert_eq!((status, body["code"].clone()), (404, json!(3)), "{body}");
    let (status, _) = refused(connect_with_header(r.addr, RoomKind::MultiRoom, &room, &b).await);
    assert_eq!(status, 404, "a room of another kind does not exist either");
    assert_eq!(h.server.prejoin_sockets(), 0);

    let mut held = Vec::new();
    for _ in 0..MAX_PREJOIN_SOCKETS_PER_ROOM {
        held.push(listen(&r, kind, &room, &b).await);
    }
    let (status, body) = refused(connect_with_header(r.addr, kind, &room, &b).await);
    assert_eq!((status, body["code"].clone()), (429, json!(9)), "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("without having joined"),
        "{body}"
    );
    // Another user is not held back, and a closed listener makes room again.
    let other = listen(&r, kind, &room, &h.login().await).await;
    let mut first = held.remove(0);
    first.close(None).await.unwrap();
    until("the closed listener's place is given back", || {
        h.server.prejoin_sockets() == MAX_PREJOIN_SOCKETS_PER_ROOM
    })
    .await;
    held.push(listen(&r, kind, &room, &b).await);
    drop((held, other));
    r.stop().await;
}
