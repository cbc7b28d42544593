//! The processes of one scenario: a release `quartet server` on the lab's host address and
//! `quartet bot`s on either side of the link, each bot's periodic stats line kept with the time
//! it was printed.

use anyhow::{Context, Result, bail};
use quartet_testkit::ChildGuard;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the server may take to accept connections after starting.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the creating bot may take to say which room it made.
const CREATE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a bot may take to exit (and write its figures) after its `--duration` is up.
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the bots print their figures, ms: the step columns are timed to this.
pub const STATS_EVERY_MS: u64 = 250;

/// A running `quartet server` (room server and embedded relay) on the lab's host address.
pub struct Server {
    /// Base URL of its room API.
    pub url: String,
    _child: ChildGuard,
}

fn free_port(ip: Ipv4Addr) -> Result<u16> {
    Ok(TcpListener::bind((ip, 0))?.local_addr()?.port())
}

impl Server {
    /// Starts `quartet server --ephemeral` listening on `ip` and waits until it accepts.
    pub fn start(quartet: &Path, ip: Ipv4Addr) -> Result<Server> {
        let rtmp = SocketAddr::from((ip, free_port(ip)?));
        Self::spawn(
            quartet,
            ip,
            &["--rtmp-listen".into(), rtmp.to_string()],
            Some(rtmp),
        )
    }

    /// Starts `quartet server --ephemeral --no-relay` on `ip`, handing out URLs of the RTMP
    /// server at `rtmp_base` (e.g. nginx-rtmp's `rtmp://ip:port/live`).
    pub fn start_external(quartet: &Path, ip: Ipv4Addr, rtmp_base: &str) -> Result<Server> {
        let args = [
            "--no-relay".into(),
            "--rtmp-base".into(),
            rtmp_base.to_owned(),
        ];
        Self::spawn(quartet, ip, &args, None)
    }

    fn spawn(
        quartet: &Path,
        ip: Ipv4Addr,
        args: &[String],
        rtmp: Option<SocketAddr>,
    ) -> Result<Server> {
        let http = SocketAddr::from((ip, free_port(ip)?));
        let child = Command::new(quartet)
            .arg("server")
            .args(["--listen", &http.to_string()])
            .args(args)
            .arg("--ephemeral")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("could not start {}", quartet.display()))?;
        let child = ChildGuard(child);
        let deadline = Instant::now() + START_TIMEOUT;
        let accepts = |a: &SocketAddr| TcpStream::connect_timeout(a, Duration::from_millis(200));
        while accepts(&http).is_err() || rtmp.as_ref().is_some_and(|r| accepts(r).is_err()) {
            if Instant::now() > deadline {
                bail!("quartet server did not listen within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Server {
            url: format!("http://{http}"),
            _child: child,
        })
    }
}

/// One figure of one remote tile in a bot's stats line.
#[derive(Debug, Clone, PartialEq)]
pub struct TileFigures {
    /// The member's nickname.
    pub name: String,
    /// Frames shown per second (recent).
    pub fps: f64,
    /// Median frame-clock latency over the player's last second, ms.
    pub latency_ms: Option<f64>,
    /// Received kbit/s (recent).
    pub kbps: f64,
    /// Which of the member's streams the tile plays (`main`, `small`).
    pub stream: String,
}

/// A stats line, seconds after the scenario's start.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Seconds since the scenario started.
    pub at: f64,
    /// The remote tiles.
    pub tiles: Vec<TileFigures>,
    /// CPU time the bot process had used by then, s.
    pub cpu_s: Option<f64>,
}

/// Parses `stats: Ben 14.9 fps 61 ms 501 kbps main | … | out 15.0 fps 480 kbps`; `None` for
/// other lines. Names must have no spaces (the bench chooses them).
pub fn parse_stats_line(line: &str) -> Option<Vec<TileFigures>> {
    let rest = line.strip_prefix("stats:")?;
    let mut tiles = Vec::new();
    for part in rest.split('|') {
        let w: Vec<&str> = part.split_whitespace().collect();
        if !(7..=8).contains(&w.len()) || w[2] != "fps" || w[4] != "ms" || w[6] != "kbps" {
            continue;
        }
        tiles.push(TileFigures {
            name: w[0].to_owned(),
            fps: w[1].parse().ok()?,
            latency_ms: w[3].parse().ok(),
            kbps: w[5].parse().ok()?,
            stream: w.get(7).unwrap_or(&"main").to_string(),
        });
    }
    Some(tiles)
}

/// A `quartet bot` process with its stats lines collected.
pub struct Bot {
    /// Its nickname.
    pub name: String,
    stats_json: PathBuf,
    samples: Arc<Mutex<Vec<Sample>>>,
    child: Option<ChildGuard>,
    joined: mpsc::Receiver<String>,
    /// When its `--duration` is up.
    leaves_at: Instant,
}

impl Bot {
    /// Spawns `command` (a `quartet` or `ip netns exec … quartet`) as bot `name` that creates
    /// (`room: None`) or joins a room and leaves after `duration`.
    pub fn spawn(
        mut command: Command,
        server: &str,
        room: Option<&str>,
        name: &str,
        duration: Duration,
        dir: &Path,
        start: Instant,
    ) -> Result<Bot> {
        let leaves_at = Instant::now() + duration;
        let stats_json = dir.join(format!("{name}.json"));
        let _ = std::fs::remove_file(&stats_json);
        command
            .args(["bot", "--server", server, "--name", name])
            .args(["--duration", &duration.as_secs().to_string()])
            .args(["--stats-every", &STATS_EVERY_MS.to_string()])
            .arg("--stats-json")
            .arg(&stats_json)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        match room {
            Some(room) => command.args(["--room", room]),
            None => command.args(["--create", "netbench"]),
        };
        let mut child = command.spawn().context("could not start quartet bot")?;
        let pid = child.id();
        let stdout = child.stdout.take().context("bot stdout")?;
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (tx, joined) = mpsc::channel();
        let kept = samples.clone();
        std::thread::Builder::new()
            .name(format!("bot-{name}"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let at = start.elapsed().as_secs_f64();
                    if let Some(tiles) = parse_stats_line(&line) {
                        let cpu_s = quartet_testkit::cpu_seconds(pid);
                        kept.lock().unwrap_or_else(|e| e.into_inner()).push(Sample {
                            at,
                            tiles,
                            cpu_s,
                        });
                    } else if let Some(room) = line
                        .strip_prefix("joined room ")
                        .and_then(|r| r.split_whitespace().next())
                    {
                        let _ = tx.send(room.to_owned());
                    }
                }
            })?;
        Ok(Bot {
            name: name.to_owned(),
            stats_json,
            samples,
            child: Some(ChildGuard(child)),
            joined,
            leaves_at,
        })
    }

    /// The room the bot joined, once it says so.
    pub fn room(&self) -> Result<String> {
        self.joined
            .recv_timeout(CREATE_TIMEOUT)
            .with_context(|| format!("bot {} did not join within {CREATE_TIMEOUT:?}", self.name))
    }

    /// Waits for the bot to leave by itself, then returns its stats lines and its JSON figures.
    pub fn finish(mut self) -> Result<(Vec<Sample>, serde_json::Value)> {
        if let Some(mut guard) = self.child.take() {
            let deadline = self.leaves_at + EXIT_TIMEOUT;
            while guard.0.try_wait()?.is_none() {
                if Instant::now() > deadline {
                    guard.stop();
                    bail!("bot {} did not leave in time", self.name);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let json = std::fs::read_to_string(&self.stats_json)
            .with_context(|| format!("bot {} wrote no figures", self.name))?;
        let samples = std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()));
        Ok((samples, serde_json::from_str(&json)?))
    }
}
