//! One connection's protocol state with no I/O: the handshake, then the session, and the
//! connection's role in the [`Hub`] (publisher or player). The tokio shell in `conn` moves bytes;
//! everything decided about them is decided here, so it can be driven from memory in tests and
//! by the fuzzer.

use std::any::Any;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use rml_rtmp::handshake::{Handshake, HandshakeError, HandshakeProcessResult, PeerType};
use tokio_util::sync::CancellationToken;

use crate::auth::PublishStart;
use crate::auth::{self, Refusal};
use crate::config::RelayConfig;
use crate::hub::{Hub, Player, Stream};
use crate::outbound::Outbound;
use crate::queue::Entry;
use crate::session::{
    FANOUT_MSG_STREAM, ServerSession, SessionError, SessionEvent, SessionLimits, chunk_media,
};

/// Why a connection ends.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PeerError {
    /// The handshake failed.
    #[error("RTMP handshake failed: {0}")]
    Handshake(#[from] HandshakeError),
    /// The session failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A publish or play was refused (the peer was told why).
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    /// Another connection took over the stream this one published, or it was revoked.
    #[error("the stream was taken over by another publisher or revoked")]
    TakenOver,
    /// The protocol library panicked on this input; the connection's state is unusable.
    #[error("RTMP parser failed on malformed input: {0}")]
    ParserPanic(String),
    /// Input or a request after the connection already failed.
    #[error("the connection already failed")]
    Failed,
}

enum Stage {
    Handshake(Box<Handshake>),
    Session(Box<ServerSession>),
    Broken,
}

enum Role {
    Idle,
    Publishing {
        stream: Arc<Stream>,
        msg_stream: u32,
    },
    Playing {
        stream: Arc<Stream>,
        player: Arc<Player>,
        msg_stream: u32,
    },
}

/// Runs `f`, turning a panic inside the protocol library into an error for this connection only.
fn contained<T>(f: impl FnOnce() -> T) -> Result<T, PeerError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| PeerError::ParserPanic(panic_text(&*p)))
}

fn panic_text(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// One connection.
pub(crate) struct Peer {
    conn: u64,
    addr: SocketAddr,
    hub: Arc<Hub>,
    config: Arc<RelayConfig>,
    stage: Stage,
    role: Role,
    stop: CancellationToken,
    out: Outbound,
    /// What the session made of the last input; kept to reuse its allocation.
    events: Vec<SessionEvent>,
}

impl Peer {
    /// A connection numbered `conn` from `addr`, awaiting the handshake. `stop` is cancelled
    /// when the connection must end: on shutdown, or when another publisher takes its stream.
    pub fn new(
        conn: u64,
        addr: SocketAddr,
        hub: Arc<Hub>,
        config: Arc<RelayConfig>,
        stop: CancellationToken,
    ) -> Peer {
        Peer {
            conn,
            addr,
            hub,
            config,
            stage: Stage::Handshake(Box::new(Handshake::new(PeerType::Server))),
            role: Role::Idle,
            stop,
            out: Outbound::default(),
            events: Vec::new(),
        }
    }

    /// Bytes to send to the peer.
    pub fn out(&mut self) -> &mut Outbound {
        &mut self.out
    }

    /// Cancelled when the connection must end (shutdown, or a takeover of its stream).
    pub fn stop_token(&self) -> &CancellationToken {
        &self.stop
    }

    /// Whether the handshake is done.
    pub fn handshaken(&self) -> bool {
        !matches!(self.stage, Stage::Handshake(_))
    }

    /// Whether this connection publishes a stream.
    pub fn is_publisher(&self) -> bool {
        matches!(self.role, Role::Publishing { .. })
    }

    /// Whether this connection publishes or plays (it is no longer starting up).
    pub fn is_active(&self) -> bool {
        !matches!(self.role, Role::Idle)
    }

    /// The player end, when this connection plays.
    pub fn player(&self) -> Option<Arc<Player>> {
        match &self.role {
            Role::Playing { player, .. } => Some(player.clone()),
            _ => None,
        }
    }

    /// Whether this connection plays on the message stream the publisher's task chunks for, so
    /// that task may write to its socket directly (see [`Player::park`]).
    pub fn shares_wire(&self) -> bool {
        matches!(self.role, Role::Playing { msg_stream, .. } if msg_stream == FANOUT_MSG_STREAM)
    }

    /// Takes bytes from the peer at unix time `now` (for signature expiry).
    pub fn on_input(&mut self, bytes: &[u8], now: u64) -> Result<(), PeerError> {
        match std::mem::replace(&mut self.stage, Stage::Broken) {
            Stage::Handshake(mut hs) => match contained(|| hs.process_bytes(bytes))?? {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    self.out.push_vec(response_bytes);
                    self.stage = Stage::Handshake(hs);
                    Ok(())
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    self.out.push_vec(response_bytes);
                    let limits = SessionLimits {
                        max_chunk_size: self.config.max_chunk_size,
                        max_message_size: self.config.max_message_size,
                    };
                    self.stage =
                        Stage::Session(Box::new(ServerSession::new(&self.config.app, limits)));
                    if remaining_bytes.is_empty() {
                        Ok(())
                    } else {
                        self.on_input(&remaining_bytes, now)
                    }
                }
            },
            Stage::Session(mut session) => {
                let (out, mut events) = (&mut self.out, std::mem::take(&mut self.events));
                contained(|| session.handle_input(bytes, out, &mut events))??;
                self.stage = Stage::Session(session);
                for event in events.drain(..) {
                    self.on_event(event, now)?;
                }
                self.events = events;
                Ok(())
            }
            Stage::Broken => Err(PeerError::Failed),
        }
    }

    fn session(&mut self) -> Result<(&mut ServerSession, &mut Outbound), PeerError> {
        match &mut self.stage {
            Stage::Session(s) => Ok((s, &mut self.out)),
            _ => Err(PeerError::Failed),
        }
    }

    fn on_event(&mut self, event: SessionEvent, now: u64) -> Result<(), PeerError> {
        match event {
            SessionEvent::Connected { app } => {
                tracing::debug!(conn = self.conn, peer = %self.addr, app, "RTMP connect");
                Ok(())
            }
            SessionEvent::Publish { msg_stream, name } => self.publish(msg_stream, &name, now),
            SessionEvent::Play { msg_stream, name } => self.play(msg_stream, &name, now),
            SessionEvent::Media {
                msg_stream,
                mut media,
            } => match &self.role {
                Role::Publishing {
                    stream,
                    msg_stream: ours,
                } if *ours == msg_stream => {
                    media.wire = chunk_media(&media, FANOUT_MSG_STREAM)?;
                    if self.hub.media(stream, self.conn, media) {
                        Ok(())
                    } else {
                        Err(PeerError::TakenOver)
                    }
                }
                // Media on a stream that is not publishing (or before the publish was
                // accepted) has nowhere to go.
                _ => Ok(()),
            },
            SessionEvent::CloseStream { msg_stream } => {
                let ours = match &self.role {
                    Role::Publishing { msg_stream: m, .. }
                    | Role::Playing { msg_stream: m, .. } => *m == msg_stream,
                    Role::Idle => false,
                };
                if ours {
                    self.leave();
                }
                Ok(())
            }
        }
    }

    fn refuse(
        &mut self,
        msg_stream: u32,
        refusal: Refusal,
        publish: bool,
    ) -> Result<(), PeerError> {
        let code = if publish {
            refusal.publish_code()
        } else {
            refusal.play_code()
        };
        let (session, out) = self.session()?;
        session.refuse(out, msg_stream, code, &refusal.to_string())?;
        Err(PeerError::Refused(refusal))
    }

    fn publish(&mut self, msg_stream: u32, name: &str, now: u64) -> Result<(), PeerError> {
        if !matches!(self.role, Role::Idle) {
            return self.refuse(msg_stream, Refusal::Busy, true);
        }
        let key = match auth::parse_key(name)
            .and_then(|key| auth::may_publish(self.config.signer.as_ref(), &key, now).map(|()| key))
        {
            Ok(key) => key,
            Err(refusal) => return self.refuse(msg_stream, refusal, true),
        };
        let expires_at = auth::url_expiry(&key);
        if let Some(gate) = &self.config.gate
            && !gate.admit(&key.stream_id, expires_at)
        {
            return self.refuse(msg_stream, Refusal::NotAdmitted(key.stream_id), true);
        }
        let started = self.hub.start_publish(
            &key.stream_id,
            self.conn,
            self.addr,
            expires_at,
            self.stop.clone(),
        );
        let (stream, start) = match started {
            Ok(started) => started,
            Err(refusal) => return self.refuse(msg_stream, refusal, true),
        };
        if start == PublishStart::Takeover {
            tracing::info!(conn = self.conn, peer = %self.addr, stream = key.stream_id, "publisher took over a live stream");
        } else {
            tracing::info!(conn = self.conn, peer = %self.addr, stream = key.stream_id, "publishing");
        }
        self.role = Role::Publishing { stream, msg_stream };
        let (session, out) = self.session()?;
        session.accept_publish(out, msg_stream, &key.stream_id)?;
        Ok(())
    }

    fn play(&mut self, msg_stream: u32, name: &str, now: u64) -> Result<(), PeerError> {
        if !matches!(self.role, Role::Idle) {
            return self.refuse(msg_stream, Refusal::Busy, false);
        }
        let key = match auth::parse_key(name).and_then(|key| {
            let signer = self.config.signer.as_ref();
            auth::may_play(signer, self.config.verify_play, &key, now).map(|()| key)
        }) {
            Ok(key) => key,
            Err(refusal) => return self.refuse(msg_stream, refusal, false),
        };
        let (session, out) = self.session()?;
        session.accept_play(out, msg_stream, &key.stream_id)?;
        let (stream, player, live) = self.hub.start_play(&key.stream_id, self.conn);
        tracing::debug!(conn = self.conn, peer = %self.addr, stream = key.stream_id, live, "playing");
        self.role = Role::Playing {
            stream,
            player,
            msg_stream,
        };
        Ok(())
    }

    /// Moves queued media into the output until it holds `budget` bytes or the queue is empty.
    pub fn pull_media(&mut self, budget: usize) -> Result<(), PeerError> {
        let Role::Playing {
            stream,
            player,
            msg_stream,
        } = &self.role
        else {
            return Ok(());
        };
        let Stage::Session(session) = &mut self.stage else {
            return Ok(());
        };
        while self.out.len() < budget {
            let before = self.out.len();
            let timestamp = match player.pop() {
                Some(Entry::Media(media)) => {
                    session.send_media(&mut self.out, *msg_stream, &media)?;
                    Some(media.timestamp)
                }
                Some(Entry::Notice(notice)) => {
                    session.notice(&mut self.out, *msg_stream, notice, stream.id())?;
                    None
                }
                Some(Entry::Rest(bytes, timestamp)) => {
                    self.out.push(bytes);
                    Some(timestamp)
                }
                None => break,
            };
            player.handed(self.out.len() - before, timestamp);
        }
        Ok(())
    }

    fn leave(&mut self) {
        match std::mem::replace(&mut self.role, Role::Idle) {
            Role::Publishing { stream, .. } => {
                self.hub.stop_publish(&stream, self.conn);
                tracing::info!(conn = self.conn, peer = %self.addr, stream = stream.id(), "stopped publishing");
            }
            Role::Playing { stream, .. } => self.hub.stop_play(&stream, self.conn),
            Role::Idle => {}
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.leave();
    }
}

#[cfg(test)]
mod tests;
