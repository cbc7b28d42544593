//! The publisher: H.264 (x264, zero latency, no B-frames, short GOP, keyframes on demand) and
//! AAC, written packet by packet as FLV over RTMP, reconnecting with backoff.
//!
//! Threads: `media-pub-video` and `media-pub-audio` pull the sources; `media-pub-send` encodes
//! and writes. Capture never waits for the network: when the encoder falls behind, video
//! frames are dropped (and counted), never queued.
//!
//! Both tracks are always sent, so players see one stable stream layout:
//! - **Muted** audio is encoded silence (the microphone keeps running).
//! - **Camera off** (or no camera, or a failed one) sends a black frame without a frame clock
//!   every [`CAMERA_OFF_INTERVAL`]: players keep a live video track, joiners still get
//!   keyframes, and [`VideoFrame::is_blank`] tells a player to show an avatar instead.
//! - **No microphone** sends silence.

mod capture;
mod session;

use crate::adapt::Rung;
use crate::frame::{AUDIO_SAMPLE_RATE, AudioChunk, VideoFrame};
use crate::redact::Redacted;
use crate::signal::{StopSignal, Workers};
use crate::source::{AudioSource, Interrupter, SourceError, VideoSource};
use crate::stats::{RateMeter, SampleWindow};
use capture::{audio_capture, video_capture};
use ffmpeg_next::{codec, encoder};
use session::send_loop;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

#[cfg(test)]
pub(crate) use session::{open_video_encoder, set_video_bitrate};

/// Longest allowed keyframe interval: players joining through a relay without a keyframe cache
/// wait up to this long for their first picture.
pub const MAX_KEYFRAME_INTERVAL: Duration = Duration::from_secs(2);
/// While the camera is off, a black frame goes out this often.
pub const CAMERA_OFF_INTERVAL: Duration = Duration::from_millis(500);
/// Video frames allowed between capture and encoder; more are dropped.
pub const MAX_QUEUED_VIDEO: usize = 2;
/// Capacity of the capture → encoder channel (audio chunks and video frames).
const INPUT_QUEUE: usize = 64;
/// A write blocked this long counts as a dead connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the send thread checks for stop while idle.
const IDLE_TICK: Duration = Duration::from_millis(50);
/// Audio whose capture time strays this far from the running audio clock resynchronises it.
pub const AUDIO_RESYNC: Duration = Duration::from_millis(200);
/// FFmpeg's AAC encoder emits its first packet this many samples before the first input sample
/// (encoder priming). Audio timestamps start this far in, so none is negative: FLV cannot carry
/// negative times and the muxer would otherwise reorder or refuse packets.
pub const AAC_PRIMING_SAMPLES: i64 = 1024;
/// The x264 preset: `veryfast` is a fair trade between quality and CPU at call sizes.
pub const DEFAULT_PRESET: &str = "veryfast";

/// What to send and where.
#[derive(Debug, Clone, PartialEq)]
pub struct PublisherConfig {
    /// The RTMP URL to publish to (e.g. a signed push URL).
    pub url: String,
    /// Encoded width (even); sources of other sizes are scaled.
    pub width: u32,
    /// Encoded height (even).
    pub height: u32,
    /// Frames per second the encoder is tuned for.
    pub fps: u32,
    /// Video bitrate in kbit/s.
    pub video_kbps: u32,
    /// Audio bitrate in kbit/s.
    pub audio_kbps: u32,
    /// Time between keyframes (at most [`MAX_KEYFRAME_INTERVAL`]).
    pub keyframe_interval: Duration,
    /// x264 preset.
    pub preset: String,
}

impl PublisherConfig {
    /// 640×360 at 15 fps, 500 kbit/s video, 64 kbit/s audio, a keyframe every second.
    pub fn new(url: impl Into<String>) -> PublisherConfig {
        PublisherConfig {
            url: url.into(),
            width: 640,
            height: 360,
            fps: 15,
            video_kbps: 500,
            audio_kbps: 64,
            keyframe_interval: Duration::from_secs(1),
            preset: DEFAULT_PRESET.to_owned(),
        }
    }

    fn validate(&self) -> Result<(), PublishError> {
        let bad = |m: String| Err(PublishError::InvalidConfig(m));
        if !self.url.starts_with("rtmp://") && !self.url.starts_with("rtmps://") {
            return bad(format!("not an RTMP URL: {}", Redacted(&self.url)));
        }
        if self.width < 16
            || self.height < 16
            || !self.width.is_multiple_of(2)
            || !self.height.is_multiple_of(2)
        {
            return bad(format!(
                "size {}x{} must be even and at least 16x16",
                self.width, self.height
            ));
        }
        if !(1..=60).contains(&self.fps) {
            return bad(format!("fps {} not in 1..=60", self.fps));
        }
        if self.video_kbps == 0 || self.audio_kbps == 0 {
            return bad("bitrates must be positive".to_owned());
        }
        if self.keyframe_interval.is_zero() || self.keyframe_interval > MAX_KEYFRAME_INTERVAL {
            return bad(format!(
                "keyframe interval must be in (0, {MAX_KEYFRAME_INTERVAL:?}]"
            ));
        }
        Ok(())
    }
}

/// Why a publisher could not start. Connection trouble is not an error: it is reported as
/// [`PublisherEvent::Disconnected`] and retried.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The settings are unusable.
    #[error("invalid publisher settings: {0}")]
    InvalidConfig(String),
    /// FFmpeg lacks an encoder we need.
    #[error("encoder {0} is not available in this FFmpeg")]
    MissingEncoder(&'static str),
    /// A thread could not be started.
    #[error("cannot start publisher thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// What happened to a publisher.
#[derive(Debug)]
pub enum PublisherEvent {
    /// Connecting to the server (attempt 1 is the first).
    Connecting {
        /// Attempt number since the last successful connection.
        attempt: u32,
    },
    /// Connected; media is flowing.
    Connected,
    /// The connection failed or broke; the next try is scheduled.
    Disconnected {
        /// Why.
        reason: String,
        /// When the next try comes.
        retry_in: Duration,
    },
    /// The video source failed; camera-off frames go out until a new source is set.
    VideoSourceFailed(SourceError),
    /// The audio source failed; silence goes out until a new source is set.
    AudioSourceFailed(SourceError),
    /// Our own uplink cannot carry the configured quality: the publisher now sends less (a
    /// lower bitrate, size or frame rate). Sent each time it goes from full quality to less.
    UplinkLimited {
        /// The rung now sent.
        rung: Rung,
        /// The video bitrate now asked of the encoder, kbit/s.
        video_kbps: u32,
    },
    /// Stopped for good.
    Stopped,
}

/// A snapshot of a publisher's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublisherStats {
    /// Connected to the server now.
    pub connected: bool,
    /// Successful connections after the first.
    pub reconnects: u64,
    /// Video frames encoded per second (recent).
    pub fps: f64,
    /// Bits per second written, video and audio, in kbit/s (recent).
    pub kbps: f64,
    /// Video frames encoded since start.
    pub frames_encoded: u64,
    /// Keyframes produced since start.
    pub keyframes: u64,
    /// Video frames dropped because the encoder or network fell behind.
    pub dropped_frames: u64,
    /// Mean time to encode one video frame, ms (recent).
    pub encode_ms_mean: Option<f64>,
    /// 95th percentile of video encode time, ms (recent).
    pub encode_ms_p95: Option<f64>,
    /// Audio is muted.
    pub audio_muted: bool,
    /// RMS level of the latest sound captured (0.0 silence), measured before muting so the
    /// person can be told they are talking while muted.
    pub mic_level: f32,
    /// Video is on.
    pub video_enabled: bool,
    /// The size and frame rate being sent (the configured ones unless the uplink is narrow).
    pub rung: Rung,
    /// The video bitrate asked of the encoder now, kbit/s.
    pub target_kbps: u32,
    /// Bitrate cuts and rung changes since start.
    pub adaptations: u64,
    /// Sending less than configured because our own uplink cannot carry it.
    pub uplink_limited: bool,
    /// What waits unsent on our socket, as time at the link's rate, ms (`None` where the
    /// platform does not tell).
    pub uplink_queue_ms: Option<f64>,
}

enum Input {
    Video(VideoFrame),
    Audio(AudioChunk),
}

#[derive(Default)]
struct Counters {
    fps: RateMeter,
    bytes: RateMeter,
    frames: u64,
    keyframes: u64,
    encode_ms: SampleWindow,
    reconnects: u64,
    connected: bool,
    rung: Rung,
    target_kbps: u32,
    adaptations: u64,
    uplink_limited: bool,
    uplink_queue_ms: Option<f64>,
}

type Pending<T> = Mutex<Option<Option<Box<T>>>>;

struct Shared {
    config: PublisherConfig,
    stop: StopSignal,
    keyframe_requested: AtomicBool,
    audio_muted: AtomicBool,
    /// `f32` bits of the latest captured sound's RMS level.
    mic_level: AtomicU32,
    video_enabled: AtomicBool,
    new_video: Pending<dyn VideoSource>,
    new_audio: Pending<dyn AudioSource>,
    video_interrupter: Mutex<Option<Interrupter>>,
    audio_interrupter: Mutex<Option<Interrupter>>,
    queued_video: AtomicUsize,
    dropped: AtomicU64,
    counters: Mutex<Counters>,
    events: UnboundedSender<PublisherEvent>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicked holder leaves plain data behind; carrying on beats poisoning the call.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn emit(&self, e: PublisherEvent) {
        let _ = self.events.send(e);
    }

    fn interrupt_sources(&self) {
        for i in [&self.video_interrupter, &self.audio_interrupter] {
            if let Some(i) = lock(i).as_ref() {
                i.interrupt();
            }
        }
    }
}

/// Starts publishers.
pub struct Publisher;

impl Publisher {
    /// Starts publishing `video` and `audio` to `config.url`, retrying until stopped.
    ///
    /// `None` for video sends camera-off frames; `None` for audio sends silence (a member
    /// without camera or microphone still has both tracks).
    pub fn start(
        config: PublisherConfig,
        video: Option<Box<dyn VideoSource>>,
        audio: Option<Box<dyn AudioSource>>,
    ) -> Result<(PublisherHandle, UnboundedReceiver<PublisherEvent>), PublishError> {
        crate::init();
        config.validate()?;
        if encoder::find_by_name("libx264").is_none() {
            return Err(PublishError::MissingEncoder("libx264"));
        }
        if encoder::find(codec::Id::AAC).is_none() {
            return Err(PublishError::MissingEncoder("aac"));
        }
        let (events, rx_events) = unbounded_channel();
        let counters = Counters {
            rung: Rung::new(config.width, config.height, config.fps),
            target_kbps: config.video_kbps,
            ..Counters::default()
        };
        let shared = Arc::new(Shared {
            config,
            stop: StopSignal::new(),
            keyframe_requested: AtomicBool::new(false),
            audio_muted: AtomicBool::new(false),
            mic_level: AtomicU32::new(0),
            video_enabled: AtomicBool::new(true),
            new_video: Mutex::new(None),
            new_audio: Mutex::new(None),
            video_interrupter: Mutex::new(None),
            audio_interrupter: Mutex::new(None),
            queued_video: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            counters: Mutex::new(counters),
            events,
        });
        let (tx, rx) = mpsc::sync_channel(INPUT_QUEUE);
        let workers = Workers::default();
        let result = (|| {
            let (s, t) = (Arc::clone(&shared), tx.clone());
            workers.spawn("media-pub-video", move || video_capture(&s, video, &t))?;
            let (s, t) = (Arc::clone(&shared), tx);
            workers.spawn("media-pub-audio", move || audio_capture(&s, audio, &t))?;
            let s = Arc::clone(&shared);
            workers.spawn("media-pub-send", move || send_loop(&s, &rx))
        })();
        let inner = Arc::new(HandleInner { shared, workers });
        if let Err(e) = result {
            inner.shutdown();
            return Err(e.into());
        }
        Ok((PublisherHandle { inner }, rx_events))
    }
}

struct HandleInner {
    shared: Arc<Shared>,
    workers: Workers,
}

impl HandleInner {
    fn shutdown(&self) {
        self.shared.stop.stop();
        self.shared.interrupt_sources();
        self.workers.join();
    }
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Controls a running publisher; clones share it. Dropping the last clone stops it (and waits
/// for its threads, like [`PublisherHandle::stop`]).
#[derive(Clone)]
pub struct PublisherHandle {
    inner: Arc<HandleInner>,
}

impl PublisherHandle {
    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Makes the next encoded frame a keyframe (e.g. when someone joins).
    pub fn request_keyframe(&self) {
        self.shared()
            .keyframe_requested
            .store(true, Ordering::SeqCst);
    }

    /// Mutes or unmutes: muted audio is sent as silence.
    pub fn set_audio_muted(&self, muted: bool) {
        self.shared().audio_muted.store(muted, Ordering::SeqCst);
    }

    /// Turns the camera on or off: off sends a black frame every [`CAMERA_OFF_INTERVAL`].
    pub fn set_video_enabled(&self, enabled: bool) {
        self.shared().video_enabled.store(enabled, Ordering::SeqCst);
        if enabled {
            // Players switch back to pictures without waiting for the next GOP.
            self.request_keyframe();
        }
    }

    /// Switches to another video source (`None`: camera-off frames). The old one is closed.
    pub fn replace_video_source(&self, source: Option<Box<dyn VideoSource>>) {
        *lock(&self.shared().new_video) = Some(source);
        if let Some(i) = lock(&self.shared().video_interrupter).as_ref() {
            i.interrupt();
        }
        self.request_keyframe();
    }

    /// Switches to another audio source (`None`: silence). The old one is closed.
    pub fn replace_audio_source(&self, source: Option<Box<dyn AudioSource>>) {
        *lock(&self.shared().new_audio) = Some(source);
        if let Some(i) = lock(&self.shared().audio_interrupter).as_ref() {
            i.interrupt();
        }
    }

    /// Current figures.
    pub fn stats(&self) -> PublisherStats {
        let s = self.shared();
        let now = Instant::now();
        let mut c = lock(&s.counters);
        PublisherStats {
            connected: c.connected,
            reconnects: c.reconnects,
            fps: c.fps.per_second(now),
            kbps: c.bytes.per_second(now) * 8.0 / 1000.0,
            frames_encoded: c.frames,
            keyframes: c.keyframes,
            dropped_frames: s.dropped.load(Ordering::Relaxed),
            encode_ms_mean: c.encode_ms.mean(),
            encode_ms_p95: c.encode_ms.percentile(95.0),
            audio_muted: s.audio_muted.load(Ordering::Relaxed),
            mic_level: f32::from_bits(s.mic_level.load(Ordering::Relaxed)),
            video_enabled: s.video_enabled.load(Ordering::Relaxed),
            rung: c.rung,
            target_kbps: c.target_kbps,
            adaptations: c.adaptations,
            uplink_limited: c.uplink_limited,
            uplink_queue_ms: c.uplink_queue_ms,
        }
    }

    /// Stops sending and joins every thread (blocks up to a few hundred ms; from async code
    /// prefer [`PublisherHandle::stop_async`]).
    pub fn stop(&self) {
        self.inner.shutdown();
    }

    /// [`PublisherHandle::stop`] without blocking the async runtime.
    pub async fn stop_async(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = tokio::task::spawn_blocking(move || inner.shutdown()).await;
    }
}

/// What to do with an audio chunk given the running audio clock, in samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioSync {
    /// Append it: the clocks agree.
    Append,
    /// The source paused: restart the audio clock at this sample position.
    JumpTo(i64),
    /// The source runs ahead of real time: drop the chunk.
    Drop,
}

/// Keeps the audio timeline (counted in samples) within [`AUDIO_RESYNC`] of capture times.
pub fn audio_sync(expected: i64, captured: i64) -> AudioSync {
    let tolerance = AUDIO_RESYNC.as_micros() as i64 * i64::from(AUDIO_SAMPLE_RATE) / 1_000_000;
    if captured > expected + tolerance {
        AudioSync::JumpTo(captured)
    } else if captured + tolerance < expected {
        AudioSync::Drop
    } else {
        AudioSync::Append
    }
}

/// Whether the next frame must be a keyframe.
pub fn keyframe_due(requested: bool, since_last: Option<Duration>, interval: Duration) -> bool {
    requested || since_last.is_none_or(|d| d >= interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_follows_capture_time() {
        let tol = AUDIO_RESYNC.as_micros() as i64 * 48 / 1000;
        assert_eq!(audio_sync(48_000, 48_000 + tol), AudioSync::Append);
        assert_eq!(audio_sync(48_000, 48_000 - tol), AudioSync::Append);
        assert_eq!(
            audio_sync(48_000, 48_001 + tol),
            AudioSync::JumpTo(48_001 + tol)
        );
        assert_eq!(audio_sync(48_000, 47_999 - tol), AudioSync::Drop);
    }

    #[test]
    fn keyframes_come_on_request_and_on_schedule() {
        let i = Duration::from_secs(1);
        assert!(keyframe_due(false, None, i));
        assert!(keyframe_due(true, Some(Duration::ZERO), i));
        assert!(!keyframe_due(false, Some(Duration::from_millis(999)), i));
        assert!(keyframe_due(false, Some(i), i));
    }

    use crate::convert::to_av;
    use ffmpeg_next::{Packet, frame};

    #[test]
    fn the_frame_clock_survives_a_real_encode_and_decode() {
        use crate::clock;
        use crate::convert::Scaler;
        use crate::source::SyntheticVideo;
        crate::init();
        // A starved bitrate: the clock must still read back, full size and scaled to a tile.
        let config = PublisherConfig {
            video_kbps: 100,
            ..PublisherConfig::new("rtmp://127.0.0.1:1/live/x")
        };
        let mut enc = open_video_encoder(&config).unwrap();
        let params = ffmpeg_next::codec::Parameters::from(&enc);
        let mut dec = codec::Context::from_parameters(params)
            .unwrap()
            .decoder()
            .video()
            .unwrap();
        let src = SyntheticVideo::new("clock test", 640, 360, 15).unwrap();
        let t0 = 1_763_974_800_000_000i64;
        let mut read = Vec::new();
        let mut scaler = Scaler::default();
        let mut out = frame::Video::empty();
        for i in 0..45i64 {
            let mut av = to_av(&src.render(i as u64, t0 + i * 66_667));
            av.set_pts(Some(i * 67));
            enc.send_frame(&av).unwrap();
            let mut packet = Packet::empty();
            while enc.receive_packet(&mut packet).is_ok() {
                dec.send_packet(&packet).unwrap();
                while dec.receive_frame(&mut out).is_ok() {
                    let full = clock::read(out.data(0), out.stride(0), out.width(), out.height());
                    let tile = scaler.frame_at(&out, 160, 90).unwrap();
                    read.push((full, clock::read_frame(&tile)));
                }
            }
        }
        assert!(
            read.len() >= 40,
            "zero latency: frames come out as they go in ({})",
            read.len()
        );
        for (i, (full, tile)) in read.iter().enumerate() {
            let want = Some(t0 + i as i64 * 66_667);
            assert_eq!((*full, *tile), (want, want), "frame {i}");
        }
    }

    #[test]
    fn the_open_encoder_takes_a_new_bitrate_without_a_restart_or_a_keyframe() {
        use crate::source::SyntheticVideo;
        crate::init();
        let config = PublisherConfig::new("rtmp://127.0.0.1:1/live/x");
        let mut enc = open_video_encoder(&config).unwrap();
        let src = SyntheticVideo::new("bitrate test", 640, 360, 15).unwrap();
        // Bytes and keyframes of frames 30..90 (the last 4 s) of each 90-frame phase.
        let phase = |enc: &mut encoder::Video, from: i64| {
            let (mut bytes, mut keys) = (0usize, 0);
            for i in from..from + 90 {
                let mut av = to_av(&src.render(i as u64, i * 66_667));
                av.set_pts(Some(i * 67));
                enc.send_frame(&av).unwrap();
                let mut packet = Packet::empty();
                while enc.receive_packet(&mut packet).is_ok() {
                    if i >= from + 30 {
                        bytes += packet.size();
                        keys += usize::from(packet.is_key());
                    }
                }
            }
            (bytes as f64 * 8.0 / 4.0 / 1000.0, keys)
        };
        let (full, _) = phase(&mut enc, 0);
        set_video_bitrate(&mut enc, 120);
        let (cut, keys) = phase(&mut enc, 90);
        eprintln!("x264 at 500 then 120 kbit/s: {full:.0} → {cut:.0} kbit/s, {keys} keyframes");
        assert!(
            full > 250.0,
            "the pattern fills most of 500 kbit/s: {full:.0}"
        );
        assert!(cut < 120.0 * 1.5, "{full:.0} → {cut:.0} kbit/s");
        // No keyframe beyond the GOP's own (one per second of frames, forced by x264's keyint).
        assert!(keys <= 5, "{keys} keyframes");
    }

    #[test]
    fn bad_configs_are_refused_before_any_thread_starts() {
        let ok = PublisherConfig::new("rtmp://127.0.0.1:1/live/x");
        assert!(ok.validate().is_ok());
        for bad in [
            PublisherConfig {
                url: "http://x".into(),
                ..ok.clone()
            },
            PublisherConfig {
                width: 641,
                ..ok.clone()
            },
            PublisherConfig {
                fps: 0,
                ..ok.clone()
            },
            PublisherConfig {
                video_kbps: 0,
                ..ok.clone()
            },
            PublisherConfig {
                keyframe_interval: Duration::from_secs(3),
                ..ok.clone()
            },
        ] {
            assert!(matches!(
                Publisher::start(bad, None, None),
                Err(PublishError::InvalidConfig(_))
            ));
        }
    }
}
