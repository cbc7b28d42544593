//! What the small stream costs: one member publishing a synthetic 640×360@15 stream to
//! nginx-rtmp on this machine, first alone, then with the 320×180@15 small stream beside it,
//! measuring this process's CPU time (capture, scale, encode, send) over the same run length.
//!
//! `cargo run --release -p quartet-media --example small_stream_cpu -- --seconds 20`

use anyhow::{Context, Result, bail};
use clap::Parser;
use quartet_media::{
    Publisher, PublisherConfig, PublisherEvent, SmallStreamConfig, SyntheticTone, SyntheticVideo,
};
use quartet_testkit::NginxRtmp;
use std::time::{Duration, Instant};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
const FPS: u32 = 15;
/// How long connecting may take before the run is called a failure.
const CONNECT_DEADLINE: Duration = Duration::from_secs(20);
/// Time after connecting before measuring: encoders and sockets settle.
const WARMUP: Duration = Duration::from_secs(2);

#[derive(Parser)]
#[command(about = "A publisher's CPU with and without the small stream")]
struct Args {
    /// Seconds measured per run.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Measured runs of each kind, alternated so drifting machine load hits both alike.
    #[arg(long, default_value_t = 2)]
    rounds: u32,
}

/// CPU seconds (user + system) this process has used so far.
fn cpu_seconds() -> Result<f64> {
    quartet_testkit::cpu_seconds(std::process::id()).context("no CPU time in /proc")
}

/// One member publishing for `seconds`: its CPU as a share of one core, and both streams' fps.
fn run(nginx: &NginxRtmp, round: u32, small: bool, seconds: u64) -> Result<(f64, f64, f64)> {
    let config = PublisherConfig {
        width: WIDTH,
        height: HEIGHT,
        fps: FPS,
        ..PublisherConfig::new(nginx.url(&format!("cpu{round}{small}")))
    };
    let small = small.then(|| SmallStreamConfig::new(nginx.url(&format!("cpu{round}_small"))));
    let video = SyntheticVideo::new("member", WIDTH, HEIGHT, FPS)?;
    let tone = SyntheticTone::new(440.0);
    let (handle, mut events) =
        Publisher::start_with_small(config, small, Some(Box::new(video)), Some(Box::new(tone)))?;
    let end = Instant::now() + CONNECT_DEADLINE;
    loop {
        match events.try_recv() {
            Ok(PublisherEvent::Connected) => break,
            Ok(_) => {}
            Err(_) if Instant::now() > end => bail!("the publisher did not connect"),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    std::thread::sleep(WARMUP);
    let (cpu0, t0) = (cpu_seconds()?, Instant::now());
    let frames0 = handle.stats();
    std::thread::sleep(Duration::from_secs(seconds));
    let (cpu1, elapsed) = (cpu_seconds()?, t0.elapsed().as_secs_f64());
    let stats = handle.stats();
    handle.stop();
    let fps = (stats.frames_encoded - frames0.frames_encoded) as f64 / elapsed;
    let small_fps = match (stats.small, frames0.small) {
        (Some(a), Some(b)) => (a.frames_encoded - b.frames_encoded) as f64 / elapsed,
        _ => 0.0,
    };
    Ok(((cpu1 - cpu0) / elapsed * 100.0, fps, small_fps))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let nginx = NginxRtmp::start()?;
    let (mut alone, mut both) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        for small in [false, true] {
            let (cpu, fps, small_fps) = run(&nginx, round, small, args.seconds)?;
            println!(
                "round {round}, small stream {}: CPU {cpu:.1} % of a core, main {fps:.1} fps, small {small_fps:.1} fps",
                if small { "on " } else { "off" }
            );
            if small { &mut both } else { &mut alone }.push(cpu);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (a, b) = (mean(&alone), mean(&both));
    println!(
        "publisher CPU: {a:.1} % without, {b:.1} % with the small stream: {:+.1} % (target ≤ +20 %)",
        (b - a) / a * 100.0
    );
    Ok(())
}
