//! Two servers sharing one Redis (`--redis`): the single-process mix on one server on Redis,
//! then spread over two (throughput, each process's and Redis's CPU), then offered at
//! [`SHARED_PACED_RPS`] for latency; then one server killed midway through an open loop, and
//! every room and member checked through the survivor.

use crate::client::{Client, MEMBERS, Member};
use crate::load::{self, Closed, Load, Paced, Pool};
use crate::procs::{CpuMeter, ServerProcess, Store};
use crate::{PACED_TIME, ROOMS, SATURATION_TIME, http};
use anyhow::Result;
use quartet_testkit::RedisServer;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The offered rate of the latency phase over both servers.
const SHARED_PACED_RPS: u64 = 10_000;
/// The offered rate while one server is killed: what one server on Redis sustains with room
/// to spare on these cores, so failures are the kill's, not overload's.
const KILL_RPS: u64 = 5_000;
/// How long the kill phase runs.
const KILL_TIME: Duration = Duration::from_secs(10);
/// When, into the kill phase, the first server is killed.
const KILL_AT: Duration = Duration::from_secs(5);

/// Runs every phase; returns the figures and how many requests failed or members were lost.
pub async fn run(bin: &Path) -> Result<(serde_json::Value, u64)> {
    let redis = RedisServer::start()?;
    let url = redis.url(0);
    let http = http()?;
    let me = std::process::id();
    let a = ServerProcess::start(bin, Store::Redis(&url))?;
    let ca = a.ready(&http).await?;

    eprintln!("setting up {ROOMS} rooms × {MEMBERS} members through one server on Redis ...");
    let setup_start = Instant::now();
    let load = load::set_up(&ca, ROOMS).await?;
    let setup_secs = setup_start.elapsed().as_secs_f64();

    eprintln!("one server on Redis, closed loop for {SATURATION_TIME:?} ...");
    let cpu = CpuMeter::start(&[a.pid(), redis.pid(), me]);
    let one = load::closed_loop(&load, std::slice::from_ref(&ca), SATURATION_TIME).await?;
    let one_cpu = cpu.percent();

    let b = ServerProcess::start(bin, Store::Redis(&url))?;
    let cb = b.ready(&http).await?;
    let both = [ca.clone(), cb.clone()];
    eprintln!("two servers on Redis, closed loop for {SATURATION_TIME:?} ...");
    let cpu = CpuMeter::start(&[a.pid(), b.pid(), redis.pid(), me]);
    let two = load::closed_loop(&load, &both, SATURATION_TIME).await?;
    let two_cpu = cpu.percent();

    eprintln!("offering {SHARED_PACED_RPS} requests/s over both for {PACED_TIME:?} ...");
    let cpu = CpuMeter::start(&[a.pid(), b.pid(), redis.pid(), me]);
    let paced = load::paced(
        &load,
        &Pool::new(both.to_vec()),
        SHARED_PACED_RPS,
        PACED_TIME,
        None,
    )
    .await?;
    let paced_cpu = cpu.percent();

    eprintln!("offering {KILL_RPS} requests/s, killing one server after {KILL_AT:?} ...");
    let mut a = a;
    let kill: Box<dyn FnOnce() + Send> = Box::new(move || {
        if let Err(e) = a.kill() {
            eprintln!("could not kill the first server: {e}");
        }
    });
    let killed = load::paced(
        &load,
        &Pool::failing_over(both.to_vec()),
        KILL_RPS,
        KILL_TIME,
        Some((KILL_AT, kill)),
    )
    .await?;
    let (rooms_lost, members_lost) = lost(&cb, &load.members).await?;

    let figures = Figures {
        setup_secs,
        one,
        one_cpu,
        two,
        two_cpu,
        paced,
        paced_cpu,
        killed,
        rooms_lost,
        members_lost,
    };
    figures.print();
    let errors = figures.one.errors
        + figures.two.errors
        + figures.paced.errors
        + figures.killed.errors
        + members_lost as u64;
    Ok((figures.json(&load), errors))
}

/// Rooms and members of the set-up that `client` no longer lists.
async fn lost(client: &Client, members: &[Member]) -> Result<(usize, usize)> {
    let mut rooms: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in members {
        rooms.entry(&m.room_id).or_default().push(&m.user_id);
    }
    let (mut rooms_lost, mut members_lost) = (0, 0);
    for (room, expected) in rooms {
        match client.pushers(room).await {
            Ok(listed) => {
                members_lost += expected
                    .iter()
                    .filter(|u| !listed.iter().any(|l| l == *u))
                    .count();
            }
            Err(e) => {
                eprintln!("room {room}: {e}");
                rooms_lost += 1;
                members_lost += expected.len();
            }
        }
    }
    Ok((rooms_lost, members_lost))
}

struct Figures {
    setup_secs: f64,
    one: Closed,
    /// Server, Redis, load generator.
    one_cpu: Vec<f64>,
    two: Closed,
    /// Server A, server B, Redis, load generator.
    two_cpu: Vec<f64>,
    paced: Paced,
    paced_cpu: Vec<f64>,
    killed: Paced,
    rooms_lost: usize,
    members_lost: usize,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Figures {
    fn print(&self) {
        let cores = cores();
        println!(
            "room server benchmark, two servers on one Redis ({ROOMS} rooms × {MEMBERS} members, {cores} cores, loopback, load generator and Redis on the same cores)"
        );
        println!("  set-up through one server: {:.1} s", self.setup_secs);
        let c = &self.one_cpu;
        println!(
            "  one server, closed loop: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms; CPU % of a core: server {:.0}, Redis {:.0}, load {:.0}",
            self.one.rps, self.one.p50_ms, self.one.p99_ms, c[0], c[1], c[2]
        );
        let c = &self.two_cpu;
        println!(
            "  two servers, closed loop: {:.0} requests/s ({:.2}× one), p50 {:.2} ms, p99 {:.2} ms; CPU: A {:.0}, B {:.0}, Redis {:.0}, load {:.0}",
            self.two.rps,
            self.two.rps / self.one.rps,
            self.two.p50_ms,
            self.two.p99_ms,
            c[0],
            c[1],
            c[2],
            c[3]
        );
        let (p, c) = (&self.paced, &self.paced_cpu);
        println!(
            "  offered {SHARED_PACED_RPS} requests/s over both: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, errors {}; CPU: A {:.0}, B {:.0}, Redis {:.0}, load {:.0}",
            p.p50_ms, p.p99_ms, p.p999_ms, p.errors, c[0], c[1], c[2], c[3]
        );
        let k = &self.killed;
        println!(
            "  offered {KILL_RPS} requests/s, server A killed at {KILL_AT:?}: {} requests failed on A and were answered by B, {} answered by neither; p99 {:.2} ms",
            k.failed_over, k.errors, k.p99_ms
        );
        println!(
            "  after the kill, through B: {} of {ROOMS} rooms lost, {} of {} members lost",
            self.rooms_lost,
            self.members_lost,
            ROOMS * MEMBERS
        );
    }

    fn json(&self, load: &Load) -> serde_json::Value {
        serde_json::json!({
            "cores": cores(),
            "rooms": ROOMS,
            "members": load.members.len(),
            "setup_secs": self.setup_secs,
            "one_server": {
                "rps": self.one.rps.round(),
                "p50_ms": self.one.p50_ms,
                "p99_ms": self.one.p99_ms,
                "cpu_percent": { "server": self.one_cpu[0], "redis": self.one_cpu[1], "load": self.one_cpu[2] },
            },
            "two_servers": {
                "rps": self.two.rps.round(),
                "speedup": self.two.rps / self.one.rps,
                "p50_ms": self.two.p50_ms,
                "p99_ms": self.two.p99_ms,
                "cpu_percent": { "a": self.two_cpu[0], "b": self.two_cpu[1], "redis": self.two_cpu[2], "load": self.two_cpu[3] },
            },
            "paced": {
                "rps": SHARED_PACED_RPS,
                "p50_ms": self.paced.p50_ms,
                "p99_ms": self.paced.p99_ms,
                "p999_ms": self.paced.p999_ms,
                "errors": self.paced.errors,
                "cpu_percent": { "a": self.paced_cpu[0], "b": self.paced_cpu[1], "redis": self.paced_cpu[2], "load": self.paced_cpu[3] },
            },
            "kill": {
                "rps": KILL_RPS,
                "at_secs": KILL_AT.as_secs(),
                "failed_over": self.killed.failed_over,
                "unanswered": self.killed.errors,
                "p99_ms": self.killed.p99_ms,
                "rooms_lost": self.rooms_lost,
                "members_lost": self.members_lost,
            },
        })
    }
}
