//! Test support: a relay on 127.0.0.1:0 and an RTMP client over TCP built on rml_rtmp's own
//! client session (an implementation independent of the relay's server side).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use quartet_proto::sign::StreamSigner;
use quartet_relay::{Relay, RelayConfig, RelayError, RelayHandle};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Longest a test waits for anything that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(15);
/// Bizid and key the tests sign with.
pub const BIZID: &str = "8888";
pub const KEY: &str = "testpushkey";

pub fn signer() -> StreamSigner {
    StreamSigner::new(BIZID, KEY)
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A stream name signed for an hour.
pub fn signed(stream_id: &str) -> String {
    signer().signed_stream(stream_id, unix_now() + 3_600)
}

/// Logs to the test output when RUST_LOG is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A relay serving on a free loopback port.
pub struct TestRelay {
    pub addr: SocketAddr,
    pub handle: RelayHandle,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), RelayError>>>,
}

impl TestRelay {
    pub async fn start(config: RelayConfig) -> Result<TestRelay> {
        init_tracing();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (relay, handle) = Relay::new(config);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(relay.run(listener, async {
            let _ = stopped.await;
        }));
        Ok(TestRelay {
            addr,
            handle,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub async fn signed() -> Result<TestRelay> {
        TestRelay::start(RelayConfig::signed(signer())).await
    }

    /// A signed relay whose handshake and idle timeouts outlast [`WAIT`], so a connection that
    /// closes within it was closed by its stop signal (a takeover, shutdown), not by a timer.
    pub async fn patient() -> Result<TestRelay> {
        TestRelay::start(RelayConfig {
            handshake_timeout: 2 * WAIT,
            idle_timeout: 2 * WAIT,
            ..RelayConfig::signed(signer())
        })
        .await
    }

    pub fn url(&self, name: &str) -> String {
        format!("rtmp://{}/live/{name}", self.addr)
    }

    /// Stops the relay and waits for `run` to return.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().context("already stopped")?;
        tokio::time::timeout(WAIT, task)
            .await
            .context("relay did not stop")???;
        Ok(())
    }

    /// Waits until `stream_id` is live (or not).
    pub async fn wait_live(&self, stream_id: &str, live: bool) -> Result<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.handle.is_live(stream_id) != live {
            if tokio::time::Instant::now() > deadline {
                bail!("{stream_id} never became live={live}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[allow(unused_imports)]
pub use quartet_testkit::rtmp::{Received, RtmpClient, flv, handshake};

/// An RTMP client on a real socket, connected to application `live`.
pub struct Client(RtmpClient);

impl std::ops::Deref for Client {
    type Target = RtmpClient;
    fn deref(&self) -> &RtmpClient {
        &self.0
    }
}

impl std::ops::DerefMut for Client {
    fn deref_mut(&mut self) -> &mut RtmpClient {
        &mut self.0
    }
}

impl Client {
    /// Connects, handshakes and connects to application `live`.
    pub async fn connect(addr: SocketAddr) -> Result<Client> {
        Ok(Client(RtmpClient::connect(addr, "live").await?))
    }

    /// The raw socket (to stop reading it, say).
    pub fn into_socket(self) -> TcpStream {
        self.0.into_socket()
    }

    /// Connects and publishes `stream_id` (signed), starting with an H.264 sequence header.
    pub async fn publishing(addr: SocketAddr, stream_id: &str) -> Result<Client> {
        let mut publisher = Client::connect(addr).await?;
        if let Some(code) = publisher.publish(&signed(stream_id)).await? {
            bail!("publishing {stream_id} was refused: {code}");
        }
        publisher.video(0, seq_header()).await?;
        Ok(publisher)
    }

    /// Connects and plays `stream_id`.
    pub async fn playing(addr: SocketAddr, stream_id: &str) -> Result<Client> {
        let mut player = Client::connect(addr).await?;
        if let Some(code) = player.play(stream_id).await? {
            bail!("playing {stream_id} was refused: {code}");
        }
        Ok(player)
    }
}

#[allow(unused_imports)]
pub use flv::{aac, aac_header, inter, keyframe};

/// An H.264 sequence header.
pub fn seq_header() -> Bytes {
    flv::avc_header()
}
/// Frame `tag` of a stream with a keyframe every `gop` frames.
pub fn gop_frame(tag: u32, gop: u32, size: usize) -> Bytes {
    if tag.is_multiple_of(gop) {
        keyframe(tag, size)
    } else {
        inter(tag, size)
    }
}
/// The tag put in by [`keyframe`] / [`inter`] (0 for a payload too short to carry one).
pub fn tag_of(data: &[u8]) -> u32 {
    flv::tag_of(data).unwrap_or_default()
}

/// A publisher and a player on `stream_id`, proving the relay still relays: `check` sends a
/// frame and waits for it to arrive.
pub struct Canary {
    publisher: Client,
    player: Client,
    next: u32,
}

impl Canary {
    pub async fn start(relay: &TestRelay, stream_id: &str) -> Result<Canary> {
        let mut publisher = Client::publishing(relay.addr, stream_id).await?;
        publisher.video(0, keyframe(0, 100)).await?;
        let player = Client::playing(relay.addr, stream_id).await?;
        let mut canary = Canary {
            publisher,
            player,
            next: 1,
        };
        // The cached header and keyframe.
        canary.player.next_media().await?;
        canary.player.next_media().await?;
        canary.check().await?;
        Ok(canary)
    }

    /// Sends a frame and waits until the player has it.
    pub async fn check(&mut self) -> Result<()> {
        let tag = self.next;
        self.next += 1;
        self.publisher.video(tag * 33, inter(tag, 200)).await?;
        loop {
            let m = self.player.next_media().await?;
            if m.video && m.data.len() == 200 && tag_of(&m.data) == tag {
                return Ok(());
            }
        }
    }
}

/// Waits until the relay closes `socket` (EOF or reset), reading and discarding what it sends.
pub async fn closed_by_relay(socket: &mut TcpStream) -> Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    tokio::time::timeout(WAIT, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .context("the relay kept the connection open")
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}
