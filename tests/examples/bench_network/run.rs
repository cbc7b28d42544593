//! The benchmark itself: each scenario in a fresh lab, then the table and the JSON.

use crate::figures::{
    PERCEIVED_MS, audio_gap_of, back_under, cpu_percent, latency_of, regained, series,
    steady_rates, stream_of,
};
use crate::peer::{FfmpegMember, Rtmp};
use crate::procs::{Bot, STATS_EVERY_MS, Sample, Server};
use anyhow::{Context, Result, bail};
use clap::Parser;
use quartet_netlab::{Direction, LinkProfile, NetLab, Schedule};
use quartet_testkit::NginxRtmp;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Steady-state latency targets of issue 15, ms.
const TARGET_P50_MS: f64 = 250.0;
const TARGET_P95_MS: f64 = 400.0;
/// Latency must be back under [`PERCEIVED_MS`] this long after a step down, s.
const TARGET_RECOVERY_S: f64 = 3.0;
/// The healthy members of the four-member call keep their p95 under this, ms.
const TARGET_HEALTHY_P95_MS: f64 = 60.0;
/// Sound is continuous: no wait for the next piece of it longer than this, ms.
const TARGET_AUDIO_GAP_MS: f64 = 100.0;
/// The narrow link of every scenario: a home uplink or a crowded Wi-Fi.
const NARROW_KBPS: u64 = 300;
/// The weak member's downlink in the four-member small-stream scenario: two main streams' worth,
/// not three.
const MEDIUM_KBPS: u64 = 600;
/// The wide phases of the step scenario.
const WIDE_KBPS: u64 = 2_000;
/// Step scenario: when the link narrows and widens again, s after the bots start.
const STEP_DOWN_S: u64 = 12;
const STEP_UP_S: u64 = 24;
/// Extra time the creating bot stays, so it outlives everyone who joined after it.
const CREATOR_GRACE: Duration = Duration::from_secs(3);
/// Time between two joiners' leaving, so each one's figures at exit still cover the next.
const LEAVE_STAGGER: Duration = Duration::from_secs(1);
/// Figures of fps and kbit/s are averaged from this share of the run on (the warm-up is
/// left out).
const STEADY_FROM: f64 = 0.4;

#[derive(Parser)]
struct Args {
    /// Where to write the figures as JSON.
    #[arg(long)]
    out: PathBuf,
    /// The `quartet` binary (default: release build in CARGO_TARGET_DIR or target/).
    #[arg(long)]
    quartet: Option<PathBuf>,
    /// Seconds each scenario's bots stay in the call.
    #[arg(long, default_value_t = 36)]
    seconds: u64,
    /// Run only the scenario with this key (a–g), or those whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

/// Which way the measured stream crosses the weak link.
#[derive(Clone, Copy, PartialEq)]
enum Across {
    /// The weak member's own stream, as the creator sees it.
    Uplink,
    /// The creator's stream, as the weak member sees it.
    Downlink,
}

struct Scenario {
    key: &'static str,
    name: &'static str,
    members: usize,
    across: Across,
    /// Profiles set before the bots start.
    fixed: Vec<(Direction, LinkProfile)>,
    /// Changes while they run, with the step down and up times.
    steps: Option<Schedule>,
    /// The weak member is FFmpeg's CLI publishing through this RTMP server, not a bot.
    peer: Option<Rtmp>,
    /// Environment every bot of the scenario gets (flags of `quartet bot`).
    bot_env: &'static [(&'static str, &'static str)],
}

fn scenarios() -> Vec<Scenario> {
    let narrow = LinkProfile::kbps(NARROW_KBPS);
    let wide = LinkProfile::kbps(WIDE_KBPS);
    let half_rtt = Duration::from_millis(50);
    let lossy = LinkProfile::unshaped().with_delay(half_rtt).with_loss(2.0);
    let step = Schedule::new()
        .at(Duration::ZERO, Direction::Uplink, wide)
        .at(Duration::from_secs(STEP_DOWN_S), Direction::Uplink, narrow)
        .at(Duration::from_secs(STEP_UP_S), Direction::Uplink, wide);
    vec![
        Scenario {
            key: "a",
            name: "uplink 300 kbit/s",
            members: 2,
            across: Across::Uplink,
            fixed: vec![(Direction::Uplink, narrow)],
            steps: None,
            peer: None,
            bot_env: &[],
        },
        Scenario {
            key: "b",
            name: "downlink 300 kbit/s",
            members: 2,
            across: Across::Downlink,
            fixed: vec![(Direction::Downlink, narrow)],
            steps: None,
            peer: None,
            bot_env: &[],
        },
        Scenario {
            key: "c",
            name: "uplink 2M→300k→2M",
            members: 2,
            across: Across::Uplink,
            fixed: vec![],
            steps: Some(step),
            peer: None,
            bot_env: &[],
        },
        Scenario {
            key: "d",
            name: "100 ms RTT + 2 % loss",
            members: 2,
            across: Across::Uplink,
            fixed: vec![(Direction::Uplink, lossy), (Direction::Downlink, lossy)],
            steps: None,
            peer: None,
            bot_env: &[],
        },
        Scenario {
            key: "e",
            name: "4 members, 1 weak uplink",
            members: 4,
            across: Across::Uplink,
            fixed: vec![(Direction::Uplink, narrow)],
            steps: None,
            peer: None,
            bot_env: &[],
        },
        Scenario {
            key: "f",
            name: "FFmpeg CLI→relay, up 300k",
            members: 2,
            across: Across::Uplink,
            fixed: vec![(Direction::Uplink, narrow)],
            steps: None,
            peer: Some(Rtmp::Relay),
            bot_env: &[],
        },
        Scenario {
            key: "g",
            name: "FFmpeg CLI→nginx, up 300k",
            members: 2,
            across: Across::Uplink,
            fixed: vec![(Direction::Uplink, narrow)],
            steps: None,
            peer: Some(Rtmp::Nginx),
            bot_env: &[],
        },
        Scenario {
            key: "h",
            name: "4 members, 1 weak down 600k",
            members: 4,
            across: Across::Downlink,
            fixed: vec![(Direction::Downlink, LinkProfile::kbps(MEDIUM_KBPS))],
            steps: None,
            peer: None,
            bot_env: &[],
        },
        Scenario {
            key: "i",
            name: "4 members, small streams",
            members: 4,
            across: Across::Uplink,
            fixed: vec![],
            steps: None,
            peer: None,
            bot_env: &[],
        },
        Scenario {
            key: "j",
            name: "4 members, no small streams",
            members: 4,
            across: Across::Uplink,
            fixed: vec![],
            steps: None,
            peer: None,
            bot_env: &[("QUARTET_NO_SMALL_STREAM", "1")],
        },
    ]
}

/// What one scenario measured.
#[derive(Default)]
struct Row {
    key: &'static str,
    name: &'static str,
    p50: Option<f64>,
    p95: Option<f64>,
    fps: f64,
    kbps: f64,
    back_under_s: Option<f64>,
    regained_s: Option<f64>,
    healthy: Option<(f64, f64)>,
    audio_gap_ms: Option<f64>,
    /// The measured tile's stream at exit and its switches (`small/1`).
    stream: Option<String>,
    /// The measured member's CPU, % of one core, over the steady part.
    cpu_pct: Option<f64>,
    stepped: bool,
    error: Option<String>,
}

impl Row {
    fn targets_met(&self) -> bool {
        let steady = match (self.p50, self.p95) {
            (Some(p50), Some(p95)) => p50 <= TARGET_P50_MS && p95 <= TARGET_P95_MS,
            _ => false,
        };
        let recovered = !self.stepped || self.back_under_s.is_some_and(|s| s <= TARGET_RECOVERY_S);
        let healthy = self
            .healthy
            .is_none_or(|(_, p95)| p95 <= TARGET_HEALTHY_P95_MS);
        let audible = self.audio_gap_ms.is_some_and(|g| g <= TARGET_AUDIO_GAP_MS);
        self.error.is_none() && steady && recovered && healthy && audible
    }
}

fn quartet_binary(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| "target".into(), PathBuf::from);
        target.join("release/quartet")
    })
}

/// Runs every scenario and reports.
pub fn main() -> Result<()> {
    let args = Args::parse();
    // Says by name that it needs root, rather than measuring nothing.
    drop(NetLab::new().context("the network benchmark needs the network lab")?);
    let quartet = quartet_binary(args.quartet);
    if !quartet.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release -p quartet`",
            quartet.display()
        );
    }
    let dir = std::env::temp_dir().join(format!("quartet-netbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let duration = Duration::from_secs(args.seconds);
    let mut rows = Vec::new();
    for s in scenarios() {
        if let Some(only) = &args.only
            && !(s.key == only || (only.len() > 1 && s.name.contains(only.as_str())))
        {
            continue;
        }
        eprintln!("network: ({}) {}", s.key, s.name);
        let row = run(&s, &quartet, &dir, duration).unwrap_or_else(|e| Row {
            key: s.key,
            name: s.name,
            error: Some(format!("{e:#}")),
            ..Row::default()
        });
        rows.push(row);
    }
    let _ = std::fs::remove_dir_all(&dir);
    report(&rows, &args.out)?;
    if rows.iter().any(|r| r.error.is_some()) {
        bail!("a scenario could not be measured");
    }
    Ok(())
}

fn run(s: &Scenario, quartet: &Path, dir: &Path, duration: Duration) -> Result<Row> {
    if let Some(rtmp) = s.peer {
        return run_peer(s, rtmp, quartet, dir, duration);
    }
    let mut lab = NetLab::new().context("building the network lab")?;
    for (direction, profile) in &s.fixed {
        lab.set(*direction, profile)?;
    }
    let server = Server::start(quartet, lab.host_addr())?;
    let start = Instant::now();
    // A bot's figures at exit cover the members still there, and the creator's leaving
    // closes the room: so the member whose stream is measured creates the room and leaves
    // last, the one measuring it leaves first, and the others one by one in between.
    let (observed, observer) = match s.across {
        Across::Uplink => ("weak", "host"),
        Across::Downlink => ("host", "weak"),
    };
    let mut joiners = vec![observer];
    let healthy_names: Vec<String> = (2..s.members).map(|i| format!("healthy{i}")).collect();
    joiners.extend(healthy_names.iter().map(String::as_str));
    let command = |name: &str| {
        let mut c = if name == "weak" {
            lab.command(quartet)
        } else {
            std::process::Command::new(quartet)
        };
        c.envs(s.bot_env.iter().copied());
        c
    };
    let last = duration + LEAVE_STAGGER * joiners.len() as u32 + CREATOR_GRACE;
    let creator = Bot::spawn(
        command(observed),
        &server.url,
        None,
        observed,
        last,
        dir,
        start,
    )?;
    let room = creator.room()?;
    let mut bots = Vec::new();
    for (i, name) in joiners.iter().enumerate() {
        let stays = duration + LEAVE_STAGGER * i as u32;
        bots.push(Bot::spawn(
            command(name),
            &server.url,
            Some(&room),
            name,
            stays,
            dir,
            start,
        )?);
    }
    // Counted from when everyone has been asked in, as the bots' figures are.
    let schedule_offset = match &s.steps {
        Some(schedule) => lab
            .play(schedule.clone())?
            .duration_since(start)
            .as_secs_f64(),
        None => 0.0,
    };
    let mut finished = Vec::new();
    for bot in bots.into_iter().chain([creator]) {
        let name = bot.name.clone();
        let (samples, json) = bot.finish()?;
        finished.push((name, samples, json));
    }
    lab.stop_schedule()?;
    drop(server);
    drop(lab);

    let (_, samples, json) = finished
        .iter()
        .find(|(name, ..)| name == observer)
        .context("the observer's figures")?;
    let mut row = measured(s, samples, json, observed, duration, schedule_offset);
    let steady_from = duration.as_secs_f64() * STEADY_FROM;
    row.cpu_pct = finished
        .iter()
        .find(|(name, ..)| name == observed)
        .and_then(|(_, samples, _)| cpu_percent(samples, steady_from));
    if !healthy_names.is_empty() {
        let healthy = |name: &str| name != "weak";
        let mut worst = (f64::NAN, f64::NAN);
        for (viewer, _, json) in finished.iter().filter(|(n, ..)| healthy(n)) {
            for (name, ..) in finished.iter().filter(|(n, ..)| healthy(n) && n != viewer) {
                // A member who left before the viewer is not in its figures.
                if let (Some(p50), Some(p95)) = latency_of(json, name) {
                    worst = (worst.0.max(p50), worst.1.max(p95));
                }
            }
        }
        row.healthy = Some(worst);
    }
    Ok(row)
}

/// The weak member is FFmpeg's CLI in the lab's namespace, publishing through `rtmp` for a
/// member that joined without media; a bot on the host side plays it.
fn run_peer(
    s: &Scenario,
    rtmp: Rtmp,
    quartet: &Path,
    dir: &Path,
    duration: Duration,
) -> Result<Row> {
    let lab = NetLab::new().context("building the network lab")?;
    for (direction, profile) in &s.fixed {
        lab.set(*direction, profile)?;
    }
    let nginx = match rtmp {
        Rtmp::Nginx => Some(NginxRtmp::start_on_ip(lab.host_addr().into())?),
        Rtmp::Relay => None,
    };
    let server = match &nginx {
        Some(n) => Server::start_external(quartet, lab.host_addr(), &n.base_url())?,
        None => Server::start(quartet, lab.host_addr())?,
    };
    let start = Instant::now();
    let weak = FfmpegMember::start(quartet, &server.url, "weak", lab.command("ffmpeg"))?;
    let host = Bot::spawn(
        std::process::Command::new(quartet),
        &server.url,
        Some(&weak.room),
        "host",
        duration,
        dir,
        start,
    )?;
    let (samples, json) = host.finish()?;
    weak.stop()?;
    drop(server);
    drop(nginx);
    drop(lab);
    Ok(measured(s, &samples, &json, "weak", duration, 0.0))
}

/// The figures of `remote`'s stream in the observer's stats lines and JSON.
fn measured(
    s: &Scenario,
    samples: &[Sample],
    json: &serde_json::Value,
    remote: &str,
    duration: Duration,
    schedule_offset: f64,
) -> Row {
    let tile = series(samples, remote);
    let steady_from = duration.as_secs_f64() * STEADY_FROM;
    let (fps, kbps) = steady_rates(&tile, steady_from);
    let (p50, p95) = latency_of(json, remote);
    let mut row = Row {
        key: s.key,
        name: s.name,
        p50,
        p95,
        fps,
        kbps,
        audio_gap_ms: audio_gap_of(json, remote),
        stream: stream_of(json, remote),
        stepped: s.steps.is_some(),
        ..Row::default()
    };
    if s.steps.is_some() {
        let down = schedule_offset + STEP_DOWN_S as f64;
        let up = schedule_offset + STEP_UP_S as f64;
        row.back_under_s = back_under(&tile, down, up);
        row.regained_s = regained(&tile, down, up);
    }
    row
}

fn report(rows: &[Row], out: &Path) -> Result<()> {
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
    let secs = |v: Option<f64>, stepped: bool| match (v, stepped) {
        (_, false) => "-".to_owned(),
        (Some(v), true) => format!("{v:.1}"),
        (None, true) => "never".to_owned(),
    };
    println!(
        "\n{:<3} {:<28} {:>7} {:>7} {:>6} {:>6} {:>9} {:>9} {:>9} {:>13} {:>8} {:>6}  targets",
        "",
        "weak member's link",
        "p50 ms",
        "p95 ms",
        "fps",
        "kbps",
        "<400ms s",
        "80%kbps s",
        "audio gap",
        "healthy p50/95",
        "stream",
        "cpu %"
    );
    for r in rows {
        let healthy = r
            .healthy
            .map_or_else(|| "-".to_owned(), |(a, b)| format!("{a:.0}/{b:.0}"));
        println!(
            "{:<3} {:<28} {:>7} {:>7} {:>6.1} {:>6.0} {:>9} {:>9} {:>9} {:>13} {:>8} {:>6}  {}",
            format!("({})", r.key),
            r.name,
            ms(r.p50),
            ms(r.p95),
            r.fps,
            r.kbps,
            secs(r.back_under_s, r.stepped),
            secs(r.regained_s, r.stepped),
            ms(r.audio_gap_ms),
            healthy,
            r.stream.as_deref().unwrap_or("-"),
            r.cpu_pct
                .map_or_else(|| "-".to_owned(), |c| format!("{c:.0}")),
            match (&r.error, r.targets_met()) {
                (Some(e), _) => format!("ERROR: {e}"),
                (None, true) => "met".to_owned(),
                (None, false) => "MISSED".to_owned(),
            }
        );
    }
    println!(
        "\ntargets: p50 ≤ {TARGET_P50_MS} ms, p95 ≤ {TARGET_P95_MS} ms; back under {PERCEIVED_MS} ms \
         within {TARGET_RECOVERY_S} s of a step down; healthy members' p95 ≤ {TARGET_HEALTHY_P95_MS} ms; \
         no audio gap over {TARGET_AUDIO_GAP_MS} ms"
    );
    println!(
        "p50/p95: the observer's player at exit, over its last {} frames; fps, kbit/s: mean of \
         its stats lines from {:.0} % of the run on. The step columns read the stats lines, \
         printed every {STATS_EVERY_MS} ms, with latency as the median of the last {} ms and \
         kbit/s over the last {} ms: a median turns late by up to half its window. Audio gap: \
         the longest wait between decoded sound reaching the observer's mixer, whole run.\n\
         (f), (g): the weak member is FFmpeg's CLI (libx264 veryfast zerolatency at the bot's \
         bitrate and GOP, AAC) publishing the bot's clocked pictures through the same link to \
         Quartet's relay and to nginx-rtmp; a bot plays it.\n\
         stream: what the measured tile played at exit / its switches between main and small; \
         cpu %: the measured member's process (publisher, players, decode), share of one core \
         over the steady part. (i) and (j) are the same unshaped call with and without small \
         streams: the second encode's cost.",
        quartet_media::stats::DEFAULT_WINDOW,
        STEADY_FROM * 100.0,
        quartet_media::play::LATENCY_NOW_WINDOW.as_millis(),
        quartet_media::stats::RATE_WINDOW.as_millis(),
    );
    let json = json!({
        "narrow_kbps": NARROW_KBPS,
        "targets": {
            "p50_ms": TARGET_P50_MS,
            "p95_ms": TARGET_P95_MS,
            "recovery_s": TARGET_RECOVERY_S,
            "healthy_p95_ms": TARGET_HEALTHY_P95_MS,
            "audio_gap_ms": TARGET_AUDIO_GAP_MS,
        },
        "scenarios": rows.iter().map(|r| json!({
            "key": r.key,
            "name": r.name,
            "latency_ms_p50": r.p50,
            "latency_ms_p95": r.p95,
            "fps": r.fps,
            "kbps": r.kbps,
            "back_under_400ms_s": r.back_under_s,
            "regained_80pct_kbps_s": r.regained_s,
            "healthy_latency_ms_p50": r.healthy.map(|h| h.0),
            "healthy_latency_ms_p95": r.healthy.map(|h| h.1),
            "audio_max_gap_ms": r.audio_gap_ms,
            "stream": r.stream,
            "cpu_percent": r.cpu_pct,
            "error": r.error,
            "targets_met": r.targets_met(),
        })).collect::<Vec<_>>(),
    });
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, serde_json::to_string_pretty(&json)?)?;
    Ok(())
}
