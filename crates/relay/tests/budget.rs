//! The latency budget from a player's side: behind a link narrower than the stream, what it
//! receives stays within about the budget of live, video skips to keyframes and audio is whole.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use common::*;
use quartet_relay::{DEFAULT_PLAYER_BUDGET, RelayConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};

/// Bytes per second the player's link carries: below the stream's ≈ 52 KB/s.
const LINK_RATE: u64 = 36_000;
/// Receive buffer of the link's far end, so the backlog builds up in the relay, as behind a
/// real bottleneck, and not in a loopback socket's megabytes of window.
const LINK_BUFFER: u32 = 4 * 1024;
/// Bytes the link moves at once.
const LINK_CHUNK: usize = 1_024;
const VIDEO_FRAME: usize = 3_000;
const KEYFRAME: usize = 9_000;
const AUDIO_FRAME: usize = 200;
const FPS: u32 = 15;
const GOP: u32 = 15;
const AUDIO_EVERY_MS: u32 = 20;
/// How long the stream runs, and the start of it left out of the figures.
const RUN: Duration = Duration::from_secs(8);
const WARM_UP_MS: u32 = 2_000;
/// Generous: the budget, plus the link's own buffer and a loaded machine's scheduling.
const MAX_LAG_MS: u32 = DEFAULT_PLAYER_BUDGET.as_millis() as u32 + 800;

/// A one-way narrow link: accepts the player, connects to `relay` and carries the relay's bytes
/// to the player at `LINK_RATE`, the player's at full speed.
async fn narrow_link(relay: SocketAddr) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let (player, _) = listener.accept().await?;
        let upstream = TcpSocket::new_v4()?;
        upstream.set_recv_buffer_size(LINK_BUFFER)?;
        let upstream = upstream.connect(relay).await?;
        let (mut from_relay, mut to_relay) = upstream.into_split();
        let (mut from_player, mut to_player) = player.into_split();
        tokio::spawn(async move { tokio::io::copy(&mut from_player, &mut to_relay).await });
        let mut buf = vec![0u8; LINK_CHUNK];
        let start = Instant::now();
        let mut carried = 0u64;
        loop {
            let n = from_relay.read(&mut buf).await?;
            if n == 0 {
                return anyhow::Ok(());
            }
            to_player.write_all(&buf[..n]).await?;
            carried += n as u64;
            let due = start + Duration::from_micros(carried * 1_000_000 / LINK_RATE);
            tokio::time::sleep_until(due.into()).await;
        }
    });
    Ok(addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_behind_a_narrow_link_stays_within_the_budget() -> Result<()> {
    let relay = TestRelay::start(RelayConfig::signed(signer())).await?;
    let id = "8888_user_1";
    let mut publisher = Client::publishing(relay.addr, id).await?;
    publisher.audio(0, aac_header()).await?;
    let mut player = Client::playing(narrow_link(relay.addr).await?, id).await?;

    let start = Instant::now();
    let now_ms = move || start.elapsed().as_millis() as u32;
    let reader = tokio::spawn(async move {
        // (media timestamp, lag behind live on arrival, video?, keyframe?)
        let mut got = Vec::new();
        while let Ok(Ok(m)) =
            tokio::time::timeout(Duration::from_secs(2), player.next_media()).await
        {
            if m.data.len() > 9 || (!m.video && m.data.len() == AUDIO_FRAME) {
                let key = m.video && m.data[0] >> 4 == 1;
                got.push((
                    m.timestamp,
                    now_ms().saturating_sub(m.timestamp),
                    m.video,
                    key,
                ));
            }
        }
        got
    });

    let (mut frame, mut next_video, mut next_audio) = (0u32, 0u32, 0u32);
    while start.elapsed() < RUN {
        let t = now_ms();
        if t >= next_video {
            let data = if frame.is_multiple_of(GOP) {
                keyframe(frame, KEYFRAME)
            } else {
                inter(frame, VIDEO_FRAME)
            };
            publisher.video(next_video, data).await?;
            frame += 1;
            next_video = frame * 1_000 / FPS;
        }
        if t >= next_audio {
            publisher.audio(next_audio, aac(AUDIO_FRAME)).await?;
            next_audio += AUDIO_EVERY_MS;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let dropped = relay
        .handle
        .stats()
        .first()
        .map_or(0, |s| s.dropped_for_players);
    drop(publisher);
    let got = reader.await?;

    let steady: Vec<_> = got.iter().filter(|g| g.0 >= WARM_UP_MS).collect();
    let worst = steady.iter().map(|g| g.1).max().unwrap_or(u32::MAX);
    ensure!(
        worst <= MAX_LAG_MS,
        "a message arrived {worst} ms behind live (bound {MAX_LAG_MS} ms)"
    );
    ensure!(dropped > 0, "the link was narrow enough to drop video");
    let keyframes = steady.iter().filter(|g| g.3).count();
    ensure!(
        keyframes >= 3,
        "video kept coming at keyframes: {keyframes}"
    );
    let audio: Vec<u32> = steady.iter().filter(|g| !g.2).map(|g| g.0).collect();
    ensure!(audio.len() > 100, "audio arrived: {} frames", audio.len());
    for pair in audio.windows(2) {
        ensure!(
            pair[1] - pair[0] == AUDIO_EVERY_MS,
            "audio was cut between {} and {} ms",
            pair[0],
            pair[1]
        );
    }
    relay.stop().await
}
