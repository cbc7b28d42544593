//! Entry point for fuzzing the relay's connection input (`fuzz/` holds the cargo-fuzz target;
//! an ordinary test feeds it deterministic inputs so CI covers it too).
//!
//! The input drives exactly what a socket would drive: the handshake, the session and the
//! connection's role in a stream registry, with the same panic containment as a real
//! connection. Malformed input must end in an error for that connection and nothing else.

use std::net::SocketAddr;
use std::sync::Arc;

use quartet_proto::sign::StreamSigner;
use tokio_util::sync::CancellationToken;

use crate::config::RelayConfig;
use crate::hub::Hub;
use crate::memory::MemoryClient;
use crate::peer::Peer;

/// Unix time the fuzzed connections live at (signatures below expire after it).
const NOW: u64 = 1_700_000_000;
/// Bizid and key of the fuzzed relay's signer.
const BIZID: &str = "8888";
const KEY: &str = "fuzzkey";
/// The stream a scripted publisher keeps live, so fuzzed players have something to receive.
const LIVE_STREAM: &str = "8888_fuzz";
/// Message size limit for fuzzing: small, so the oversize path is reachable.
const FUZZ_MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// Output budget per pull, as a connection uses.
const PULL_BUDGET: usize = 256 * 1024;

/// Flag bits of the first input byte.
const FLAG_HANDSHAKE: u8 = 1;
const FLAG_OPEN: u8 = 2;
const FLAG_VERIFY_PLAY: u8 = 4;
const FLAG_LIVE: u8 = 8;

/// Feeds `data` to one relay connection. The first byte selects the setting (bit 0: complete a
/// valid handshake first; bit 1: open relay instead of signed; bit 2: verify plays; bit 3: a
/// live publisher exists), the second how many bytes each read delivers, the rest is input.
pub fn session_input(data: &[u8]) {
    let flags = data.first().copied().unwrap_or(0);
    let stride = usize::from(data.get(1).copied().unwrap_or(0)) + 1;
    let input = data.get(2..).unwrap_or_default();

    let signer = StreamSigner::new(BIZID, KEY);
    let config = Arc::new(RelayConfig {
        signer: (flags & FLAG_OPEN == 0).then(|| signer.clone()),
        verify_play: flags & FLAG_VERIFY_PLAY != 0,
        max_message_size: FUZZ_MAX_MESSAGE_SIZE,
        ..RelayConfig::default()
    });
    let hub = Arc::new(Hub::new(config.queue_limits()));
    let addr = SocketAddr::from(([127, 0, 0, 1], 1935));

    // A scripted publisher (rml_rtmp's client) keeping a stream live with cached media.
    let mut live = None;
    if flags & FLAG_LIVE != 0 {
        let mut publisher = Peer::new(
            1,
            addr,
            hub.clone(),
            config.clone(),
            CancellationToken::new(),
        );
        let name = signer.signed_stream(LIVE_STREAM, NOW + 3_600);
        if let Ok(mut client) = MemoryClient::connect(&mut publisher, &config.app, NOW)
            && client.publish(&mut publisher, &name).is_ok()
        {
            let _ = client.video(&mut publisher, 0, &[0x17, 0x00, 0, 0, 0, 1, 0x64]);
            let _ = client.audio(&mut publisher, 0, &[0xAF, 0x00, 0x11, 0x90]);
            let _ = client.video(&mut publisher, 0, &[0x17, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x65]);
            let _ = client.video(&mut publisher, 33, &[0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x41]);
            live = Some((publisher, client));
        }
    }

    let mut peer = Peer::new(2, addr, hub.clone(), config, CancellationToken::new());
    if flags & FLAG_HANDSHAKE != 0 && handshake(&mut peer).is_err() {
        return;
    }
    for piece in input.chunks(stride) {
        if peer.on_input(piece, NOW).is_err() || peer.pull_media(PULL_BUDGET).is_err() {
            break;
        }
        peer.out().clear();
        if let Some((publisher, client)) = &mut live {
            // Live media keeps flowing to whatever the fuzzed connection became.
            let _ = client.video(publisher, 66, &[0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x41]);
        }
    }
    drop(peer);
    drop(live);
}

fn handshake(peer: &mut Peer) -> Result<(), crate::peer::PeerError> {
    use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
    let mut client = Handshake::new(PeerType::Client);
    let c0c1 = client
        .generate_outbound_p0_and_p1()
        .map_err(crate::peer::PeerError::Handshake)?;
    peer.on_input(&c0c1, NOW)?;
    let s0s1s2 = peer.out().take_all();
    if let Ok(HandshakeProcessResult::Completed { response_bytes, .. }) =
        client.process_bytes(&s0s1s2)
    {
        peer.on_input(&response_bytes, NOW)?;
    }
    peer.out().clear();
    Ok(())
}
