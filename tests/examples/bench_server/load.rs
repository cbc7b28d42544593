//! The load: setting rooms up, a closed loop for throughput, an open loop for latency, and
//! moving to another server when one stops answering, as a load balancer would.

use crate::client::{BURST_EVERY, BURST_REQUESTS, Client, MEMBERS, Member, User};
use anyhow::Result;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Users that create and join the burst rooms, taking turns: enough that none creates more
/// rooms per minute than the server's per-user rate allows (`MAX_CREATIONS_PER_WINDOW`).
const CHURN_USERS: usize = 4_096;
/// Concurrent requests while setting up and in the closed loop.
pub const CONCURRENCY: usize = 64;
/// Failures printed per run; the rest are only counted.
const ERRORS_SHOWN: u64 = 5;

/// Requests in flight to one server at most, as a load balancer caps its connections to a
/// backend (nginx's `max_conns`): more wait their turn, and the wait counts in their latency.
/// Below the server's own `MAX_CONNECTIONS` (512), above [`CONCURRENCY`].
pub const IN_FLIGHT_PER_SERVER: usize = 128;

/// The servers behind the "load balancer": request `n` goes to server `n % len`, or, failing
/// over, to the next one that still answers.
pub struct Pool {
    clients: Vec<Client>,
    up: Vec<AtomicBool>,
    slots: Vec<Semaphore>,
    failover: bool,
}

impl Pool {
    /// Each request to its one server, failures counted.
    pub fn new(clients: Vec<Client>) -> Arc<Pool> {
        Self::build(clients, false)
    }

    /// A server that does not answer is taken out and its requests sent to the next.
    pub fn failing_over(clients: Vec<Client>) -> Arc<Pool> {
        Self::build(clients, true)
    }

    fn build(clients: Vec<Client>, failover: bool) -> Arc<Pool> {
        let up = clients.iter().map(|_| AtomicBool::new(true)).collect();
        let slots = clients
            .iter()
            .map(|_| Semaphore::new(IN_FLIGHT_PER_SERVER))
            .collect();
        Arc::new(Pool {
            clients,
            up,
            slots,
            failover,
        })
    }

    fn pick(&self, n: usize) -> Option<usize> {
        let len = self.clients.len();
        (0..len)
            .map(|i| (n + i) % len)
            .find(|&i| self.up[i].load(Ordering::Relaxed))
    }
}

/// The rooms and users the load works on.
pub struct Load {
    pub members: Arc<Vec<Member>>,
    pub churn: Arc<Vec<User>>,
}

/// Sets up `rooms` rooms of [`MEMBERS`] members through `client`, and the burst users.
pub async fn set_up(client: &Client, rooms: usize) -> Result<Load> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, next) = (client.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= rooms {
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
    let mut members = Vec::with_capacity(rooms * MEMBERS);
    for t in tasks {
        members.extend(t.await??);
    }
    let mut churn = Vec::new();
    for _ in 0..CHURN_USERS {
        churn.push(client.login().await?);
    }
    Ok(Load {
        members: Arc::new(members),
        churn: Arc::new(churn),
    })
}

/// What a closed loop measured.
pub struct Closed {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

/// [`CONCURRENCY`] workers spread over `clients`, each sending its next operation as soon as
/// the last returns, for `time`.
pub async fn closed_loop(load: &Load, clients: &[Client], time: Duration) -> Result<Closed> {
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..CONCURRENCY {
        let client = clients[w % clients.len()].clone();
        let (members, churn, counter, errors) = (
            load.members.clone(),
            load.churn.clone(),
            counter.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while start.elapsed() < time {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                if let Err(e) = client.op(&members, n, &churn).await {
                    note_error(&e);
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await?);
    }
    let secs = start.elapsed().as_secs_f64();
    // Count requests, not operations: a burst is several.
    let ops = lat.len() as f64;
    let requests = ops + (ops / BURST_EVERY as f64) * (BURST_REQUESTS - 1) as f64;
    lat.sort_by(f64::total_cmp);
    Ok(Closed {
        rps: requests / secs,
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
        errors: errors.load(Ordering::Relaxed),
    })
}

/// What an open loop measured.
pub struct Paced {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// Requests no server answered.
    pub errors: u64,
    /// Requests a server failed to answer that another then answered.
    pub failed_over: u64,
}

/// Something to do partway through an open loop, e.g. kill a server.
pub type Midway = (Duration, Box<dyn FnOnce() + Send>);

/// Heartbeats and polls offered at `rps` for `time` over `pool`, whether or not earlier ones
/// were answered (so a stall counts against the servers); a request a server fails to answer
/// is sent again to the next, and that server is not used again.
pub async fn paced(
    load: &Load,
    pool: &Arc<Pool>,
    rps: u64,
    time: Duration,
    midway: Option<Midway>,
) -> Result<Paced> {
    let interval = Duration::from_nanos(1_000_000_000 / rps);
    let total = rps * time.as_secs();
    let errors = Arc::new(AtomicU64::new(0));
    let failed_over = Arc::new(AtomicU64::new(0));
    let begin = tokio::time::Instant::now() + Duration::from_millis(50);
    let (mut midway_at, mut midway_do) = match midway {
        Some((at, f)) => (Some(begin + at), Some(f)),
        None => (None, None),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = begin + interval * n as u32;
        tokio::time::sleep_until(due).await;
        if midway_at.is_some_and(|at| due >= at) {
            midway_at = None;
            if let Some(f) = midway_do.take() {
                f();
            }
        }
        // The timer wheel ticks in milliseconds, so time from the actual send, not the due time.
        let sent = tokio::time::Instant::now();
        let (pool, members, churn) = (pool.clone(), load.members.clone(), load.churn.clone());
        let (errors, failed_over) = (errors.clone(), failed_over.clone());
        tasks.spawn(async move {
            // Plain poll/heartbeat only: a burst is several requests and would skew the rate.
            let n = if n % BURST_EVERY == BURST_EVERY - 1 {
                n + 1
            } else {
                n
            };
            let mut first = true;
            while let Some(i) = pool.pick(n as usize) {
                let Ok(_slot) = pool.slots[i].acquire().await else {
                    break;
                };
                match pool.clients[i].op(&members, n, &churn).await {
                    Ok(()) => {
                        if !first {
                            failed_over.fetch_add(1, Ordering::Relaxed);
                        }
                        return sent.elapsed().as_secs_f64() * 1e3;
                    }
                    // The server did not answer: take it out, as a load balancer would.
                    Err(e) if pool.failover && e.downcast_ref::<reqwest::Error>().is_some() => {
                        pool.up[i].store(false, Ordering::Relaxed);
                        first = false;
                    }
                    Err(e) => {
                        note_error(&e);
                        break;
                    }
                }
            }
            errors.fetch_add(1, Ordering::Relaxed);
            sent.elapsed().as_secs_f64() * 1e3
        });
    }
    let mut lat = Vec::with_capacity(total as usize);
    while let Some(l) = tasks.join_next().await {
        lat.push(l?);
    }
    lat.sort_by(f64::total_cmp);
    Ok(Paced {
        p50_ms: percentile(&lat, 0.5),
        p99_ms: percentile(&lat, 0.99),
        p999_ms: percentile(&lat, 0.999),
        errors: errors.load(Ordering::Relaxed),
        failed_over: failed_over.load(Ordering::Relaxed),
    })
}

/// Prints the first few failures, so a failed run says why.
fn note_error(e: &anyhow::Error) {
    static SHOWN: AtomicU64 = AtomicU64::new(0);
    if SHOWN.fetch_add(1, Ordering::Relaxed) < ERRORS_SHOWN {
        eprintln!("request failed: {e:#}");
    }
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}
