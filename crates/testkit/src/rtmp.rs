//! An RTMP client on a real socket, built on rml_rtmp's client session: an implementation
//! independent of the relay's server side, able to send what FFmpeg's CLI never would (frames of
//! any size at any pace, a peer that stops reading), so tests and benchmarks can play the
//! attacker as well as the member.

use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeError, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionError, ClientSessionEvent,
    ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest a client waits for any one answer from the server.
pub const RTMP_WAIT: Duration = Duration::from_secs(15);
/// Size of the client's read buffer.
const READ_BUFFER: usize = 64 * 1024;

/// Why an RTMP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum RtmpError {
    /// The socket failed.
    #[error("RTMP socket: {0}")]
    Io(#[from] std::io::Error),
    /// The handshake bytes were not understood.
    #[error("RTMP handshake: {0}")]
    Handshake(#[from] HandshakeError),
    /// The session could not encode or decode a message.
    #[error("RTMP session: {0}")]
    Session(#[from] ClientSessionError),
    /// The server closed the connection.
    #[error("the server closed the connection")]
    Closed,
    /// Nothing arrived within [`RTMP_WAIT`].
    #[error("timed out waiting for the server")]
    TimedOut,
    /// The server answered something else than asked for.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

/// A media message received by a player.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Video (else audio).
    pub video: bool,
    /// Its RTMP timestamp in milliseconds.
    pub timestamp: u32,
    /// Its FLV payload.
    pub data: Bytes,
}

/// A connected RTMP client.
pub struct RtmpClient {
    socket: TcpStream,
    session: ClientSession,
    events: VecDeque<ClientSessionEvent>,
    buf: Vec<u8>,
}

/// Completes a client handshake on `socket`; returns the bytes the server sent past it.
pub async fn handshake(socket: &mut TcpStream) -> Result<Vec<u8>, RtmpError> {
    let mut hs = Handshake::new(PeerType::Client);
    socket.write_all(&hs.generate_outbound_p0_and_p1()?).await?;
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        let n = tokio::time::timeout(RTMP_WAIT, socket.read(&mut buf))
            .await
            .map_err(|_| RtmpError::TimedOut)??;
        if n == 0 {
            return Err(RtmpError::Closed);
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
                return Ok(remaining_bytes);
            }
        }
    }
}

impl RtmpClient {
    /// Connects to `addr`, handshakes and connects to application `app`.
    pub async fn connect(addr: SocketAddr, app: &str) -> Result<RtmpClient, RtmpError> {
        let mut socket = TcpStream::connect(addr).await?;
        socket.set_nodelay(true)?;
        let leftover = handshake(&mut socket).await?;
        let (session, results) = ClientSession::new(ClientSessionConfig::new())?;
        let mut client = RtmpClient {
            socket,
            session,
            events: VecDeque::new(),
            buf: vec![0u8; READ_BUFFER],
        };
        client.apply(results).await?;
        if !leftover.is_empty() {
            let results = client.session.handle_input(&leftover)?;
            client.apply(results).await?;
        }
        let request = client.session.request_connection(app.to_owned())?;
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
            other => Err(RtmpError::Unexpected(format!("{other:?}"))),
        }
    }

    async fn apply(&mut self, results: Vec<ClientSessionResult>) -> Result<(), RtmpError> {
        for r in results {
            match r {
                ClientSessionResult::OutboundResponse(p) => self.socket.write_all(&p.bytes).await?,
                ClientSessionResult::RaisedEvent(e) => self.events.push_back(e),
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(())
    }

    async fn read_once(&mut self) -> Result<(), RtmpError> {
        let n = self.socket.read(&mut self.buf).await?;
        if n == 0 {
            return Err(RtmpError::Closed);
        }
        let results = self.session.handle_input(&self.buf[..n])?;
        self.apply(results).await
    }

    /// The next session event, reading as needed.
    pub async fn next_event(&mut self) -> Result<ClientSessionEvent, RtmpError> {
        tokio::time::timeout(RTMP_WAIT, async {
            loop {
                if let Some(e) = self.events.pop_front() {
                    return Ok(e);
                }
                self.read_once().await?;
            }
        })
        .await
        .map_err(|_| RtmpError::TimedOut)?
    }

    /// Reads until an event matching `done` arrives, dropping those before it.
    pub async fn wait_for(
        &mut self,
        done: impl Fn(&ClientSessionEvent) -> bool,
    ) -> Result<ClientSessionEvent, RtmpError> {
        loop {
            let e = self.next_event().await?;
            if done(&e) {
                return Ok(e);
            }
        }
    }

    /// Asks to publish `name`: `Ok(None)` when accepted, `Ok(Some(code))` when refused with an
    /// `onStatus` code.
    pub async fn publish(&mut self, name: &str) -> Result<Option<String>, RtmpError> {
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
            other => Err(RtmpError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Asks to play `name`: `Ok(None)` when accepted, `Ok(Some(code))` when refused.
    pub async fn play(&mut self, name: &str) -> Result<Option<String>, RtmpError> {
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
            other => Err(RtmpError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Sends one video message.
    pub async fn video(&mut self, timestamp: u32, data: Bytes) -> Result<(), RtmpError> {
        let r = self
            .session
            .publish_video_data(data, RtmpTimestamp::new(timestamp), false)?;
        self.apply(vec![r]).await
    }

    /// Sends one audio message.
    pub async fn audio(&mut self, timestamp: u32, data: Bytes) -> Result<(), RtmpError> {
        let r = self
            .session
            .publish_audio_data(data, RtmpTimestamp::new(timestamp), false)?;
        self.apply(vec![r]).await
    }

    /// The next audio or video message (other events are dropped).
    pub async fn next_media(&mut self) -> Result<Received, RtmpError> {
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

    /// The raw socket, e.g. to stop reading it.
    pub fn into_socket(self) -> TcpStream {
        self.socket
    }
}

/// FLV payloads a publisher can send without an encoder.
pub mod flv {
    use bytes::Bytes;

    /// An H.264 sequence header.
    pub fn avc_header() -> Bytes {
        Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 1, 0x64, 0x00, 0x1f])
    }

    /// An H.264 keyframe of `size` bytes carrying `tag`.
    pub fn keyframe(tag: u32, size: usize) -> Bytes {
        frame(0x17, tag, size)
    }

    /// An H.264 inter frame of `size` bytes carrying `tag`.
    pub fn inter(tag: u32, size: usize) -> Bytes {
        frame(0x27, tag, size)
    }

    fn frame(first: u8, tag: u32, size: usize) -> Bytes {
        let mut v = vec![first, 0x01, 0, 0, 0];
        v.extend_from_slice(&tag.to_be_bytes());
        v.resize(size.max(v.len()), 0xAB);
        Bytes::from(v)
    }

    /// The tag put in by [`keyframe`] or [`inter`], if the payload is long enough.
    pub fn tag_of(data: &[u8]) -> Option<u32> {
        Some(u32::from_be_bytes(data.get(5..9)?.try_into().ok()?))
    }

    /// An AAC sequence header.
    pub fn aac_header() -> Bytes {
        Bytes::from_static(&[0xAF, 0x00, 0x11, 0x90])
    }

    /// An AAC frame of `size` bytes.
    pub fn aac(size: usize) -> Bytes {
        let mut v = vec![0xAF, 0x01];
        v.resize(size.max(2), 0x21);
        Bytes::from(v)
    }
}
