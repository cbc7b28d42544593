//! A server with a data directory restarted: rooms, members, tokens and stream URLs survive,
//! on the same ports; a store that refuses a write refuses the request and changes nothing.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::{Harness, User, config, nonce};
use quartet_proto::RoomKind;
use quartet_proto::sign::{StreamKey, StreamSigner};
use quartet_server::store::{
    Change, KEYS_FILE, ROOMS_FILE, RedbStore, StoreContents, StoredMember, StoredRoom,
};
use quartet_server::{
    Host, NeverLive, RoomStore, RtmpSetup, Server, ServerConfig, Storage, StoreError,
};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KIND: RoomKind = RoomKind::MultiRoom;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// One JSON POST over a fresh HTTP/1.1 connection to the real listener; a signed body gets a
/// fresh nonce, as the room client sends.
async fn post(addr: SocketAddr, endpoint: &str, mut body: Value) -> Value {
    if body.get("userSig").is_some() {
        body["nonce"] = nonce().into();
    }
    let body = body.to_string();
    let request = format!(
        "POST /weapp/{KIND}/{endpoint} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{body:?}: {e}"))
}

async fn login(addr: SocketAddr) -> User {
    let v = post(addr, "get_im_login_info", json!({"userIDPrefix": "t"})).await;
    User {
        id: v["userID"].as_str().unwrap().to_owned(),
        sig: v["userSig"].as_str().unwrap().to_owned(),
    }
}

fn profile(u: &User) -> Value {
    json!({"userID": u.id, "userName": format!("{} name", u.id), "userAvatar": "a.png",
           "pushURL": "rtmp://client/said", "userSig": u.sig})
}

async fn start(dir: &Path, http: SocketAddr, rtmp: SocketAddr) -> Host {
    let config = ServerConfig {
        storage: Storage::Dir(dir.to_owned()),
        ..ServerConfig::default()
    };
    let relay = RtmpSetup::Embedded {
        listen: rtmp,
        relay: Box::default(),
        base: None,
        flv_listen: None,
    };
    Host::start(config, http, relay).await.unwrap()
}

/// The stream key of a signed RTMP URL (what the relay checks).
fn key_of(url: &str) -> StreamKey {
    StreamKey::parse(url.rsplit('/').next().unwrap())
}

fn expiry(key: &StreamKey) -> u64 {
    u64::from_str_radix(key.tx_time.as_deref().unwrap(), 16).unwrap()
}

#[tokio::test]
async fn a_restarted_host_keeps_rooms_members_tokens_and_url_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let host = start(dir.path(), any, any).await;
    let (http, rtmp) = (host.http_addr(), host.rtmp_addr().unwrap());
    let (a, b) = (login(http).await, login(http).await);
    let mut create = profile(&a);
    create["roomName"] = "kept".into();
    let room = post(http, "create_room", create).await["roomID"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut join = profile(&b);
    join["roomID"] = room.clone().into();
    assert_eq!(post(http, "add_pusher", join).await["code"], 0);
    let push = post(
        http,
        "get_push_url",
        json!({"userID": a.id, "userSig": a.sig}),
    )
    .await["pushURL"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = post(http, "get_pushers", json!({"roomID": room})).await;
    let play_b = before["pushers"][1]["accelerateURL"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = host.server().config().push_secret_key.clone();
    host.stop().await.unwrap();

    // The same ports at once, though the previous process's connections linger in TIME_WAIT.
    let host = start(dir.path(), http, rtmp).await;
    assert_eq!((host.http_addr(), host.rtmp_addr()), (http, Some(rtmp)));
    assert_eq!(host.server().config().push_secret_key, key);
    let after = post(http, "get_pushers", json!({"roomID": room})).await;
    assert_eq!(after["code"], 0, "{after}");
    assert_eq!(after["roomCreator"], a.id.as_str());
    let members: Vec<&str> = after["pushers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["userID"].as_str().unwrap())
        .collect();
    assert_eq!(members, [a.id.as_str(), b.id.as_str()]);
    let beat = json!({"roomID": room, "userID": b.id, "userSig": b.sig});
    assert_eq!(
        post(http, "pusher_heartbeat", beat).await["code"],
        0,
        "the token from before the restart still holds"
    );
    // The relay of the restarted host checks signatures with the same key.
    let signer = StreamSigner::new("8888", host.server().config().push_secret_key.clone());
    let push_key = key_of(&push);
    signer.verify_push(&push_key, now_secs()).unwrap();
    assert!(
        host.server()
            .stream_admitted(&push_key.stream_id, expiry(&push_key))
    );
    signer.verify_play(&key_of(&play_b), now_secs()).unwrap();

    // b leaves: its URLs are revoked, and stay revoked across the next restart. Revocation
    // counts in whole seconds (as txTime does), so leave in a later second than the signing.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let leave = json!({"roomID": room, "userID": b.id, "userSig": b.sig});
    assert_eq!(post(http, "delete_pusher", leave).await["code"], 0);
    let b_key = key_of(&play_b);
    assert!(
        !host
            .server()
            .stream_admitted(&b_key.stream_id, expiry(&b_key))
    );
    // Its small second stream goes with it.
    let b_small = format!("{}-small", b_key.stream_id);
    assert!(!host.server().stream_admitted(&b_small, expiry(&b_key)));
    let a_small = format!("{}-small", key_of(&push).stream_id);
    assert!(host.server().stream_admitted(&a_small, expiry(&b_key)));
    host.stop().await.unwrap();
    let host = start(dir.path(), http, rtmp).await;
    assert!(
        !host
            .server()
            .stream_admitted(&b_key.stream_id, expiry(&b_key))
    );
    let a_key = key_of(&push);
    assert!(
        host.server()
            .stream_admitted(&a_key.stream_id, expiry(&a_key))
    );
    let fresh = post(
        http,
        "get_push_url",
        json!({"userID": b.id, "userSig": b.sig}),
    )
    .await;
    let fresh = key_of(fresh["pushURL"].as_str().unwrap());
    assert!(
        host.server()
            .stream_admitted(&fresh.stream_id, expiry(&fresh)),
        "a URL signed after the leave is good"
    );
    host.stop().await.unwrap();

    assert!(dir.path().join(ROOMS_FILE).exists());
    assert!(dir.path().join(KEYS_FILE).exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(KEYS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let host = start(dir.path(), any, any).await;
    let config = ServerConfig {
        storage: Storage::Dir(dir.path().to_owned()),
        ..ServerConfig::default()
    };
    let e = Server::open(config, Arc::new(NeverLive)).unwrap_err();
    assert!(matches!(e, StoreError::Open { .. }), "{e}");
    host.stop().await.unwrap();
}

#[tokio::test]
async fn ids_made_after_a_restart_never_repeat_restored_ones() {
    let dir = tempfile::tempdir().unwrap();
    // A room from a clock that ran an hour ahead before the restart.
    let ahead = (now_secs() + 3600) * 1000;
    {
        let store = RedbStore::open(&dir.path().join(ROOMS_FILE)).unwrap();
        let creator = format!("user_{ahead}_0");
        store
            .apply(&[Change::PutRoom(StoredRoom {
                id: format!("room_{ahead}_1"),
                kind: KIND,
                name: "from the future".into(),
                creator: creator.clone(),
                capacity: 4,
                seq: 1,
                members: vec![StoredMember {
                    user_id: creator,
                    user_name: "A".into(),
                    user_avatar: "a.png".into(),
                    push_url: "rtmp://x".into(),
                    sharing_screen: false,
                }],
                version: 1,
                relay: None,
            })])
            .unwrap();
    }
    let config = ServerConfig {
        storage: Storage::Dir(dir.path().to_owned()),
        ..config()
    };
    let server = Server::open(config, Arc::new(NeverLive)).unwrap();
    let h = Harness::of(server, None);
    let ms = |id: &str| id.split('_').nth(1).unwrap().parse::<u64>().unwrap();
    let user = h.login().await;
    assert!(ms(&user.id) > ahead, "{} after {ahead}", user.id);
    let room = h.create_room(KIND, &user, "new").await;
    assert!(ms(&room) > ahead, "{room} after {ahead}");
    assert_eq!(h.rooms(KIND).await.len(), 2);
}

/// A store whose writes fail while `full` is set, as a full disk would.
#[derive(Default)]
struct Disk {
    full: AtomicBool,
}

impl RoomStore for Disk {
    fn load(&self) -> Result<StoreContents, StoreError> {
        Ok(StoreContents::default())
    }

    fn apply(&self, _changes: &[Change]) -> Result<(), StoreError> {
        if self.full.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("no space left on device".into()));
        }
        Ok(())
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn room(&self, _id: &str) -> Result<Option<StoredRoom>, StoreError> {
        Ok(None)
    }
}

#[tokio::test]
async fn a_refused_write_answers_code_6_and_changes_nothing() {
    let disk = Arc::new(Disk::default());
    let server = Server::restore(config(), Arc::new(NeverLive), disk.clone()).unwrap();
    let h = Harness::of(server, None);
    let (a, b, room) = h.room_of_two(KIND, "r").await;
    let c = h.login().await;
    disk.full.store(true, Ordering::SeqCst);

    let v = h
        .post(KIND, "add_pusher", {
            let mut p = json!({"roomID": room, "userName": "C", "userAvatar": "c.png",
                               "pushURL": "rtmp://x", "userSig": c.sig});
            p["userID"] = c.id.clone().into();
            p
        })
        .await;
    assert_eq!(v["code"], 6, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("no space left"),
        "{v}"
    );
    let leave = json!({"roomID": room, "userID": b.id, "userSig": b.sig});
    assert_eq!(h.code(KIND, "delete_pusher", leave.clone()).await, 6);
    let destroy = json!({"roomID": room, "userID": a.id, "userSig": a.sig});
    assert_eq!(h.code(KIND, "destroy_room", destroy).await, 6);
    assert_eq!(
        h.members(KIND, &room).await,
        Ok(vec![a.id.clone(), b.id.clone()])
    );
    assert_eq!(
        h.heartbeat(KIND, &room, &b).await,
        0,
        "heartbeats write nothing"
    );

    disk.full.store(false, Ordering::SeqCst);
    assert_eq!(h.code(KIND, "delete_pusher", leave).await, 0);
    assert_eq!(h.members(KIND, &room).await, Ok(vec![a.id]));
}
