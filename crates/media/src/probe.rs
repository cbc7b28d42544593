//! Reading any RTMP or HTTP-FLV stream for a while and telling what it carries: codecs and their
//! parameters, how long the first picture took, the bitrate over the window and, when the
//! pictures carry Quartet's frame [`clock`](crate::clock), how late they arrive.
//!
//! A tester's tool (`quartet probe`), not a player: one connection, FFmpeg's own stream analysis
//! for the parameters, video decoded only to find the first picture and read the clock, sound
//! not decoded. Blocking; run it on a thread of its own and stop it with the `stop` closure.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{Dictionary, Error, Packet, Rational, codec, frame, media};

use crate::ffi;
use crate::stream_info::{audio_format, video_format};
use quartet_proto::redact::Redacted;

/// Longest wait for the connection and the stream's parameters, and for any one read after.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pictures decoded this soon after the stream opened are not counted in the latency: a relay
/// starts a player with its cached group of pictures, old by design, which arrive at once.
/// (Half the window, when the window is shorter than twice this.)
pub const LATENCY_SETTLE: Duration = Duration::from_secs(1);
/// Most stream analysis FFmpeg may do before the window starts (media time): the codec
/// parameters come with the sequence headers, at the start of a live stream, so more would
/// only delay the first frame (the frame rate is measured over the window instead).
const ANALYZE_DURATION: Duration = Duration::from_millis(500);

/// Why a probe gave no report.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Not an RTMP or HTTP(S) URL.
    #[error("not an RTMP or HTTP-FLV URL: {0}")]
    BadUrl(String),
    /// The stream could not be opened (refused, unreachable, not found, not FLV).
    #[error("cannot open {url}: {reason}")]
    Open {
        /// The URL, its query hidden.
        url: String,
        /// FFmpeg's reason.
        reason: String,
    },
    /// Nothing usable arrived within the timeout.
    #[error("no media from {url} within {timeout:?}")]
    TimedOut {
        /// The URL, its query hidden.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// Stopped by the caller.
    #[error("interrupted")]
    Interrupted,
}

pub use crate::stream_info::{AudioFormat, VideoFormat, avc_profile_level};

/// Capture → decoded latency read from the frame clock, ms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Latency {
    /// Frames whose clock was read.
    pub samples: usize,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Least.
    pub min_ms: f64,
    /// Most.
    pub max_ms: f64,
}

/// What a probe found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeReport {
    /// The video stream, if any.
    pub video: Option<VideoFormat>,
    /// The audio stream, if any.
    pub audio: Option<AudioFormat>,
    /// Start → stream opened and its parameters known, ms.
    pub open_ms: f64,
    /// Start → first decoded picture, ms.
    pub first_frame_ms: Option<f64>,
    /// Length of the window media was counted over, s.
    pub window_s: f64,
    /// Bytes of media received in the window.
    pub bytes: u64,
    /// Media bitrate over the window, kbit/s.
    pub kbps: f64,
    /// Video part of it, kbit/s.
    pub video_kbps: f64,
    /// Audio part of it, kbit/s.
    pub audio_kbps: f64,
    /// Video frames received in the window.
    pub video_frames: u64,
    /// Keyframes among them.
    pub keyframes: u64,
    /// Frames per second, from the frames' timestamps.
    pub fps: Option<f64>,
    /// Mean time between keyframes, s.
    pub keyframe_interval_s: Option<f64>,
    /// Latency, when the pictures carry Quartet's frame clock (after [`LATENCY_SETTLE`]).
    pub latency: Option<Latency>,
}

/// Checks `url` is one a probe can read.
pub fn check_url(url: &str) -> Result<(), ProbeError> {
    const SCHEMES: [&str; 4] = ["rtmp://", "rtmps://", "http://", "https://"];
    if SCHEMES.iter().any(|s| url.starts_with(s)) && url.len() > 8 {
        Ok(())
    } else {
        Err(ProbeError::BadUrl(Redacted(url).to_string()))
    }
}

/// Reads `url` for `window` after it opened and reports; `timeout` bounds the opening and each
/// read. Returns early with what it has when the stream ends.
pub fn probe(
    url: &str,
    window: Duration,
    timeout: Duration,
    stop: impl Fn() -> bool + Send + Sync + 'static,
) -> Result<ProbeReport, ProbeError> {
    crate::init();
    check_url(url)?;
    let shown = Redacted(url).to_string();
    let started = Instant::now();
    let stop = Arc::new(stop);
    // Milliseconds since `started` past which any FFmpeg wait gives up.
    let deadline = Arc::new(AtomicU64::new(millis(timeout)));
    let interrupt = {
        let (stop, deadline) = (Arc::clone(&stop), Arc::clone(&deadline));
        move || stop() || millis(started.elapsed()) > deadline.load(Ordering::Relaxed)
    };
    let failed = |e: Error| open_error(e, stop(), &shown, timeout);
    let options = open_options(url, timeout);
    let mut input = ffi::open_input(url, Some("flv"), options, interrupt, true).map_err(failed)?;
    let mut report = ProbeReport {
        open_ms: ms(started.elapsed()),
        ..ProbeReport::default()
    };
    let mut streams = Streams::default();
    for stream in input.streams() {
        streams.add(&stream, &mut report);
    }
    let opened = Instant::now();
    deadline.store(
        millis(started.elapsed() + window + timeout),
        Ordering::Relaxed,
    );
    let mut counts = Counts::default();
    let mut decoded = frame::Video::empty();
    let times = Times {
        started,
        opened,
        settle: LATENCY_SETTLE.min(window / 2),
    };
    while opened.elapsed() < window {
        let mut packet = Packet::empty();
        match packet.read(&mut input) {
            Ok(()) => {}
            Err(Error::Other { errno }) if errno == EAGAIN => continue,
            Err(Error::Eof) => break,
            Err(e) if counts.bytes == 0 => return Err(failed(e)),
            Err(e) => {
                tracing::debug!(error = %e, "probe read ended");
                break;
            }
        }
        let size = packet.size() as u64;
        counts.bytes += size;
        if Some(packet.stream()) == streams.audio {
            counts.audio_bytes += size;
            continue;
        }
        let Some(video) = streams
            .video
            .as_mut()
            .filter(|v| v.index == packet.stream())
        else {
            continue;
        };
        counts.video_bytes += size;
        counts.video(&packet, video.time_base);
        video.read_pictures(
            &packet,
            &mut decoded,
            times,
            &mut report,
            &mut counts.latencies,
        );
    }
    if stop() {
        return Err(ProbeError::Interrupted);
    }
    counts.finish(opened.elapsed(), &mut report);
    Ok(report)
}

/// The streams worth a look, and the decoder of the video one.
#[derive(Default)]
struct Streams {
    video: Option<VideoStream>,
    audio: Option<usize>,
}

struct VideoStream {
    index: usize,
    time_base: Rational,
    decoder: ffmpeg_next::decoder::Video,
}

impl Streams {
    fn add(&mut self, stream: &ffmpeg_next::Stream<'_>, report: &mut ProbeReport) {
        let Ok(ctx) = codec::Context::from_parameters(stream.parameters()) else {
            return;
        };
        match ctx.medium() {
            media::Type::Video if self.video.is_none() => {
                let Some((format, decoder)) = video_format(stream, ctx) else {
                    return;
                };
                report.video = Some(format);
                self.video = Some(VideoStream {
                    index: stream.index(),
                    time_base: stream.time_base(),
                    decoder,
                });
            }
            media::Type::Audio if self.audio.is_none() => {
                let Some((format, _)) = audio_format(ctx) else {
                    return;
                };
                report.audio = Some(format);
                self.audio = Some(stream.index());
            }
            _ => {}
        }
    }
}

/// What a failed open or first read means: a stop asked for, a timeout (FFmpeg's interrupt
/// answers `Exit`), or FFmpeg's own reason; `shown` is the URL with its query hidden.
fn open_error(e: Error, stopped: bool, shown: &str, timeout: Duration) -> ProbeError {
    if stopped {
        ProbeError::Interrupted
    } else if matches!(e, Error::Exit) {
        ProbeError::TimedOut {
            url: shown.to_owned(),
            timeout,
        }
    } else {
        ProbeError::Open {
            url: shown.to_owned(),
            reason: e.to_string(),
        }
    }
}

/// FFmpeg's options for opening `url`: reads bounded by `timeout`, a short stream analysis, and
/// for RTMP a live play with no Nagle delay.
fn open_options(url: &str, timeout: Duration) -> Dictionary<'static> {
    let mut o = Dictionary::new();
    o.set("rw_timeout", &timeout.as_micros().to_string());
    o.set("analyzeduration", &ANALYZE_DURATION.as_micros().to_string());
    o.set("fpsprobesize", "0");
    if url.starts_with("rtmp") {
        o.set("rtmp_live", "live");
        o.set("tcp_nodelay", "1");
    }
    o
}

/// When the probe started, when the stream opened, and how long after opening latency is not
/// yet counted (a joiner's first pictures come from the relay's cache, late by design).
#[derive(Clone, Copy)]
struct Times {
    started: Instant,
    opened: Instant,
    settle: Duration,
}

impl VideoStream {
    /// Decodes `packet`: the first picture sets the report's first-frame time, and each picture
    /// after the settling time that carries a frame clock adds its lateness to `latencies`.
    fn read_pictures(
        &mut self,
        packet: &Packet,
        decoded: &mut frame::Video,
        times: Times,
        report: &mut ProbeReport,
        latencies: &mut Vec<f64>,
    ) {
        if self.decoder.send_packet(packet).is_ok() {
            while self.decoder.receive_frame(decoded).is_ok() {
                report
                    .first_frame_ms
                    .get_or_insert(ms(times.started.elapsed()));
                let (w, h) = (decoded.width(), decoded.height());
                if times.opened.elapsed() < times.settle {
                    continue;
                }
                if let Some(at) = crate::clock::read(decoded.data(0), decoded.stride(0), w, h) {
                    let late = (crate::unix_micros() - at) as f64 / 1_000.0;
                    latencies.push(late);
                }
            }
        }
    }
}

/// What the window's packets add up to.
#[derive(Default)]
struct Counts {
    bytes: u64,
    video_bytes: u64,
    audio_bytes: u64,
    video_frames: u64,
    keyframes: u64,
    first_pts_ms: Option<f64>,
    last_pts_ms: Option<f64>,
    keyframe_pts_ms: Vec<f64>,
    latencies: Vec<f64>,
}

impl Counts {
    fn video(&mut self, packet: &Packet, time_base: Rational) {
        self.video_frames += 1;
        let pts = packet
            .pts()
            .or(packet.dts())
            .map(|t| t as f64 * f64::from(time_base) * 1_000.0);
        if let Some(pts) = pts {
            self.first_pts_ms.get_or_insert(pts);
            self.last_pts_ms = Some(pts);
        }
        if packet.is_key() {
            self.keyframes += 1;
            self.keyframe_pts_ms.extend(pts);
        }
    }

    fn finish(self, window: Duration, report: &mut ProbeReport) {
        let secs = window.as_secs_f64().max(f64::EPSILON);
        let kbps = |bytes: u64| bytes as f64 * 8.0 / secs / 1_000.0;
        report.window_s = window.as_secs_f64();
        report.bytes = self.bytes;
        report.kbps = kbps(self.bytes);
        report.video_kbps = kbps(self.video_bytes);
        report.audio_kbps = kbps(self.audio_bytes);
        report.video_frames = self.video_frames;
        report.keyframes = self.keyframes;
        report.fps = match (self.first_pts_ms, self.last_pts_ms) {
            (Some(a), Some(b)) if b > a && self.video_frames > 1 => {
                Some((self.video_frames - 1) as f64 * 1_000.0 / (b - a))
            }
            _ => None,
        };
        report.keyframe_interval_s = match self.keyframe_pts_ms.as_slice() {
            [first, .., last] if last > first => {
                Some((last - first) / 1_000.0 / (self.keyframe_pts_ms.len() - 1) as f64)
            }
            _ => None,
        };
        report.latency = latency(&self.latencies);
    }
}

/// The figures of `samples`, if any.
fn latency(samples: &[f64]) -> Option<Latency> {
    let p = |q| crate::stats::percentile(samples, q);
    Some(Latency {
        samples: samples.len(),
        p50_ms: p(50.0)?,
        p95_ms: p(95.0)?,
        min_ms: samples.iter().copied().fold(f64::INFINITY, f64::min),
        max_ms: samples.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rtmp_and_http_urls_are_probed() {
        for good in [
            "rtmp://h/live/s",
            "http://h:8081/live/s.flv?x=1",
            "https://h/a.flv",
        ] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "file:///etc/passwd",
            "/tmp/x.flv",
            "rtmp://",
            "udp://h:1",
        ] {
            assert!(
                matches!(check_url(bad), Err(ProbeError::BadUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_window_adds_up_to_rates() {
        let mut counts = Counts {
            bytes: 250_000,
            video_bytes: 240_000,
            audio_bytes: 10_000,
            video_frames: 31,
            keyframes: 3,
            first_pts_ms: Some(1_000.0),
            last_pts_ms: Some(3_000.0),
            keyframe_pts_ms: vec![1_000.0, 2_000.0, 3_000.0],
            latencies: vec![],
        };
        let mut report = ProbeReport::default();
        counts.latencies = vec![40.0, 50.0, 60.0];
        counts.finish(Duration::from_secs(2), &mut report);
        assert_eq!(report.kbps, 1_000.0);
        assert_eq!(report.video_kbps, 960.0);
        assert_eq!(report.fps, Some(15.0));
        assert_eq!(report.keyframe_interval_s, Some(1.0));
        let latency = report.latency.unwrap();
        assert_eq!(
            (latency.samples, latency.min_ms, latency.max_ms),
            (3, 40.0, 60.0)
        );
        assert!(super::latency(&[]).is_none());
    }
}
