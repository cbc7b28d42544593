//! Abuse benchmark: replays every attack of the threat model (`docs/security.md`) against a
//! release `quartet server` (room server and embedded relay in one process, as users run it)
//! while a healthy call runs, and prints per attack whether it was refused or held, the healthy
//! room's request p99 and errors while it ran, the healthy stream's longest gap, and the
//! server's peak RSS. A crash and restart under a call of two `quartet bot`s comes last.

mod healthy;
mod http_attacks;
mod restart;
mod rtmp_attacks;
mod target;

use anyhow::{Context, Result};
use clap::Parser;
use healthy::{Healthy, Window};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;
use target::{Api, Target};

/// Healthy room p99 latency target during every attack, in ms.
const HEALTHY_P99_TARGET_MS: f64 = 50.0;
/// A member whose socket closed is gone within this long.
const VANISH_TARGET: Duration = Duration::from_secs(3);
/// Shortest window of figures per attack, so even an attack answered at once is measured
/// against enough healthy requests.
const MIN_WINDOW: Duration = Duration::from_secs(2);
/// Period of the heartbeats that keep the attacker's own host in its room.
const HOST_HEARTBEAT: Duration = Duration::from_secs(5);

#[derive(Parser)]
struct Args {
    /// Where to write the figures as JSON.
    #[arg(long)]
    out: PathBuf,
    /// The `quartet` binary (default: target/release/quartet).
    #[arg(long)]
    quartet: Option<PathBuf>,
    /// Run only the attacks whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

/// What an attack achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The server said no.
    Refused,
    /// The server let it happen within a bound that protects everyone else.
    Held,
    /// The attack worked.
    Failed,
}

/// An attack's verdict and what was seen.
#[derive(Debug, Clone)]
pub struct Outcome {
    verdict: Verdict,
    detail: String,
}

impl Outcome {
    /// Held when `within` its bound, else failed.
    pub fn held_if(within: bool, detail: impl Into<String>) -> Outcome {
        let verdict = if within {
            Verdict::Held
        } else {
            Verdict::Failed
        };
        Outcome::new(verdict, detail)
    }

    /// A verdict with its detail.
    pub fn new(verdict: Verdict, detail: impl Into<String>) -> Outcome {
        Outcome {
            verdict,
            detail: detail.into(),
        }
    }
}

struct Row {
    name: &'static str,
    outcome: Outcome,
    window: Window,
    peak_rss_mib: f64,
}

impl Row {
    fn p99(&self) -> f64 {
        quartet_media::stats::percentile(&self.window.latencies, 99.0).unwrap_or(f64::NAN)
    }

    /// Whether the healthy call kept its targets (a restart is judged by its own target).
    fn healthy_ok(&self) -> bool {
        self.name == "crash_restart"
            || (self.window.errors == 0 && self.p99() < HEALTHY_P99_TARGET_MS)
    }
}

/// The bound on the relay's growth under the stuck-player attack, from its own limits: every
/// stuck player's queue, staged output and socket buffer full, the stream's keyframe cache
/// full, and the largest message in reading and in chunking on the publisher's side.
fn stuck_players_bound_mib(players: usize) -> f64 {
    let per_player = quartet_relay::DEFAULT_PLAYER_QUEUE_BYTES
        + quartet_relay::OUT_HIGH_WATER
        + quartet_relay::DEFAULT_PLAYER_SEND_BUFFER;
    let publisher = 2 * quartet_relay::DEFAULT_MAX_MESSAGE_SIZE;
    let bytes = players * per_player + quartet_relay::GOP_CACHE_MAX_BYTES + publisher;
    bytes as f64 / (1024.0 * 1024.0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let bin = args
        .quartet
        .unwrap_or_else(|| PathBuf::from("target/release/quartet"));
    let data = std::env::temp_dir().join(format!("quartet-abuse-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let mut target = Target::start(&bin, &data).await?;
    let api = Api::new(&target);
    let healthy = Healthy::start(&api, target.rtmp)
        .await
        .context("healthy call")?;
    let host = api.login("host").await?;
    let host_room = api.create(&host, "attack host").await?;
    let keep = {
        let (api, host, room) = (api.clone(), host.clone(), host_room.clone());
        tokio::spawn(async move {
            loop {
                let body = json!({"roomID": room, "userID": host.user_id});
                let _ = api.call("pusher_heartbeat", body, Some(&host)).await;
                tokio::time::sleep(HOST_HEARTBEAT).await;
            }
        })
    };
    let wanted = |name: &str| args.only.as_deref().is_none_or(|o| name.contains(o));
    let stall_limit =
        quartet_server::DEFAULT_HEARTBEAT_TIMEOUT + quartet_server::DEFAULT_CHECK_INTERVAL;
    let mut rows = Vec::new();
    macro_rules! attack {
        ($name:literal, $run:expr) => {
            if wanted($name) {
                healthy.take();
                target.take_peak_rss();
                eprintln!("abuse: {}", $name);
                let started = std::time::Instant::now();
                let outcome = $run.await.unwrap_or_else(|e| {
                    Outcome::new(Verdict::Failed, format!("bench error: {e:#}"))
                });
                tokio::time::sleep(MIN_WINDOW.saturating_sub(started.elapsed())).await;
                rows.push(Row {
                    name: $name,
                    outcome,
                    window: healthy.take(),
                    peak_rss_mib: target.take_peak_rss(),
                });
            }
        };
    }
    attack!(
        "hijack_with_play_url",
        rtmp_attacks::hijack_with_play_url(&api, &target, &healthy)
    );
    attack!(
        "push_url_of_another",
        rtmp_attacks::push_url_of_another(&api, &healthy)
    );
    attack!(
        "stuck_players",
        rtmp_attacks::stuck_players(&api, &target, stuck_players_bound_mib(4))
    );
    attack!(
        "rtmp_trickle_slots",
        rtmp_attacks::trickle_slots(&api, &target)
    );
    attack!("http_slowloris", http_attacks::slowloris(&target));
    attack!("http_huge_header", http_attacks::huge_header(&target));
    attack!("event_socket_flood", http_attacks::event_socket_flood(&api));
    attack!("room_flood", http_attacks::room_flood(&api));
    attack!("unpaged_room_list", http_attacks::unpaged_room_list(&api));
    attack!("hostile_fields", http_attacks::hostile_fields(&api));
    attack!("impersonation", http_attacks::impersonation(&api, &healthy));
    attack!("replayed_leave", http_attacks::replayed_leave(&api));
    attack!(
        "vanished_member",
        http_attacks::vanished_member(&api, &host_room, VANISH_TARGET)
    );
    attack!(
        "frozen_member",
        rtmp_attacks::frozen_member(&api, &target, &host_room, stall_limit)
    );
    attack!(
        "crash_restart",
        restart::crash_restart(&bin, &mut target, &healthy)
    );
    keep.abort();
    report(&rows, &args.out)?;
    drop(target);
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}

fn report(rows: &[Row], out: &std::path::Path) -> Result<()> {
    println!(
        "\n{:<22} {:<8} {:>9} {:>7} {:>9} {:>9}  detail",
        "attack", "verdict", "p99 ms", "errors", "gap ms", "RSS MiB"
    );
    for r in rows {
        let verdict = match (r.outcome.verdict, r.healthy_ok()) {
            (Verdict::Failed, _) | (_, false) => "FAILED",
            (Verdict::Refused, true) => "refused",
            (Verdict::Held, true) => "held",
        };
        println!(
            "{:<22} {:<8} {:>9.1} {:>7} {:>9.0} {:>9.1}  {}",
            r.name,
            verdict,
            r.p99(),
            r.window.errors,
            r.window.max_gap_ms,
            r.peak_rss_mib,
            r.outcome.detail
        );
    }
    let all_ok = rows
        .iter()
        .all(|r| r.outcome.verdict != Verdict::Failed && r.healthy_ok());
    println!(
        "\n{}: every attack refused or held, healthy room p99 < {HEALTHY_P99_TARGET_MS} ms with 0 errors",
        if all_ok {
            "TARGETS MET"
        } else {
            "TARGETS MISSED"
        }
    );
    let json = json!({
        "healthy_p99_target_ms": HEALTHY_P99_TARGET_MS,
        "stuck_players_bound_mib": stuck_players_bound_mib(4),
        "attacks": rows.iter().map(|r| json!({
            "name": r.name,
            "verdict": format!("{:?}", r.outcome.verdict),
            "detail": r.outcome.detail,
            "healthy_p99_ms": r.p99(),
            "healthy_errors": r.window.errors,
            "healthy_stream_max_gap_ms": r.window.max_gap_ms,
            "healthy_stream_messages": r.window.received,
            "peak_rss_mib": r.peak_rss_mib,
        })).collect::<Vec<_>>(),
        "all_targets_met": all_ok,
    });
    std::fs::write(out, serde_json::to_string_pretty(&json)?)?;
    Ok(())
}
