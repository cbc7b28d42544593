//! Hostile and broken peers: each is dropped on its own while a canary stream keeps flowing.

mod common;

use std::time::Duration;

use anyhow::{Result, ensure};
use bytes::Bytes;
use common::*;
use quartet_relay::RelayConfig;
use rml_rtmp::chunk_io::ChunkSerializer;
use rml_rtmp::messages::{MessagePayload, RtmpMessage};
use rml_rtmp::time::RtmpTimestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn strict() -> RelayConfig {
    RelayConfig {
        handshake_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_secs(2),
        max_message_size: 256 * 1024,
        ..RelayConfig::signed(signer())
    }
}

fn chunk(type_id: u8, body: Vec<u8>) -> Vec<u8> {
    let payload = MessagePayload {
        timestamp: RtmpTimestamp::new(0),
        type_id,
        message_stream_id: 0,
        data: Bytes::from(body),
    };
    ChunkSerializer::new()
        .serialize(&payload, false, false)
        .map(|p| p.bytes)
        .unwrap_or_default()
}

/// Writes `bytes`, ignoring a relay that already hung up.
async fn send(socket: &mut TcpStream, bytes: &[u8]) {
    let _ = socket.write_all(bytes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_bytes_drop_only_that_connection() -> Result<()> {
    let relay = TestRelay::start(strict()).await?;
    let mut canary = Canary::start(&relay, "8888_canary").await?;
    let mut rng = Rng::new(7);
    let mut cases: Vec<(&str, Vec<u8>, bool)> = vec![
        (
            "http",
            b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            false,
        ),
        ("random", rng.bytes(64 * 1024), false),
        ("zeros", vec![0; 10_000], false),
    ];
    // A version byte and random packets: the handshake passes (it checks little), then the
    // session chokes on what follows.
    let mut fake = vec![3];
    fake.extend(rng.bytes(1536 * 2 + 20_000));
    cases.push(("fake handshake", fake, false));
    cases.push(("after a real handshake", rng.bytes(20_000), true));
    for (what, bytes, real_handshake) in cases {
        let mut socket = TcpStream::connect(relay.addr).await?;
        if real_handshake {
            handshake(&mut socket).await?;
        }
        send(&mut socket, &bytes).await;
        closed_by_relay(&mut socket).await?;
        canary.check().await.map_err(|e| e.context(what))?;
    }
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_silent_handshakes_time_out() -> Result<()> {
    let relay = TestRelay::start(strict()).await?;
    let mut canary = Canary::start(&relay, "8888_canary").await?;
    let mut silent = TcpStream::connect(relay.addr).await?;
    let mut truncated = TcpStream::connect(relay.addr).await?;
    let mut rng = Rng::new(11);
    let mut partial = vec![3];
    partial.extend(rng.bytes(700));
    send(&mut truncated, &partial).await;
    for socket in [&mut silent, &mut truncated] {
        closed_by_relay(socket).await?;
    }
    canary.check().await?;

    // A connection idle after a complete handshake is dropped after the idle timeout, while
    // the canary, which keeps sending, stays.
    let mut idle = TcpStream::connect(relay.addr).await?;
    handshake(&mut idle).await?;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        canary.check().await?;
        let read = tokio::time::timeout(Duration::from_millis(200), idle.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "idle connection kept"
        );
    }
    canary.check().await?;
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_chunks_messages_and_nestings_are_refused() -> Result<()> {
    let relay = TestRelay::start(strict()).await?;
    let mut canary = Canary::start(&relay, "8888_canary").await?;

    // A chunk size far beyond the limit.
    let mut socket = TcpStream::connect(relay.addr).await?;
    handshake(&mut socket).await?;
    let announce = RtmpMessage::SetChunkSize { size: 0x7FFF_FFFF }
        .into_message_payload(RtmpTimestamp::new(0), 0)?;
    send(
        &mut socket,
        &ChunkSerializer::new()
            .serialize(&announce, false, false)?
            .bytes,
    )
    .await;
    closed_by_relay(&mut socket).await?;
    canary.check().await?;

    // A message announcing 16 MiB: the relay hangs up long before it is all sent.
    let mut socket = TcpStream::connect(relay.addr).await?;
    handshake(&mut socket).await?;
    let huge = chunk(9, vec![0x27; 16 * 1024 * 1024 - 1]);
    let (mut rd, mut wr) = socket.into_split();
    let writer = tokio::spawn(async move {
        let mut sent = 0usize;
        for piece in huge.chunks(64 * 1024) {
            if wr.write_all(piece).await.is_err() {
                break;
            }
            sent += piece.len();
        }
        sent
    });
    let mut buf = vec![0u8; 4096];
    tokio::time::timeout(WAIT, async {
        while !matches!(rd.read(&mut buf).await, Ok(0) | Err(_)) {}
    })
    .await?;
    let sent = tokio::time::timeout(WAIT, writer).await??;
    ensure!(sent < 16 * 1024 * 1024, "the whole message was taken in");
    canary.check().await?;

    // A connect command nested thousands of levels deep.
    let mut socket = TcpStream::connect(relay.addr).await?;
    handshake(&mut socket).await?;
    let mut body = vec![0x02, 0, 7];
    body.extend_from_slice(b"connect");
    body.push(0x00);
    body.extend_from_slice(&1f64.to_be_bytes());
    body.extend([0x03, 0, 1, b'k'].repeat(12_000));
    send(&mut socket, &chunk(20, body)).await;
    closed_by_relay(&mut socket).await?;
    canary.check().await?;

    // Two messages interleaved mid-message (the parser library panics on this; contained).
    let mut socket = TcpStream::connect(relay.addr).await?;
    handshake(&mut socket).await?;
    let long = chunk(9, vec![0x27; 1_000]);
    let split = 12 + 128 + 1 + 128;
    let mut input = long[..split].to_vec();
    input.extend(chunk(8, vec![0xAF; 10]));
    input.extend_from_slice(&long[split..]);
    send(&mut socket, &input).await;
    closed_by_relay(&mut socket).await?;
    canary.check().await?;
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_idle_connections_are_shed_while_streams_go_on() -> Result<()> {
    const LIMIT: usize = 1_500;
    const IDLE: usize = 2_000;
    let relay = TestRelay::start(RelayConfig {
        max_connections: LIMIT,
        handshake_timeout: Duration::from_secs(1),
        ..strict()
    })
    .await?;
    let mut canary = Canary::start(&relay, "8888_canary").await?;
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(relay.addr).await?);
    }
    canary.check().await?;
    // Those over the limit are closed at once, the rest when their handshake time is up.
    for socket in &mut idle {
        closed_by_relay(socket).await?;
    }
    canary.check().await?;
    let mut newcomer = Client::connect(relay.addr).await?;
    ensure!(newcomer.play("8888_canary").await?.is_none());
    ensure!(newcomer.next_media().await?.data == seq_header());
    canary.check().await?;
    relay.stop().await
}
