//! Test support shared by the relay, media and end-to-end tests: a real third-party RTMP server
//! (nginx with Debian's RTMP module) on a free loopback port, and FFmpeg's CLI as an independent
//! peer, so our code is never tested only against itself; an RTMP client of our own
//! ([`rtmp`]) for what those peers cannot do; sounds made here ([`sounds`]); and picture
//! similarity ([`picture`]); and a real Redis ([`RedisServer`]) for the shared room store.

pub mod media_file;
pub mod picture;
mod redis;
pub mod rtmp;
pub mod sounds;

pub use redis::RedisServer;

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's libnginx-mod-rtmp installs the module.
pub const NGINX_RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
/// How long nginx may take to start listening.
pub const NGINX_START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stopping process may take before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// What went wrong starting a test peer.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A program the tests need is not installed (`cargo xtask setup` installs it).
    #[error("{program} is not installed ({hint}); run `cargo xtask setup`")]
    Missing {
        /// The program.
        program: &'static str,
        /// The package that provides it.
        hint: &'static str,
    },
    /// Spawning or talking to the program failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The program ran and failed.
    #[error("{program} failed: {detail}")]
    Failed {
        /// The program.
        program: &'static str,
        /// Its stderr, or what was missing from its output.
        detail: String,
    },
    /// The program exited or never listened.
    #[error("{program} did not start: {detail}")]
    NotStarted {
        /// The program.
        program: &'static str,
        /// Its stderr, or what was waited for.
        detail: String,
    },
}

/// What `cmd` (the CLI `program`) printed on stdout; its stderr as the error when it fails.
pub(crate) fn output_of(program: &'static str, cmd: &mut Command) -> Result<Vec<u8>, TestkitError> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    Err(TestkitError::Failed {
        program,
        detail: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// A free TCP port on 127.0.0.1 (bound then released; good enough for a program we start next).
pub fn free_port() -> Result<u16, TestkitError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Fails with a clear message when `program` is not on PATH.
pub fn require(program: &'static str, hint: &'static str) -> Result<PathBuf, TestkitError> {
    which(program).ok_or(TestkitError::Missing { program, hint })
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn wait_listening(
    addr: SocketAddr,
    child: &mut Child,
    program: &'static str,
) -> Result<(), TestkitError> {
    let deadline = Instant::now() + NGINX_START_TIMEOUT;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            let mut err = String::new();
            if let Some(mut s) = child.stderr.take() {
                let _ = s.read_to_string(&mut err);
            }
            return Err(TestkitError::NotStarted {
                program,
                detail: format!("exited with {status}: {err}"),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(TestkitError::NotStarted {
        program,
        detail: format!("nothing listening on {addr}"),
    })
}

/// Ends a child politely (SIGTERM), then by force after [`STOP_TIMEOUT`].
pub fn stop_child(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// nginx with the RTMP module, in the foreground, on a free loopback port; stopped on drop.
///
/// Application `live` is a plain live application (no keyframe cache, as nginx-rtmp has none).
pub struct NginxRtmp {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl NginxRtmp {
    /// Starts nginx on a free port and waits until it accepts connections.
    pub fn start() -> Result<NginxRtmp, TestkitError> {
        Self::start_on(free_port()?)
    }

    /// Starts nginx on `port` (to restart a server on the port its clients know).
    pub fn start_on(port: u16) -> Result<NginxRtmp, TestkitError> {
        Self::start_at(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    /// Starts nginx on a free port of `ip`, e.g. the host side of a network lab, so a peer in
    /// another network namespace reaches it.
    pub fn start_on_ip(ip: IpAddr) -> Result<NginxRtmp, TestkitError> {
        let port = TcpListener::bind((ip, 0))?.local_addr()?.port();
        Self::start_at(SocketAddr::new(ip, port))
    }

    /// Starts nginx listening on `addr`.
    pub fn start_at(addr: SocketAddr) -> Result<NginxRtmp, TestkitError> {
        Self::start_with(addr, "live on; record off; wait_key on;")
    }

    /// Starts an edge on a free loopback port: its application `live` pulls each stream asked
    /// of it from `origin`'s, as an nginx-rtmp cluster (and SRS's, and a CDN's) does, so
    /// members publish to the origin and play from the edge.
    pub fn start_edge(origin: &NginxRtmp) -> Result<NginxRtmp, TestkitError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        Self::start_with(
            addr,
            &format!(
                "live on; record off; wait_key on; pull {};",
                origin.base_url()
            ),
        )
    }

    /// Starts nginx on `addr` with `application` as the directives of application `live`.
    fn start_with(addr: SocketAddr, application: &str) -> Result<NginxRtmp, TestkitError> {
        let port = addr.port();
        let nginx = require("nginx", "Debian package nginx")?;
        if !Path::new(NGINX_RTMP_MODULE).is_file() {
            return Err(TestkitError::Missing {
                program: "ngx_rtmp_module",
                hint: "Debian package libnginx-mod-rtmp",
            });
        }
        let dir = std::env::temp_dir().join(format!(
            "quartet-nginx-{}-{}-{port}",
            std::process::id(),
            addr.ip()
        ));
        std::fs::create_dir_all(dir.join("logs"))?;
        let conf = format!(
            "load_module {NGINX_RTMP_MODULE};\n\
             daemon off;\nmaster_process off;\nworker_processes 1;\n\
             error_log {dir}/logs/error.log warn;\npid {dir}/nginx.pid;\n\
             events {{ worker_connections 4096; }}\n\
             rtmp {{\n  server {{\n    listen {addr};\n    chunk_size 4096;\n\
             \x20   application live {{ {application} }}\n  }}\n}}\n",
            dir = dir.display()
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let mut child = Command::new(nginx)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.join("logs/startup.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        if let Err(e) = wait_listening(addr, &mut child, "nginx") {
            stop_child(&mut child);
            return Err(e);
        }
        Ok(NginxRtmp { child, addr, dir })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `rtmp://{address}:{port}/live`, the base for stream URLs.
    pub fn base_url(&self) -> String {
        format!("rtmp://{}/live", self.addr)
    }

    /// The full URL of `stream` in application `live`.
    pub fn url(&self, stream: &str) -> String {
        format!("{}/{stream}", self.base_url())
    }

    /// The process id, e.g. to measure its CPU and memory.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops nginx now (the drop does the same).
    pub fn stop(mut self) {
        stop_child(&mut self.child);
    }
}

impl Drop for NginxRtmp {
    fn drop(&mut self) {
        stop_child(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A child process stopped (SIGTERM, then SIGKILL) when dropped, e.g. an FFmpeg CLI peer.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// Stops the process now.
    pub fn stop(mut self) {
        stop_child(&mut self.0);
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        stop_child(&mut self.0);
    }
}

/// FFmpeg's CLI publishing a synthetic H.264 + AAC stream (test pattern + tone) to `url` in real time.
///
/// zerolatency x264 with a 1 s GOP, so players join fast; runs until stopped.
pub fn ffmpeg_publish(
    url: &str,
    width: u32,
    height: u32,
    fps: u32,
) -> Result<ChildGuard, TestkitError> {
    let ffmpeg = require("ffmpeg", "Debian package ffmpeg")?;
    let child = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!("testsrc2=size={width}x{height}:rate={fps}"))
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-g", &fps.to_string(), "-bf", "0"])
        .args(["-c:a", "aac", "-ar", "48000", "-ac", "1", "-b:a", "64k"])
        .args(["-f", "flv", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    Ok(ChildGuard(child))
}

/// What FFmpeg's CLI found when it read a stream: codec names and how many frames it decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    /// Video codec name (e.g. `h264`), if any.
    pub video_codec: Option<String>,
    /// Audio codec name (e.g. `aac`), if any.
    pub audio_codec: Option<String>,
    /// Video frames decoded.
    pub video_frames: u64,
}

/// Plays `url` with FFmpeg's CLI for `seconds`, decoding everything, and reports what it found.
///
/// A read timeout keeps a stream that never starts from hanging the test.
pub fn ffmpeg_probe(url: &str, seconds: u32) -> Result<Probe, TestkitError> {
    let ffmpeg = require("ffmpeg", "Debian package ffmpeg")?;
    let out = Command::new(ffmpeg)
        .args([
            "-hide_banner",
            "-nostdin",
            "-rw_timeout",
            "10000000",
            "-i",
            url,
        ])
        .args(["-t", &seconds.to_string(), "-f", "null", "-"])
        .stdin(Stdio::null())
        .output()?;
    let log = String::from_utf8_lossy(&out.stderr);
    let mut probe = Probe::default();
    for line in log.lines() {
        let l = line.trim();
        if !l.starts_with("Stream #0") {
            continue;
        }
        let codec = |marker: &str| {
            l.split_once(marker)
                .and_then(|(_, rest)| rest.split([' ', ',']).next())
                .map(str::to_owned)
        };
        if probe.video_codec.is_none() {
            probe.video_codec = codec("Video: ");
        }
        if probe.audio_codec.is_none() {
            probe.audio_codec = codec("Audio: ");
        }
    }
    // The last progress line ("frame=  123 fps=...") counts decoded video frames.
    if let Some(frames) = log
        .rsplit("frame=")
        .next()
        .and_then(|s| s.split_whitespace().next())
    {
        probe.video_frames = frames.parse().unwrap_or(0);
    }
    if probe.video_codec.is_none() && probe.audio_codec.is_none() {
        return Err(TestkitError::NotStarted {
            program: "ffmpeg",
            detail: log.into_owned(),
        });
    }
    Ok(probe)
}

/// Resident memory of process `pid` in MiB (`VmRSS` of `/proc/<pid>/status`); `None` where
/// that file cannot be read (the process is gone, or this is not Linux).
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

/// CPU time (user and system) process `pid` has used so far, s; `None` when it cannot be read.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    process_stat(pid).map(|p| p.cpu_seconds)
}

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessStat {
    /// Its command name (at most 15 characters).
    pub name: String,
    /// Its parent's pid.
    pub parent: u32,
    /// CPU time (user and system) used so far, s.
    pub cpu_seconds: f64,
}

/// Process `pid`'s name, parent and CPU time; `None` when it cannot be read (gone, or not Linux).
pub fn process_stat(pid: u32) -> Option<ProcessStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// A `/proc/<pid>/stat` line read.
pub fn parse_stat(stat: &str) -> Option<ProcessStat> {
    // The command name is in parentheses and may hold spaces or parentheses itself.
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state, ppid, …; utime and stime are fields 14 and 15 of stat(5), 12 and
    // 13 after the name and state.
    let parent = fields.get(1)?.parse().ok()?;
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ProcessStat {
        name,
        parent,
        cpu_seconds: ticks / CLOCK_TICKS_PER_SECOND,
    })
}

/// Removes X display `n`'s socket and lock file once its server is gone: an Xvfb that is killed
/// (not asked to end) leaves both, and callers that pick the first display without a socket
/// would run out of numbers.
pub fn forget_x_display(n: u32) {
    let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{n}"));
    let _ = std::fs::remove_file(format!("/tmp/.X{n}-lock"));
}

/// `sysconf(_SC_CLK_TCK)` on every Linux this runs on: /proc/[pid]/stat counts in these.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_name_parent_and_cpu_even_with_spaces_in_the_name() {
        let line =
            "4242 (WebKit Web (x)) S 4200 4242 4200 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 9 0";
        let p = parse_stat(line).expect("a stat line");
        assert_eq!(p.name, "WebKit Web (x)");
        assert_eq!(p.parent, 4200);
        assert!((p.cpu_seconds - 2.0).abs() < 1e-9, "{p:?}");
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn nginx_relays_an_ffmpeg_stream_to_an_ffmpeg_player() {
        let nginx = NginxRtmp::start().unwrap();
        let url = nginx.url("probe_test");
        let _publisher = ffmpeg_publish(&url, 320, 180, 15).unwrap();
        let probe = ffmpeg_probe(&url, 2).unwrap();
        assert_eq!(probe.video_codec.as_deref(), Some("h264"));
        assert_eq!(probe.audio_codec.as_deref(), Some("aac"));
        assert!(probe.video_frames > 0, "{probe:?}");
    }

    #[test]
    fn nginx_listens_on_the_address_it_is_given_only() {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let nginx = NginxRtmp::start_on_ip(ip).unwrap();
        let url = nginx.url("elsewhere");
        assert!(url.starts_with("rtmp://127.0.0.2:"), "{url}");
        let _publisher = ffmpeg_publish(&url, 320, 180, 15).unwrap();
        assert!(ffmpeg_probe(&url, 2).unwrap().video_frames > 0);
        let other = SocketAddr::from((Ipv4Addr::LOCALHOST, nginx.port()));
        assert!(TcpStream::connect(other).is_err(), "not on 127.0.0.1 too");
    }

    #[test]
    fn probing_nothing_fails_instead_of_hanging() {
        let port = free_port().unwrap();
        let err = ffmpeg_probe(&format!("rtmp://127.0.0.1:{port}/live/none"), 1).unwrap_err();
        assert!(matches!(err, TestkitError::NotStarted { .. }));
    }
}
