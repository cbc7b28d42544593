//! The fuzz entry point fed deterministic pseudo-random and mutated inputs, so every CI run
//! covers what `cargo fuzz run session_input` explores at length.

mod common;

use bytes::Bytes;
use common::Rng;
use quartet_proto::sign::StreamSigner;
use quartet_relay::fuzz::session_input;
use rml_rtmp::chunk_io::ChunkSerializer;
use rml_rtmp::messages::RtmpMessage;
use rml_rtmp::rml_amf0::Amf0Value;
use rml_rtmp::time::RtmpTimestamp;
use std::collections::HashMap;

/// Inputs per family; each costs about a handshake.
const CASES: usize = 1_500;

/// A well-formed client session: connect, createStream, publish (signed like the fuzz relay
/// signs), metadata and media; the seed mutations start from.
fn valid_session(play: bool) -> Vec<u8> {
    let mut ser = ChunkSerializer::new();
    let mut out = Vec::new();
    let mut push = |message: RtmpMessage, stream: u32| {
        if let Ok(payload) = message.into_message_payload(RtmpTimestamp::new(0), stream)
            && let Ok(packet) = ser.serialize(&payload, false, false)
        {
            out.extend(packet.bytes);
        }
    };
    let mut app = HashMap::new();
    app.insert("app".to_owned(), Amf0Value::Utf8String("live".into()));
    let command = |name: &str, txn: f64, args: Vec<Amf0Value>| RtmpMessage::Amf0Command {
        command_name: name.into(),
        transaction_id: txn,
        command_object: Amf0Value::Null,
        additional_arguments: args,
    };
    push(
        RtmpMessage::Amf0Command {
            command_name: "connect".into(),
            transaction_id: 1.0,
            command_object: Amf0Value::Object(app),
            additional_arguments: vec![],
        },
        0,
    );
    push(RtmpMessage::WindowAcknowledgement { size: 5_000 }, 0);
    push(command("createStream", 2.0, vec![]), 0);
    let name = if play {
        "8888_fuzz".to_owned()
    } else {
        StreamSigner::new("8888", "fuzzkey").signed_stream("8888_other", 1_700_003_600)
    };
    let verb = if play { "play" } else { "publish" };
    push(command(verb, 0.0, vec![Amf0Value::Utf8String(name)]), 1);
    push(
        RtmpMessage::Amf0Data {
            values: vec![
                Amf0Value::Utf8String("@setDataFrame".into()),
                Amf0Value::Utf8String("onMetaData".into()),
                Amf0Value::Object(HashMap::from([(
                    "width".to_owned(),
                    Amf0Value::Number(320.0),
                )])),
            ],
        },
        1,
    );
    for data in [
        &[0x17u8, 0x00, 0, 0, 0, 1][..],
        &[0x17, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x65],
        &[0xAF, 0x00, 0x11, 0x90],
        &[0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x41],
    ] {
        let data = Bytes::copy_from_slice(data);
        let message = if data[0] == 0xAF {
            RtmpMessage::AudioData { data }
        } else {
            RtmpMessage::VideoData { data }
        };
        push(message, 1);
    }
    push(
        command("deleteStream", 3.0, vec![Amf0Value::Number(1.0)]),
        0,
    );
    out
}

#[test]
fn random_bytes_in_every_setting() {
    let mut rng = Rng::new(0x5eed);
    for _ in 0..CASES {
        let len = rng.below(4_096);
        session_input(&rng.bytes(len));
    }
}

#[test]
fn random_chunks_after_a_valid_handshake() {
    let mut rng = Rng::new(0xc0ffee);
    for _ in 0..CASES {
        // Flags with the handshake bit set, any stride, then random chunk bytes.
        let mut input = vec![(rng.below(16) as u8) | 1, rng.below(256) as u8];
        let len = rng.below(2_048);
        input.extend(rng.bytes(len));
        session_input(&input);
    }
}

#[test]
fn mutated_valid_sessions() {
    let mut rng = Rng::new(42);
    let seeds = [valid_session(false), valid_session(true)];
    // The unmutated sessions themselves, in every setting and read size.
    for seed in &seeds {
        for flags in 0..16u8 {
            for stride in [0u8, 7, 255] {
                let mut input = vec![flags | 1, stride];
                input.extend_from_slice(seed);
                session_input(&input);
            }
        }
    }
    for _ in 0..CASES {
        let mut body = seeds[rng.below(2)].clone();
        for _ in 0..=rng.below(8) {
            let at = rng.below(body.len());
            match rng.below(4) {
                0 => body[at] = rng.next_u64() as u8,
                1 => body[at] ^= 1 << rng.below(8),
                2 => body.truncate(at),
                _ => {
                    let n = rng.below(64);
                    let extra = rng.bytes(n);
                    body.splice(at..at, extra);
                }
            }
            if body.is_empty() {
                break;
            }
        }
        let mut input = vec![(rng.below(16) as u8) | 1, rng.below(256) as u8];
        input.extend(body);
        session_input(&input);
    }
}
