//! Hostile peers over real sockets: play URLs used to publish, stale URLs and revoked members
//! trying to take a stream over, players that never read, and floods of connections that start
//! too slowly. Each time the attacker is refused while the real stream goes on.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, ensure};
use common::*;
use quartet_relay::{PublishGate, RelayConfig};
use rml_rtmp::sessions::ClientSessionEvent;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// A room server's gate: per stream, URLs expiring before a cutoff (issued before the member
/// last left) are refused.
#[derive(Debug, Default)]
struct Cutoffs(Mutex<HashMap<String, u64>>);

impl Cutoffs {
    fn refuse_before(&self, stream_id: &str, expiry: u64) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(stream_id.to_owned(), expiry);
        }
    }
}

impl PublishGate for Cutoffs {
    fn admit(&self, stream_id: &str, expires_at_unix: u64) -> bool {
        let cutoff = self
            .0
            .lock()
            .map(|m| m.get(stream_id).copied().unwrap_or(0))
            .unwrap_or(u64::MAX);
        expires_at_unix >= cutoff
    }
}

fn gated(gate: Arc<Cutoffs>) -> RelayConfig {
    RelayConfig {
        gate: Some(gate),
        handshake_timeout: 2 * WAIT,
        idle_timeout: 2 * WAIT,
        ..RelayConfig::signed(signer())
    }
}

/// Publishes `name` on a new connection; the refusal code, if refused.
async fn try_publish(relay: &TestRelay, name: &str) -> Result<(Client, Option<String>)> {
    let mut client = Client::connect(relay.addr).await?;
    let refused = client.publish(name).await?;
    Ok((client, refused))
}

/// Sends frame `tag` and waits for `player` to get it.
async fn relays(publisher: &mut Client, player: &mut Client, tag: u32) -> Result<()> {
    publisher.video(tag * 33, inter(tag, 120)).await?;
    loop {
        let m = player.next_media().await?;
        if m.video && m.data.len() == 120 && tag_of(&m.data) == tag {
            return Ok(());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_play_url_cannot_publish() -> Result<()> {
    let relay = TestRelay::start(RelayConfig {
        verify_play: true,
        ..RelayConfig::signed(signer())
    })
    .await?;
    let id = "8888_user_1";
    let play_name = signer().signed_play_stream(id, unix_now() + 3_600);
    let (thief, refused) = try_publish(&relay, &play_name).await?;
    ensure!(
        refused.as_deref() == Some("NetStream.Publish.Unauthorized"),
        "{refused:?}"
    );
    closed_by_relay(&mut thief.into_socket()).await?;
    ensure!(!relay.handle.is_live(id));

    // The same URL plays, and the push URL publishes.
    let mut publisher = Client::publishing(relay.addr, id).await?;
    let mut player = Client::connect(relay.addr).await?;
    ensure!(player.play(&play_name).await?.is_none());
    ensure!(player.next_media().await?.data == seq_header());
    relays(&mut publisher, &mut player, 1).await?;
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_url_or_one_the_room_refuses_cannot_take_over() -> Result<()> {
    let gate = Arc::new(Cutoffs::default());
    let relay = TestRelay::start(gated(gate.clone())).await?;
    let id = "8888_user_1";
    let now = unix_now();
    let mut live = Client::connect(relay.addr).await?;
    let live_name = signer().signed_stream(id, now + 3_600);
    ensure!(live.publish(&live_name).await?.is_none());
    live.video(0, seq_header()).await?;
    let mut player = Client::playing(relay.addr, id).await?;
    relays(&mut live, &mut player, 1).await?;

    // A leaked URL issued earlier (it expires earlier) is correctly signed but stale.
    let (stale, refused) = try_publish(&relay, &signer().signed_stream(id, now + 1_800)).await?;
    ensure!(
        refused.as_deref() == Some("NetStream.Publish.BadName"),
        "{refused:?}"
    );
    closed_by_relay(&mut stale.into_socket()).await?;
    relays(&mut live, &mut player, 2).await?;

    // A fresher URL the room does not admit (issued before the member left, say).
    gate.refuse_before(id, now + 10_000);
    let (refused_by_room, refused) =
        try_publish(&relay, &signer().signed_stream(id, now + 7_200)).await?;
    ensure!(
        refused.as_deref() == Some("NetStream.Publish.Unauthorized"),
        "{refused:?}"
    );
    closed_by_relay(&mut refused_by_room.into_socket()).await?;
    relays(&mut live, &mut player, 3).await?;
    ensure!(relay.handle.is_live(id));

    // The member's own newer URL, admitted, takes over.
    let (mut fresh, refused) =
        try_publish(&relay, &signer().signed_stream(id, now + 10_000)).await?;
    ensure!(refused.is_none(), "{refused:?}");
    closed_by_relay(&mut live.into_socket()).await?;
    fresh.video(200, seq_header()).await?;
    relays(&mut fresh, &mut player, 4).await?;
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_ends_the_publisher_and_its_url_stays_out() -> Result<()> {
    let gate = Arc::new(Cutoffs::default());
    let relay = TestRelay::start(gated(gate.clone())).await?;
    let id = "8888_user_1";
    let expiry = unix_now() + 3_600;
    let name = signer().signed_stream(id, expiry);
    let (mut publisher, refused) = try_publish(&relay, &name).await?;
    ensure!(refused.is_none());
    publisher.video(0, seq_header()).await?;
    let mut player = Client::playing(relay.addr, id).await?;
    relays(&mut publisher, &mut player, 1).await?;

    // The member left: the room refuses its old URLs, then cuts the stream.
    gate.refuse_before(id, expiry + 1);
    ensure!(relay.handle.revoke(id));
    ensure!(!relay.handle.is_live(id));
    ensure!(relay.handle.media_age(id).is_none());
    closed_by_relay(&mut publisher.into_socket()).await?;
    player
        .wait_for(|e| {
            matches!(e, ClientSessionEvent::UnhandleableOnStatusCode { code }
                if code == "NetStream.Play.UnpublishNotify")
        })
        .await?;
    let (_, refused) = try_publish(&relay, &name).await?;
    ensure!(
        refused.as_deref() == Some("NetStream.Publish.Unauthorized"),
        "{refused:?}"
    );
    ensure!(!relay.handle.revoke(id), "nothing left to revoke");
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_age_tells_a_stalled_stream_from_a_flowing_one() -> Result<()> {
    let relay = TestRelay::patient().await?;
    let id = "8888_user_1";
    ensure!(relay.handle.media_age(id).is_none());
    let mut publisher = Client::publishing(relay.addr, id).await?;
    relay.wait_live(id, true).await?;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let stalled = relay.handle.media_age(id).unwrap_or_default();
    ensure!(stalled >= Duration::from_millis(400), "{stalled:?}");
    publisher.video(33, keyframe(1, 100)).await?;
    let deadline = Instant::now() + WAIT;
    while relay.handle.media_age(id).unwrap_or_default() >= stalled {
        ensure!(Instant::now() < deadline, "the frame never counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_that_never_reads_costs_at_most_its_byte_bound() -> Result<()> {
    // A queued frame keeps its payload and its chunked copy alive: 2 MiB each, so two fit.
    const BOUND: usize = 5 * 1024 * 1024;
    const FRAME: usize = 1024 * 1024;
    const FRAMES: u32 = 24;
    let relay = TestRelay::start(RelayConfig {
        player_queue_bytes: BOUND,
        // Only the bytes may decide: the frames come far faster than their timestamps.
        player_max_lag: Duration::from_secs(3_600),
        player_max_delay: Duration::from_secs(3_600),
        ..RelayConfig::signed(signer())
    })
    .await?;
    let mut canary = Canary::start(&relay, "8888_canary").await?;
    let id = "8888_user_1";
    let mut publisher = Client::publishing(relay.addr, id).await?;
    let stalled = Client::playing(relay.addr, id).await?.into_socket();
    for i in 0..FRAMES {
        publisher.video(i * 33, gop_frame(i, 8, FRAME)).await?;
    }
    let deadline = Instant::now() + WAIT;
    let stats = loop {
        let stats = relay.handle.stats();
        let s = stats.iter().find(|s| s.stream_id == id).cloned();
        if let Some(s) = s
            && s.video_frames == u64::from(FRAMES) + 1
        {
            break s;
        }
        ensure!(
            Instant::now() < deadline,
            "the relay never took the frames in"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    ensure!(
        stats.peak_player_queued_bytes > 0,
        "the player never queued: {stats:?}"
    );
    ensure!(
        stats.peak_player_queued_bytes <= BOUND as u64,
        "queue over its byte bound: {stats:?}"
    );
    ensure!(stats.queued_bytes <= BOUND as u64, "{stats:?}");
    ensure!(stats.dropped_for_players > 0, "{stats:?}");
    canary.check().await?;
    drop(stalled);
    relay.stop().await
}

/// The start of a video message far longer than a trickle delivers before any deadline.
fn endless_message() -> Result<Vec<u8>> {
    use rml_rtmp::chunk_io::ChunkSerializer;
    use rml_rtmp::messages::MessagePayload;
    use rml_rtmp::time::RtmpTimestamp;
    let payload = MessagePayload {
        timestamp: RtmpTimestamp::new(0),
        type_id: 9,
        message_stream_id: 0,
        data: bytes::Bytes::from(vec![0x27; 4_096]),
    };
    Ok(ChunkSerializer::new()
        .serialize(&payload, true, false)?
        .bytes)
}

/// Handshakes, then sends one byte of a never-ending message every `every` until the relay
/// hangs up or `give_up` passes; returns how long the connection lived, `None` if it outlived
/// `give_up`. `ready` counts the tricklers past their handshake (or refused during it).
async fn trickle(
    addr: std::net::SocketAddr,
    every: Duration,
    give_up: Duration,
    ready: Arc<AtomicUsize>,
) -> Result<Option<Duration>> {
    let start = Instant::now();
    let mut socket = TcpStream::connect(addr).await?;
    let handshaken = handshake(&mut socket).await;
    ready.fetch_add(1, Ordering::SeqCst);
    if handshaken.is_err() {
        return Ok(Some(start.elapsed()));
    }
    let bytes = endless_message()?;
    let mut buf = [0u8; 4096];
    for byte in bytes.iter().cycle() {
        if start.elapsed() > give_up {
            return Ok(None);
        }
        if socket.write_all(&[*byte]).await.is_err() {
            break;
        }
        // Waiting on a read paces the trickle and notices the relay hanging up.
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(every, socket.read(&mut buf)).await {
            break;
        }
    }
    Ok(Some(start.elapsed()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_trickling_connections_neither_locks_out_clients_nor_lasts() -> Result<()> {
    const SLOTS: usize = 64;
    const FLOOD: usize = 200;
    let start_timeout = Duration::from_secs(4);
    let relay = TestRelay::start(RelayConfig {
        max_connections: SLOTS,
        max_pending: SLOTS,
        start_timeout,
        pending_idle_timeout: Duration::from_secs(2),
        ..RelayConfig::signed(signer())
    })
    .await?;
    let ready = Arc::new(AtomicUsize::new(0));
    let mut flood = Vec::with_capacity(FLOOD);
    for _ in 0..FLOOD {
        flood.push(tokio::spawn(trickle(
            relay.addr,
            Duration::from_millis(300),
            2 * WAIT,
            ready.clone(),
        )));
    }
    let began = Instant::now();
    while ready.load(Ordering::SeqCst) < FLOOD {
        ensure!(began.elapsed() < WAIT, "the flood never connected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Every slot is held by a trickler now; a real client still gets in, in well under the
    // start deadline that would otherwise free the slots.
    let began = Instant::now();
    let mut canary = Canary::start(&relay, "8888_canary").await?;
    let mut late = Client::playing(relay.addr, "8888_canary").await?;
    ensure!(late.next_media().await?.data == seq_header());
    ensure!(
        began.elapsed() < start_timeout,
        "the clients waited for the flood to expire"
    );
    canary.check().await?;

    let mut by_deadline = 0;
    for task in flood {
        let lived = task.await??;
        let Some(lived) = lived else {
            anyhow::bail!("a trickling connection outlived {:?}", 2 * WAIT);
        };
        if lived >= start_timeout {
            by_deadline += 1;
        }
    }
    ensure!(by_deadline > 0, "no trickler reached the start deadline");
    canary.check().await?;
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_starter_is_closed_and_a_prompt_one_is_not() -> Result<()> {
    let relay = TestRelay::start(RelayConfig {
        pending_idle_timeout: Duration::from_millis(500),
        start_timeout: 2 * WAIT,
        handshake_timeout: 2 * WAIT,
        idle_timeout: 2 * WAIT,
        ..RelayConfig::signed(signer())
    })
    .await?;
    // Silent after the handshake, and after connect: both closed by the progress rule alone.
    let mut silent = TcpStream::connect(relay.addr).await?;
    handshake(&mut silent).await?;
    closed_by_relay(&mut silent).await?;
    let connected = Client::connect(relay.addr).await?;
    closed_by_relay(&mut connected.into_socket()).await?;

    // Pausing less than the limit between steps is fine.
    let mut prompt = Client::connect(relay.addr).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    ensure!(prompt.publish(&signed("8888_user_1")).await?.is_none());
    // Once publishing, the progress rule no longer applies.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    prompt.video(0, keyframe(1, 100)).await?;
    let mut player = Client::playing(relay.addr, "8888_user_1").await?;
    ensure!(tag_of(&player.next_media().await?.data) == 1);
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_faster_than_its_allowance_is_read_no_faster() -> Result<()> {
    const RATE: u64 = 1_000_000;
    const BURST: u64 = 500_000;
    const FRAME: usize = 50_000;
    const FRAMES: u32 = 60;
    let relay = TestRelay::start(RelayConfig {
        max_ingest_rate: RATE,
        ingest_burst: BURST,
        ..RelayConfig::signed(signer())
    })
    .await?;
    let mut publisher = Client::publishing(relay.addr, "8888_fast").await?;
    let mut player = Client::playing(relay.addr, "8888_fast").await?;
    let started = Instant::now();
    let sending = tokio::spawn(async move {
        for tag in 0..FRAMES {
            publisher.video(tag, gop_frame(tag, 1_000, FRAME)).await?;
        }
        anyhow::Ok(publisher)
    });
    let mut received = 0;
    while received < FRAMES {
        let m = player.next_media().await?;
        if m.video && m.data.len() == FRAME {
            received += 1;
        }
    }
    // The relay cannot have read 3 MB sooner than its allowance lets it, however fast the
    // machine: (3 MB - burst) at 1 MB/s is 2.5 s (less a margin for whole reads).
    let least = Duration::from_secs_f64(
        (u64::from(FRAMES) * FRAME as u64 - BURST) as f64 / RATE as f64 * 0.9,
    );
    ensure!(
        started.elapsed() >= least,
        "3 MB went through in {:?}, under the {least:?} the allowance permits",
        started.elapsed()
    );
    drop(sending.await??);
    relay.stop().await
}
