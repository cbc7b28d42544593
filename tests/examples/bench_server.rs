//! Room server benchmark: 2,000 rooms × 4 members at v1 cadence plus create/join/leave bursts,
//! against a release `quartet server` process on loopback.
//!
//! Two measurements: the most requests/s the server sustains under a closed loop of that mix,
//! and the latency of each request when the same mix is offered at a fixed 5,000 requests/s
//! (an open loop: sends never wait for answers, so a stall counts against the server).

use anyhow::{Context, Result, bail};
use clap::Parser;
use quartet_proto::api::{self, Request};
use quartet_proto::{LoginInfo, PushUrl, Reply, RoomKind};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Users that create and join the burst rooms, taking turns: enough that none creates more
/// rooms per minute than the server's per-user rate allows (`MAX_CREATIONS_PER_WINDOW`).
const CHURN_USERS: usize = 4_096;
/// Makes each request's nonce unique; the server only needs it unique per user.
static NONCES: AtomicU64 = AtomicU64::new(0);

/// Rooms set up before measuring.
const ROOMS: usize = 2_000;
/// Members per room (the v1 capacity of multi_room).
const MEMBERS: usize = 4;
/// Concurrent requests while setting up and in the closed loop.
const CONCURRENCY: usize = 64;
/// How long the closed loop runs.
const SATURATION_TIME: Duration = Duration::from_secs(10);
/// The offered rate of the latency phase.
const PACED_RPS: u64 = 5_000;
/// How long the latency phase runs.
const PACED_TIME: Duration = Duration::from_secs(10);
/// One operation in this many is a burst: create a room, three join, all leave.
const BURST_EVERY: u64 = 100;

#[derive(Parser)]
struct Args {
    /// Where to write the figures as JSON.
    #[arg(long)]
    out: PathBuf,
    /// The server binary (default: target/release/quartet).
    #[arg(long)]
    quartet: Option<PathBuf>,
}

struct Member {
    user_id: String,
    sig: String,
    room_id: String,
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call<R: Request>(&self, req: &R, sig: Option<&str>) -> Result<Reply> {
        let url = format!(
            "{}/weapp/{}/{}",
            self.base,
            RoomKind::MultiRoom,
            R::ENDPOINT
        );
        let mut body = serde_json::to_value(req)?;
        if R::ENDPOINT.is_mutating()
            && let Some(map) = body.as_object_mut()
        {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
            let nonce = quartet_proto::nonce::make(
                now.as_millis() as u64,
                NONCES.fetch_add(1, Ordering::Relaxed),
            );
            map.insert(quartet_proto::nonce::NONCE_FIELD.into(), nonce.into());
        }
        let mut b = self.http.post(url).json(&body);
        if let Some(sig) = sig {
            b = b.bearer_auth(sig);
        }
        let reply: Reply = b.send().await?.json().await?;
        Ok(reply)
    }

    async fn ok<R: Request>(&self, req: &R, sig: Option<&str>) -> Result<Reply> {
        let reply = self.call(req, sig).await?;
        if reply.code != quartet_proto::Code::Ok {
            bail!(
                "{} answered {:?}: {}",
                R::ENDPOINT,
                reply.code,
                reply.message
            );
        }
        Ok(reply)
    }

    async fn login(&self) -> Result<(String, String, String)> {
        let req = api::GetImLoginInfo {
            user_id_prefix: "bench".into(),
            code: None,
        };
        let info: LoginInfo = self.ok(&req, None).await?.into_body()?;
        let push: PushUrl = self
            .ok(
                &api::GetPushUrl {
                    user_id: info.user_id.clone(),
                    room_id: None,
                },
                Some(&info.user_sig),
            )
            .await?
            .into_body()?;
        Ok((info.user_id, info.user_sig, push.push_url))
    }

    async fn create(&self, user: &(String, String, String), name: &str) -> Result<String> {
        let req = api::CreateRoom {
            room_name: name.into(),
            user_id: user.0.clone(),
            user_name: user.0.clone(),
            user_avatar: "avatar.png".into(),
            push_url: user.2.clone(),
        };
        let created: api::CreatedRoom = self.ok(&req, Some(&user.1)).await?.into_body()?;
        Ok(created.room_id)
    }

    async fn join(&self, user: &(String, String, String), room_id: &str) -> Result<()> {
        let req = api::AddPusher {
            room_id: room_id.into(),
            user_id: user.0.clone(),
            user_name: user.0.clone(),
            user_avatar: "avatar.png".into(),
            push_url: user.2.clone(),
            sharing_screen: false,
        };
        self.ok(&req, Some(&user.1)).await.map(drop)
    }

    /// One operation of the v1 mix: a heartbeat or a poll, alternately; now and then a burst.
    async fn op(
        &self,
        members: &[Member],
        n: u64,
        churn: &[(String, String, String)],
    ) -> Result<()> {
        let m = &members[(n as usize / 2) % members.len()];
        if n % BURST_EVERY == BURST_EVERY - 1 {
            return self
                .burst(&churn[(n / BURST_EVERY) as usize % churn.len()..])
                .await;
        }
        if n.is_multiple_of(2) {
            let req = api::PusherHeartbeat(api::RoomUser {
                room_id: m.room_id.clone(),
                user_id: m.user_id.clone(),
            });
            self.ok(&req, Some(&m.sig)).await.map(drop)
        } else {
            self.ok(
                &api::GetPushers {
                    room_id: m.room_id.clone(),
                },
                None,
            )
            .await
            .map(drop)
        }
    }

    async fn burst(&self, users: &[(String, String, String)]) -> Result<()> {
        let users = &users[..MEMBERS.min(users.len())];
        let room = self.create(&users[0], "burst").await?;
        for u in &users[1..] {
            self.join(u, &room).await?;
        }
        for u in users.iter().rev() {
            let req = api::DeletePusher(api::RoomUser {
                room_id: room.clone(),
                user_id: u.0.clone(),
            });
            self.ok(&req, Some(&u.1)).await?;
        }
        Ok(())
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn cpu_seconds(pid: u32) -> f64 {
    // utime + stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn rss_mib(pid: u32) -> f64 {
    quartet_testkit::rss_mib(pid).unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let bin = args
        .quartet
        .unwrap_or_else(|| PathBuf::from("target/release/quartet"));
    let port = free_port()?;
    let data_dir =
        std::env::temp_dir().join(format!("quartet-bench-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let child = Command::new(&bin)
        .args([
            "server",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--no-relay",
        ])
        .args([
            "--rtmp-base",
            "rtmp://127.0.0.1:1935/live",
            "--max-rooms",
            "1000000",
        ])
        // Rooms are kept on disk, as a standing server keeps them by default.
        .arg("--data-dir")
        .arg(&data_dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("could not start {}", bin.display()))?;
    let server = ServerProcess(child);
    let pid = server.0.id();
    let client = Arc::new(Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(CONCURRENCY * 2)
            .build()?,
        base: format!("http://127.0.0.1:{port}"),
    });
    let ready = Instant::now();
    while client
        .call(&api::GetRoomList { index: 0, cnt: 1 }, None)
        .await
        .is_err()
    {
        if ready.elapsed() > Duration::from_secs(10) {
            bail!("server did not start on port {port}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    eprintln!("setting up {ROOMS} rooms × {MEMBERS} members ...");
    let setup_start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, next) = (client.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= ROOMS {
                    return Ok::<_, anyhow::Error>(out);
                }
                let mut users = Vec::new();
                for _ in 0..MEMBERS {
                    users.push(client.login().await?);
                }
                let room = client.create(&users[0], &format!("room {i}")).await?;
                for u in &users[1..] {
                    client.join(u, &room).await?;
                }
                out.extend(users.into_iter().map(|(user_id, sig, _)| Member {
                    user_id,
                    sig,
                    room_id: room.clone(),
                }));
            }
        }));
    }
    let mut members = Vec::with_capacity(ROOMS * MEMBERS);
    for t in tasks {
        members.extend(t.await??);
    }
    let mut churn = Vec::new();
    for _ in 0..CHURN_USERS {
        churn.push(client.login().await?);
    }
    let setup_secs = setup_start.elapsed().as_secs_f64();
    let members = Arc::new(members);
    let churn = Arc::new(churn);
    eprintln!("set up in {setup_secs:.1} s; closed loop for {SATURATION_TIME:?} ...");

    // Closed loop: CONCURRENCY workers, each sending its next request as soon as one returns.
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu_seconds(pid);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, members, churn, counter, errors) = (
            client.clone(),
            members.clone(),
            churn.clone(),
            counter.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while start.elapsed() < SATURATION_TIME {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                if client.op(&members, n, &churn).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            lat
        }));
    }
    let mut sat_lat = Vec::new();
    for t in tasks {
        sat_lat.extend(t.await?);
    }
    let sat_secs = start.elapsed().as_secs_f64();
    let sat_cpu = (cpu_seconds(pid) - cpu0) / sat_secs * 100.0;
    // A burst is 4 + 3 + 4 = 11 requests; count requests, not operations.
    let ops = sat_lat.len() as f64;
    let requests = ops + (ops / BURST_EVERY as f64) * 10.0;
    let rps = requests / sat_secs;
    sat_lat.sort_by(f64::total_cmp);

    // Open loop at PACED_RPS: each request is sent at its due time, whether or not earlier ones returned.
    eprintln!("offering {PACED_RPS} requests/s for {PACED_TIME:?} ...");
    let interval = Duration::from_nanos(1_000_000_000 / PACED_RPS);
    let total = PACED_RPS * PACED_TIME.as_secs();
    let begin = tokio::time::Instant::now() + Duration::from_millis(50);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = begin + interval * n as u32;
        tokio::time::sleep_until(due).await;
        // The timer wheel ticks in milliseconds, so time from the actual send, not the due time:
        // the loop never waits for answers, so a slow server cannot hold sends back.
        let sent = tokio::time::Instant::now();
        let (client, members, churn, errors) = (
            client.clone(),
            members.clone(),
            churn.clone(),
            errors.clone(),
        );
        tasks.spawn(async move {
            // Plain poll/heartbeat only: a burst is 11 requests and would skew the offered rate.
            let n = if n % BURST_EVERY == BURST_EVERY - 1 {
                n + 1
            } else {
                n
            };
            if client.op(&members, n, &churn).await.is_err() {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            sent.elapsed().as_secs_f64() * 1e3
        });
    }
    let mut paced = Vec::with_capacity(total as usize);
    while let Some(l) = tasks.join_next().await {
        paced.push(l?);
    }
    paced.sort_by(f64::total_cmp);
    let rss = rss_mib(pid);
    let errors = errors.load(Ordering::Relaxed);

    let p50 = percentile(&paced, 0.50);
    let p99 = percentile(&paced, 0.99);
    println!(
        "room server benchmark ({ROOMS} rooms × {MEMBERS} members, 2-core loopback, load generator on the same cores)"
    );
    println!(
        "  set-up (login + push URL + create/join for {} members): {setup_secs:.1} s",
        ROOMS * MEMBERS
    );
    println!(
        "  closed loop, {CONCURRENCY} connections: {rps:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, server CPU {sat_cpu:.0} % of one core",
        percentile(&sat_lat, 0.5),
        percentile(&sat_lat, 0.99)
    );
    println!(
        "  offered {PACED_RPS} requests/s: p50 {p50:.2} ms, p99 {p99:.2} ms, p99.9 {:.2} ms",
        percentile(&paced, 0.999)
    );
    println!("  server RSS {rss:.0} MiB, errors {errors}");
    let json = serde_json::json!({
        "rps": rps.round(),
        "p50_ms": p50,
        "p99_ms": p99,
        "paced_rps": PACED_RPS,
        "saturation_p50_ms": percentile(&sat_lat, 0.5),
        "saturation_p99_ms": percentile(&sat_lat, 0.99),
        "server_cpu_percent": sat_cpu,
        "server_rss_mib": rss,
        "rooms": ROOMS,
        "members": ROOMS * MEMBERS,
        "errors": errors,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&json)?)?;
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}
