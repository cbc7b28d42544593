//! Every endpoint and every code, for every room kind.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::{Harness, PUSH_KEY, TOKEN_SECRET, User, config};
use quartet_proto::sign::{StreamKey, StreamSigner};
use quartet_proto::token::TokenKey;
use quartet_proto::{Code, RoomKind};
use quartet_server::{Capacities, MAX_TEXT_BYTES, ServerConfig};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn signer() -> StreamSigner {
    StreamSigner::new("8888", PUSH_KEY)
}

/// Asserts `url` is `{base}/8888_{user}?...` with a valid signature for that stream.
fn signed_key(url: &str, base: &str, user: &str) -> StreamKey {
    let rest = url
        .strip_prefix(&format!("{base}/"))
        .unwrap_or_else(|| panic!("{url} not under {base}"));
    let key = StreamKey::parse(rest);
    assert_eq!(key.stream_id, format!("8888_{user}"));
    key
}

/// A push URL for `user`'s stream under `base`.
fn assert_signed(url: &str, base: &str, user: &str) {
    signer()
        .verify_push(&signed_key(url, base, user), now_secs())
        .unwrap();
}

/// A play URL for `user`'s stream under `base`, which cannot publish.
fn assert_play_signed(url: &str, base: &str, user: &str) {
    let key = signed_key(url, base, user);
    signer().verify_play(&key, now_secs()).unwrap();
    assert!(
        signer().verify_push(&key, now_secs()).is_err(),
        "{url} would publish"
    );
}

#[tokio::test]
async fn get_im_login_info_issues_unique_users_with_tokens_bound_to_them() {
    let h = Harness::new(config());
    let keys = TokenKey::new(TOKEN_SECRET);
    for kind in RoomKind::ALL {
        let v = h
            .post(
                kind,
                "get_im_login_info",
                json!({"userIDPrefix": "x", "code": "wx"}),
            )
            .await;
        assert_eq!(v["code"], 0);
        let user = v["userID"].as_str().unwrap();
        assert!(user.starts_with("user_"), "{user}");
        assert!(v["sdkAppID"].is_u64());
        assert!(v["accType"].is_string());
        keys.verify_for(v["userSig"].as_str().unwrap(), user, now_secs())
            .unwrap();
        let again = h
            .post(kind, "get_im_login_info", json!({"userIDPrefix": "x"}))
            .await;
        assert_ne!(again["userID"], v["userID"]);
        assert_eq!(
            h.code(kind, "get_im_login_info", json!({})).await,
            Code::BadParams.as_i64()
        );
    }
}

#[tokio::test]
async fn get_push_url_signs_the_users_stream_for_that_user_only() {
    let h = Harness::new(config());
    for kind in RoomKind::ALL {
        let a = h.login().await;
        let b = h.login().await;
        let v = h
            .post(
                kind,
                "get_push_url",
                json!({"userID": a.id, "userSig": a.sig}),
            )
            .await;
        assert_eq!(v["code"], 0, "{v}");
        assert_signed(
            v["pushURL"].as_str().unwrap(),
            "rtmp://127.0.0.1:1935/live",
            &a.id,
        );
        // A push URL lets its holder take over the stream, so it is issued only to its owner.
        let code = |body| h.code(kind, "get_push_url", body);
        assert_eq!(
            code(json!({"userID": a.id})).await,
            Code::AuthFailed.as_i64()
        );
        assert_eq!(
            code(json!({"userID": a.id, "userSig": b.sig})).await,
            Code::AuthFailed.as_i64()
        );
        assert_eq!(code(json!({"userID": "", "userSig": a.sig})).await, 1);
    }
}

#[tokio::test]
async fn small_streams_are_offered_beside_the_main_one_unless_turned_off() {
    for offered in [true, false] {
        let h = Harness::new(ServerConfig {
            small_streams: offered,
            ..config()
        });
        let kind = RoomKind::MultiRoom;
        let a = h.login().await;
        let body = json!({"userID": a.id, "userSig": a.sig});
        let v = h.post(kind, "get_push_url", body).await;
        let room = h.create_room(kind, &a, "small").await;
        let listed = h.post(kind, "get_pushers", json!({"roomID": room})).await;
        let pusher = &listed["pushers"][0];
        if offered {
            let small = v["smallPushURL"].as_str().unwrap();
            assert_signed(
                small,
                "rtmp://127.0.0.1:1935/live",
                &format!("{}-small", a.id),
            );
            let play = pusher["smallAccelerateURL"].as_str().unwrap();
            assert_play_signed(
                play,
                "rtmp://127.0.0.1:1935/live",
                &format!("{}-small", a.id),
            );
        } else {
            // v1's shape exactly: the extension fields are absent, not null.
            assert!(v.get("smallPushURL").is_none(), "{v}");
            assert!(pusher.get("smallAccelerateURL").is_none(), "{pusher}");
        }
        assert!(pusher["accelerateURL"].as_str().unwrap().contains(&a.id));
    }
}

#[tokio::test]
async fn create_room_makes_the_creator_the_first_pusher_with_ids_unique_across_kinds() {
    let h = Harness::new(config());
    let mut ids = Vec::new();
    for kind in RoomKind::ALL {
        let a = h.login().await;
        let room = h.create_room(kind, &a, "first").await;
        assert!(room.starts_with("room_"), "{room}");
        assert_eq!(h.members(kind, &room).await, Ok(vec![a.id.clone()]));
        ids.push(room);

        let full = json!({"roomName": "r", "userID": a.id, "userName": "n", "userAvatar": "p", "pushURL": "u", "userSig": a.sig});
        for field in ["roomName", "userID", "userName", "userAvatar", "pushURL"] {
            let mut body = full.clone();
            body[field] = json!("");
            assert_eq!(h.code(kind, "create_room", body).await, 1, "{field}");
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), RoomKind::ALL.len());
    for kind in RoomKind::ALL {
        assert_eq!(h.rooms(kind).await.len(), 1, "{kind}");
    }
}

#[tokio::test]
async fn rooms_are_found_only_under_their_own_kind() {
    let h = Harness::new(config());
    let a = h.login().await;
    let room = h.create_room(RoomKind::MultiRoom, &a, "m").await;
    for kind in [RoomKind::DoubleRoom, RoomKind::LiveRoom] {
        assert_eq!(h.members(kind, &room).await, Err(3));
        assert_eq!(h.join(kind, &room, &h.login().await).await, 3);
    }
}

#[tokio::test]
async fn add_pusher_joins_refreshes_and_refuses_full_rooms() {
    for kind in RoomKind::ALL {
        let h = Harness::new(config());
        let creator = h.login().await;
        let room = h.create_room(kind, &creator, "r").await;
        let capacity = kind.default_capacity();
        let mut members = vec![creator.id.clone()];
        for _ in 1..capacity {
            let u = h.login().await;
            assert_eq!(h.join(kind, &room, &u).await, 0);
            members.push(u.id);
        }
        assert_eq!(h.members(kind, &room).await, Ok(members.clone()));

        let late = h.login().await;
        let full = h
            .post(
                kind,
                "add_pusher",
                json!({"roomID": room, "userID": late.id, "userName": "n", "userAvatar": "a", "pushURL": "u", "userSig": late.sig}),
            )
            .await;
        assert_eq!(full["code"], Code::RoomFull.as_i64(), "{kind}: {full}");
        assert!(full["detail"].as_str().unwrap().contains("full"));

        // A member joining again is refreshed, not counted, even in a full room.
        assert_eq!(
            h.code(
                kind,
                "add_pusher",
                json!({"roomID": room, "userID": creator.id, "userName": "renamed", "userAvatar": "b", "pushURL": "u2", "userSig": creator.sig}),
            )
            .await,
            0
        );
        let v = h.post(kind, "get_pushers", json!({"roomID": room})).await;
        assert_eq!(v["pushers"][0]["userID"], creator.id.as_str());
        assert_eq!(v["pushers"][0]["userName"], "renamed");
        assert_eq!(v["pushers"].as_array().unwrap().len(), capacity);
        assert!(v["pushers"][0].get("sharingScreen").is_none(), "{v}");

        // A refresh saying the stream shows a screen (ext) lists it so, and back.
        for sharing in [true, false] {
            let body = json!({"roomID": room, "userID": creator.id, "userName": "renamed", "userAvatar": "b", "pushURL": "u2", "sharingScreen": sharing, "userSig": creator.sig});
            assert_eq!(h.code(kind, "add_pusher", body).await, 0);
            let v = h.post(kind, "get_pushers", json!({"roomID": room})).await;
            assert_eq!(
                v["pushers"][0].get("sharingScreen") == Some(&json!(true)),
                sharing,
                "{v}"
            );
        }

        assert_eq!(h.join(kind, "room_nope", &late).await, 3, "v1 bug fixed");
        let body = json!({"roomID": room, "userID": late.id, "userName": "n", "userAvatar": "a", "userSig": late.sig});
        assert_eq!(h.code(kind, "add_pusher", body).await, 1);
    }
}

#[tokio::test]
async fn capacity_is_configurable_per_kind() {
    let h = Harness::new(ServerConfig {
        capacity: Capacities::default().with(RoomKind::DoubleRoom, 3),
        ..config()
    });
    let a = h.login().await;
    let room = h.create_room(RoomKind::DoubleRoom, &a, "r").await;
    for expected in [0, 0, 5001] {
        let u = h.login().await;
        assert_eq!(h.join(RoomKind::DoubleRoom, &room, &u).await, expected);
    }
}

#[tokio::test]
async fn get_pushers_lists_signed_play_urls_and_room_extensions() {
    for kind in RoomKind::ALL {
        let h = Harness::new(config());
        let (a, b, room) = h.room_of_two(kind, "talk").await;
        let v = h.post(kind, "get_pushers", json!({"roomID": room})).await;
        assert_eq!(v["code"], 0);
        assert_eq!(v["roomID"], room.as_str());
        assert_eq!(v["roomName"], "talk");
        assert_eq!(v["roomCreator"], a.id.as_str());
        let pushers = v["pushers"].as_array().unwrap();
        assert_eq!(pushers.len(), 2);
        for (p, u) in pushers.iter().zip([&a, &b]) {
            assert_eq!(p["userID"], u.id.as_str());
            assert_eq!(p["userName"], format!("{} name", u.id));
            assert_eq!(p["userAvatar"], format!("{}.png", u.id));
            // Derived from the userID, not from the pushURL the client sent.
            assert_play_signed(
                p["accelerateURL"].as_str().unwrap(),
                "rtmp://127.0.0.1:1935/live",
                &u.id,
            );
        }
        assert_play_signed(
            v["mixedPlayURL"].as_str().unwrap(),
            "rtmp://127.0.0.1:1935/live",
            &a.id,
        );
        assert_eq!(h.members(kind, "room_404").await, Err(3));
        assert_eq!(h.code(kind, "get_pushers", json!({})).await, 1);
    }
}

#[tokio::test]
async fn play_and_flv_bases_shape_the_play_urls() {
    let h = Harness::new(ServerConfig {
        play_base: Some("rtmp://play.example/live".into()),
        flv_base: Some("http://flv.example/live/".into()),
        ..config()
    });
    let a = h.login().await;
    let room = h.create_room(RoomKind::LiveRoom, &a, "r").await;
    let v = h
        .post(RoomKind::LiveRoom, "get_pushers", json!({"roomID": room}))
        .await;
    assert_play_signed(
        v["pushers"][0]["accelerateURL"].as_str().unwrap(),
        "rtmp://play.example/live",
        &a.id,
    );
    let flv = v["mixedPlayURL"].as_str().unwrap();
    let rest = flv
        .strip_prefix(&format!("http://flv.example/live/8888_{}.flv?", a.id))
        .unwrap_or_else(|| panic!("{flv}"));
    let key = StreamKey::parse(&format!("8888_{}?{rest}", a.id));
    signer().verify_play(&key, now_secs()).unwrap();
    let push = h
        .post(
            RoomKind::LiveRoom,
            "get_push_url",
            json!({"userID": a.id, "userSig": a.sig}),
        )
        .await;
    assert_signed(
        push["pushURL"].as_str().unwrap(),
        "rtmp://127.0.0.1:1935/live",
        &a.id,
    );
}

#[tokio::test]
async fn pusher_heartbeat_needs_a_member_of_an_existing_room() {
    for kind in RoomKind::ALL {
        let h = Harness::new(config());
        let a = h.login().await;
        let stranger = h.login().await;
        let room = h.create_room(kind, &a, "r").await;
        assert_eq!(h.heartbeat(kind, &room, &a).await, 0);
        assert_eq!(h.heartbeat(kind, &room, &stranger).await, 5);
        // v1 asked only "is this user a member of that room?": no room is no member.
        assert_eq!(h.heartbeat(kind, "room_x", &a).await, 5);
        assert_eq!(
            h.code(
                kind,
                "pusher_heartbeat",
                json!({"roomID": room, "userSig": a.sig})
            )
            .await,
            1
        );
    }
}

#[tokio::test]
async fn delete_pusher_removes_members_and_the_creator_leaving_closes_the_room() {
    for kind in RoomKind::ALL {
        let h = Harness::new(config());
        let (a, b, room) = h.room_of_two(kind, "r").await;
        let leave =
            |u: &User, room: &str| json!({"roomID": room, "userID": u.id, "userSig": u.sig});
        assert_eq!(h.code(kind, "delete_pusher", leave(&b, &room)).await, 0);
        assert_eq!(h.members(kind, &room).await, Ok(vec![a.id.clone()]));
        assert_eq!(h.code(kind, "delete_pusher", leave(&b, &room)).await, 5);
        assert_eq!(h.code(kind, "delete_pusher", leave(&b, "room_x")).await, 5);
        assert_eq!(h.code(kind, "delete_pusher", leave(&a, &room)).await, 0);
        assert_eq!(h.members(kind, &room).await, Err(3));
        // The room is gone: leaving it, or heartbeating in it, is code 5 as in v1.
        assert_eq!(h.code(kind, "delete_pusher", leave(&a, &room)).await, 5);
        assert_eq!(h.heartbeat(kind, &room, &a).await, 5);
        assert!(h.rooms(kind).await.is_empty());
    }
}

#[tokio::test]
async fn destroy_room_is_for_the_creator_only() {
    for kind in RoomKind::ALL {
        let h = Harness::new(config());
        let (a, b, room) = h.room_of_two(kind, "r").await;
        let by_b = h
            .post(
                kind,
                "destroy_room",
                json!({"roomID": room, "userID": b.id, "userSig": b.sig}),
            )
            .await;
        assert_eq!(by_b["code"], 3);
        assert!(
            by_b["detail"]
                .as_str()
                .unwrap()
                .contains("only the creator"),
            "{by_b}"
        );
        assert_eq!(
            h.members(kind, &room).await,
            Ok(vec![a.id.clone(), b.id.clone()])
        );
        let destroy = json!({"roomID": room, "userID": a.id, "userSig": a.sig});
        assert_eq!(h.code(kind, "destroy_room", destroy.clone()).await, 0);
        assert_eq!(h.members(kind, &room).await, Err(3));
        assert_eq!(h.code(kind, "destroy_room", destroy).await, 3);
        assert_eq!(
            h.code(
                kind,
                "destroy_room",
                json!({"userID": a.id, "userSig": a.sig})
            )
            .await,
            1
        );
    }
}

#[tokio::test]
async fn get_room_list_pages_in_creation_order_within_the_kind() {
    for kind in RoomKind::ALL {
        let h = Harness::new(config());
        let other = RoomKind::ALL.into_iter().find(|k| *k != kind).unwrap();
        let mut created = Vec::new();
        for i in 0..5 {
            let u = h.login().await;
            created.push(h.create_room(kind, &u, &format!("room {i}")).await);
            h.create_room(other, &u, "elsewhere").await;
        }
        let page = |index: Value, cnt: Value| json!({"index": index, "cnt": cnt});
        let v = h
            .post(kind, "get_room_list", page(json!(1), json!(2)))
            .await;
        assert_eq!(v["code"], 0);
        let rooms = v["rooms"].as_array().unwrap();
        let ids: Vec<&str> = rooms
            .iter()
            .map(|r| r["roomID"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [created[1].as_str(), created[2].as_str()]);
        assert_eq!(rooms[0]["roomName"], "room 1");
        assert_eq!(rooms[0]["maxMembers"], kind.default_capacity());
        assert!(rooms[0]["roomCreator"].is_string());
        assert!(
            rooms[0]["mixedPlayURL"]
                .as_str()
                .unwrap()
                .starts_with("rtmp://")
        );
        assert_eq!(rooms[0]["pushers"].as_array().unwrap().len(), 1);

        assert_eq!(h.rooms(kind).await, created);
        let v = h
            .post(kind, "get_room_list", page(json!(0), json!(0)))
            .await;
        assert_eq!(
            (v["code"].clone(), v["rooms"].clone()),
            (json!(0), json!([]))
        );
        let v = h
            .post(kind, "get_room_list", page(json!("4"), json!("10")))
            .await;
        assert_eq!(v["rooms"].as_array().unwrap().len(), 1);
        let v = h
            .post(kind, "get_room_list", page(json!(9), json!(10)))
            .await;
        assert_eq!(v["rooms"], json!([]));
        assert_eq!(h.code(kind, "get_room_list", json!({"index": 0})).await, 1);
        assert_eq!(h.code(kind, "get_room_list", json!({"cnt": 1})).await, 1);
        assert_eq!(
            h.code(kind, "get_room_list", page(json!(-1), json!(1)))
                .await,
            1
        );
    }
}

#[tokio::test]
async fn merge_stream_is_answered_as_not_supported_on_live_rooms() {
    let h = Harness::new(config());
    let a = h.login().await;
    let room = h.create_room(RoomKind::LiveRoom, &a, "r").await;
    let v = h
        .post(
            RoomKind::LiveRoom,
            "merge_stream",
            json!({"roomID": room, "userID": a.id, "mergeParams": {"layout": 1}, "userSig": a.sig}),
        )
        .await;
    assert_eq!(v["code"], Code::NotSupported.as_i64());
    assert!(v["detail"].as_str().unwrap().contains("merge_stream"));
    assert_eq!(
        h.code(
            RoomKind::LiveRoom,
            "merge_stream",
            json!({"roomID": room, "userID": a.id, "userSig": a.sig}),
        )
        .await,
        1
    );
    assert_eq!(
        h.code(
            RoomKind::LiveRoom,
            "merge_stream",
            json!({"roomID": room, "userID": a.id, "mergeParams": {}}),
        )
        .await,
        7
    );
    for kind in [RoomKind::MultiRoom, RoomKind::DoubleRoom] {
        let (status, v) = h
            .raw(
                kind.as_str(),
                "merge_stream",
                Some("application/json"),
                "{}",
            )
            .await;
        assert_eq!(status, 404);
        assert!(v["detail"].as_str().unwrap().contains("live_room"), "{v}");
    }
}

#[tokio::test]
async fn send_room_text_msg_is_for_members_with_bounded_text() {
    for kind in RoomKind::ALL {
        let h = Harness::new(config());
        let a = h.login().await;
        let stranger = h.login().await;
        let room = h.create_room(kind, &a, "r").await;
        let text = |u: &User, room: &str, msg: &str| json!({"roomID": room, "userID": u.id, "msg": msg, "userSig": u.sig});
        assert_eq!(
            h.code(kind, "send_room_text_msg", text(&a, &room, "hi"))
                .await,
            0
        );
        assert_eq!(
            h.code(kind, "send_room_text_msg", text(&stranger, &room, "hi"))
                .await,
            5
        );
        assert_eq!(
            h.code(kind, "send_room_text_msg", text(&a, "room_x", "hi"))
                .await,
            3
        );
        assert_eq!(
            h.code(kind, "send_room_text_msg", text(&a, &room, ""))
                .await,
            1
        );
        let long = "x".repeat(MAX_TEXT_BYTES + 1);
        let v = h
            .post(kind, "send_room_text_msg", text(&a, &room, &long))
            .await;
        assert_eq!(v["code"], 1);
        assert!(v["detail"].as_str().unwrap().contains("limit"), "{v}");
        let exact = "x".repeat(MAX_TEXT_BYTES);
        assert_eq!(
            h.code(kind, "send_room_text_msg", text(&a, &room, &exact))
                .await,
            0
        );
    }
}

#[tokio::test]
async fn the_room_limit_answers_code_6_and_keeps_existing_rooms() {
    for kind in RoomKind::ALL {
        let h = Harness::new(ServerConfig {
            max_rooms: 2,
            ..config()
        });
        let a = h.login().await;
        let first = h.create_room(kind, &a, "1").await;
        let second = h.create_room(kind, &a, "2").await;
        let v = h
            .post(
                kind,
                "create_room",
                json!({"roomName": "3", "userID": a.id, "userName": "n", "userAvatar": "p", "pushURL": "u", "userSig": a.sig}),
            )
            .await;
        assert_eq!(v["code"], Code::Internal.as_i64());
        assert!(v["detail"].as_str().unwrap().contains("limit"), "{v}");
        assert_eq!(h.rooms(kind).await, [first, second]);
    }
}

#[tokio::test]
async fn healthz_answers_code_0() {
    let h = Harness::new(config());
    let (status, v) = h
        .request(
            axum::http::Request::get("/healthz")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["code"], 0);
    assert_eq!(v["rooms"], 0);
}

#[tokio::test]
async fn error_messages_are_the_originals_text_with_the_detail_beside_it() {
    let kind = RoomKind::MultiRoom;
    let h = Harness::new(config());
    let (a, b, room) = h.room_of_two(kind, "r").await;
    let stranger = h.login().await;
    let cases = [
        (
            "get_pushers",
            json!({"roomID": "room_x"}),
            3,
            "您请求的房间不存在",
        ),
        (
            "pusher_heartbeat",
            json!({"roomID": room, "userID": stranger.id, "userSig": stranger.sig}),
            5,
            "您请求的房间成员不存在",
        ),
        (
            "delete_pusher",
            json!({"roomID": "room_x", "userID": b.id, "userSig": b.sig}),
            5,
            "您请求的房间成员不存在",
        ),
        (
            "destroy_room",
            json!({"roomID": room, "userID": b.id, "userSig": b.sig}),
            3,
            "您请求的房间不存在",
        ),
        ("get_pushers", json!({}), 1, "请求参数错误"),
        (
            "delete_pusher",
            json!({"roomID": room, "userID": a.id, "userSig": "forged"}),
            7,
            "身份验证失败",
        ),
    ];
    for (endpoint, body, code, message) in cases {
        let v = h.post(kind, endpoint, body).await;
        assert_eq!(v["code"], code, "{endpoint}: {v}");
        assert_eq!(v["message"], message, "{endpoint}: {v}");
        assert!(
            !v["detail"].as_str().unwrap().is_empty(),
            "{endpoint} explains nothing: {v}"
        );
    }
    let ok = h.post(kind, "get_pushers", json!({"roomID": room})).await;
    assert_eq!(ok["message"], "请求成功");
    assert!(ok.get("detail").is_none(), "{ok}");
}

#[tokio::test]
async fn every_json_answer_is_typed_utf8() {
    use axum::body::Body;
    use axum::http::{Method, Request, header};
    use tower::ServiceExt;
    let h = Harness::new(config());
    let requests = [
        (
            Method::POST,
            "/weapp/multi_room/get_room_list",
            r#"{"index":0,"cnt":5}"#,
        ),
        (
            Method::POST,
            "/weapp/multi_room/get_pushers",
            r#"{"roomID":"room_x"}"#,
        ),
        (Method::POST, "/weapp/multi_room/get_pushers", "{"),
        (Method::GET, "/weapp/multi_room/get_pushers", ""),
        (Method::POST, "/nowhere", ""),
        (Method::GET, "/healthz", ""),
    ];
    for (method, uri, body) in requests {
        let req = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let res = h.app.clone().oneshot(req).await.unwrap();
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            quartet_server::JSON_CONTENT_TYPE,
            "{method} {uri}"
        );
    }
    assert_eq!(
        quartet_server::JSON_CONTENT_TYPE,
        "application/json; charset=utf-8"
    );
}

#[tokio::test]
async fn hand_over_room_is_offered_and_leaves_the_room_to_the_member_present_longest() {
    let h = Harness::new(config());
    let v = h
        .post(
            RoomKind::MultiRoom,
            "get_im_login_info",
            json!({"userIDPrefix": "x"}),
        )
        .await;
    let offered = v["extensions"].as_array().unwrap();
    assert!(offered.contains(&json!("hand_over_room")), "{v}");
    for kind in RoomKind::ALL {
        let (a, b, room) = h.room_of_two(kind, "handover").await;
        // A double room holds two; the others take a third to show who inherits.
        let third = if kind.default_capacity() > 2 {
            let c = h.login().await;
            assert_eq!(h.join(kind, &room, &c).await, 0);
            vec![c.id.clone()]
        } else {
            Vec::new()
        };
        let by = |u: &User| json!({"roomID": room, "userID": u.id, "userSig": u.sig});
        // Only the creator hands over; a refusal changes nothing.
        let refused = h.post(kind, "hand_over_room", by(&b)).await;
        assert_eq!(refused["code"], Code::NoSuchRoom.as_i64(), "{refused}");
        assert_eq!(
            h.members(kind, &room).await,
            Ok([vec![a.id.clone(), b.id.clone()], third.clone()].concat())
        );

        let v = h.post(kind, "hand_over_room", by(&a)).await;
        assert_eq!(
            (v["code"].as_i64(), v["roomCreator"].as_str()),
            (Some(0), Some(b.id.as_str())),
            "{v}"
        );
        let pushers = h.post(kind, "get_pushers", json!({"roomID": room})).await;
        assert_eq!(pushers["roomCreator"], b.id.as_str());
        assert_eq!(
            h.members(kind, &room).await,
            Ok([vec![b.id.clone()], third.clone()].concat())
        );
        assert_eq!(
            h.heartbeat(kind, &room, &a).await,
            Code::NoSuchMember.as_i64()
        );
        // The new creator is bound by v1's rule: its leaving closes the room.
        assert_eq!(h.code(kind, "delete_pusher", by(&b)).await, 0);
        assert_eq!(h.members(kind, &room).await, Err(Code::NoSuchRoom.as_i64()));
    }
}

#[tokio::test]
async fn handing_over_a_room_with_nobody_else_closes_it() {
    let h = Harness::new(config());
    let a = h.login().await;
    let room = h.create_room(RoomKind::DoubleRoom, &a, "alone").await;
    let v = h
        .post(
            RoomKind::DoubleRoom,
            "hand_over_room",
            json!({"roomID": room, "userID": a.id, "userSig": a.sig}),
        )
        .await;
    assert_eq!(v["code"], 0, "{v}");
    assert!(v.get("roomCreator").is_none(), "{v}");
    assert!(h.rooms(RoomKind::DoubleRoom).await.is_empty());
}
