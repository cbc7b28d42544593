//! Shared helpers: a server with known secrets, driven through its router.

#![allow(dead_code, clippy::unwrap_used)]

pub mod sockets;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use quartet_proto::RoomKind;
use quartet_server::{
    HttpLimits, NeverLive, Server, ServerConfig, StreamLiveness, router, run_with,
};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

pub const PUSH_KEY: &str = "testpushkey";
pub const TOKEN_SECRET: &[u8] = b"test token secret";
/// Responses are small; this only bounds a runaway body.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

pub fn config() -> ServerConfig {
    ServerConfig {
        push_secret_key: PUSH_KEY.into(),
        token_secret: TOKEN_SECRET.to_vec(),
        ..ServerConfig::default()
    }
}

/// A stream liveness source the test switches by hand, standing in for the relay's status.
#[derive(Default)]
pub struct LiveStreams(Mutex<HashSet<String>>);

impl LiveStreams {
    pub fn set(&self, stream_id: &str, live: bool) {
        let mut s = self.0.lock().unwrap();
        if live {
            s.insert(stream_id.to_owned());
        } else {
            s.remove(stream_id);
        }
    }
}

impl StreamLiveness for LiveStreams {
    fn is_live(&self, stream_id: &str) -> bool {
        self.0.lock().unwrap().contains(stream_id)
    }
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub sig: String,
}

#[derive(Clone)]
pub struct Harness {
    pub server: Server,
    pub app: Router,
    /// The Redis this server keeps its rooms in, when the suite runs on the shared store.
    pub redis: Option<Arc<quartet_testkit::RedisServer>>,
}

/// Set (to anything) to run the suite on the shared store: each server keeps its rooms in a
/// real Redis of its own, as a server started with `--redis` does.
pub const SHARED_STORE_ENV: &str = "QUARTET_TEST_REDIS";

impl Harness {
    pub fn new(config: ServerConfig) -> Self {
        Self::with_liveness(config, Arc::new(NeverLive))
    }

    pub fn with_liveness(config: ServerConfig, liveness: Arc<dyn StreamLiveness>) -> Self {
        if std::env::var_os(SHARED_STORE_ENV).is_none() {
            return Self::of(Server::new(config, liveness), None);
        }
        let redis = Arc::new(quartet_testkit::RedisServer::start().unwrap());
        let config = ServerConfig {
            storage: quartet_server::Storage::Redis(redis.url(0)),
            ..config
        };
        Self::of(Server::open(config, liveness).unwrap(), Some(redis))
    }

    /// For tests on tokio's paused clock: a server that keeps nothing, whatever store the suite
    /// runs on. A paused clock jumps to the next timer whenever the runtime waits, and polls
    /// and heartbeats wait on a shared store's answers, so time would pass while Redis answers.
    pub fn on_paused_clock(config: ServerConfig, liveness: Arc<dyn StreamLiveness>) -> Self {
        Self::of(Server::new(config, liveness), None)
    }

    /// A server that keeps nothing, whatever store the suite runs on: for what only such a
    /// server does (closing every room when it shuts down).
    pub fn in_memory(config: ServerConfig) -> Self {
        Self::of(Server::new(config, Arc::new(NeverLive)), None)
    }

    /// Drives `server` (e.g. one opened on a shared store).
    pub fn of(server: Server, redis: Option<Arc<quartet_testkit::RedisServer>>) -> Self {
        let app = router(server.clone());
        Self { server, app, redis }
    }

    pub async fn request(&self, req: Request<Body>) -> (StatusCode, Value) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = to_bytes(res.into_body(), MAX_RESPONSE_BYTES).await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("non-JSON answer {bytes:?}: {e}"))
        };
        (status, body)
    }

    pub async fn raw(
        &self,
        kind: &str,
        endpoint: &str,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(format!("/weapp/{kind}/{endpoint}"));
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        self.request(req.body(body.into()).unwrap()).await
    }

    /// POSTs `body` as JSON and expects HTTP 200. A body carrying a `userSig` gets a fresh
    /// `nonce` unless it names one (`"nonce": null` sends none).
    pub async fn post(&self, kind: RoomKind, endpoint: &str, mut body: Value) -> Value {
        if let Some(map) = body.as_object_mut()
            && map.contains_key("userSig")
            && !map.contains_key("nonce")
        {
            map.insert("nonce".into(), nonce().into());
        }
        let (status, v) = self
            .raw(
                kind.as_str(),
                endpoint,
                Some("application/json"),
                body.to_string(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{endpoint}: {v}");
        v
    }

    /// POSTs and returns the code.
    pub async fn code(&self, kind: RoomKind, endpoint: &str, body: Value) -> i64 {
        self.post(kind, endpoint, body).await["code"]
            .as_i64()
            .unwrap()
    }

    pub async fn login(&self) -> User {
        let v = self
            .post(
                RoomKind::MultiRoom,
                "get_im_login_info",
                json!({"userIDPrefix": "t"}),
            )
            .await;
        assert_eq!(v["code"], 0, "{v}");
        User {
            id: v["userID"].as_str().unwrap().to_owned(),
            sig: v["userSig"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn create_room(&self, kind: RoomKind, user: &User, name: &str) -> String {
        let v = self
            .post(
                kind,
                "create_room",
                json!({"roomName": name, "userID": user.id, "userName": format!("{} name", user.id),
                       "userAvatar": format!("{}.png", user.id), "pushURL": "rtmp://client/said", "userSig": user.sig}),
            )
            .await;
        assert_eq!(v["code"], 0, "{v}");
        v["roomID"].as_str().unwrap().to_owned()
    }

    /// Room `name` of `kind` created by a new user `a`, joined by a new user `b`.
    pub async fn room_of_two(&self, kind: RoomKind, name: &str) -> (User, User, String) {
        let a = self.login().await;
        let b = self.login().await;
        let room = self.create_room(kind, &a, name).await;
        assert_eq!(self.join(kind, &room, &b).await, 0);
        (a, b, room)
    }

    pub async fn join(&self, kind: RoomKind, room: &str, user: &User) -> i64 {
        self.code(
            kind,
            "add_pusher",
            json!({"roomID": room, "userID": user.id, "userName": format!("{} name", user.id),
                   "userAvatar": format!("{}.png", user.id), "pushURL": "rtmp://client/said", "userSig": user.sig}),
        )
        .await
    }

    pub async fn heartbeat(&self, kind: RoomKind, room: &str, user: &User) -> i64 {
        self.code(
            kind,
            "pusher_heartbeat",
            json!({"roomID": room, "userID": user.id, "userSig": user.sig}),
        )
        .await
    }

    /// The member IDs of a room in order, or the code when there is no such room.
    pub async fn members(&self, kind: RoomKind, room: &str) -> Result<Vec<String>, i64> {
        let v = self
            .post(kind, "get_pushers", json!({"roomID": room}))
            .await;
        match v["code"].as_i64().unwrap() {
            0 => Ok(v["pushers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["userID"].as_str().unwrap().to_owned())
                .collect()),
            code => Err(code),
        }
    }

    /// The IDs of every room of `kind`, in creation order.
    pub async fn rooms(&self, kind: RoomKind) -> Vec<String> {
        let v = self
            .post(kind, "get_room_list", json!({"index": 0, "cnt": 1000}))
            .await;
        assert_eq!(v["code"], 0, "{v}");
        v["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["roomID"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Everything visible about every room of every kind, to show a refused call changed nothing.
    pub async fn snapshot(&self) -> Value {
        let mut all = serde_json::Map::new();
        for kind in RoomKind::ALL {
            let v = self
                .post(kind, "get_room_list", json!({"index": 0, "cnt": 1000}))
                .await;
            let mut rooms = v["rooms"].clone();
            // Signed URLs carry an expiry that moves with the wall clock.
            strip_urls(&mut rooms);
            all.insert(kind.as_str().into(), rooms);
        }
        Value::Object(all)
    }
}

/// A fresh nonce, as the room client makes them.
pub fn nonce() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    quartet_proto::nonce::make(now.as_millis() as u64, rand::random())
}

/// A server served by `run_with` on 127.0.0.1:0 (real HTTP), stopped by `stop`.
pub struct Served {
    pub h: Harness,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), quartet_server::ServerError>>,
}

impl Served {
    pub async fn start(config: ServerConfig, limits: HttpLimits) -> Self {
        Self::serve(Harness::new(config), limits).await
    }

    /// [`Served::start`] with a server that keeps nothing (see [`Harness::in_memory`]).
    pub async fn start_in_memory(config: ServerConfig, limits: HttpLimits) -> Self {
        Self::serve(Harness::in_memory(config), limits).await
    }

    async fn serve(h: Harness, limits: HttpLimits) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_with(listener, h.server.clone(), limits, async move {
            let _ = stopped.await;
        }));
        Self {
            h,
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Stops the server and waits for `run_with` to return.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("server did not stop")
            .unwrap()
            .unwrap();
    }
}

fn strip_urls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|key, _| !key.ends_with("URL"));
            map.values_mut().for_each(strip_urls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_urls),
        _ => {}
    }
}
