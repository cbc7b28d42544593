//! One member sending HD: our publisher at 1280×720, 30 fps, 2 Mbit/s, playing three others who
//! send the same (FFmpeg's CLI, in processes of their own, so their encoding is not counted),
//! decoded to 640×360 tiles with their sound mixed. CPU is this process's over the measured
//! stretch: one member's encode and three decodes. Then a player of our own stream, its sound
//! mixed as in a call, reads its frame clock for the latency, after the CPU was taken, so its
//! decode is not counted: capture → decoded from its own figures, and capture → shown from the
//! pictures as they land in its slot, the lip-sync hold included.

use super::{JOIN_DEADLINE, cpu_seconds, wait_connected};
use anyhow::{Result, bail};
use quartet_media::stats::percentile;
use quartet_media::{
    AudioMixer, AudioOutput, Player, PlayerConfig, PlayerHandle, Publisher, PublisherConfig,
    SyntheticTone, SyntheticVideo, unix_micros,
};
use quartet_testkit::{NginxRtmp, ffmpeg_publish};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
const FPS: u32 = 30;
const KBPS: u32 = 2_000;
/// Tiles the others are decoded to, as in a four-up grid.
const TILE: (u32, u32) = (640, 360);
const OTHERS: usize = 3;
/// How often the slot of our own player is looked at for new pictures.
const SLOT_POLL: Duration = Duration::from_millis(1);

fn wait_pictures(players: &[PlayerHandle]) -> Result<()> {
    let started = Instant::now();
    while players.iter().any(|p| p.stats().first_frame_ms.is_none()) {
        if started.elapsed() > JOIN_DEADLINE {
            bail!("an HD player showed no picture within {JOIN_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Measures one HD member for `seconds` after `warmup`; the figures as JSON.
pub fn measure(nginx: &NginxRtmp, seconds: u64, warmup: u64) -> Result<serde_json::Value> {
    let _others: Vec<_> = (1..=OTHERS)
        .map(|i| ffmpeg_publish(&nginx.url(&format!("hd{i}")), WIDTH, HEIGHT, FPS))
        .collect::<Result<_, _>>()?;
    let config = PublisherConfig {
        width: WIDTH,
        height: HEIGHT,
        fps: FPS,
        video_kbps: KBPS,
        ..PublisherConfig::new(nginx.url("hd0"))
    };
    let video = SyntheticVideo::new("HD member", WIDTH, HEIGHT, FPS)?;
    let (publisher, mut events) = Publisher::start(
        config,
        Some(Box::new(video)),
        Some(Box::new(SyntheticTone::new(500.0))),
    )?;
    wait_connected(&mut events)?;
    let mixer = AudioMixer::new();
    let output = AudioOutput::null(mixer.clone())?;
    let players = (1..=OTHERS)
        .map(|i| {
            let config = PlayerConfig::new(nginx.url(&format!("hd{i}")), TILE.0, TILE.1)
                .with_mixer(mixer.clone());
            Player::start(config).map(|(p, _events)| p)
        })
        .collect::<Result<Vec<_>, _>>()?;
    wait_pictures(&players)?;
    std::thread::sleep(Duration::from_secs(warmup));

    let (cpu0, t0) = (cpu_seconds("self")?, Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (cpu_seconds("self")? - cpu0) / wall * 100.0;
    let sent = publisher.stats();
    let fps_min = players
        .iter()
        .map(|p| p.stats().fps)
        .fold(f64::INFINITY, f64::min);

    // With its sound mixed, as a member hears it: pictures wait for their sound (lip sync).
    let (own, _events) = Player::start(
        PlayerConfig::new(nginx.url("hd0"), TILE.0, TILE.1).with_mixer(mixer.clone()),
    )?;
    wait_pictures(std::slice::from_ref(&own))?;
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (mut frames, on) = (own.frames(), Arc::clone(&watching));
        std::thread::spawn(move || {
            let mut shown = Vec::new();
            while on.load(Ordering::Relaxed) {
                if frames.has_changed().unwrap_or(false) {
                    let capture = frames
                        .borrow_and_update()
                        .as_ref()
                        .and_then(|f| f.capture_us);
                    if let Some(t) = capture {
                        shown.push((unix_micros() - t) as f64 / 1000.0);
                    }
                }
                std::thread::sleep(SLOT_POLL);
            }
            shown
        })
    };
    std::thread::sleep(Duration::from_secs(seconds.div_ceil(2).max(3)));
    // The player's own latency is taken before the lip-sync hold (its stream and quality
    // policies judge the network and decoder, not the wait for sound), so its 7–10 ms on
    // loopback is no picture shown unheld: `shown` is when they were shown.
    let seen = own.stats();
    watching.store(false, Ordering::Relaxed);
    let shown = watcher.join().unwrap_or_default();
    let shown_p50 = percentile(&shown, 50.0).unwrap_or(f64::NAN);

    own.stop();
    for p in &players {
        p.stop();
    }
    publisher.stop();
    drop(output);
    Ok(serde_json::json!({
        "video": format!("{WIDTH}x{HEIGHT}@{FPS}"),
        "video_kbps": KBPS,
        "cpu_percent_per_member": cpu,
        "latency_ms_p50": seen.latency_ms_p50,
        "latency_ms_p95": seen.latency_ms_p95,
        "shown_latency_ms_p50": shown_p50,
        "lip_sync_hold_ms_p50": seen.latency_ms_p50.map(|ready| shown_p50 - ready),
        "sent_fps": sent.fps,
        "sent_kbps": sent.kbps,
        "encode_ms_p95": sent.encode_ms_p95,
        "dropped_frames": sent.dropped_frames,
        "player_fps_min": fps_min,
        "seconds": wall,
    }))
}
