//! Room server benchmark: 2,000 rooms × 4 members at v1 cadence plus create/join/leave bursts,
//! against release `quartet server` processes on loopback.
//!
//! Alone (the default), one server keeping rooms on disk: the most requests/s it sustains under
//! a closed loop of that mix, and the latency of each request when the mix is offered at a fixed
//! 5,000 requests/s (an open loop: sends never wait for answers, so a stall counts against the
//! server). With `--redis`, see [`shared`].

mod client;
mod load;
mod procs;
mod shared;

use anyhow::{Result, bail};
use clap::Parser;
use client::MEMBERS;
use load::{CONCURRENCY, Pool};
use procs::{CpuMeter, ServerProcess, Store};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Rooms set up before measuring.
const ROOMS: usize = 2_000;
/// How long each closed loop runs.
const SATURATION_TIME: Duration = Duration::from_secs(10);
/// The offered rate of the latency phase, alone.
const PACED_RPS: u64 = 5_000;
/// How long each open loop runs.
const PACED_TIME: Duration = Duration::from_secs(10);

#[derive(Parser)]
struct Args {
    /// Where to write the figures as JSON.
    #[arg(long)]
    out: PathBuf,
    /// The server binary (default: target/release/quartet).
    #[arg(long)]
    quartet: Option<PathBuf>,
    /// Two servers sharing one Redis (started here) instead of one server alone.
    #[arg(long)]
    redis: bool,
}

/// One HTTP client for every server: enough idle connections for the closed loop.
fn http() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY * 2)
        .build()?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let bin = args
        .quartet
        .unwrap_or_else(|| PathBuf::from("target/release/quartet"));
    let (json, errors) = if args.redis {
        shared::run(&bin).await?
    } else {
        alone(&bin).await?
    };
    std::fs::write(&args.out, serde_json::to_string_pretty(&json)?)?;
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}

/// One server keeping its rooms on disk, as a standing server does by default.
async fn alone(bin: &std::path::Path) -> Result<(serde_json::Value, u64)> {
    let data_dir =
        std::env::temp_dir().join(format!("quartet-bench-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let server = ServerProcess::start(bin, Store::Dir(&data_dir))?;
    let http = http()?;
    let client = server.ready(&http).await?;

    eprintln!("setting up {ROOMS} rooms × {MEMBERS} members ...");
    let setup_start = Instant::now();
    let load = load::set_up(&client, ROOMS).await?;
    let setup_secs = setup_start.elapsed().as_secs_f64();
    eprintln!("set up in {setup_secs:.1} s; closed loop for {SATURATION_TIME:?} ...");

    let cpu = CpuMeter::start(&[server.pid()]);
    let sat = load::closed_loop(&load, std::slice::from_ref(&client), SATURATION_TIME).await?;
    let sat_cpu = cpu.percent()[0];

    eprintln!("offering {PACED_RPS} requests/s for {PACED_TIME:?} ...");
    let paced = load::paced(&load, &Pool::new(vec![client]), PACED_RPS, PACED_TIME, None).await?;
    let rss = procs::rss_mib(server.pid());
    let errors = sat.errors + paced.errors;

    println!(
        "room server benchmark ({ROOMS} rooms × {MEMBERS} members, 2-core loopback, load generator on the same cores)"
    );
    println!(
        "  set-up (login + push URL + create/join for {} members): {setup_secs:.1} s",
        ROOMS * MEMBERS
    );
    println!(
        "  closed loop, {CONCURRENCY} connections: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, server CPU {sat_cpu:.0} % of one core",
        sat.rps, sat.p50_ms, sat.p99_ms
    );
    println!(
        "  offered {PACED_RPS} requests/s: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms",
        paced.p50_ms, paced.p99_ms, paced.p999_ms
    );
    println!("  server RSS {rss:.0} MiB, errors {errors}");
    let json = serde_json::json!({
        "rps": sat.rps.round(),
        "p50_ms": paced.p50_ms,
        "p99_ms": paced.p99_ms,
        "paced_rps": PACED_RPS,
        "saturation_p50_ms": sat.p50_ms,
        "saturation_p99_ms": sat.p99_ms,
        "server_cpu_percent": sat_cpu,
        "server_rss_mib": rss,
        "rooms": ROOMS,
        "members": ROOMS * MEMBERS,
        "errors": errors,
    });
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok((json, errors))
}
