//! Two servers on one real Redis (Debian's `redis-server`), serving the same rooms: whatever a
//! client does through one, the other answers and tells its sockets as if it had done it.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::config;
use common::sockets::{PATIENCE, Running, next_event};
use quartet_proto::event::CloseReason;
use quartet_proto::{RoomKind, ServerEvent};
use quartet_server::{NeverLive, Server, ServerConfig, Storage};
use quartet_testkit::RedisServer;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const KIND: RoomKind = RoomKind::MultiRoom;

fn shared(redis: &RedisServer, tune: impl FnOnce(&mut ServerConfig)) -> Server {
    let mut c = ServerConfig {
        storage: Storage::Redis(redis.url(0)),
        ..config()
    };
    tune(&mut c);
    Server::open(c, Arc::new(NeverLive)).unwrap()
}

async fn pair(redis: &RedisServer) -> (Running, Running) {
    let a = Running::with_server(shared(redis, |_| {})).await;
    let b = Running::with_server(shared(redis, |_| {})).await;
    (a, b)
}

/// Waits until `check` holds, failing the test after [`PATIENCE`].
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    tokio::time::timeout(PATIENCE, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

#[tokio::test]
async fn a_room_made_on_one_server_is_listed_joined_and_left_on_the_other() {
    let redis = RedisServer::start().unwrap();
    let (a, b) = pair(&redis).await;
    let ann = a.h.login().await;
    let ben = b.h.login().await;
    let room = a.h.create_room(KIND, &ann, "shared").await;

    assert_eq!(
        b.h.rooms(KIND).await,
        vec![room.clone()],
        "listed on B at once"
    );
    assert_eq!(b.h.join(KIND, &room, &ben).await, 0, "joined on B");
    assert_eq!(
        a.h.members(KIND, &room).await.unwrap(),
        vec![ann.id.clone(), ben.id.clone()],
        "A answers the join B took"
    );
    assert_eq!(
        a.h.heartbeat(KIND, &room, &ben).await,
        0,
        "B's member beats on A"
    );
    let left =
        a.h.code(
            KIND,
            "delete_pusher",
            json!({"roomID": room, "userID": ben.id, "userSig": ben.sig}),
        )
        .await;
    assert_eq!(left, 0);
    assert_eq!(
        b.h.members(KIND, &room).await.unwrap(),
        vec![ann.id.clone()]
    );
    assert_eq!(b.h.heartbeat(KIND, &room, &ben).await, 5, "gone on B too");

    let other = b.h.login().await;
    assert_ne!(other.id, ann.id);
    let second = b.h.create_room(KIND, &other, "second").await;
    assert_eq!(
        a.h.rooms(KIND).await,
        vec![room, second],
        "creation order across servers"
    );
}

#[tokio::test]
async fn events_of_one_server_reach_sockets_on_the_other() {
    let redis = RedisServer::start().unwrap();
    let (a, b) = pair(&redis).await;
    let ann = a.h.login().await;
    let ben = b.h.login().await;
    let room = a.h.create_room(KIND, &ann, "events").await;
    let mut ann_socket = a.connect_registered(KIND, &room, &ann).await;

    assert_eq!(b.h.join(KIND, &room, &ben).await, 0);
    assert_eq!(
        next_event(&mut ann_socket).await,
        ServerEvent::pusher_change()
    );

    let sent =
        b.h.code(
            KIND,
            "send_room_text_msg",
            json!({"roomID": room, "userID": ben.id, "msg": "from B", "userSig": ben.sig}),
        )
        .await;
    assert_eq!(sent, 0);
    match next_event(&mut ann_socket).await {
        ServerEvent::Text { user_id, text, .. } => {
            assert_eq!((user_id, text), (ben.id.clone(), "from B".to_owned()));
        }
        other => panic!("expected the text, got {other:?}"),
    }

    let destroyed =
        b.h.code(
            KIND,
            "destroy_room",
            json!({"roomID": room, "userID": ann.id, "userSig": ann.sig}),
        )
        .await;
    assert_eq!(
        destroyed, 0,
        "the creator may destroy its room on either server"
    );
    assert_eq!(
        next_event(&mut ann_socket).await,
        ServerEvent::room_closed(CloseReason::Destroyed)
    );
    assert_eq!(a.h.server.room_count(), 0);
}

// Several threads, so the two servers' joins truly overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn capacity_raced_from_both_servers_admits_exactly_the_capacity() {
    let redis = RedisServer::start().unwrap();
    let (a, b) = pair(&redis).await;
    let capacity = KIND.default_capacity();
    let full = quartet_proto::Code::RoomFull.as_i64();
    for round in 0..20 {
        let creator = a.h.login().await;
        let room =
            a.h.create_room(KIND, &creator, &format!("race {round}"))
                .await;
        let mut joiners = Vec::new();
        for i in 0..8 {
            let via = if i % 2 == 0 { &a } else { &b };
            joiners.push((via, via.h.login().await));
        }
        let joins = joiners.into_iter().map(|(via, user)| {
            let h = via.h.clone();
            let room = room.clone();
            tokio::spawn(async move { h.join(KIND, &room, &user).await })
        });
        let codes: Vec<i64> = futures_util::future::join_all(joins)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let admitted = codes.iter().filter(|&&c| c == 0).count();
        assert_eq!(admitted, capacity - 1, "round {round}: codes {codes:?}");
        assert!(
            codes.iter().all(|&c| c == 0 || c == full),
            "the others are told the room is full: {codes:?}"
        );
        for via in [&a, &b] {
            assert_eq!(via.h.members(KIND, &room).await.unwrap().len(), capacity);
        }
    }
}

#[tokio::test]
async fn a_killed_server_leaves_its_rooms_to_the_other() {
    let redis = RedisServer::start().unwrap();
    let fast = |c: &mut ServerConfig| {
        c.heartbeat_timeout = Duration::from_millis(1500);
        c.check_interval = Duration::from_millis(100);
    };
    let a = Running::with_server(shared(&redis, fast)).await;
    let b = Running::with_server(shared(&redis, fast)).await;
    let ann = a.h.login().await;
    let ben = a.h.login().await;
    let room = a.h.create_room(KIND, &ann, "lasting").await;
    assert_eq!(a.h.join(KIND, &room, &ben).await, 0);
    let mut ben_socket = b.connect_registered(KIND, &room, &ben).await;

    // Heartbeats only through B for twice the timeout: A, which took the joins, must not
    // evict members it no longer hears from itself.
    for _ in 0..8 {
        assert_eq!(b.h.heartbeat(KIND, &room, &ann).await, 0);
        assert_eq!(b.h.heartbeat(KIND, &room, &ben).await, 0);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(a.h.members(KIND, &room).await.unwrap().len(), 2);

    a.kill();
    let cid = b.h.login().await;
    assert_eq!(
        b.h.join(KIND, &room, &cid).await,
        0,
        "B admits after A is gone"
    );
    assert_eq!(
        next_event(&mut ben_socket).await,
        ServerEvent::pusher_change()
    );
    for _ in 0..3 {
        for user in [&ann, &ben, &cid] {
            assert_eq!(b.h.heartbeat(KIND, &room, user).await, 0);
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert_eq!(
        b.h.members(KIND, &room).await.unwrap(),
        vec![ann.id.clone(), ben.id.clone(), cid.id.clone()],
        "no member lost"
    );
    // Once nobody heartbeats, B alone still evicts, and the creator's going closes the room.
    until("the silent room to close", async || {
        b.h.members(KIND, &room).await.is_err()
    })
    .await;
    b.stop().await;
}

#[tokio::test]
async fn a_server_restarted_on_redis_finds_its_rooms_and_keys() {
    let redis = RedisServer::start().unwrap();
    let random_keys = |c: &mut ServerConfig| {
        let d = ServerConfig::default();
        c.push_secret_key = d.push_secret_key;
        c.token_secret = d.token_secret;
    };
    let a = Running::with_server(shared(&redis, random_keys)).await;
    assert!(
        !a.h.server.config().has_random_push_key(),
        "the keys come from Redis"
    );
    let ann = a.h.login().await;
    let room = a.h.create_room(KIND, &ann, "kept").await;
    a.stop().await;

    let b = Running::with_server(shared(&redis, random_keys)).await;
    assert_eq!(
        b.h.members(KIND, &room).await.unwrap(),
        vec![ann.id.clone()]
    );
    assert_eq!(
        b.h.heartbeat(KIND, &room, &ann).await,
        0,
        "a token of the first server is good on the second"
    );
    b.stop().await;
}

#[tokio::test]
async fn a_rooms_streams_stay_on_the_relay_of_the_server_that_made_it() {
    let redis = RedisServer::start().unwrap();
    let a = Running::with_server(shared(&redis, |c| {
        c.rtmp_base = "rtmp://a.example/live".into()
    }))
    .await;
    let b = Running::with_server(shared(&redis, |c| {
        c.rtmp_base = "rtmp://b.example/live".into()
    }))
    .await;
    let login =
        b.h.post(KIND, "get_im_login_info", json!({"userIDPrefix": "t"}))
            .await;
    assert!(
        login["extensions"]
            .as_array()
            .unwrap()
            .contains(&json!(quartet_proto::EXT_ROOM_RELAY)),
        "{login}"
    );
    let ann = a.h.login().await;
    let ben = b.h.login().await;
    let room = a.h.create_room(KIND, &ann, "on A").await;
    let push_url = |body| async { b.h.post(KIND, "get_push_url", body).await };
    let own = push_url(json!({"userID": ben.id, "userSig": ben.sig})).await;
    assert!(
        own["pushURL"]
            .as_str()
            .unwrap()
            .starts_with("rtmp://b.example/live/"),
        "{own}"
    );
    let in_room = push_url(json!({"userID": ben.id, "roomID": room, "userSig": ben.sig})).await;
    assert!(
        in_room["pushURL"]
            .as_str()
            .unwrap()
            .starts_with("rtmp://a.example/live/"),
        "{in_room}"
    );
    let nowhere =
        push_url(json!({"userID": ben.id, "roomID": "no such", "userSig": ben.sig})).await;
    assert_ne!(nowhere["code"], 0, "{nowhere}");

    assert_eq!(b.h.join(KIND, &room, &ben).await, 0);
    let pushers = b.h.post(KIND, "get_pushers", json!({"roomID": room})).await;
    for p in pushers["pushers"].as_array().unwrap() {
        let url = p["accelerateURL"].as_str().unwrap();
        assert!(
            url.starts_with("rtmp://a.example/live/"),
            "played from A: {url}"
        );
    }
}

#[tokio::test]
async fn a_request_replayed_to_the_other_server_is_refused() {
    let redis = RedisServer::start().unwrap();
    let (a, b) = pair(&redis).await;
    let ann = a.h.login().await;
    let room = a.h.create_room(KIND, &ann, "replays").await;
    let beat =
        json!({"roomID": room, "userID": ann.id, "userSig": ann.sig, "nonce": common::nonce()});
    assert_eq!(a.h.code(KIND, "pusher_heartbeat", beat.clone()).await, 0);
    assert_eq!(
        b.h.code(KIND, "pusher_heartbeat", beat.clone()).await,
        quartet_proto::Code::AuthFailed.as_i64(),
        "the same nonce through B is a replay"
    );
    assert_eq!(
        a.h.code(KIND, "pusher_heartbeat", beat).await,
        quartet_proto::Code::AuthFailed.as_i64()
    );
}

#[tokio::test]
async fn a_server_reconnects_to_a_restarted_redis_on_every_path() {
    let mut redis = RedisServer::start().unwrap();
    let a = Running::with_server(shared(&redis, |_| {})).await;
    let ann = a.h.login().await;
    let room = a.h.create_room(KIND, &ann, "before").await;
    assert_eq!(a.h.heartbeat(KIND, &room, &ann).await, 0);
    let missing = a.h.members(KIND, "no-such-room").await.unwrap_err();
    let beat_missing = a.h.heartbeat(KIND, "no-such-room", &ann).await;

    // Without persistence a restarted Redis is empty: once reconnected, the room is gone
    // everywhere, on the poll and heartbeat path as on the changing one.
    redis.restart().unwrap();
    until("polls to reach the restarted Redis", async || {
        a.h.members(KIND, &room).await == Err(missing)
    })
    .await;
    until("heartbeats to reach the restarted Redis", async || {
        a.h.heartbeat(KIND, &room, &ann).await == beat_missing
    })
    .await;
    let again = a.h.create_room(KIND, &ann, "after").await;
    assert_eq!(a.h.heartbeat(KIND, &again, &ann).await, 0);
    assert_eq!(
        a.h.members(KIND, &again).await.unwrap(),
        vec![ann.id.clone()]
    );

    // A server started now must sign as A does, so A puts the keys Redis lost back.
    let mut raw = redis::Client::open(redis.url(0))
        .unwrap()
        .get_connection()
        .unwrap();
    until("A to put the signing keys back", async || {
        redis::cmd("EXISTS")
            .arg("quartet:keys")
            .query::<bool>(&mut raw)
            .unwrap()
    })
    .await;
    let b = Running::with_server(shared(&redis, |_| {})).await;
    assert_eq!(
        b.h.heartbeat(KIND, &again, &ann).await,
        0,
        "A's user is A's on B"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_user_creating_rooms_through_both_servers_is_held_back_once() {
    let redis = RedisServer::start().unwrap();
    let (a, b) = pair(&redis).await;
    let ann = a.h.login().await;
    for i in 0..quartet_server::MAX_CREATIONS_PER_WINDOW {
        let through = if i % 2 == 0 { &a } else { &b };
        let room = through.h.create_room(KIND, &ann, &format!("r{i}")).await;
        let destroy = json!({"roomID": room, "userID": ann.id, "userSig": ann.sig});
        assert_eq!(through.h.code(KIND, "destroy_room", destroy).await, 0);
    }
    for (name, server) in [("A", &a), ("B", &b)] {
        let create = json!({"roomName": "one more", "userID": ann.id, "userName": "Ann",
                            "userAvatar": "a.png", "pushURL": "rtmp://x", "userSig": ann.sig});
        let v = server.h.post(KIND, "create_room", create).await;
        assert_eq!(
            v["code"],
            quartet_proto::Code::QuotaExceeded.as_i64(),
            "{name}: {v}"
        );
        assert!(v["detail"].as_str().unwrap().contains("try again"), "{v}");
    }
    assert!(a.h.rooms(KIND).await.is_empty());
    let ben = b.h.login().await;
    a.h.create_room(KIND, &ben, "another user is not held back")
        .await;
}
