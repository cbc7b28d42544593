//! An RTMP client (rml_rtmp's own client session) wired to a [`Peer`] through memory: drives
//! the relay's protocol core with no sockets, for the fuzz entry point and unit tests.

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionError, ClientSessionEvent,
    ClientSessionResult, PublishRequestType,
};

use crate::peer::{Peer, PeerError};

/// Round trips a request may take before it is considered stuck.
const MAX_EXCHANGES: usize = 16;

/// What went wrong on the client side of an in-memory connection.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MemoryError {
    /// The relay side failed.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// The client session failed.
    #[error("client: {0}")]
    Client(#[from] ClientSessionError),
    /// The client handshake failed.
    #[error("client handshake: {0}")]
    Handshake(#[from] rml_rtmp::handshake::HandshakeError),
    /// The relay never answered as expected.
    #[error("no answer from the relay")]
    Stuck,
}

/// A client connected to a [`Peer`] in memory.
pub(crate) struct MemoryClient {
    session: ClientSession,
    to_relay: Vec<u8>,
    /// Events the client raised, oldest first.
    pub events: Vec<ClientSessionEvent>,
    now: u64,
}

impl MemoryClient {
    /// Handshakes with `peer` and connects to application `app`, at unix time `now`.
    pub fn connect(peer: &mut Peer, app: &str, now: u64) -> Result<MemoryClient, MemoryError> {
        let mut hs = Handshake::new(PeerType::Client);
        let c0c1 = hs.generate_outbound_p0_and_p1()?;
        peer.on_input(&c0c1, now)?;
        let s0s1s2 = peer.out().take_all();
        let c2 = match hs.process_bytes(&s0s1s2)? {
            HandshakeProcessResult::Completed { response_bytes, .. } => response_bytes,
            HandshakeProcessResult::InProgress { .. } => return Err(MemoryError::Stuck),
        };
        peer.on_input(&c2, now)?;
        let (session, results) = ClientSession::new(ClientSessionConfig::new())?;
        let mut client = MemoryClient {
            session,
            to_relay: Vec::new(),
            events: Vec::new(),
            now,
        };
        client.absorb(results);
        let request = client.session.request_connection(app.to_owned())?;
        client.absorb(vec![request]);
        client.until(peer, |e| {
            matches!(
                e,
                ClientSessionEvent::ConnectionRequestAccepted
                    | ClientSessionEvent::ConnectionRequestRejected { .. }
            )
        })?;
        Ok(client)
    }

    fn absorb(&mut self, results: Vec<ClientSessionResult>) {
        for r in results {
            match r {
                ClientSessionResult::OutboundResponse(packet) => {
                    self.to_relay.extend_from_slice(&packet.bytes)
                }
                ClientSessionResult::RaisedEvent(e) => self.events.push(e),
                ClientSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
    }

    /// Delivers everything pending both ways once.
    pub fn exchange(&mut self, peer: &mut Peer) -> Result<(), MemoryError> {
        let mut relayed = Ok(());
        if !self.to_relay.is_empty() {
            let bytes = std::mem::take(&mut self.to_relay);
            relayed = peer.on_input(&bytes, self.now);
        }
        if relayed.is_ok() {
            relayed = peer.pull_media(usize::MAX);
        }
        // What the relay said before failing (a refusal, say) still reaches the client.
        let back = peer.out().take_all();
        if !back.is_empty() {
            let results = self.session.handle_input(&back)?;
            self.absorb(results);
        }
        Ok(relayed?)
    }

    /// Exchanges until an event matching `done` was raised (and returns it).
    pub fn until(
        &mut self,
        peer: &mut Peer,
        done: impl Fn(&ClientSessionEvent) -> bool,
    ) -> Result<ClientSessionEvent, MemoryError> {
        for _ in 0..MAX_EXCHANGES {
            self.exchange(peer)?;
            if let Some(i) = self.events.iter().position(&done) {
                return Ok(self.events.remove(i));
            }
        }
        Err(MemoryError::Stuck)
    }

    /// Asks to publish `stream` and exchanges until the relay answers.
    pub fn publish(
        &mut self,
        peer: &mut Peer,
        stream: &str,
    ) -> Result<ClientSessionEvent, MemoryError> {
        let request = self
            .session
            .request_publishing(stream.to_owned(), PublishRequestType::Live)?;
        self.absorb(vec![request]);
        self.until(peer, |e| {
            matches!(
                e,
                ClientSessionEvent::PublishRequestAccepted
                    | ClientSessionEvent::UnhandleableOnStatusCode { .. }
            )
        })
    }

    /// Asks to play `stream` and exchanges until the relay answers.
    #[cfg(test)]
    pub fn play(
        &mut self,
        peer: &mut Peer,
        stream: &str,
    ) -> Result<ClientSessionEvent, MemoryError> {
        let request = self.session.request_playback(stream.to_owned())?;
        self.absorb(vec![request]);
        self.until(peer, |e| match e {
            ClientSessionEvent::PlaybackRequestAccepted => true,
            // Play.Reset precedes Play.Start; any other code is the answer.
            ClientSessionEvent::UnhandleableOnStatusCode { code } => code != "NetStream.Play.Reset",
            _ => false,
        })
    }

    /// Publishes a video message and delivers it.
    pub fn video(
        &mut self,
        peer: &mut Peer,
        timestamp: u32,
        data: &'static [u8],
    ) -> Result<(), MemoryError> {
        let r = self.session.publish_video_data(
            bytes::Bytes::from_static(data),
            rml_rtmp::time::RtmpTimestamp::new(timestamp),
            false,
        )?;
        self.absorb(vec![r]);
        self.exchange(peer)
    }

    /// Publishes an audio message and delivers it.
    pub fn audio(
        &mut self,
        peer: &mut Peer,
        timestamp: u32,
        data: &'static [u8],
    ) -> Result<(), MemoryError> {
        let r = self.session.publish_audio_data(
            bytes::Bytes::from_static(data),
            rml_rtmp::time::RtmpTimestamp::new(timestamp),
            false,
        )?;
        self.absorb(vec![r]);
        self.exchange(peer)
    }
}
