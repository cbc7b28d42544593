//! The processes under test: `quartet server` instances, their readiness, CPU and memory.

use crate::client::Client;
use anyhow::{Context, Result, bail};
use quartet_proto::api;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for a started server to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a server keeps its rooms.
pub enum Store<'a> {
    /// The embedded store in this directory.
    Dir(&'a Path),
    /// The shared store at this Redis URL.
    Redis(&'a str),
}

/// A `quartet server` process, stopped (SIGINT, then waited for) on drop.
pub struct ServerProcess {
    child: Child,
    /// Where it listens, as `http://127.0.0.1:{port}`.
    pub base: String,
}

impl ServerProcess {
    /// Starts `bin` as a server without a relay, keeping rooms in `store`.
    pub fn start(bin: &Path, store: Store<'_>) -> Result<ServerProcess> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut cmd = Command::new(bin);
        cmd.args(["server", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--no-relay", "--rtmp-base", "rtmp://127.0.0.1:1935/live"])
            .args(["--max-rooms", "1000000"]);
        match store {
            Store::Dir(dir) => cmd.arg("--data-dir").arg(dir),
            Store::Redis(url) => cmd.args(["--redis", url]),
        };
        let child = cmd
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("could not start {}", bin.display()))?;
        Ok(ServerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Waits until the server answers a room list through `http`.
    pub async fn ready(&self, http: &reqwest::Client) -> Result<Client> {
        let client = Client {
            http: http.clone(),
            base: self.base.clone(),
        };
        let start = Instant::now();
        while client
            .call(&api::GetRoomList { index: 0, cnt: 1 }, None)
            .await
            .is_err()
        {
            if start.elapsed() > READY_TIMEOUT {
                bail!("server {} did not start", self.base);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(client)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ends the process at once, as a crash or `kill -9` would.
    pub fn kill(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .arg("-INT")
                .arg(self.child.id().to_string())
                .status();
            let _ = self.child.wait();
        }
    }
}

/// CPU seconds (user + system) process `pid` has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    // utime + stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

/// CPU use of several processes over a phase, as % of one core each.
pub struct CpuMeter {
    pids: Vec<u32>,
    start: Vec<f64>,
    at: Instant,
}

impl CpuMeter {
    pub fn start(pids: &[u32]) -> CpuMeter {
        CpuMeter {
            pids: pids.to_vec(),
            start: pids.iter().map(|&p| cpu_seconds(p)).collect(),
            at: Instant::now(),
        }
    }

    /// Each process's CPU since the start, in % of one core.
    pub fn percent(&self) -> Vec<f64> {
        let secs = self.at.elapsed().as_secs_f64();
        self.pids
            .iter()
            .zip(&self.start)
            .map(|(&p, s)| (cpu_seconds(p) - s) / secs * 100.0)
            .collect()
    }
}

pub fn rss_mib(pid: u32) -> f64 {
    quartet_testkit::rss_mib(pid).unwrap_or(f64::NAN)
}
