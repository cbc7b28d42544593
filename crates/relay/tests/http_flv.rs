//! HTTP-FLV: FFmpeg's CLI plays what FFmpeg publishes over RTMP; refusals, hostile heads and a
//! reader that never reads, from the client's side of real sockets.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use common::*;
use quartet_relay::{FLV_MAX_HEAD_BYTES, FlvLimits, Relay, RelayConfig, RelayHandle};
use quartet_testkit::{ffmpeg_probe, ffmpeg_publish};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Seconds of the stream FFmpeg's player reads over HTTP-FLV.
const PLAY_SECONDS: u32 = 2;

/// A relay serving RTMP and HTTP-FLV on free loopback ports.
struct FlvRelay {
    rtmp: SocketAddr,
    http: SocketAddr,
    handle: RelayHandle,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<Result<(), quartet_relay::RelayError>>>,
}

impl FlvRelay {
    async fn start(config: RelayConfig, limits: FlvLimits) -> Result<FlvRelay> {
        init_tracing();
        let rtmp = TcpListener::bind("127.0.0.1:0").await?;
        let http = TcpListener::bind("127.0.0.1:0").await?;
        let (rtmp_addr, http_addr) = (rtmp.local_addr()?, http.local_addr()?);
        let (relay, handle) = Relay::new(config);
        let flv = relay.http_flv().with_limits(limits);
        let (stop, stopped) = watch::channel(false);
        let on_stop = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let tasks = vec![
            tokio::spawn(flv.run(http, on_stop(stopped.clone()))),
            tokio::spawn(relay.run(rtmp, on_stop(stopped))),
        ];
        Ok(FlvRelay {
            rtmp: rtmp_addr,
            http: http_addr,
            handle,
            stop,
            tasks,
        })
    }

    /// Plays need a signature, as `quartet server --verify-play` asks.
    async fn verifying() -> Result<FlvRelay> {
        let config = RelayConfig {
            verify_play: true,
            ..RelayConfig::signed(signer())
        };
        FlvRelay::start(config, FlvLimits::default()).await
    }

    /// The HTTP-FLV URL of `stream_id` with a play signature valid for an hour.
    fn play_url(&self, stream_id: &str) -> String {
        let signed = signer().signed_play_stream(stream_id, unix_now() + 3_600);
        let (id, query) = signed.split_once('?').unwrap_or((&signed, ""));
        format!("http://{}/live/{id}.flv?{query}", self.http)
    }

    async fn wait_live(&self, stream_id: &str) -> Result<()> {
        let deadline = Instant::now() + WAIT;
        while !self.handle.is_live(stream_id) {
            ensure!(Instant::now() < deadline, "{stream_id} never became live");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    async fn players(&self, stream_id: &str) -> usize {
        let stats = self.handle.stats();
        stats
            .iter()
            .find(|s| s.stream_id == stream_id)
            .map_or(0, |s| s.players)
    }

    async fn stop(self) -> Result<()> {
        let _ = self.stop.send(true);
        for task in self.tasks {
            tokio::time::timeout(WAIT, task)
                .await
                .context("the relay did not stop")???;
        }
        Ok(())
    }
}

/// Sends `request` and reads the whole answer until the relay closes the connection.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Result<String> {
    let mut socket = TcpStream::connect(addr).await?;
    socket.write_all(request).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, socket.read_to_end(&mut answer))
        .await
        .context("the answer never ended")??;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: relay\r\nOrigin: http://page.example\r\n\r\n")
        .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_plays_over_http_flv_what_ffmpeg_publishes_over_rtmp() -> Result<()> {
    let relay = FlvRelay::verifying().await?;
    let id = "8888_user_flv";
    let rtmp = format!("rtmp://{}/live/{}", relay.rtmp, signed(id));
    let _publisher = ffmpeg_publish(&rtmp, 320, 180, 15)?;
    relay.wait_live(id).await?;
    let url = relay.play_url(id);
    let started = Instant::now();
    let probe = tokio::task::spawn_blocking(move || ffmpeg_probe(&url, PLAY_SECONDS)).await??;
    ensure!(probe.video_codec.as_deref() == Some("h264"), "{probe:?}");
    ensure!(probe.audio_codec.as_deref() == Some("aac"), "{probe:?}");
    // 2 s at 15 fps, of which the cached group of pictures arrives at once.
    ensure!(probe.video_frames >= 20, "{probe:?}");
    tracing::info!(elapsed = ?started.elapsed(), ?probe, "played over HTTP-FLV");
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plays_are_refused_as_rtmp_plays_are_and_answers_allow_any_origin() -> Result<()> {
    let relay = FlvRelay::verifying().await?;
    let id = "8888_user_1";
    let mut publisher = Client::publishing(relay.rtmp, id).await?;
    publisher.video(0, keyframe(0, 100)).await?;
    relay.wait_live(id).await?;

    let wrong = wrong_key_path(id);
    let cases = [
        (format!("/live/{id}.flv"), "403"),
        (format!("/live/{id}.flv?txSecret=00&txTime=7FFFFFFF"), "403"),
        (format!("/live/{wrong}"), "403"),
        (
            relay
                .play_url("8888_nobody")
                .split_once(&relay.http.to_string())
                .map(|(_, p)| p.to_owned())
                .unwrap_or_default(),
            "404",
        ),
        ("/live/.flv".to_owned(), "404"),
        ("/live/a/b.flv".to_owned(), "404"),
        ("/other/x.flv".to_owned(), "404"),
    ];
    for (path, status) in cases {
        let answer = exchange(relay.http, &get(&path)).await?;
        ensure!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{path}: {answer}"
        );
        ensure!(
            answer.contains("Access-Control-Allow-Origin: *\r\n"),
            "{answer}"
        );
    }
    let post = exchange(relay.http, b"POST /live/x.flv HTTP/1.1\r\n\r\n").await?;
    ensure!(post.starts_with("HTTP/1.1 405 "), "{post}");
    let preflight = exchange(
        relay.http,
        b"OPTIONS /live/x.flv HTTP/1.1\r\nOrigin: http://a\r\n\r\n",
    )
    .await?;
    ensure!(preflight.starts_with("HTTP/1.1 204 "), "{preflight}");
    ensure!(preflight.contains("Access-Control-Allow-Methods: GET"));

    // The signed URL plays, starting with the FLV header and the cached keyframe.
    let path = relay.play_url(id);
    let path = path
        .split_once(&relay.http.to_string())
        .map_or("", |(_, p)| p);
    let mut socket = TcpStream::connect(relay.http).await?;
    socket.write_all(&get(path)).await?;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + WAIT;
    while !(seen.windows(3).any(|w| w == b"FLV") && seen.len() > 200) {
        ensure!(Instant::now() < deadline, "no stream: {seen:?}");
        let n = tokio::time::timeout(WAIT, socket.read(&mut buf)).await??;
        ensure!(n > 0, "closed early");
        seen.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&seen);
    ensure!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    ensure!(text.contains("Transfer-Encoding: chunked"), "{text}");
    ensure!(relay.players(id).await == 1);

    // The publisher leaving ends the body.
    drop(publisher);
    let mut rest = Vec::new();
    tokio::time::timeout(WAIT, socket.read_to_end(&mut rest)).await??;
    seen.extend_from_slice(&rest);
    ensure!(
        seen.ends_with(b"0\r\n\r\n"),
        "the chunked body was not ended"
    );
    relay.stop().await
}

/// The path of `id` with a play signature under a key the relay does not know.
fn wrong_key_path(id: &str) -> String {
    let signed = quartet_proto::sign::StreamSigner::new(BIZID, "otherkey")
        .signed_play_stream(id, unix_now() + 60);
    let (id, query) = signed.split_once('?').unwrap_or((&signed, ""));
    format!("{id}.flv?{query}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_never_reads_costs_at_most_its_byte_bound_and_is_closed() -> Result<()> {
    // A queued frame keeps its payload and its RTMP-chunked copy alive: 2 MiB each, so two fit.
    const BOUND: usize = 5 * 1024 * 1024;
    const FRAME: usize = 1024 * 1024;
    const FRAMES: u32 = 24;
    const IDLE: Duration = Duration::from_secs(3);
    let relay = FlvRelay::start(
        RelayConfig {
            player_queue_bytes: BOUND,
            // Only the bytes may decide: the frames come far faster than their timestamps.
            player_max_lag: Duration::from_secs(3_600),
            player_max_delay: Duration::from_secs(3_600),
            idle_timeout: IDLE,
            // The frames must be in before the reader is closed for stalling.
            max_ingest_rate: u64::MAX / 4,
            ingest_burst: u64::MAX / 4,
            ..RelayConfig::signed(signer())
        },
        FlvLimits::default(),
    )
    .await?;
    let id = "8888_user_1";
    let mut publisher = Client::publishing(relay.rtmp, id).await?;
    publisher.video(0, keyframe(0, 100)).await?;
    relay.wait_live(id).await?;
    let mut stalled = TcpStream::connect(relay.http).await?;
    stalled.write_all(&get(&format!("/live/{id}.flv"))).await?;
    let deadline = Instant::now() + WAIT;
    while relay.players(id).await == 0 {
        ensure!(Instant::now() < deadline, "the HTTP player never attached");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in 1..=FRAMES {
        publisher.video(i * 33, gop_frame(i, 8, FRAME)).await?;
    }
    let stats = loop {
        let stats = relay.handle.stats();
        let s = stats.iter().find(|s| s.stream_id == id).cloned();
        if let Some(s) = s
            && s.video_frames == u64::from(FRAMES) + 2
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
        "never queued: {stats:?}"
    );
    ensure!(
        stats.peak_player_queued_bytes <= BOUND as u64,
        "queue over its byte bound: {stats:?}"
    );
    ensure!(stats.dropped_for_players > 0, "{stats:?}");
    // Draining nothing, it is closed after the idle timeout and its queue freed.
    let deadline = Instant::now() + IDLE + WAIT;
    while relay.players(id).await != 0 {
        ensure!(
            Instant::now() < deadline,
            "the stalled reader was never closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = relay.handle.stats();
    ensure!(stats.iter().all(|s| s.queued_bytes == 0), "{stats:?}");
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_heads_and_floods_are_bounded() -> Result<()> {
    const HEAD_TIMEOUT: Duration = Duration::from_millis(500);
    let limits = FlvLimits {
        max_connections: 3,
        head_timeout: HEAD_TIMEOUT,
        ..FlvLimits::default()
    };
    let relay = FlvRelay::start(RelayConfig::signed(signer()), limits).await?;

    // A head over the limit is told 431 as soon as the limit is passed.
    let huge = format!(
        "GET /live/x.flv HTTP/1.1\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(FLV_MAX_HEAD_BYTES)
    );
    let answer = exchange(relay.http, huge.as_bytes()).await?;
    ensure!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    let answer = exchange(relay.http, b"GET /live/x.flv HTTP/3\r\n\r\n").await?;
    ensure!(answer.starts_with("HTTP/1.1 505 "), "{answer}");
    let answer = exchange(relay.http, b"GET /live/x.flv HTTP/1.1\r\nnocolon\r\n\r\n").await?;
    ensure!(answer.starts_with("HTTP/1.1 400 "), "{answer}");

    // Silent and trickling connections fill the cap: a newcomer is told 503 ...
    let mut silent = Vec::new();
    for _ in 0..limits.max_connections {
        let mut s = TcpStream::connect(relay.http).await?;
        s.write_all(b"GET /live/").await?;
        silent.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // (It sends nothing: the relay closes at once, and unread input would turn that into a reset.)
    let answer = exchange(relay.http, b"").await?;
    ensure!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    // ... and each is closed once its head is late, which frees the slots.
    let started = Instant::now();
    for s in &mut silent {
        closed_by_relay(s).await?;
    }
    ensure!(
        started.elapsed() < HEAD_TIMEOUT + Duration::from_secs(2),
        "slow heads held on for {:?}",
        started.elapsed()
    );
    let answer = exchange(relay.http, &get("/live/x.flv")).await?;
    ensure!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
    relay.stop().await
}
