//! A call across the lab: `quartet server` on the host's end, one `quartet bot` beside it and one
//! inside the namespace behind a 300 kbit/s downlink, narrower than the 500 kbit/s the other
//! sends. The weak member must keep seeing the other live (the relay's latency budget), not
//! drift seconds behind. Needs root and the `quartet` binary (`cargo build -p quartet`, or
//! `QUARTET_BIN`); ignored in a plain `cargo test`, run by `cargo xtask test` as root.

mod common;

use common::{Running, free_port, quartet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use quartet_netlab::{Direction, LinkProfile, NetLab};

/// How long the weak member stays; the whole test ends within about this plus a few seconds.
const CALL_SECS: u64 = 20;
/// Stats lines (one every 2 s) left out while the call starts.
const WARM_UP_LINES: usize = 3;
/// Generous bounds: the benchmark's targets are 250 ms (p50) and 400 ms (p95); before the
/// budget this link gave 6 s (p50) and 10 s (p95), growing; with it, 0.7–0.9 s steady (the
/// budget and the link's own 300 ms queue), with single seconds up to 1.6 s.
const MAX_P50_MS: f64 = 1_500.0;
const MAX_SECOND_MS: f64 = 2_500.0;
/// The member on the host's side.
const STRONG: &str = "strong";
/// Frames the weak member must decode: video comes through at keyframes at least.
const MIN_FRAMES: f64 = 2.0 * CALL_SECS as f64;

/// The number after `"key": ` in the bot's stats JSON.
fn json_number(json: &str, key: &str) -> Option<f64> {
    let at = json.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = json[at..].trim_start_matches([':', ' ']);
    let end = rest.find([',', '\n', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

/// The p50 latency (ms) of the tile named [`STRONG`] in a bot's stats line.
fn line_latency(line: &str) -> Option<f64> {
    let tile = line.split(&format!("stats: {STRONG} ")).nth(1)?;
    let mut words = tile.split_whitespace();
    let (_, _, ms, unit) = (words.next()?, words.next()?, words.next()?, words.next()?);
    (unit == "ms").then(|| ms.parse().ok()).flatten()
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_a_member_behind_a_300_kbit_downlink_sees_the_others_live() -> Result<()> {
    let started = Instant::now();
    let quartet = quartet()?;
    let lab = NetLab::new()?;
    lab.set(Direction::Downlink, &LinkProfile::kbps(300))?;
    let host = lab.host_addr();
    let (http, rtmp) = (free_port(host)?, free_port(host)?);
    let dir = std::env::temp_dir().join(format!("netlab-downlink-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let server_url = format!("http://{host}:{http}");

    let _server = Running(
        Command::new(&quartet)
            .args(["server", "--listen", &format!("{host}:{http}")])
            .args(["--rtmp-listen", &format!("{host}:{rtmp}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    std::thread::sleep(Duration::from_secs(1));
    let mut strong = Running(
        Command::new(&quartet)
            .args([
                "bot",
                "--server",
                &server_url,
                "--create",
                "lab",
                "--name",
                STRONG,
            ])
            .args(["--duration", &(CALL_SECS + 4).to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let out = strong.0.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(out).lines();
    let room = loop {
        let line = lines
            .next()
            .context("the strong bot ended before joining")??;
        if let Some(rest) = line.split("joined room ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    };
    // Keep the pipe drained so the bot never blocks on its output.
    std::thread::spawn(move || lines.for_each(drop));

    let stats_json = dir.join("weak.json");
    let weak = lab
        .command(&quartet)
        .args([
            "bot",
            "--server",
            &server_url,
            "--room",
            &room,
            "--name",
            "weak",
        ])
        .args(["--duration", &CALL_SECS.to_string()])
        .arg("--stats-json")
        .arg(&stats_json)
        .stderr(Stdio::null())
        .output()?;
    ensure!(
        weak.status.success(),
        "the weak bot failed: {:?}",
        weak.status
    );
    let stdout = String::from_utf8_lossy(&weak.stdout);
    let seconds: Vec<f64> = stdout
        .lines()
        .filter_map(line_latency)
        .skip(WARM_UP_LINES)
        .collect();
    let json = std::fs::read_to_string(&stats_json)?;
    let _ = std::fs::remove_dir_all(&dir);
    println!("weak member: {json}\nevery 2 s after warm-up (ms): {seconds:?}");

    if seconds.len() < 3 {
        bail!("too few stats lines: {stdout}");
    }
    let p50 = json_number(&json, "latencyMsP50").context("no latencyMsP50")?;
    let frames = json_number(&json, "framesDecoded").context("no framesDecoded")?;
    ensure!(p50 <= MAX_P50_MS, "p50 {p50} ms over {MAX_P50_MS} ms");
    let worst = seconds.iter().copied().fold(0.0, f64::max);
    ensure!(
        worst <= MAX_SECOND_MS,
        "a second at {worst} ms over {MAX_SECOND_MS} ms: {seconds:?}"
    );
    ensure!(frames >= MIN_FRAMES, "only {frames} frames decoded");
    ensure!(
        started.elapsed() < Duration::from_secs(60),
        "the scenario took {:?}",
        started.elapsed()
    );
    Ok(())
}

#[test]
fn stats_are_read_from_the_bots_output() {
    let json = "{\n  \"remote\": [\n    {\n      \"framesDecoded\": 210,\n      \"latencyMsP50\": 700.4,\n";
    assert_eq!(json_number(json, "latencyMsP50"), Some(700.4));
    assert_eq!(json_number(json, "framesDecoded"), Some(210.0));
    assert_eq!(json_number(json, "latencyMsP95"), None);
    let line = "stats: strong 5.5 fps 710 ms 235 kbps | out 15.0 fps 406 kbps";
    assert_eq!(line_latency(line), Some(710.0));
    assert_eq!(line_latency("stats: strong 0.0 fps - ms 0 kbps |"), None);
}
