//! FFmpeg's CLI as publisher and player, a peer implementation the relay did not write.

mod common;

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use common::*;
use quartet_relay::RelayEvent;
use quartet_testkit::{ffmpeg_probe, ffmpeg_publish};

/// How long the FFmpeg player is allowed to run: far longer than the test needs, so its end
/// shows it was told the stream ended rather than running out of time.
const PROBE_SECONDS: u32 = 60;
/// How long the FFmpeg player plays before the publisher stops.
const PLAY_FOR: Duration = Duration::from_secs(2);
/// Time for a player to notice the publisher left, far below FFmpeg's 10 s read timeout.
const UNPUBLISH_NOTICED_WITHIN: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_publishes_to_and_plays_from_the_relay() -> Result<()> {
    let relay = TestRelay::signed().await?;
    let mut events = relay.handle.subscribe();
    let id = "8888_user_ff";
    let publisher = ffmpeg_publish(&relay.url(&signed(id)), 320, 180, 15)?;
    relay.wait_live(id, true).await?;
    ensure!(
        events.recv().await?
            == RelayEvent::Published {
                stream_id: id.into()
            }
    );

    let url = relay.url(id);
    let player = tokio::task::spawn_blocking(move || ffmpeg_probe(&url, PROBE_SECONDS));
    let deadline = Instant::now() + WAIT;
    while relay.handle.stats().first().map(|s| s.players) != Some(1) {
        ensure!(
            Instant::now() < deadline,
            "the FFmpeg player never attached"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let it play for a while.
    tokio::time::sleep(PLAY_FOR).await;
    let stats = relay.handle.stats();
    ensure!(stats.len() == 1 && stats[0].players == 1, "{stats:?}");
    ensure!(
        stats[0].video_frames > 0 && stats[0].audio_frames > 0,
        "{stats:?}"
    );
    ensure!(stats[0].keyframes > 0 && stats[0].bytes_in > 0, "{stats:?}");
    ensure!(stats[0].publisher.is_some() && stats[0].since.is_some());

    let stopped = Instant::now();
    publisher.stop();
    let probe = tokio::time::timeout(WAIT, player).await???;
    ensure!(
        stopped.elapsed() < UNPUBLISH_NOTICED_WITHIN,
        "the player ran on after the publisher left"
    );
    ensure!(probe.video_codec.as_deref() == Some("h264"), "{probe:?}");
    ensure!(probe.audio_codec.as_deref() == Some("aac"), "{probe:?}");
    ensure!(probe.video_frames > 15, "{probe:?}");
    relay.wait_live(id, false).await?;
    ensure!(
        events.recv().await?
            == RelayEvent::Unpublished {
                stream_id: id.into()
            }
    );
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_cannot_publish_without_a_valid_signature() -> Result<()> {
    let relay = TestRelay::signed().await?;
    let id = "8888_user_ff";
    let elsewhere = signer().signed_stream("8888_someone_else", unix_now() + 60);
    let query = elsewhere
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    for name in [
        id.to_owned(),
        signer().signed_stream(id, unix_now() - 60),
        format!("{id}?{query}"),
    ] {
        let mut publisher = ffmpeg_publish(&relay.url(&name), 320, 180, 15)?;
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = publisher.0.try_wait()? {
                break status;
            }
            ensure!(Instant::now() < deadline, "{name}: ffmpeg kept publishing");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        ensure!(!status.success(), "{name}: ffmpeg reported success");
        ensure!(!relay.handle.is_live(id), "{name} went live");
        ensure!(!relay.handle.is_live("8888_someone_else"));
    }
    relay.stop().await
}
