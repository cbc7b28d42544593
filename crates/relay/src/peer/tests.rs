//! Tests of the `peer` module.

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
