//! A real Redis (Debian's `redis-server`) on a free loopback port, for the shared room store.

use super::NGINX_START_TIMEOUT;
use super::{TestkitError, free_port, require, stop_child, wait_listening};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Ports tried before giving up on starting Redis.
pub const START_ATTEMPTS: usize = 5;

/// Whether the Redis on `addr` is process `pid` (not another test's that took the port first).
fn answers_as(addr: SocketAddr, pid: u32) -> Result<(), TestkitError> {
    let deadline = Instant::now() + NGINX_START_TIMEOUT;
    let mut last = String::new();
    while Instant::now() < deadline {
        match process_id(addr) {
            Ok(found) if found == pid => return Ok(()),
            Ok(found) => {
                return Err(TestkitError::NotStarted {
                    program: "redis-server",
                    detail: format!("{addr} is served by process {found}, not {pid}"),
                });
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(TestkitError::NotStarted {
        program: "redis-server",
        detail: format!("no answer on {addr}: {last}"),
    })
}

/// The `process_id` that `INFO server` of the Redis on `addr` reports.
fn process_id(addr: SocketAddr) -> std::io::Result<u32> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    s.write_all(b"INFO server\r\n")?;
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    // INFO's answer may arrive in pieces: read until the process_id line is whole.
    let has_pid = |t: &str| {
        t.split("process_id:")
            .nth(1)
            .is_some_and(|r| r.contains('\n'))
    };
    while !has_pid(&text) {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    text.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no process_id in {text:?}")))
}

/// `redis-server` on `addr`, answering; stopped again if it does not answer as itself.
fn spawn(addr: SocketAddr, dir: &std::path::Path) -> Result<Child, TestkitError> {
    let redis = require("redis-server", "Debian package redis-server")?;
    let mut child = Command::new(redis)
        .args(["--bind", "127.0.0.1", "--port", &addr.port().to_string()])
        // Tests start from nothing and leave nothing: no snapshots, no append-only file.
        .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let answered = wait_listening(addr, &mut child, "redis-server")
        .and_then(|()| answers_as(addr, child.id()));
    if let Err(e) = answered {
        stop_child(&mut child);
        return Err(e);
    }
    Ok(child)
}

/// `redis-server` in the foreground on a free loopback port, keeping nothing on disk; stopped
/// on drop.
pub struct RedisServer {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts Redis on a free port and waits until it answers. A port taken between choosing
    /// and binding it (tests start servers in parallel) is tried again with another.
    pub fn start() -> Result<RedisServer, TestkitError> {
        let mut last = None;
        for _ in 0..START_ATTEMPTS {
            match Self::start_once() {
                Ok(server) => return Ok(server),
                Err(e @ TestkitError::Missing { .. }) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(TestkitError::NotStarted {
            program: "redis-server",
            detail: "no attempt".into(),
        }))
    }

    fn start_once() -> Result<RedisServer, TestkitError> {
        let port = free_port()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let dir = std::env::temp_dir().join(format!("quartet-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        match spawn(addr, &dir) {
            Ok(child) => Ok(RedisServer { child, addr, dir }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// Stops Redis and starts it again on the same port, empty: what clients see of a Redis
    /// that restarted without persistence.
    pub fn restart(&mut self) -> Result<(), TestkitError> {
        stop_child(&mut self.child);
        self.child = spawn(self.addr, &self.dir)?;
        Ok(())
    }

    /// `redis://127.0.0.1:{port}/{db}`.
    pub fn url(&self, db: u32) -> String {
        format!("redis://{}/{db}", self.addr)
    }

    /// The process id, e.g. to measure its CPU.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        stop_child(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
