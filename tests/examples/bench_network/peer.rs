//! The peer in the table: FFmpeg's CLI publishing through the weak link, as people publish to
//! nginx-rtmp or any RTMP server, for a member that joined the room without media.
//!
//! FFmpeg's own test sources carry no frame clock, so the pictures are Quartet's synthetic
//! source (clock burned in at capture), written as YUV4MPEG2 into FFmpeg's stdin in real time:
//! when FFmpeg stops reading (its socket is full), the writer blocks and the source skips
//! ahead, so a frame's clock is always the time it was made, as with a camera.

use anyhow::{Context, Result, bail};
use quartet_call::config::{
    DEFAULT_AUDIO_KBPS, DEFAULT_FPS, DEFAULT_HEIGHT, DEFAULT_KEYFRAME_INTERVAL, DEFAULT_VIDEO_KBPS,
    DEFAULT_WIDTH, TONE_HZ,
};
use quartet_media::{SyntheticVideo, VideoSource};
use quartet_testkit::ChildGuard;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the member without media may take to join and say where to publish.
const JOIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Which RTMP server the room's streams go through.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rtmp {
    /// The relay inside `quartet server`.
    Relay,
    /// nginx with the RTMP module, `quartet server --no-relay` signing URLs for it.
    Nginx,
}

/// A room member whose stream FFmpeg's CLI publishes: `quartet join` (no media) for the room,
/// FFmpeg in the lab's namespace for the stream.
pub struct FfmpegMember {
    /// The room it created.
    pub room: String,
    feeder: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    ffmpeg: Option<ChildGuard>,
    member: Option<ChildGuard>,
}

impl FfmpegMember {
    /// Joins `server` as `name`, creating a room, and starts `ffmpeg` (a command in the lab's
    /// namespace) publishing the bot's default picture, rate and bitrate to its push URL.
    pub fn start(quartet: &Path, server: &str, name: &str, ffmpeg: Command) -> Result<Self> {
        let mut member = Command::new(quartet);
        member
            .args(["join", "--server", server, "--create", "netbench"])
            .args(["--name", name, "--no-stdin", "--print-push-url"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = member.spawn().context("could not start quartet join")?;
        let stdout = child.stdout.take().context("join stdout")?;
        let member = ChildGuard(child);
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("join-{name}"))
            .spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            })?;
        let (mut push, mut room) = (None, None);
        while push.is_none() || room.is_none() {
            let line = rx
                .recv_timeout(JOIN_TIMEOUT)
                .with_context(|| format!("{name} did not join within {JOIN_TIMEOUT:?}"))?;
            if let Some(url) = line.strip_prefix("push URL: ") {
                push = Some(url.trim().to_owned());
            } else if let Some(r) = line.strip_prefix("joined room ") {
                room = r.split_whitespace().next().map(str::to_owned);
            }
        }
        let (push, room) = (push.unwrap_or_default(), room.unwrap_or_default());
        let (ffmpeg, stdin) = spawn_ffmpeg(ffmpeg, &push)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let picture = name.to_owned();
        let feeder = std::thread::Builder::new()
            .name("y4m-feeder".into())
            .spawn(move || {
                if let Err(e) = feed(stdin, &picture, &stopped) {
                    eprintln!("network: feeding FFmpeg stopped: {e:#}");
                }
            })?;
        Ok(FfmpegMember {
            room,
            feeder: Some(feeder),
            stop,
            ffmpeg: Some(ffmpeg),
            member: Some(member),
        })
    }

    /// Stops FFmpeg and the feeder, then leaves the room.
    pub fn stop(mut self) -> Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(f) = self.ffmpeg.take() {
            f.stop();
        }
        if let Some(f) = self.feeder.take() {
            let _ = f.join();
        }
        if let Some(m) = self.member.take() {
            m.stop();
        }
        Ok(())
    }
}

/// `ffmpeg` reading YUV4MPEG2 on stdin and a sine, encoding as the bot does (libx264
/// zerolatency at the bot's bitrate and keyframe interval, no B-frames; AAC mono 48 kHz) and
/// publishing FLV to `url`.
fn spawn_ffmpeg(mut ffmpeg: Command, url: &str) -> Result<(ChildGuard, ChildStdin)> {
    let kbps = DEFAULT_VIDEO_KBPS;
    let gop = (f64::from(DEFAULT_FPS) * DEFAULT_KEYFRAME_INTERVAL.as_secs_f64()).round() as u32;
    ffmpeg
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        .args(["-f", "yuv4mpegpipe", "-i", "pipe:0"])
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency={TONE_HZ}:sample_rate=48000"))
        .args(["-map", "0:v", "-map", "1:a"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-tune",
            "zerolatency",
        ])
        .args(["-pix_fmt", "yuv420p", "-bf", "0", "-g", &gop.to_string()])
        .args(["-b:v", &format!("{kbps}k"), "-maxrate", &format!("{kbps}k")])
        .args(["-bufsize", &format!("{kbps}k")])
        .args(["-c:a", "aac", "-ar", "48000", "-ac", "1"])
        .args(["-b:a", &format!("{DEFAULT_AUDIO_KBPS}k")])
        .args(["-f", "flv", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let mut child = ffmpeg.spawn().context("could not start ffmpeg")?;
    let stdin = child.stdin.take().context("ffmpeg stdin")?;
    Ok((ChildGuard(child), stdin))
}

/// Writes the synthetic pictures to `out` in real time until `stop` or FFmpeg goes away.
fn feed(out: ChildStdin, name: &str, stop: &AtomicBool) -> Result<()> {
    let mut source = SyntheticVideo::new(name, DEFAULT_WIDTH, DEFAULT_HEIGHT, DEFAULT_FPS)?;
    let mut out = std::io::BufWriter::new(out);
    writeln!(
        out,
        "YUV4MPEG2 W{DEFAULT_WIDTH} H{DEFAULT_HEIGHT} F{DEFAULT_FPS}:1 Ip A1:1 C420jpeg"
    )?;
    while !stop.load(Ordering::SeqCst) {
        let Some(frame) = source.next_frame()? else {
            continue;
        };
        if frame.width() != DEFAULT_WIDTH || frame.height() != DEFAULT_HEIGHT {
            bail!("the source made {}x{}", frame.width(), frame.height());
        }
        let written = out
            .write_all(b"FRAME\n")
            .and_then(|()| out.write_all(frame.data()))
            .and_then(|()| out.flush());
        if written.is_err() {
            // FFmpeg has gone (stopped, or failed and said why on stderr).
            break;
        }
    }
    Ok(())
}
