//! Test support: a relay on 127.0.0.1:0 and an RTMP client over TCP built on rml_rtmp's own
//! client session (an implementation independent of the relay's server side).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use quartet_proto::sign::StreamSigner;
use quartet_relay::{Relay, RelayConfig, RelayError, RelayHandle};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

/// A media message a test client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub video: bool,
    pub timestamp: u32,
    pub data: Bytes,
}

/// An RTMP client on a real socket.
pub struct Client {
    socket: TcpStream,
    session: ClientSession,
    events: VecDeque<ClientSessionEvent>,
    buf: Vec<u8>,
}

impl Client {
    /// Connects, handshakes and connects to application `live`.
    pub async fn connect(addr: SocketAddr) -> Result<Client> {
        let mut socket = TcpStream::connect(addr).await?;
        socket.set_nodelay(true)?;
        let mut hs = Handshake::new(PeerType::Client);
        socket.write_all(&hs.generate_outbound_p0_and_p1()?).await?;
        let mut buf = vec![0u8; 64 * 1024];
        let leftover = loop {
            let n = tokio::time::timeout(WAIT, socket.read(&mut buf)).await??;
            if n == 0 {
                bail!("relay closed during the handshake");
            }
            match hs.process_bytes(&buf[..n])? {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    socket.write_all(&response_bytes).await?;
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    socket.write_all(&response_bytes).await?;
                    break remaining_bytes;
                }
            }
        };
        let (session, results) = ClientSession::new(ClientSessionConfig::new())?;
        let mut client = Client {
            socket,
            session,
            events: VecDeque::new(),
            buf,
        };
        client.apply(results).await?;
        if !leftover.is_empty() {
            let results = client.session.handle_input(&leftover)?;
            client.apply(results).await?;
        }
        let request = client.session.request_connection("live".to_owned())?;
        client.apply(vec![request]).await?;
        match client
            .wait_for(|e| {
                matches!(
                    e,
                    ClientSessionEvent::ConnectionRequestAccepted
                        | ClientSessionEvent::ConnectionRequestRejected { .. }
                )
            })
            .await?
        {
            ClientSessionEvent::ConnectionRequestAccepted => Ok(client),
            other => bail!("connect refused: {other:?}"),
        }
    }

    async fn apply(&mut self, results: Vec<ClientSessionResult>) -> Result<()> {
        for r in results {
            match r {
                ClientSessionResult::OutboundResponse(p) => self.socket.write_all(&p.bytes).await?,
                ClientSessionResult::RaisedEvent(e) => self.events.push_back(e),
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(())
    }

    /// Reads once and handles what arrived; false when the relay closed the connection.
    pub async fn read_once(&mut self) -> Result<bool> {
        let n = self.socket.read(&mut self.buf).await?;
        if n == 0 {
            return Ok(false);
        }
        let results = self.session.handle_input(&self.buf[..n])?;
        self.apply(results).await?;
        Ok(true)
    }

    /// The next event (reading as needed).
    pub async fn next_event(&mut self) -> Result<ClientSessionEvent> {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(e) = self.events.pop_front() {
                    return Ok(e);
                }
                if !self.read_once().await? {
                    bail!("relay closed the connection");
                }
            }
        })
        .await
        .context("timed out waiting for an event")?
    }

    /// Reads until an event matching `done` arrives, dropping others before it.
    pub async fn wait_for(
        &mut self,
        done: impl Fn(&ClientSessionEvent) -> bool,
    ) -> Result<ClientSessionEvent> {
        loop {
            let e = self.next_event().await?;
            if done(&e) {
                return Ok(e);
            }
        }
    }

    /// Asks to publish; Ok(None) when accepted, Ok(Some(code)) when refused with an onStatus code.
    pub async fn publish(&mut self, name: &str) -> Result<Option<String>> {
        let request = self
            .session
            .request_publishing(name.to_owned(), PublishRequestType::Live)?;
        self.apply(vec![request]).await?;
        match self
            .wait_for(|e| {
                matches!(
                    e,
                    ClientSessionEvent::PublishRequestAccepted
                        | ClientSessionEvent::UnhandleableOnStatusCode { .. }
                )
            })
            .await?
        {
            ClientSessionEvent::PublishRequestAccepted => Ok(None),
            ClientSessionEvent::UnhandleableOnStatusCode { code } => Ok(Some(code)),
            other => Err(anyhow!("unexpected {other:?}")),
        }
    }

    /// Asks to play; Ok(None) when accepted, Ok(Some(code)) when refused.
    pub async fn play(&mut self, name: &str) -> Result<Option<String>> {
        let request = self.session.request_playback(name.to_owned())?;
        self.apply(vec![request]).await?;
        match self
            .wait_for(|e| match e {
                ClientSessionEvent::PlaybackRequestAccepted => true,
                ClientSessionEvent::UnhandleableOnStatusCode { code } => {
                    code != "NetStream.Play.Reset"
                }
                _ => false,
            })
            .await?
        {
            ClientSessionEvent::PlaybackRequestAccepted => Ok(None),
            ClientSessionEvent::UnhandleableOnStatusCode { code } => Ok(Some(code)),
            other => Err(anyhow!("unexpected {other:?}")),
        }
    }

    pub async fn video(&mut self, timestamp: u32, data: Bytes) -> Result<()> {
        let r = self
            .session
            .publish_video_data(data, RtmpTimestamp::new(timestamp), false)?;
        self.apply(vec![r]).await
    }

    pub async fn audio(&mut self, timestamp: u32, data: Bytes) -> Result<()> {
        let r = self
            .session
            .publish_audio_data(data, RtmpTimestamp::new(timestamp), false)?;
        self.apply(vec![r]).await
    }

    /// The next audio or video message (other events are dropped).
    pub async fn next_media(&mut self) -> Result<Received> {
        loop {
            match self.next_event().await? {
                ClientSessionEvent::VideoDataReceived { timestamp, data } => {
                    return Ok(Received {
                        video: true,
                        timestamp: timestamp.value,
                        data,
                    });
                }
                ClientSessionEvent::AudioDataReceived { timestamp, data } => {
                    return Ok(Received {
                        video: false,
                        timestamp: timestamp.value,
                        data,
                    });
                }
                _ => {}
            }
        }
    }

    /// The raw socket (to stop reading it, say).
    pub fn into_socket(self) -> TcpStream {
        self.socket
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

/// An H.264 sequence header, keyframe and inter frame with `tag` in the payload.
pub fn seq_header() -> Bytes {
    Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 1, 0x64, 0x00, 0x1f])
}
pub fn keyframe(tag: u32, size: usize) -> Bytes {
    frame(0x17, tag, size)
}
pub fn inter(tag: u32, size: usize) -> Bytes {
    frame(0x27, tag, size)
}
fn frame(first: u8, tag: u32, size: usize) -> Bytes {
    let mut v = vec![first, 0x01, 0, 0, 0];
    v.extend_from_slice(&tag.to_be_bytes());
    v.resize(size.max(v.len()), 0xAB);
    Bytes::from(v)
}
/// Frame `tag` of a stream with a keyframe every `gop` frames.
pub fn gop_frame(tag: u32, gop: u32, size: usize) -> Bytes {
    if tag.is_multiple_of(gop) {
        keyframe(tag, size)
    } else {
        inter(tag, size)
    }
}
/// The tag put in by [`keyframe`] / [`inter`].
pub fn tag_of(data: &[u8]) -> u32 {
    u32::from_be_bytes([data[5], data[6], data[7], data[8]])
}
pub fn aac_header() -> Bytes {
    Bytes::from_static(&[0xAF, 0x00, 0x11, 0x90])
}
pub fn aac(size: usize) -> Bytes {
    let mut v = vec![0xAF, 0x01];
    v.resize(size.max(2), 0x21);
    Bytes::from(v)
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

/// A valid client handshake on `socket`; returns bytes the relay sent past it.
pub async fn handshake(socket: &mut TcpStream) -> Result<Vec<u8>> {
    let mut hs = Handshake::new(PeerType::Client);
    socket.write_all(&hs.generate_outbound_p0_and_p1()?).await?;
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        let n = tokio::time::timeout(WAIT, socket.read(&mut buf)).await??;
        if n == 0 {
            bail!("closed during handshake");
        }
        match hs.process_bytes(&buf[..n])? {
            HandshakeProcessResult::InProgress { response_bytes } => {
                socket.write_all(&response_bytes).await?
            }
            HandshakeProcessResult::Completed {
                response_bytes,
                remaining_bytes,
            } => {
                socket.write_all(&response_bytes).await?;
                return Ok(remaining_bytes);
            }
        }
    }
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
