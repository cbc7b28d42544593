//! The event channel over a real socket, served by `run` on 127.0.0.1:0.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::sockets::{PATIENCE, Running, next_close, next_event, refusal};
use common::{Harness, config};
use futures_util::SinkExt;
use quartet_proto::event::{CloseReason, TextHead};
use quartet_proto::{RoomKind, ServerEvent};
use quartet_server::{NeverLive, Server, ServerConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn members_see_joins_leaves_texts_and_the_room_closing() {
    for kind in RoomKind::ALL {
        let r = Running::start(config()).await;
        let h = &r.h;
        let a = h.login().await;
        let b = h.login().await;
        let room = h.create_room(kind, &a, "r").await;
        let mut a_socket = r.connect_registered(kind, &room, &a).await;

        assert_eq!(h.join(kind, &room, &b).await, 0);
        assert_eq!(
            next_event(&mut a_socket).await,
            ServerEvent::pusher_change()
        );
        let mut b_socket = r.connect_registered(kind, &room, &b).await;

        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let sent = h
            .code(
                kind,
                "send_room_text_msg",
                json!({"roomID": room, "userID": b.id, "msg": "你好 hello", "userSig": b.sig}),
            )
            .await;
        assert_eq!(sent, 0);
        for socket in [&mut a_socket, &mut b_socket] {
            match next_event(socket).await {
                ServerEvent::Text {
                    data,
                    user_id,
                    text,
                    time,
                } => {
                    assert_eq!(
                        data,
                        TextHead {
                            nick_name: format!("{} name", b.id),
                            head_pic: format!("{}.png", b.id),
                        }
                    );
                    assert_eq!(user_id, b.id);
                    assert_eq!(text, "你好 hello");
                    assert!(time >= before, "time is unix ms");
                }
                other => panic!("expected a text, got {other:?}"),
            }
        }
        // A sender claiming another member's name and avatar is shown with its own.
        let sent = h
            .code(
                kind,
                "send_room_text_msg",
                json!({"roomID": room, "userID": a.id, "msg": "x", "nickName": format!("{} name", b.id),
                       "headpic": format!("{}.png", b.id), "userSig": a.sig}),
            )
            .await;
        assert_eq!(sent, 0);
        match next_event(&mut b_socket).await {
            ServerEvent::Text { data, .. } => {
                assert_eq!(
                    (data.nick_name, data.head_pic),
                    (format!("{} name", a.id), format!("{}.png", a.id))
                );
            }
            other => panic!("expected a text, got {other:?}"),
        }
        let _ = next_event(&mut a_socket).await;

        // b leaves: a is told; b's socket is told too, then closed as it is no longer a member.
        assert_eq!(
            h.code(
                kind,
                "delete_pusher",
                json!({"roomID": room, "userID": b.id, "userSig": b.sig})
            )
            .await,
            0
        );
        assert_eq!(
            next_event(&mut a_socket).await,
            ServerEvent::pusher_change()
        );
        assert_eq!(
            next_event(&mut b_socket).await,
            ServerEvent::pusher_change()
        );
        let (code, reason) = next_close(&mut b_socket).await;
        assert_eq!(code, CloseCode::Policy);
        assert!(reason.contains("no longer a member"), "{reason}");

        assert_eq!(
            h.code(
                kind,
                "destroy_room",
                json!({"roomID": room, "userID": a.id, "userSig": a.sig})
            )
            .await,
            0
        );
        assert_eq!(
            next_event(&mut a_socket).await,
            ServerEvent::room_closed(CloseReason::Destroyed)
        );
        let (code, _) = next_close(&mut a_socket).await;
        assert_eq!(code, CloseCode::Normal);
        r.stop().await;
    }
}

#[tokio::test]
async fn the_creator_leaving_closes_every_socket_with_room_closed() {
    let r = Running::start(config()).await;
    let h = &r.h;
    let kind = RoomKind::MultiRoom;
    let (a, b, room) = h.room_of_two(kind, "r").await;
    let mut b_socket = r.connect_registered(kind, &room, &b).await;
    assert_eq!(
        h.code(
            kind,
            "delete_pusher",
            json!({"roomID": room, "userID": a.id, "userSig": a.sig})
        )
        .await,
        0
    );
    assert_eq!(
        next_event(&mut b_socket).await,
        ServerEvent::room_closed(CloseReason::CreatorLeft)
    );
    next_close(&mut b_socket).await;
    r.stop().await;
}

#[tokio::test]
async fn shutdown_tells_every_socket_and_run_returns() {
    // A server that keeps its rooms keeps them through shutdown (tests/restart.rs).
    let r = Running::start_in_memory(config()).await;
    let h = &r.h;
    let mut sockets = Vec::new();
    for kind in RoomKind::ALL {
        let a = h.login().await;
        let room = h.create_room(kind, &a, "r").await;
        sockets.push(r.connect_registered(kind, &room, &a).await);
    }
    let server = h.server.clone();
    r.stop().await;
    for socket in &mut sockets {
        assert_eq!(
            next_event(socket).await,
            ServerEvent::room_closed(CloseReason::ServerShutdown)
        );
    }
    assert_eq!(server.room_count(), 0);
    assert_eq!(server.connected_sockets(), 0);
}

#[tokio::test]
async fn a_client_closing_its_socket_ends_the_session() {
    let r = Running::start(config()).await;
    let h = &r.h;
    let kind = RoomKind::DoubleRoom;
    let a = h.login().await;
    let room = h.create_room(kind, &a, "r").await;
    let mut socket = r.connect_registered(kind, &room, &a).await;
    socket.send(Message::Close(None)).await.unwrap();
    tokio::time::timeout(PATIENCE, async {
        while h.server.connected_sockets() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("session did not end");
    assert_eq!(h.members(kind, &room).await, Ok(vec![a.id.clone()]));
    r.stop().await;
}

#[tokio::test]
async fn upgrades_are_refused_with_a_clear_reason() {
    let r = Running::start(config()).await;
    let h = &r.h;
    let kind = RoomKind::MultiRoom;
    let a = h.login().await;
    let stranger = h.login().await;
    let room = h.create_room(kind, &a, "r").await;
    let base = format!("ws://{}/weapp/{kind}/events", r.addr);

    let cases = [
        (format!("{base}?roomID={room}&userID={}", a.id), 401, 7),
        (
            format!("{base}?roomID={room}&userID={}&userSig=junk", a.id),
            401,
            7,
        ),
        (
            format!(
                "{base}?roomID={room}&userID={}&userSig={}",
                a.id, stranger.sig
            ),
            401,
            7,
        ),
        // A valid token of a user that has not joined may listen (tests/prejoin.rs), but not
        // to a room that does not exist.
        (r.url(kind, "room_nope", &stranger), 404, 3),
        (r.url(kind, "room_nope", &a), 404, 3),
        (r.url(RoomKind::LiveRoom, &room, &a), 404, 3),
        (format!("{base}?userID={}&userSig={}", a.id, a.sig), 400, 1),
    ];
    for (url, status, code) in cases {
        let (got_status, body) = refusal(url.clone()).await;
        assert_eq!(got_status, status, "{url}");
        if !body.is_null() {
            assert_eq!(body["code"], code, "{url}: {body}");
            assert!(body["detail"].is_string());
        }
    }
    // A refusal read in full through the router: a bearer token for someone else.
    let (status, body) = h
        .request(
            axum::http::Request::get(format!(
                "/weapp/{kind}/events?roomID={room}&userID={}",
                a.id
            ))
            .header("authorization", format!("Bearer {}", stranger.sig))
            .body(axum::body::Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!((status.as_u16(), body["code"].clone()), (401, json!(7)));
    assert!(body["detail"].is_string(), "{body}");
    // A member, but not a WebSocket request.
    let (status, body) = h
        .request(
            axum::http::Request::get(format!(
                "/weapp/{kind}/events?roomID={room}&userID={}&userSig={}",
                a.id, a.sig
            ))
            .body(axum::body::Body::empty())
            .unwrap(),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    assert!(
        body["detail"].as_str().unwrap().contains("WebSocket"),
        "{body}"
    );
    r.stop().await;
}

#[tokio::test]
async fn anonymous_sockets_pass_only_when_allowed() {
    let r = Running::start(ServerConfig {
        allow_anonymous: true,
        ..config()
    })
    .await;
    let kind = RoomKind::LiveRoom;
    let v = r
        .h
        .post(
            kind,
            "create_room",
            json!({"roomName": "v1", "userID": "legacy", "userName": "L", "userAvatar": "a", "pushURL": "u"}),
        )
        .await;
    let room = v["roomID"].as_str().unwrap();
    let url = format!(
        "ws://{}/weapp/{kind}/events?roomID={room}&userID=legacy",
        r.addr
    );
    let (socket, _) = tokio_tungstenite::connect_async(url.clone()).await.unwrap();
    drop(socket);
    let (status, _) = refusal(format!("{url}&userSig=junk")).await;
    assert_eq!(status, 401);
    // Without a token there is nothing to listen on before joining: only members.
    let (status, body) = refusal(format!(
        "ws://{}/weapp/{kind}/events?roomID={room}&userID=someone_else",
        r.addr
    ))
    .await;
    assert_eq!((status, body["code"].clone()), (403, json!(5)));
    assert!(
        body["detail"].as_str().unwrap().contains("not a member"),
        "{body}"
    );
    r.stop().await;
}

#[tokio::test]
async fn without_events_the_channel_is_404_like_a_v1_server() {
    let server = Server::new(
        ServerConfig {
            events: false,
            ..config()
        },
        Arc::new(NeverLive),
    );
    let h = Harness::of(server, None);
    let a = h.login().await;
    let room = h.create_room(RoomKind::MultiRoom, &a, "r").await;
    let (status, body) = h
        .request(
            axum::http::Request::get(format!(
                "/weapp/multi_room/events?roomID={room}&userID={}&userSig={}",
                a.id, a.sig
            ))
            .body(axum::body::Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(status, 404);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no event channel"),
        "{body}"
    );
}
