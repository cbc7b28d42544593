//! Tencent Cloud IM as the original server used it, against a local stand-in of the IM REST API
//! (real HTTP) that records every call: the original's calls in the original's order, userSigs
//! that verify, and an IM outage that costs the room API nothing.

#![allow(clippy::unwrap_used)]

mod common;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::routing::any;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Served, User, config};
use hmac::{Hmac, Mac};
use quartet_proto::RoomKind;
use quartet_server::im::ImConfig;
use quartet_server::{HttpLimits, ServerConfig};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore};

const APP: u64 = 1_400_000_001;
const ADMIN: &str = "administrator";
const SECRET: &str = "im stand-in secret key";
const KIND: RoomKind = RoomKind::MultiRoom;
/// A bound on waiting for calls the server should make at once; reached only on failure.
const PATIENCE: Duration = Duration::from_secs(10);

/// One request the stand-in received.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    query: HashMap<String, String>,
    body: Value,
}

/// The IM REST API stand-in: records every call and answers as IM does; `gate` holds requests
/// until the test lets them through.
#[derive(Clone)]
struct StandIn {
    calls: Arc<Mutex<Vec<Call>>>,
    arrived: Arc<Notify>,
    gate: Arc<Semaphore>,
}

async fn im_api(
    State(s): State<StandIn>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    body: axum::body::Bytes,
) -> axum::Json<Value> {
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.calls.lock().unwrap().push(Call { name, query, body });
    s.arrived.notify_waiters();
    let _pass = s.gate.acquire().await.unwrap();
    axum::Json(json!({"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}))
}

impl StandIn {
    /// Serves on 127.0.0.1:0; returns its base URL. `open` says whether requests pass at once.
    async fn start(open: bool) -> (StandIn, String) {
        let s = StandIn {
            calls: Arc::default(),
            arrived: Arc::default(),
            gate: Arc::new(Semaphore::new(if open {
                Semaphore::MAX_PERMITS
            } else {
                0
            })),
        };
        let app = Router::new()
            .route("/v4/group_open_http_svc/{name}", any(im_api))
            .with_state(s.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (s, base)
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits until `n` calls arrived.
    async fn wait_for(&self, n: usize) -> Vec<Call> {
        tokio::time::timeout(PATIENCE, async {
            loop {
                let arrived = self.arrived.notified();
                if self.calls.lock().unwrap().len() >= n {
                    return self.calls();
                }
                arrived.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{n} IM calls never came: {:#?}", self.calls()))
    }
}

fn im_config(base: &str) -> ServerConfig {
    ServerConfig {
        im: Some(ImConfig::new(APP, ADMIN, SECRET).with_api_base(base)),
        ..config()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Checks a TLSSigAPIv2 sig by hand, apart from the server's code: Tencent's base64, zlib,
/// the JSON fields, the HMAC over the four lines with the secret, and the expiry.
fn verify_sig(sig: &str, identifier: &str) {
    let standard: String = sig
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect();
    let compressed = STANDARD.decode(standard).unwrap();
    let mut json = String::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .read_to_string(&mut json)
        .unwrap();
    let fields: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(fields["TLS.ver"], "2.0", "{fields}");
    assert_eq!(fields["TLS.identifier"], identifier, "{fields}");
    assert_eq!(fields["TLS.sdkappid"], APP, "{fields}");
    let (time, expire) = (
        fields["TLS.time"].as_u64().unwrap(),
        fields["TLS.expire"].as_u64().unwrap(),
    );
    assert!(time <= now() && now() < time + expire, "{fields}");
    let content = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{APP}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(content.as_bytes());
    assert_eq!(
        fields["TLS.sig"].as_str().unwrap(),
        STANDARD.encode(mac.finalize().into_bytes()),
        "HMAC of {fields}"
    );
}

async fn login(s: &Served) -> (User, Value) {
    let v =
        s.h.post(KIND, "get_im_login_info", json!({"userIDPrefix": "t"}))
            .await;
    assert_eq!(v["code"], 0, "{v}");
    let user = User {
        id: v["userID"].as_str().unwrap().to_owned(),
        sig: v["userSig"].as_str().unwrap().to_owned(),
    };
    (user, v)
}

fn text(u: &User, room: &str, msg: &str) -> Value {
    json!({"roomID": room, "userID": u.id, "msg": msg, "userSig": u.sig})
}

fn leave(u: &User, room: &str) -> Value {
    json!({"roomID": room, "userID": u.id, "userSig": u.sig})
}

#[tokio::test]
async fn a_room_lifecycle_makes_the_originals_im_calls_in_the_originals_order() {
    let (im, base) = StandIn::start(true).await;
    let s = Served::start(im_config(&base), HttpLimits::default()).await;
    let (a, answer) = login(&s).await;
    assert_eq!(answer["sdkAppID"], APP, "{answer}");
    assert_eq!(answer["accType"], "0", "{answer}");
    verify_sig(&a.sig, &a.id);
    let (b, _) = login(&s).await;
    let (c, _) = login(&s).await;

    // The IM userSig is also the room API's token.
    let room = s.h.create_room(KIND, &a, "r").await;
    assert_eq!(s.h.join(KIND, &room, &b).await, 0);
    assert_eq!(s.h.join(KIND, &room, &c).await, 0);
    assert_eq!(
        s.h.code(KIND, "send_room_text_msg", text(&b, &room, "hi 你好"))
            .await,
        0
    );
    assert_eq!(s.h.code(KIND, "delete_pusher", leave(&c, &room)).await, 0);
    assert_eq!(s.h.code(KIND, "destroy_room", leave(&a, &room)).await, 0);

    let calls = im.wait_for(6).await;
    let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "create_group",
            "send_group_system_notification",
            "send_group_system_notification",
            "send_group_msg",
            "send_group_system_notification",
            "destroy_group",
        ]
    );
    for call in &calls {
        assert_eq!(call.body["GroupId"], room.as_str(), "{call:?}");
        let q = &call.query;
        assert_eq!(q["sdkappid"], APP.to_string(), "{call:?}");
        assert_eq!(q["identifier"], ADMIN, "{call:?}");
        assert_eq!(q["contenttype"], "json", "{call:?}");
        assert!(q["random"].parse::<u32>().is_ok(), "{call:?}");
        verify_sig(&q["usersig"], ADMIN);
    }
    assert_eq!(
        calls[0].body,
        json!({"Owner_Account": ADMIN, "Type": "AVChatRoom", "GroupId": room, "Name": "group_name"})
    );
    for notice in [&calls[1], &calls[2], &calls[4]] {
        assert_eq!(
            notice.body,
            json!({"GroupId": room, "Content": r#"{"cmd":"notifyPusherChange","data":""}"#})
        );
    }
    let msg = &calls[3].body;
    assert_eq!(msg["From_Account"], b.id.as_str());
    assert!(msg["Random"].is_u64(), "{msg}");
    let head = format!(
        r#"{{"cmd":"CustomTextMsg","data":{{"nickName":"{0} name","headPic":"{0}.png"}}}}"#,
        b.id
    );
    assert_eq!(
        msg["MsgBody"],
        json!([
            {"MsgType": "TIMCustomElem", "MsgContent": {"Data": head, "Desc": "", "Ext": ""}},
            {"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi 你好"}},
        ])
    );
    assert_eq!(calls[5].body, json!({"GroupId": room}));
    s.stop().await;
    assert_eq!(im.calls().len(), 6, "nothing more after the room closed");
}

#[tokio::test]
async fn shutdown_tells_im_of_the_rooms_it_closed() {
    let (im, base) = StandIn::start(true).await;
    let s = Served::start_in_memory(im_config(&base), HttpLimits::default()).await;
    let (a, _) = login(&s).await;
    let room = s.h.create_room(KIND, &a, "r").await;
    im.wait_for(1).await;
    s.stop().await;
    let calls = im.calls();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(
        (calls[1].name.as_str(), &calls[1].body),
        ("destroy_group", &json!({"GroupId": room}))
    );
}

/// Every room API call of a lifecycle answers 0.
async fn lifecycle_answers(s: &Served) {
    let (a, _) = login(s).await;
    let (b, _) = login(s).await;
    let room = s.h.create_room(KIND, &a, "r").await;
    assert_eq!(s.h.join(KIND, &room, &b).await, 0);
    assert_eq!(
        s.h.code(KIND, "send_room_text_msg", text(&b, &room, "x"))
            .await,
        0
    );
    assert_eq!(s.h.heartbeat(KIND, &room, &b).await, 0);
    assert_eq!(s.h.code(KIND, "delete_pusher", leave(&b, &room)).await, 0);
    assert_eq!(s.h.code(KIND, "destroy_room", leave(&a, &room)).await, 0);
}

#[tokio::test]
async fn an_im_that_never_answers_does_not_hold_up_the_room_api() {
    // The stand-in takes requests and answers none.
    let (im, base) = StandIn::start(false).await;
    let s = Served::start(im_config(&base), HttpLimits::default()).await;
    let (a, _) = login(&s).await;
    s.h.create_room(KIND, &a, "first").await;
    // The bridge is now stuck on create_group, unanswered...
    im.wait_for(1).await;
    // ...and every call of a whole lifecycle is answered all the same.
    lifecycle_answers(&s).await;
    assert!(
        im.calls().iter().all(|c| c.name == "create_group"),
        "the bridge is still on its first call: {:#?}",
        im.calls()
    );
    // Shutdown does not wait on IM beyond the drain's bound (Served::stop fails after 30 s).
    s.stop().await;
}

#[tokio::test]
async fn an_im_that_is_down_does_not_fail_the_room_api() {
    // A port nobody listens on: every IM call is refused at once, and retried.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let s = Served::start(im_config(&base), HttpLimits::default()).await;
    lifecycle_answers(&s).await;
    s.stop().await;
}
