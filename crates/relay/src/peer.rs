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
mod tests {
    use super::*;
    use crate::memory::{MemoryClient, MemoryError};
    use bytes::Bytes;
    use quartet_proto::sign::StreamSigner;
    use rml_rtmp::chunk_io::ChunkSerializer;
    use rml_rtmp::messages::MessagePayload;
    use rml_rtmp::sessions::ClientSessionEvent;
    use rml_rtmp::time::RtmpTimestamp;

    const NOW: u64 = 1_000_000;
    const SEQ_HEADER: &[u8] = &[0x17, 0x00, 0, 0, 0, 1, 0x64];
    const KEY: &[u8] = &[0x17, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x65];
    const INTER: &[u8] = &[0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x41];

    fn signer() -> StreamSigner {
        StreamSigner::new("8888", "testpushkey")
    }

    struct Setup {
        hub: Arc<Hub>,
        config: Arc<RelayConfig>,
        next: u64,
    }

    impl Setup {
        fn new(config: RelayConfig) -> Setup {
            Setup {
                hub: Arc::new(Hub::new(config.queue_limits())),
                config: Arc::new(config),
                next: 0,
            }
        }
        fn signed() -> Setup {
            Setup::new(RelayConfig::signed(signer()))
        }
        fn peer(&mut self) -> Peer {
            self.next += 1;
            let addr = SocketAddr::from(([127, 0, 0, 1], 40_000 + self.next as u16));
            Peer::new(
                self.next,
                addr,
                self.hub.clone(),
                self.config.clone(),
                CancellationToken::new(),
            )
        }
        fn client(&mut self) -> (Peer, MemoryClient) {
            let mut peer = self.peer();
            let client = MemoryClient::connect(&mut peer, "live", NOW).unwrap();
            (peer, client)
        }
    }

    fn code(event: &ClientSessionEvent) -> &str {
        match event {
            ClientSessionEvent::UnhandleableOnStatusCode { code } => code,
            ClientSessionEvent::PublishRequestAccepted => "accepted",
            ClientSessionEvent::PlaybackRequestAccepted => "accepted",
            _ => "other",
        }
    }

    fn videos(client: &mut MemoryClient) -> Vec<(u32, Bytes)> {
        let got = client
            .events
            .iter()
            .filter_map(|e| match e {
                ClientSessionEvent::VideoDataReceived { timestamp, data } => {
                    Some((timestamp.value, data.clone()))
                }
                _ => None,
            })
            .collect();
        client.events.clear();
        got
    }

    #[test]
    fn signed_publish_reaches_early_and_late_players() {
        let mut s = Setup::signed();
        let (mut early_peer, mut early) = s.client();
        assert_eq!(
            code(&early.play(&mut early_peer, "8888_user_1").unwrap()),
            "accepted"
        );

        let (mut pub_peer, mut publisher) = s.client();
        let name = signer().signed_stream("8888_user_1", NOW + 60);
        assert_eq!(
            code(&publisher.publish(&mut pub_peer, &name).unwrap()),
            "accepted"
        );
        assert!(s.hub.is_live("8888_user_1"));
        publisher.video(&mut pub_peer, 0, SEQ_HEADER).unwrap();
        publisher.video(&mut pub_peer, 0, KEY).unwrap();
        publisher.video(&mut pub_peer, 33, INTER).unwrap();

        early.exchange(&mut early_peer).unwrap();
        assert!(
            early
                .events
                .iter()
                .any(|e| code(e) == "NetStream.Play.PublishNotify"),
            "{:?}",
            early.events
        );
        let got = videos(&mut early);
        assert_eq!(got.len(), 3);
        assert_eq!(&got[2].1[..], INTER);

        // The late joiner gets the header and the cached group without new media.
        let (mut late_peer, mut late) = s.client();
        assert_eq!(
            code(&late.play(&mut late_peer, "8888_user_1").unwrap()),
            "accepted"
        );
        late.exchange(&mut late_peer).unwrap();
        let got = videos(&mut late);
        let sent: Vec<(u32, Bytes)> = [(0, SEQ_HEADER), (0, KEY), (33, INTER)]
            .into_iter()
            .map(|(t, b)| (t, Bytes::from_static(b)))
            .collect();
        assert_eq!(got, sent);

        // The publisher leaving is announced to players.
        drop(pub_peer);
        assert!(!s.hub.is_live("8888_user_1"));
        late.exchange(&mut late_peer).unwrap();
        assert!(
            late.events
                .iter()
                .any(|e| code(e) == "NetStream.Play.UnpublishNotify"),
            "{:?}",
            late.events
        );
    }

    #[test]
    fn unsigned_expired_and_wrong_stream_publishes_are_refused() {
        let mut s = Setup::signed();
        let good_query = signer().signed_stream("8888_user_2", NOW + 60);
        let wrong_stream = format!("8888_user_1?{}", good_query.split_once('?').unwrap().1);
        for name in [
            "8888_user_1".to_owned(),
            signer().signed_stream("8888_user_1", NOW - 1),
            wrong_stream,
            StreamSigner::new("8888", "otherkey").signed_stream("8888_user_1", NOW + 60),
        ] {
            let (mut peer, mut client) = s.client();
            let err = client.publish(&mut peer, &name).unwrap_err();
            assert!(
                matches!(
                    err,
                    MemoryError::Peer(PeerError::Refused(Refusal::Signature(_)))
                ),
                "{name}: {err:?}"
            );
            assert!(
                client
                    .events
                    .iter()
                    .any(|e| code(e) == "NetStream.Publish.Unauthorized"),
                "{name}: {:?}",
                client.events
            );
            assert!(!s.hub.is_live("8888_user_1"), "{name}");
        }
    }

    #[test]
    fn takeover_needs_a_valid_signature_and_ends_the_old_publisher() {
        let mut s = Setup::signed();
        let name = signer().signed_stream("8888_user_1", NOW + 60);
        let (mut first_peer, mut first) = s.client();
        first.publish(&mut first_peer, &name).unwrap();

        let (mut thief_peer, mut thief) = s.client();
        assert!(thief.publish(&mut thief_peer, "8888_user_1").is_err());
        assert!(!first_peer.stop_token().is_cancelled());
        first.video(&mut first_peer, 0, KEY).unwrap();

        let (mut second_peer, mut second) = s.client();
        assert_eq!(
            code(&second.publish(&mut second_peer, &name).unwrap()),
            "accepted"
        );
        assert!(first_peer.stop_token().is_cancelled());
        let err = first.video(&mut first_peer, 33, INTER).unwrap_err();
        assert!(
            matches!(err, MemoryError::Peer(PeerError::TakenOver)),
            "{err:?}"
        );
        drop(first_peer);
        assert!(
            s.hub.is_live("8888_user_1"),
            "the old publisher leaving ends nothing"
        );
        second.video(&mut second_peer, 0, KEY).unwrap();
    }

    #[test]
    fn verify_play_refuses_unsigned_players() {
        let mut s = Setup::new(RelayConfig {
            verify_play: true,
            ..RelayConfig::signed(signer())
        });
        let (mut peer, mut client) = s.client();
        assert!(client.play(&mut peer, "8888_user_1").is_err());
        assert!(
            client
                .events
                .iter()
                .any(|e| code(e) == "NetStream.Play.Unauthorized")
        );
        let (mut peer, mut client) = s.client();
        let name = signer().signed_stream("8888_user_1", NOW + 60);
        assert_eq!(code(&client.play(&mut peer, &name).unwrap()), "accepted");
    }

    #[test]
    fn a_connection_publishes_or_plays_one_stream() {
        let mut s = Setup::new(RelayConfig::default());
        let (mut peer, mut client) = s.client();
        client.publish(&mut peer, "a").unwrap();
        let play = rml_rtmp::messages::RtmpMessage::Amf0Command {
            command_name: "play".into(),
            transaction_id: 0.0,
            command_object: rml_rtmp::rml_amf0::Amf0Value::Null,
            additional_arguments: vec![rml_rtmp::rml_amf0::Amf0Value::Utf8String("b".into())],
        }
        .into_message_payload(RtmpTimestamp::new(0), 1)
        .unwrap();
        let bytes = ChunkSerializer::new()
            .serialize(&play, true, false)
            .unwrap()
            .bytes;
        let err = peer.on_input(&bytes, NOW).unwrap_err();
        assert!(matches!(err, PeerError::Refused(Refusal::Busy)), "{err:?}");
        assert!(
            s.hub.is_live("a"),
            "the refused request leaves the publish alone"
        );
    }

    #[test]
    fn the_wrong_application_is_refused() {
        let mut s = Setup::new(RelayConfig::default());
        let mut peer = s.peer();
        let err = MemoryClient::connect(&mut peer, "other", NOW)
            .err()
            .unwrap();
        assert!(
            matches!(
                err,
                MemoryError::Peer(PeerError::Session(SessionError::WrongApp { .. }))
            ),
            "{err:?}"
        );
    }

    fn handshaken(s: &mut Setup) -> Peer {
        let mut peer = s.peer();
        let mut client = rml_rtmp::handshake::Handshake::new(rml_rtmp::handshake::PeerType::Client);
        peer.on_input(&client.generate_outbound_p0_and_p1().unwrap(), NOW)
            .unwrap();
        let s0s1s2 = peer.out().take_all();
        match client.process_bytes(&s0s1s2).unwrap() {
            HandshakeProcessResult::Completed { response_bytes, .. } => {
                peer.on_input(&response_bytes, NOW).unwrap()
            }
            other => panic!("{other:?}"),
        }
        peer
    }

    fn chunks(type_id: u8, body: Vec<u8>) -> Vec<u8> {
        let payload = MessagePayload {
            timestamp: RtmpTimestamp::new(0),
            type_id,
            message_stream_id: 0,
            data: Bytes::from(body),
        };
        ChunkSerializer::new()
            .serialize(&payload, false, false)
            .unwrap()
            .bytes
    }

    #[test]
    fn deeply_nested_amf_within_the_size_limit_does_not_exhaust_the_stack() {
        use crate::session::MAX_AMF_MESSAGE_SIZE;
        let mut s = Setup::new(RelayConfig::default());
        // Strict arrays of one element (5 bytes a level) and objects with a one-letter key
        // (4 bytes a level): the deepest nestings that fit the limit.
        let head = [
            0x02, 0, 7, b'c', b'o', b'n', b'n', b'e', b'c', b't', 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        for level in [&[0x0A, 0, 0, 0, 1][..], &[0x03, 0, 1, b'k'][..]] {
            let mut body = head.to_vec();
            while body.len() + level.len() <= MAX_AMF_MESSAGE_SIZE {
                body.extend_from_slice(level);
            }
            let mut peer = handshaken(&mut s);
            let err = peer.on_input(&chunks(20, body), NOW).unwrap_err();
            assert!(
                matches!(err, PeerError::Session(SessionError::AmfShape(_))),
                "{err:?}"
            );
        }
        let mut peer = handshaken(&mut s);
        let err = peer
            .on_input(&chunks(20, vec![0x0A; MAX_AMF_MESSAGE_SIZE + 1]), NOW)
            .unwrap_err();
        assert!(
            matches!(err, PeerError::Session(SessionError::AmfTooLarge(_))),
            "{err:?}"
        );
    }

    #[test]
    fn a_message_larger_than_the_limit_is_refused_before_it_is_buffered() {
        let mut s = Setup::new(RelayConfig {
            max_message_size: 64 * 1024,
            ..RelayConfig::default()
        });
        let mut peer = handshaken(&mut s);
        // A video message announcing 16 MiB, then its chunks as a peer would send them.
        let bytes = chunks(9, vec![0x27; 16 * 1024 * 1024 - 1]);
        let mut result = Ok(());
        for piece in bytes.chunks(64 * 1024) {
            result = peer.on_input(piece, NOW);
            if result.is_err() {
                break;
            }
        }
        let err = result.unwrap_err();
        assert!(
            matches!(
                err,
                PeerError::Session(SessionError::MessageTooLarge { .. })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn chunk_sizes_outside_the_bounds_are_refused() {
        let mut s = Setup::new(RelayConfig::default());
        for size in [
            0u32,
            1,
            MIN_CHUNK,
            crate::config::DEFAULT_MAX_CHUNK_SIZE + 1,
        ] {
            let mut peer = handshaken(&mut s);
            let result = peer.on_input(&chunks(1, size.to_be_bytes().to_vec()), NOW);
            if size == MIN_CHUNK {
                assert!(result.is_ok());
            } else {
                assert!(
                    matches!(
                        result,
                        Err(PeerError::Session(SessionError::ChunkSize { .. }))
                    ),
                    "{size}: {result:?}"
                );
            }
        }
    }

    const MIN_CHUNK: u32 = crate::config::MIN_CHUNK_SIZE;

    #[test]
    fn garbage_instead_of_a_handshake_is_an_error() {
        let mut s = Setup::new(RelayConfig::default());
        let mut peer = s.peer();
        let err = peer.on_input(b"GET / HTTP/1.1\r\n\r\n", NOW).unwrap_err();
        assert!(matches!(err, PeerError::Handshake(_)), "{err:?}");
        assert!(
            peer.on_input(b"more", NOW).is_err(),
            "a failed peer stays failed"
        );
    }

    #[test]
    fn interleaved_partial_messages_are_contained() {
        // rml_rtmp's deserializer assumes one message at a time; a second message header
        // arriving mid-message trips it. That must end this connection only.
        let mut s = Setup::new(RelayConfig::default());
        let mut peer = handshaken(&mut s);
        let long = chunks(9, vec![0x27; 1_000]);
        let short = chunks(8, vec![0xAF; 10]);
        // Two whole 128-byte chunks of the long message (a full header, then a one-byte one).
        let split = 12 + 128 + 1 + 128;
        let mut input = long[..split].to_vec();
        input.extend_from_slice(&short);
        input.extend_from_slice(&long[split..]);
        let err = peer.on_input(&input, NOW).unwrap_err();
        assert!(matches!(err, PeerError::ParserPanic(_)), "{err:?}");
        assert!(
            peer.on_input(&short, NOW).is_err(),
            "a failed peer stays failed"
        );
    }
}
