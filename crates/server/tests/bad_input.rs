//! Bad input gets a clear error and changes nothing.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Harness, TOKEN_SECRET, User, config};
use quartet_proto::token::TokenKey;
use quartet_proto::{Code, RoomKind};
use quartet_server::ServerConfig;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A room of `kind` with a creator and one more member.
async fn populated(h: &Harness, kind: RoomKind) -> (String, User, User) {
    let (a, b, room) = h.room_of_two(kind, "r").await;
    (room, a, b)
}

#[tokio::test]
async fn malformed_json_is_a_400_naming_the_problem_and_changes_nothing() {
    for kind in RoomKind::ALL {
        let h = Harness::new(config());
        let (room, a, _) = populated(&h, kind).await;
        let before = h.snapshot().await;
        let truncated = format!(r#"{{"roomID": "{room}", "userID": "{}""#, a.id);
        for (body, needle) in [
            (truncated.as_str(), "EOF"),
            ("[1, 2]", "not an object"),
            ("roomID=x", "expected value"),
        ] {
            let (status, v) = h
                .raw(
                    kind.as_str(),
                    "delete_pusher",
                    Some("application/json"),
                    body.to_owned(),
                )
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(v["code"], 1);
            let message = v["detail"].as_str().unwrap();
            assert!(message.contains("malformed JSON"), "{message}");
            assert!(message.contains(needle), "{message} lacks {needle}");
        }
        assert_eq!(h.snapshot().await, before);
    }
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_code_1_and_change_nothing() {
    for kind in RoomKind::ALL {
        let h = Harness::new(config());
        let (room, a, b) = populated(&h, kind).await;
        let before = h.snapshot().await;
        let bodies = [
            (
                "delete_pusher",
                json!({"roomID": 3, "userID": b.id, "userSig": b.sig}),
            ),
            (
                "delete_pusher",
                json!({"roomID": room, "userID": ["x"], "userSig": b.sig}),
            ),
            (
                "destroy_room",
                json!({"roomID": null, "userID": a.id, "userSig": a.sig}),
            ),
            (
                "add_pusher",
                json!({"roomID": room, "userID": b.id, "userName": 7, "userAvatar": "a", "pushURL": "u", "userSig": b.sig}),
            ),
            (
                "add_pusher",
                json!({"roomID": room, "userID": b.id, "userName": "B", "userAvatar": "a", "pushURL": "u", "sharingScreen": "yes please", "userSig": b.sig}),
            ),
            (
                "create_room",
                json!({"roomName": {"x": 1}, "userID": a.id, "userName": "n", "userAvatar": "a", "pushURL": "u", "userSig": a.sig}),
            ),
            ("get_room_list", json!({"index": "zero", "cnt": 1})),
            ("get_pushers", json!({"roomID": true})),
            (
                "send_room_text_msg",
                json!({"roomID": room, "userID": a.id, "msg": 5, "userSig": a.sig}),
            ),
        ];
        for (endpoint, body) in bodies {
            let v = h.post(kind, endpoint, body.clone()).await;
            assert_eq!(v["code"], 1, "{endpoint} {body}: {v}");
            assert!(
                v["detail"].as_str().unwrap().contains("field"),
                "{endpoint}: {v}"
            );
        }
        let (status, v) = h.raw(kind.as_str(), "get_pushers", None, "").await;
        assert_eq!((status, v["code"].clone()), (StatusCode::OK, json!(1)));
        assert_eq!(h.snapshot().await, before);
    }
}

#[tokio::test]
async fn a_10_mb_body_is_a_413_and_changes_nothing() {
    let h = Harness::new(config());
    let (room, _, b) = populated(&h, RoomKind::MultiRoom).await;
    let before = h.snapshot().await;
    let padding = "x".repeat(10 * 1024 * 1024);
    let body =
        json!({"roomID": room, "userID": b.id, "userSig": b.sig, "pad": padding}).to_string();
    let (status, v) = h
        .raw(
            "multi_room",
            "delete_pusher",
            Some("application/json"),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(v["code"], 1);
    assert!(v["detail"].as_str().unwrap().contains("exceeds"), "{v}");
    assert_eq!(h.snapshot().await, before);
}

#[tokio::test]
async fn unknown_routes_are_404_with_a_json_body() {
    let h = Harness::new(config());
    for (kind, endpoint, needle) in [
        ("multi_room", "drop_tables", "unknown endpoint"),
        ("quad_room", "get_pushers", "unknown room kind"),
        ("double_room", "merge_stream", "live_room"),
    ] {
        let (status, v) = h.raw(kind, endpoint, Some("application/json"), "{}").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{kind}/{endpoint}");
        assert!(v["code"].is_i64());
        assert!(v["detail"].as_str().unwrap().contains(needle), "{v}");
    }
    let (status, v) = h
        .request(
            Request::post("/weapp/multi_room/a/b")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(v["detail"].is_string());
}

#[tokio::test]
async fn get_on_an_endpoint_is_a_405_with_a_json_body() {
    let h = Harness::new(config());
    for kind in RoomKind::ALL {
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let req = Request::builder()
                .method(method.clone())
                .uri(format!("/weapp/{kind}/get_pushers"))
                .body(Body::empty())
                .unwrap();
            let res = tower::ServiceExt::oneshot(h.app.clone(), req)
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
            assert_eq!(res.headers()[header::ALLOW], "POST");
            let (status, v) = h
                .request(
                    Request::builder()
                        .method(method.clone())
                        .uri(format!("/weapp/{kind}/get_pushers"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
            assert!(v["detail"].as_str().unwrap().contains("POST"), "{v}");
        }
    }
}

/// Every mutating call `who` can make on the room, each of which would change something.
fn mutations(room: &str, a: &User, b: &User) -> Vec<(&'static str, Value)> {
    vec![
        (
            "create_room",
            json!({"roomName": "n", "userID": a.id, "userName": "n", "userAvatar": "p", "pushURL": "u"}),
        ),
        ("destroy_room", json!({"roomID": room, "userID": a.id})),
        (
            "add_pusher",
            json!({"roomID": room, "userID": b.id, "userName": "renamed", "userAvatar": "p", "pushURL": "u"}),
        ),
        ("delete_pusher", json!({"roomID": room, "userID": b.id})),
        ("pusher_heartbeat", json!({"roomID": room, "userID": b.id})),
        (
            "send_room_text_msg",
            json!({"roomID": room, "userID": b.id, "msg": "hi"}),
        ),
    ]
}

#[tokio::test]
async fn bad_tokens_are_code_7_and_change_nothing() {
    for kind in RoomKind::ALL {
        let h = Harness::new(config());
        let (room, a, b) = populated(&h, kind).await;
        let keys = TokenKey::new(TOKEN_SECRET);
        let forged = TokenKey::new(b"someone else's key".to_vec());
        let before = h.snapshot().await;
        for (endpoint, body) in mutations(&room, &a, &b) {
            let acting = body["userID"].as_str().unwrap().to_owned();
            let other = if acting == a.id { &b } else { &a };
            let bad_tokens = [
                ("garbage", "not-a-token".to_owned()),
                ("expired", keys.issue(&acting, now_secs() - 1)),
                ("other user's", other.sig.clone()),
                ("forged", forged.issue(&acting, now_secs() + 3600)),
            ];
            for (what, token) in bad_tokens {
                let mut with_field = body.clone();
                with_field["userSig"] = json!(token);
                let v = h.post(kind, endpoint, with_field).await;
                assert_eq!(
                    v["code"],
                    Code::AuthFailed.as_i64(),
                    "{what} token on {endpoint}: {v}"
                );
                assert!(v["detail"].as_str().unwrap().contains("userSig"), "{v}");

                let (_, v) = h
                    .request(
                        Request::post(format!("/weapp/{kind}/{endpoint}"))
                            .header(header::CONTENT_TYPE, "application/json")
                            .header(header::AUTHORIZATION, format!("Bearer {token}"))
                            .body(Body::from(body.to_string()))
                            .unwrap(),
                    )
                    .await;
                assert_eq!(v["code"], 7, "{what} bearer on {endpoint}: {v}");
            }
            let v = h.post(kind, endpoint, body.clone()).await;
            assert_eq!(v["code"], 7, "absent token on {endpoint}: {v}");
            assert!(v["detail"].as_str().unwrap().contains("required"), "{v}");
        }
        assert_eq!(h.snapshot().await, before);
    }
}

#[tokio::test]
async fn tokens_are_read_from_the_field_the_header_or_the_query() {
    let h = Harness::new(config());
    let kind = RoomKind::MultiRoom;
    let (room, _, b) = populated(&h, kind).await;
    let heartbeat = json!({"roomID": room, "userID": b.id}).to_string();
    let (_, v) = h
        .request(
            Request::post(format!("/weapp/{kind}/pusher_heartbeat"))
                .header(header::AUTHORIZATION, format!("Bearer {}", b.sig))
                .body(Body::from(heartbeat.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(v["code"], 0, "{v}");
    let (_, v) = h
        .request(
            Request::post(format!("/weapp/{kind}/pusher_heartbeat?userSig={}", b.sig))
                .body(Body::from(heartbeat))
                .unwrap(),
        )
        .await;
    assert_eq!(v["code"], 0, "{v}");
}

#[tokio::test]
async fn anonymous_calls_pass_only_when_allowed_and_bad_tokens_never_do() {
    let h = Harness::new(ServerConfig {
        allow_anonymous: true,
        ..config()
    });
    let kind = RoomKind::DoubleRoom;
    let v = h
        .post(
            kind,
            "create_room",
            json!({"roomName": "v1", "userID": "legacy_a", "userName": "A", "userAvatar": "a", "pushURL": "u"}),
        )
        .await;
    assert_eq!(v["code"], 0, "{v}");
    let room = v["roomID"].as_str().unwrap().to_owned();
    let join = json!({"roomID": room, "userID": "legacy_b", "userName": "B", "userAvatar": "b", "pushURL": "u"});
    let mut with_bad_token = join.clone();
    with_bad_token["userSig"] = json!("junk");
    assert_eq!(h.code(kind, "add_pusher", with_bad_token).await, 7);
    assert_eq!(
        h.members(kind, &room).await,
        Ok(vec!["legacy_a".to_owned()])
    );
    assert_eq!(h.code(kind, "add_pusher", join).await, 0);
    assert_eq!(
        h.code(
            kind,
            "pusher_heartbeat",
            json!({"roomID": room, "userID": "legacy_b"})
        )
        .await,
        0
    );
    assert_eq!(
        h.members(kind, &room).await,
        Ok(vec!["legacy_a".to_owned(), "legacy_b".to_owned()])
    );
}

#[tokio::test]
async fn form_encoded_bodies_work() {
    let h = Harness::new(config());
    let kind = RoomKind::LiveRoom;
    let form = Some("application/x-www-form-urlencoded");
    let (_, login) = h
        .raw(kind.as_str(), "get_im_login_info", form, "userIDPrefix=w")
        .await;
    let (user, sig) = (
        login["userID"].as_str().unwrap(),
        login["userSig"].as_str().unwrap(),
    );
    let body = format!(
        "roomName=my+room&userID={user}&userName=%E5%BC%A0&userAvatar=a.png&pushURL=rtmp%3A%2F%2Fx&nonce={}&userSig={}",
        common::nonce(),
        sig.replace('=', "%3D")
    );
    let (status, v) = h.raw(kind.as_str(), "create_room", form, body).await;
    assert_eq!(
        (status, v["code"].clone()),
        (StatusCode::OK, json!(0)),
        "{v}"
    );
    let room = v["roomID"].as_str().unwrap().to_owned();
    let (_, v) = h
        .raw(kind.as_str(), "get_room_list", form, "index=0&cnt=5")
        .await;
    assert_eq!(v["rooms"][0]["roomName"], "my room");
    assert_eq!(v["rooms"][0]["pushers"][0]["userName"], "张");
    let (_, v) = h
        .raw(kind.as_str(), "get_pushers", form, format!("roomID={room}"))
        .await;
    assert_eq!(v["code"], 0);
    let (status, v) = h
        .raw(kind.as_str(), "get_pushers", form, "roomID=%ZZ")
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "lenient decoding, then no such room: {v}"
    );
    assert_eq!(v["code"], 3);
}
