//! One member sending HD: our publisher at 1280×720, 30 fps, 2 Mbit/s, playing three others who
//! send the same (FFmpeg's CLI, in processes of their own, so their encoding is not counted),
//! decoded to 640×360 tiles with their sound mixed. CPU is this process's over the measured
//! stretch: one member's encode and three decodes. Then a player of our own stream reads its
//! frame clock for the latency (capture to shown, held for lip sync as in a call), after the CPU
//! was taken, so its decode is not counted.

use super::{JOIN_DEADLINE, cpu_seconds, wait_connected};
use anyhow::{Result, bail};
use quartet_media::{
    AudioMixer, AudioOutput, Player, PlayerConfig, PlayerHandle, Publisher, PublisherConfig,
    SyntheticTone, SyntheticVideo,
};
use quartet_testkit::{NginxRtmp, ffmpeg_publish};
use std::time::{Duration, Instant};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
const FPS: u32 = 30;
const KBPS: u32 = 2_000;
/// Tiles the others are decoded to, as in a four-up grid.
const TILE: (u32, u32) = (640, 360);
const OTHERS: usize = 3;

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
    std::thread::sleep(Duration::from_secs(seconds.div_ceil(2).max(3)));
    let seen = own.stats();

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
        "sent_fps": sent.fps,
        "sent_kbps": sent.kbps,
        "encode_ms_p95": sent.encode_ms_p95,
        "dropped_frames": sent.dropped_frames,
        "player_fps_min": fps_min,
        "seconds": wall,
    }))
}
