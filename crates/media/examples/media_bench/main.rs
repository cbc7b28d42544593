//! A 4-member call through nginx-rtmp on this machine: every member publishes a synthetic
//! 640×360@15 stream and plays the other three (12 players, decoded to 640×360 tiles, sound
//! mixed into a null sink). Measures latency from the frame clock, join → first remote frame
//! (with a keyframe asked for at join), CPU per member and memory.
//!
//! Latency is reported in two parts, since players hold pictures for their sound (lip sync,
//! `docs/lip-sync.md`): capture → decoded (the network, relay and decoder: what the ≤ 30 ms
//! target is about, each player's own figure, [`PlayerStats::latency_ms_p50`]) and capture →
//! shown (read off the pictures as they land in the players' slots, the hold included). Their
//! difference is the deliberate hold, which waits for sound that is that late anyway.
//!
//! Then one member sending HD (1280×720 at 30 fps) among three others who do ([`hd`]), and a
//! shared screen of text at 720p and 1080p, 5 and 15 fps ([`screen`]).
//!
//! `cargo xtask bench media` runs it in release and writes `target/bench/media.json`.

mod hd;
mod screen;

use anyhow::{Context, Result, bail};
use clap::Parser;
use quartet_media::stats::percentile;
use quartet_media::{
    AudioMixer, AudioOutput, Player, PlayerConfig, PlayerEvent, PlayerHandle, PlayerStats,
    Publisher, PublisherConfig, PublisherEvent, PublisherHandle, SyntheticTone, SyntheticVideo,
    unix_micros,
};
use quartet_testkit::NginxRtmp;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MEMBERS: usize = 4;
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
const FPS: u32 = 15;
/// Linux reports process CPU time in clock ticks of 1/100 s (USER_HZ).
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;
/// How long joining may take before the run is called a failure.
pub(crate) const JOIN_DEADLINE: Duration = Duration::from_secs(20);

#[derive(Parser)]
#[command(about = "4-member call through nginx-rtmp: latency, join time, CPU, memory")]
struct Args {
    /// Where to write the JSON figures.
    #[arg(long, default_value = "target/bench/media.json")]
    out: PathBuf,
    /// Seconds measured after warm-up.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds of warm-up after every player shows pictures.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Measures only the shared screen (its figures alone are written), for tuning its encoder.
    #[arg(long)]
    screen_only: bool,
}

/// CPU seconds (user + system) used so far by process `pid` ("self" for this one).
pub(crate) fn cpu_seconds(pid: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').context("odd /proc stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>()? + f[12].parse::<f64>()?;
    Ok(ticks / CLOCK_TICKS_PER_SECOND)
}

fn rss_mib() -> Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .context("no VmRSS")?
        .parse()?;
    Ok(kb / 1024.0)
}

pub(crate) fn wait_connected(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<PublisherEvent>,
) -> Result<()> {
    let end = Instant::now() + JOIN_DEADLINE;
    while Instant::now() < end {
        match events.try_recv() {
            Ok(PublisherEvent::Connected) => return Ok(()),
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    bail!("a publisher did not connect")
}

fn main() -> Result<()> {
    let args = Args::parse();
    let nginx = NginxRtmp::start()?;
    if args.screen_only {
        let figures = serde_json::json!({ "screen_share": screen::measure(&nginx)? });
        return write_figures(&args.out, &figures);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;

    // Everyone publishes first: the call is under way when the players join.
    let mut publishers: Vec<PublisherHandle> = Vec::new();
    for m in 0..MEMBERS {
        let name = format!("member {}", m + 1);
        let config = PublisherConfig {
            width: WIDTH,
            height: HEIGHT,
            fps: FPS,
            ..PublisherConfig::new(nginx.url(&format!("m{m}")))
        };
        let video = SyntheticVideo::new(&name, WIDTH, HEIGHT, FPS)?;
        let tone = SyntheticTone::new(300.0 + 100.0 * m as f32);
        let (handle, mut events) =
            Publisher::start(config, Some(Box::new(video)), Some(Box::new(tone)))?;
        wait_connected(&mut events)?;
        publishers.push(handle);
    }

    // Everyone plays everyone else. A player asks the publisher for a keyframe as soon as media
    // flows, as a call does on join (RTMP's stand-in for a picture loss indication).
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut players: Vec<PlayerHandle> = Vec::new();
    let mut outputs = Vec::new();
    for m in 0..MEMBERS {
        let mixer = AudioMixer::new();
        outputs.push(AudioOutput::null(mixer.clone())?);
        for other in (0..MEMBERS).filter(|&o| o != m) {
            let config = PlayerConfig::new(nginx.url(&format!("m{other}")), WIDTH, HEIGHT)
                .with_mixer(mixer.clone());
            let (player, mut events) = Player::start(config)?;
            let publisher = publishers[other].clone();
            rt.spawn(async move {
                while let Some(e) = events.recv().await {
                    if e == PlayerEvent::Playing {
                        publisher.request_keyframe();
                    }
                }
            });
            let mut frames = player.frames();
            let (lat, on) = (Arc::clone(&latencies), Arc::clone(&measuring));
            rt.spawn(async move {
                while frames.changed().await.is_ok() {
                    let capture = frames
                        .borrow_and_update()
                        .as_ref()
                        .and_then(|f| f.capture_us);
                    if let (Some(t), true) =
                        (capture, on.load(std::sync::atomic::Ordering::Relaxed))
                    {
                        let ms = (unix_micros() - t) as f64 / 1000.0;
                        if let Ok(mut l) = lat.lock() {
                            l.push(ms);
                        }
                    }
                }
            });
            players.push(player);
        }
    }

    let joined = Instant::now();
    while players.iter().any(|p| p.stats().first_frame_ms.is_none()) {
        if joined.elapsed() > JOIN_DEADLINE {
            bail!("not every player showed a picture within {JOIN_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let first: Vec<f64> = players
        .iter()
        .filter_map(|p| p.stats().first_frame_ms)
        .collect();

    std::thread::sleep(Duration::from_secs(args.warmup));
    let (cpu0, ng0, t0) = (
        cpu_seconds("self")?,
        cpu_seconds(&nginx.pid().to_string())?,
        Instant::now(),
    );
    measuring.store(true, std::sync::atomic::Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(args.seconds));
    measuring.store(false, std::sync::atomic::Ordering::Relaxed);
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (cpu_seconds("self")? - cpu0) / wall * 100.0;
    let nginx_cpu = (cpu_seconds(&nginx.pid().to_string())? - ng0) / wall * 100.0;
    let rss = rss_mib()?;

    let lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    let ready = ReadyLatency::of(&players.iter().map(PlayerHandle::stats).collect::<Vec<_>>());
    let pstats: Vec<_> = publishers.iter().map(PublisherHandle::stats).collect();
    let dropped: u64 = pstats.iter().map(|s| s.dropped_frames).sum();
    let encode_p95 = pstats
        .iter()
        .filter_map(|s| s.encode_ms_p95)
        .fold(0.0, f64::max);
    let skipped: u64 = players.iter().map(|p| p.stats().frames_skipped).sum();
    let fps_min = players
        .iter()
        .map(|p| p.stats().fps)
        .fold(f64::INFINITY, f64::min);
    let reconnects: u64 = players.iter().map(|p| p.stats().reconnects).sum::<u64>()
        + pstats.iter().map(|s| s.reconnects).sum::<u64>();

    let p = |v: &[f64], q: f64| percentile(v, q).unwrap_or(f64::NAN);
    for p in &players {
        p.stop();
    }
    for p in &publishers {
        p.stop();
    }
    let hd = hd::measure(&nginx, args.seconds, args.warmup)?;
    let screen = screen::measure(&nginx)?;
    let figures = serde_json::json!({
        "hd": hd,
        "screen_share": screen,
        "latency_ms_p50": ready.p50,
        "latency_ms_p95": ready.p95,
        "shown_latency_ms_p50": p(&lat, 50.0),
        "shown_latency_ms_p95": p(&lat, 95.0),
        "lip_sync_hold_ms_p50": p(&lat, 50.0) - ready.p50,
        "first_frame_ms_p50": p(&first, 50.0),
        "cpu_percent_per_member": cpu / MEMBERS as f64,
        "rss_mib": rss,
        "shown_latency_ms_max": p(&lat, 100.0),
        "latency_samples": lat.len(),
        "first_frame_ms_p95": p(&first, 95.0),
        "first_frame_ms_max": p(&first, 100.0),
        "cpu_percent_process": cpu,
        "nginx_cpu_percent": nginx_cpu,
        "encode_ms_p95": encode_p95,
        "dropped_frames": dropped,
        "skipped_frames": skipped,
        "player_fps_min": fps_min,
        "reconnects": reconnects,
        "members": MEMBERS,
        "players": players.len(),
        "video": format!("{WIDTH}x{HEIGHT}@{FPS}"),
        "seconds": wall,
    });

    println!(
        "quartet-media bench: {MEMBERS} members, {} players, {WIDTH}x{HEIGHT}@{FPS}, {wall:.1} s through nginx-rtmp",
        players.len()
    );
    println!("  {:<34} {:>10}", "measure", "value");
    let rows = [
        ("to decoded p50 (ms, target <= 30)", ready.p50),
        ("to decoded p95 (ms, target <= 60)", ready.p95),
        (
            "lip-sync hold p50 (ms, on purpose)",
            p(&lat, 50.0) - ready.p50,
        ),
        ("to shown p50 (ms, hold included)", p(&lat, 50.0)),
        ("to shown p95 (ms, hold included)", p(&lat, 95.0)),
        ("to shown max (ms)", p(&lat, 100.0)),
        ("first remote frame p50 (ms, <= 250)", p(&first, 50.0)),
        ("first remote frame max (ms)", p(&first, 100.0)),
        ("CPU per member (% core, <= 35)", cpu / MEMBERS as f64),
        ("CPU whole process (% core)", cpu),
        ("nginx CPU (% core)", nginx_cpu),
        ("RSS (MiB)", rss),
        ("encode p95 (ms)", encode_p95),
        ("slowest player fps", fps_min),
    ];
    for (name, value) in rows {
        println!("  {name:<34} {value:>10.1}");
    }
    println!("  {:<34} {:>10}", "latency samples", lat.len());
    println!(
        "  {:<34} {:>10}",
        "dropped / skipped frames",
        format!("{dropped} / {skipped}")
    );
    println!("  {:<34} {:>10}", "reconnects", reconnects);
    let num = |k: &str| hd[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "one member sending {} among three who do (1 encode + 3 decodes to tiles):",
        hd["video"].as_str().unwrap_or("HD")
    );
    for (name, value) in [
        (
            "CPU per member (% core, <= 60)",
            num("cpu_percent_per_member"),
        ),
        ("to decoded p50 (ms)", num("latency_ms_p50")),
        ("to decoded p95 (ms)", num("latency_ms_p95")),
        (
            "lip-sync hold p50 (ms, on purpose)",
            num("lip_sync_hold_ms_p50"),
        ),
        (
            "to shown p50 (ms, hold included)",
            num("shown_latency_ms_p50"),
        ),
        ("sent fps", num("sent_fps")),
        ("sent kbit/s", num("sent_kbps")),
        ("encode p95 (ms)", num("encode_ms_p95")),
        ("slowest player fps", num("player_fps_min")),
    ] {
        println!("  {name:<34} {value:>10.1}");
    }

    write_figures(&args.out, &figures)?;
    drop(outputs);
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// Capture → decoded latency over several players, before the lip-sync hold.
pub(crate) struct ReadyLatency {
    /// Median of the players' medians, ms.
    pub p50: f64,
    /// The worst player's 95th percentile, ms.
    pub p95: f64,
}

impl ReadyLatency {
    pub(crate) fn of(players: &[PlayerStats]) -> ReadyLatency {
        let p50s: Vec<f64> = players.iter().filter_map(|s| s.latency_ms_p50).collect();
        ReadyLatency {
            p50: percentile(&p50s, 50.0).unwrap_or(f64::NAN),
            p95: players
                .iter()
                .filter_map(|s| s.latency_ms_p95)
                .fold(f64::NAN, f64::max),
        }
    }
}

fn write_figures(out: &std::path::Path, figures: &serde_json::Value) -> Result<()> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, serde_json::to_string_pretty(figures)? + "\n")?;
    println!("figures written to {}", out.display());
    Ok(())
}
