//! The server under attack: a release `quartet server` process (room server and embedded relay)
//! with its own data directory, its peak memory sampled, and a typed way to call its room API.

use anyhow::{Context, Result, bail};
use quartet_proto::RoomKind;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the server may take to answer its first request after starting.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the memory sampler reads the server's RSS.
const RSS_PERIOD: Duration = Duration::from_millis(20);
/// Timeout of every API call the benchmark makes.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A running `quartet server` process.
pub struct Target {
    bin: PathBuf,
    data_dir: PathBuf,
    pub http: SocketAddr,
    pub rtmp: SocketAddr,
    child: Option<Child>,
    /// Peak RSS in KiB since the last [`Target::take_peak_rss`].
    peak_kib: Arc<AtomicU64>,
    pid: Arc<AtomicU64>,
}

fn free_addr() -> Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

impl Target {
    /// Starts the server on free loopback ports with `data_dir` as its data directory.
    pub async fn start(bin: &Path, data_dir: &Path) -> Result<Target> {
        let mut target = Target {
            bin: bin.to_owned(),
            data_dir: data_dir.to_owned(),
            http: free_addr()?,
            rtmp: free_addr()?,
            child: None,
            peak_kib: Arc::new(AtomicU64::new(0)),
            pid: Arc::new(AtomicU64::new(0)),
        };
        target.spawn().await?;
        let (peak, pid) = (target.peak_kib.clone(), target.pid.clone());
        std::thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(move || {
                loop {
                    let p = pid.load(Ordering::Relaxed);
                    if p != 0
                        && let Some(mib) = quartet_testkit::rss_mib(p as u32)
                    {
                        peak.fetch_max((mib * 1024.0) as u64, Ordering::Relaxed);
                    }
                    std::thread::sleep(RSS_PERIOD);
                }
            })?;
        Ok(target)
    }

    async fn spawn(&mut self) -> Result<()> {
        let child = Command::new(&self.bin)
            .arg("server")
            .args(["--listen", &self.http.to_string()])
            .args(["--rtmp-listen", &self.rtmp.to_string()])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("could not start {}", self.bin.display()))?;
        self.pid.store(u64::from(child.id()), Ordering::Relaxed);
        self.child = Some(child);
        let api = Api::new(self);
        let deadline = Instant::now() + START_TIMEOUT;
        while api.health().await.is_err() {
            if Instant::now() > deadline {
                bail!("quartet server did not answer within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Kills the server at once (a crash, not a clean stop) and starts it again with the same
    /// addresses and data directory; returns when it answers HTTP again.
    pub async fn crash_and_restart(&mut self) -> Result<Duration> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        self.pid.store(0, Ordering::Relaxed);
        let started = Instant::now();
        self.spawn().await?;
        Ok(started.elapsed())
    }

    /// The highest RSS seen since the last call, in MiB; then starts a new window.
    pub fn take_peak_rss(&self) -> f64 {
        let now = self
            .current_rss()
            .map(|m| (m * 1024.0) as u64)
            .unwrap_or_default();
        self.peak_kib.swap(now, Ordering::Relaxed) as f64 / 1024.0
    }

    /// The RSS now, in MiB.
    pub fn current_rss(&self) -> Option<f64> {
        quartet_testkit::rss_mib(self.pid.load(Ordering::Relaxed) as u32)
    }

    /// `http://host:port`.
    pub fn base(&self) -> String {
        format!("http://{}", self.http)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            quartet_testkit::stop_child(&mut child);
        }
    }
}

/// A user the benchmark logged in.
#[derive(Debug, Clone)]
pub struct User {
    pub user_id: String,
    pub sig: String,
    pub push_url: String,
}

impl User {
    /// The stream name (id and signed query) of its push URL.
    pub fn push_stream(&self) -> &str {
        self.push_url.rsplit('/').next().unwrap_or_default()
    }
}

/// The room API over HTTP, as any client (or attacker) reaches it.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    base: String,
}

static NONCE: AtomicU64 = AtomicU64::new(0);

/// A fresh `nonce` for a mutating request: unix milliseconds, then a part unique to this call.
pub fn nonce() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let n = NONCE.fetch_add(1, Ordering::Relaxed);
    quartet_proto::nonce::make(ms, u64::from(std::process::id()) << 32 | n)
}

impl Api {
    /// A client of `target`.
    pub fn new(target: &Target) -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(CALL_TIMEOUT)
                .pool_max_idle_per_host(16)
                .build()
                .unwrap_or_default(),
            base: target.base(),
        }
    }

    /// `http://host:port`.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn health(&self) -> Result<()> {
        self.http
            .get(format!("{}/healthz", self.base))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// Calls `endpoint` of multi_room with `body`, signed by `user` when given (with a fresh
    /// nonce where the server asks for one); returns the code and the whole answer.
    pub async fn call(
        &self,
        endpoint: &str,
        mut body: Value,
        user: Option<&User>,
    ) -> Result<(i64, Value)> {
        let mut request = self.http.post(format!(
            "{}/weapp/{}/{endpoint}",
            self.base,
            RoomKind::MultiRoom
        ));
        if let Some(user) = user {
            body["userSig"] = json!(user.sig);
            // As the room client does; heartbeats and push URLs are idempotent and go without.
            let idempotent = matches!(endpoint, "pusher_heartbeat" | "get_push_url");
            if body.get("nonce").is_none() && !idempotent {
                body["nonce"] = json!(nonce());
            }
            request = request.bearer_auth(&user.sig);
        }
        let reply: Value = request.json(&body).send().await?.json().await?;
        let code = reply["code"].as_i64().context("answer without a code")?;
        Ok((code, reply))
    }

    /// Like [`Api::call`], failing unless the code is 0.
    pub async fn ok(&self, endpoint: &str, body: Value, user: Option<&User>) -> Result<Value> {
        let (code, reply) = self.call(endpoint, body, user).await?;
        if code != 0 {
            bail!("{endpoint} answered {code}: {}", reply["message"]);
        }
        Ok(reply)
    }

    /// Logs a new user in and fetches its push URL.
    pub async fn login(&self, prefix: &str) -> Result<User> {
        let info = self
            .ok("get_im_login_info", json!({"userIDPrefix": prefix}), None)
            .await?;
        let mut user = User {
            user_id: info["userID"].as_str().context("no userID")?.to_owned(),
            sig: info["userSig"].as_str().context("no userSig")?.to_owned(),
            push_url: String::new(),
        };
        let push = self
            .ok("get_push_url", json!({"userID": user.user_id}), Some(&user))
            .await?;
        user.push_url = push["pushURL"].as_str().context("no pushURL")?.to_owned();
        Ok(user)
    }

    /// `user` creates a room named `name`; returns its ID.
    pub async fn create(&self, user: &User, name: &str) -> Result<String> {
        let reply = self
            .ok(
                "create_room",
                self.profile(user, json!({"roomName": name})),
                Some(user),
            )
            .await?;
        Ok(reply["roomID"].as_str().context("no roomID")?.to_owned())
    }

    /// `user` joins `room_id`.
    pub async fn join(&self, user: &User, room_id: &str) -> Result<()> {
        self.ok(
            "add_pusher",
            self.profile(user, json!({"roomID": room_id})),
            Some(user),
        )
        .await
        .map(drop)
    }

    /// The body of a join or create: `extra` plus the user's profile.
    pub fn profile(&self, user: &User, mut extra: Value) -> Value {
        extra["userID"] = json!(user.user_id);
        extra["userName"] = json!(format!("name of {}", user.user_id));
        extra["userAvatar"] = json!("https://example.invalid/a.png");
        extra["pushURL"] = json!(user.push_url);
        extra
    }

    /// The member list of `room_id`, tokenless as v1 allows.
    pub async fn pushers(&self, room_id: &str) -> Result<Vec<Value>> {
        let reply = self
            .ok("get_pushers", json!({"roomID": room_id}), None)
            .await?;
        Ok(reply["pushers"].as_array().cloned().unwrap_or_default())
    }

    /// Whether `user_id` is listed in `room_id`.
    pub async fn is_listed(&self, room_id: &str, user_id: &str) -> Result<bool> {
        Ok(self
            .pushers(room_id)
            .await?
            .iter()
            .any(|p| p["userID"] == user_id))
    }

    /// The play URL of `user_id` in `room_id`, as any caller gets it.
    pub async fn play_url(&self, room_id: &str, user_id: &str) -> Result<String> {
        self.pushers(room_id)
            .await?
            .iter()
            .find(|p| p["userID"] == user_id)
            .and_then(|p| p["accelerateURL"].as_str())
            .map(str::to_owned)
            .with_context(|| format!("{user_id} is not in {room_id}"))
    }

    /// The event channel URL of `user` in `room_id`.
    pub fn events_url(&self, room_id: &str, user: &User) -> String {
        format!(
            "{}/weapp/{}/events?roomID={room_id}&userID={}&userSig={}",
            self.base.replacen("http", "ws", 1),
            RoomKind::MultiRoom,
            user.user_id,
            user.sig
        )
    }
}
