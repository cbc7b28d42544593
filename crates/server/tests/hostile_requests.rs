//! Requests from a hostile client with a valid login: oversized and forging fields, unpaged room
//! lists, floods of rooms, replayed requests. Each limit is exceeded by one (refused, nothing
//! changes) and met exactly (served).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::{Harness, User, config, nonce};
use quartet_proto::RoomKind;
use quartet_proto::limits::{
    MAX_AVATAR_BYTES, MAX_ID_BYTES, MAX_ROOM_NAME_CHARS, MAX_USER_ID_PREFIX_BYTES,
    MAX_USER_NAME_CHARS,
};
use quartet_proto::{MAX_ROOM_LIST_CNT, nonce as proto_nonce};
use quartet_server::{MAX_CREATIONS_PER_WINDOW, MAX_ROOMS_PER_USER, NONCE_WINDOW, ServerConfig};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

const KIND: RoomKind = RoomKind::MultiRoom;

fn create_body(user: &User, room_name: &str, user_name: &str, avatar: &str) -> Value {
    json!({"roomName": room_name, "userID": user.id, "userName": user_name,
           "userAvatar": avatar, "pushURL": "rtmp://x/live/s", "userSig": user.sig})
}

/// Posts and expects `code`, with a message naming `field` when refused.
async fn expect(h: &Harness, endpoint: &str, body: Value, code: i64, field: &str) -> Value {
    let v = h.post(KIND, endpoint, body).await;
    assert_eq!(v["code"], code, "{v}");
    if code != 0 {
        let message = v["detail"].as_str().unwrap();
        assert!(message.contains(field), "{field} not named in {message}");
    }
    v
}

#[tokio::test]
async fn names_over_their_length_are_refused_and_names_at_it_accepted() {
    let h = Harness::new(config());
    let a = h.login().await;
    let before = h.snapshot().await;
    let long_name = "名".repeat(MAX_USER_NAME_CHARS + 1);
    let body = create_body(&a, "r", &long_name, "a.png");
    let v = expect(&h, "create_room", body, 1, "userName").await;
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains(&MAX_USER_NAME_CHARS.to_string())
    );
    let long_room = "r".repeat(MAX_ROOM_NAME_CHARS + 1);
    expect(
        &h,
        "create_room",
        create_body(&a, &long_room, "n", "a.png"),
        1,
        "roomName",
    )
    .await;
    // The measured attack: a 55 KB nickname, a 45 KB room name.
    let huge = create_body(&a, &"r".repeat(45_000), "n", "a.png");
    expect(&h, "create_room", huge, 1, "roomName").await;
    let huge = create_body(&a, "r", &"n".repeat(55_000), "a.png");
    expect(&h, "create_room", huge, 1, "userName").await;
    let long_avatar = format!("https://h/{}", "a".repeat(MAX_AVATAR_BYTES));
    expect(
        &h,
        "create_room",
        create_body(&a, "r", "n", &long_avatar),
        1,
        "userAvatar",
    )
    .await;
    assert_eq!(
        h.snapshot().await,
        before,
        "a refused call changed something"
    );

    let at_limit = create_body(
        &a,
        &"房".repeat(MAX_ROOM_NAME_CHARS),
        &"名".repeat(MAX_USER_NAME_CHARS),
        &format!("https://h/{}", "a".repeat(MAX_AVATAR_BYTES - 10)),
    );
    expect(&h, "create_room", at_limit, 0, "").await;
}

#[tokio::test]
async fn control_and_bidi_characters_are_refused_in_names_and_room_names() {
    let h = Harness::new(config());
    let a = h.login().await;
    let before = h.snapshot().await;
    for bad in [
        "Ann\0",
        "\u{202e}nnA",
        "A\u{1b}[2J",
        "A\u{2066}x",
        "A\u{85}",
        "A\u{200f}",
    ] {
        expect(
            &h,
            "create_room",
            create_body(&a, bad, "n", "a.png"),
            1,
            "roomName",
        )
        .await;
        expect(
            &h,
            "create_room",
            create_body(&a, "r", bad, "a.png"),
            1,
            "userName",
        )
        .await;
    }
    for bad in ["javascript:alert(1)", "data:text/html,<b>x</b>", "a b.png"] {
        expect(
            &h,
            "create_room",
            create_body(&a, "r", "n", bad),
            1,
            "userAvatar",
        )
        .await;
    }
    assert_eq!(h.snapshot().await, before);
    let room = expect(
        &h,
        "create_room",
        create_body(&a, "Ann's 房间 🎉", "Ann ❤", "https://h/a.png"),
        0,
        "",
    )
    .await;
    let b = h.login().await;
    let join = json!({"roomID": room["roomID"], "userID": b.id, "userName": "Bob\u{202e}",
                      "userAvatar": " ", "pushURL": "rtmp://x", "userSig": b.sig});
    expect(&h, "add_pusher", join, 1, "userName").await;
}

#[tokio::test]
async fn ids_and_prefixes_over_their_length_are_refused() {
    let h = Harness::new(config());
    let long_id = "r".repeat(MAX_ID_BYTES + 1);
    expect(&h, "get_pushers", json!({"roomID": long_id}), 1, "roomID").await;
    expect(
        &h,
        "get_pushers",
        json!({"roomID": "r".repeat(MAX_ID_BYTES)}),
        3,
        "",
    )
    .await;
    let prefix = "p".repeat(MAX_USER_ID_PREFIX_BYTES + 1);
    expect(
        &h,
        "get_im_login_info",
        json!({"userIDPrefix": prefix}),
        1,
        "userIDPrefix",
    )
    .await;
    let prefix = "p".repeat(MAX_USER_ID_PREFIX_BYTES);
    expect(
        &h,
        "get_im_login_info",
        json!({"userIDPrefix": prefix}),
        0,
        "",
    )
    .await;
}

#[tokio::test]
async fn a_room_list_answers_at_most_a_page_and_tells_the_total() {
    let h = Harness::new(config());
    let rooms = MAX_ROOM_LIST_CNT + 1;
    let mut user = h.login().await;
    for i in 0..rooms {
        if i % MAX_ROOMS_PER_USER == 0 {
            user = h.login().await;
        }
        h.create_room(KIND, &user, &format!("r{i}")).await;
    }
    let v = h
        .post(KIND, "get_room_list", json!({"index": 0, "cnt": 1_000_000}))
        .await;
    assert_eq!(v["code"], 0);
    assert_eq!(v["rooms"].as_array().unwrap().len(), MAX_ROOM_LIST_CNT);
    assert_eq!(v["total"], rooms);
    let v = h
        .post(
            KIND,
            "get_room_list",
            json!({"index": MAX_ROOM_LIST_CNT, "cnt": 20}),
        )
        .await;
    assert_eq!(v["rooms"].as_array().unwrap().len(), 1);
    assert_eq!(v["rooms"][0]["roomName"], format!("r{MAX_ROOM_LIST_CNT}"));
    let v = h
        .post(
            RoomKind::LiveRoom,
            "get_room_list",
            json!({"index": 0, "cnt": 5}),
        )
        .await;
    assert_eq!(v["total"], 0);
}

#[tokio::test]
async fn a_user_is_in_at_most_its_share_of_rooms() {
    let h = Harness::new(config());
    let a = h.login().await;
    let mut rooms = Vec::new();
    for i in 0..MAX_ROOMS_PER_USER {
        rooms.push(h.create_room(KIND, &a, &format!("r{i}")).await);
    }
    let before = h.snapshot().await;
    expect(
        &h,
        "create_room",
        create_body(&a, "one more", "n", "a.png"),
        9,
        "rooms",
    )
    .await;
    let other = h.login().await;
    let elsewhere = h.create_room(KIND, &other, "elsewhere").await;
    let before_join = h.snapshot().await;
    assert_ne!(before, before_join);
    assert_eq!(h.join(KIND, &elsewhere, &a).await, 9);
    assert_eq!(h.snapshot().await, before_join);
    // Refreshing a membership it holds is not a new one.
    assert_eq!(h.join(KIND, &rooms[0], &a).await, 0);
    // Leaving one room makes room for another.
    let leave = json!({"roomID": rooms[0], "userID": a.id, "userSig": a.sig});
    assert_eq!(h.code(KIND, "destroy_room", leave).await, 0);
    assert_eq!(h.join(KIND, &elsewhere, &a).await, 0);
}

#[tokio::test]
async fn a_user_creating_rooms_too_fast_is_held_back() {
    let h = Harness::new(config());
    let a = h.login().await;
    for i in 0..MAX_CREATIONS_PER_WINDOW {
        let room = h.create_room(KIND, &a, &format!("r{i}")).await;
        let destroy = json!({"roomID": room, "userID": a.id, "userSig": a.sig});
        assert_eq!(h.code(KIND, "destroy_room", destroy).await, 0);
    }
    let v = expect(
        &h,
        "create_room",
        create_body(&a, "r", "n", "a.png"),
        9,
        "rooms created",
    )
    .await;
    assert!(v["detail"].as_str().unwrap().contains("try again"), "{v}");
    assert!(h.rooms(KIND).await.is_empty());
    // Another user is not held back by the first one's flood.
    let b = h.login().await;
    h.create_room(KIND, &b, "fine").await;
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn a_replayed_delete_pusher_does_nothing() {
    let h = Harness::new(config());
    let (_a, b, room) = h.room_of_two(KIND, "r").await;
    let leave = json!({"roomID": room, "userID": b.id, "userSig": b.sig, "nonce": nonce()});
    assert_eq!(h.code(KIND, "delete_pusher", leave.clone()).await, 0);
    assert_eq!(h.join(KIND, &room, &b).await, 0);
    let v = expect(&h, "delete_pusher", leave, 7, "nonce already used").await;
    assert_eq!(v["code"], 7);
    assert_eq!(
        h.members(KIND, &room).await.unwrap().len(),
        2,
        "the replay removed b"
    );
}

#[tokio::test]
async fn strict_mode_requires_a_fresh_nonce_on_calls_that_change_state() {
    let h = Harness::new(config());
    let (a, b, room) = h.room_of_two(KIND, "r").await;
    let window_ms = NONCE_WINDOW.as_millis() as u64;
    let text = |n: Value| json!({"roomID": room, "userID": a.id, "msg": "hi", "userSig": a.sig, "nonce": n});
    expect(&h, "send_room_text_msg", text(Value::Null), 1, "nonce").await;
    expect(&h, "send_room_text_msg", text("garbage".into()), 1, "nonce").await;
    let stale = proto_nonce::make(now_ms() - window_ms - 60_000, 7);
    expect(&h, "send_room_text_msg", text(stale.into()), 7, "clock").await;
    let early = proto_nonce::make(now_ms() + window_ms + 60_000, 7);
    expect(&h, "send_room_text_msg", text(early.into()), 7, "clock").await;
    let edge = proto_nonce::make(now_ms() - window_ms + 60_000, 7);
    expect(&h, "send_room_text_msg", text(edge.into()), 0, "").await;
    // Idempotent calls may omit it.
    let beat = json!({"roomID": room, "userID": b.id, "userSig": b.sig, "nonce": null});
    assert_eq!(h.code(KIND, "pusher_heartbeat", beat).await, 0);
    let url = json!({"userID": b.id, "userSig": b.sig, "nonce": null});
    assert_eq!(h.code(KIND, "get_push_url", url).await, 0);
    for (endpoint, body) in [
        (
            "delete_pusher",
            json!({"roomID": room, "userID": b.id, "userSig": b.sig, "nonce": null}),
        ),
        (
            "destroy_room",
            json!({"roomID": room, "userID": a.id, "userSig": a.sig, "nonce": null}),
        ),
    ] {
        expect(&h, endpoint, body, 1, "nonce").await;
    }
    assert_eq!(h.members(KIND, &room).await.unwrap().len(), 2);
}

#[tokio::test]
async fn anonymous_mode_serves_v1_clients_without_nonces_but_still_refuses_replays() {
    let h = Harness::new(ServerConfig {
        allow_anonymous: true,
        ..config()
    });
    let a = h.login().await;
    let create = json!({"roomName": "r", "userID": a.id, "userName": "n", "userAvatar": "a.png",
                        "pushURL": "rtmp://x"});
    let room = h.post(KIND, "create_room", create).await;
    assert_eq!(room["code"], 0, "{room}");
    let b = h.login().await;
    let n = nonce();
    let join = json!({"roomID": room["roomID"], "userID": b.id, "userName": "b",
                      "userAvatar": "b.png", "pushURL": "rtmp://x", "nonce": n});
    assert_eq!(h.code(KIND, "add_pusher", join.clone()).await, 0);
    assert_eq!(h.code(KIND, "add_pusher", join).await, 7);
}
