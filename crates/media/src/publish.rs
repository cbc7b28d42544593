//! The publisher: H.264 (x264, zero latency, no B-frames, short GOP, keyframes on demand) and
//! AAC, written packet by packet as FLV over RTMP, reconnecting with backoff.
//!
//! Threads: `media-pub-video` and `media-pub-audio` pull the sources (the latter also encodes
//! AAC, once for every stream); `media-pub-send` encodes video and writes the main stream, and
//! `media-pub-small` the optional small stream ([`SmallStreamConfig`]). Capture never waits for
//! the network: when an encoder falls behind, its video frames are dropped (and counted), never
//! queued, and one stream's stall never holds back the other.
//!
//! Both tracks are always sent, so players see one stable stream layout:
//! - **Muted** audio is encoded silence (the microphone keeps running).
//! - **Camera off** (or no camera, or a failed one) sends a black frame without a frame clock
//!   every [`CAMERA_OFF_INTERVAL`]: players keep a live video track, joiners still get
//!   keyframes, and [`VideoFrame::is_blank`] tells a player to show an avatar instead.
//! - **No microphone** sends silence.

mod audio;
mod capture;
mod cleaning;
mod content;
mod handle;
mod session;
mod shape;
mod small;
mod stamps;

use crate::adapt::Rung;
use crate::frame::{AUDIO_SAMPLE_RATE, VideoFrame};
use crate::mixer::SoundTaps;
use crate::processing::{AudioProcessing, ProcessingStats};
use crate::signal::{StopSignal, Workers};
use crate::source::{AudioSource, Interrupter, SourceError, VideoSource};
use crate::stats::{RateMeter, SampleWindow};
use audio::{AudioEncoder, open_audio_encoder};
use capture::{Outputs, audio_capture, video_capture};
use cleaning::Cleaning;
pub use content::{
    SCREEN_CRF, SCREEN_KEYFRAME_INTERVAL, SCREEN_PRESET, SCREEN_TUNE, VideoContent, X264Tuning,
    encoder_keyint,
};
use ffmpeg_next::{Packet, codec, encoder};
use handle::HandleInner;
pub use handle::PublisherHandle;
use quartet_proto::redact::Redacted;
use session::send_loop;
pub use shape::{
    SCREEN_FLOOR_FPS, SCREEN_FPS_EXPONENT, SCREEN_KBPS_720P5, SCREEN_MAX_FPS, SCREEN_MIN_FPS,
    SCREEN_PIXEL_EXPONENT, SCREEN_SCALES, ladder_for, screen_kbps, screen_rung,
};
pub use small::{
    MAX_QUEUED_SMALL_VIDEO, SMALL_FPS, SMALL_HEIGHT, SMALL_VIDEO_KBPS, SMALL_WIDTH,
    SmallStreamConfig, SmallStreamStats, StreamKind, small_fps, small_size,
};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

pub(crate) use audio::open_audio_encoder as open_aac_encoder;
#[cfg(test)]
pub(crate) use session::set_video_bitrate;
pub(crate) use session::{X264Setup, open_video_encoder, open_x264};

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
/// [`AAC_PRIMING_SAMPLES`] as time, µs: pictures are stamped this much later than their
/// capture so they keep time with their sound (21.3 ms).
pub const AUDIO_PRIMING_US: i64 = AAC_PRIMING_SAMPLES * 1_000_000 / AUDIO_SAMPLE_RATE as i64;
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
    /// How our sound is cleaned before it is sent (see [`PublisherHandle::set_echo_reference`]).
    pub processing: AudioProcessing,
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
            processing: AudioProcessing::OFF,
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
    /// The small stream's figures, when one is sent.
    pub small: Option<SmallStreamStats>,
    /// Mean time to encode one video frame, ms (recent).
    pub encode_ms_mean: Option<f64>,
    /// 95th percentile of video encode time, ms (recent).
    pub encode_ms_p95: Option<f64>,
    /// Audio is muted.
    pub audio_muted: bool,
    /// RMS level of the latest sound captured (0.0 silence), after cleaning and before muting,
    /// so the person can be told they are talking while muted (and not by the others' echo).
    pub mic_level: f32,
    /// How our sound is cleaned.
    pub processing: AudioProcessing,
    /// The echo canceller's figures, while it runs.
    pub echo: ProcessingStats,
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
    /// AAC, timed in samples on the publisher's audio timeline.
    Audio(Packet),
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

/// One outgoing stream: its encoding settings, queue and figures.
struct Lane {
    /// Where to and how (for the small stream, its box size: see [`small_size`]).
    config: PublisherConfig,
    keyframe_requested: AtomicBool,
    queued_video: AtomicUsize,
    /// Most video frames allowed in its queue.
    max_queued: usize,
    dropped: AtomicU64,
    counters: Mutex<Counters>,
}

impl Lane {
    fn new(config: PublisherConfig, max_queued: usize) -> Lane {
        let counters = Counters {
            rung: Rung::new(config.width, config.height, config.fps),
            target_kbps: config.video_kbps,
            ..Counters::default()
        };
        Lane {
            config,
            keyframe_requested: AtomicBool::new(false),
            queued_video: AtomicUsize::new(0),
            max_queued,
            dropped: AtomicU64::new(0),
            counters: Mutex::new(counters),
        }
    }
}

struct Shared {
    config: PublisherConfig,
    stop: StopSignal,
    main: Lane,
    small: Option<Lane>,
    /// Capture time of the audio timeline's sample 0, µs since the Unix epoch.
    epoch_us: i64,
    /// The AAC stream's parameters, for every connection's FLV header.
    audio_params: Mutex<codec::Parameters>,
    audio_muted: AtomicBool,
    /// `f32` bits of the latest captured sound's RMS level.
    mic_level: AtomicU32,
    cleaning: Cleaning,
    /// Who gets our sound as sent: cleaned, and silence while muted.
    own_sound: Mutex<SoundTaps>,
    video_enabled: AtomicBool,
    /// The pictures are a shared screen (see [`VideoContent`]).
    screen: AtomicBool,
    new_video: Pending<dyn VideoSource>,
    new_audio: Pending<dyn AudioSource>,
    video_interrupter: Mutex<Option<Interrupter>>,
    audio_interrupter: Mutex<Option<Interrupter>>,
    events: UnboundedSender<PublisherEvent>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicked holder leaves plain data behind; carrying on beats poisoning the call.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn video_content(&self) -> VideoContent {
        if self.screen.load(Ordering::SeqCst) {
            VideoContent::Screen
        } else {
            VideoContent::Camera
        }
    }

    fn lane(&self, kind: StreamKind) -> Option<&Lane> {
        match kind {
            StreamKind::Main => Some(&self.main),
            StreamKind::Small => self.small.as_ref(),
        }
    }

    /// The main stream's size and frame rate now.
    fn main_rung(&self) -> Rung {
        lock(&self.main.counters).rung
    }

    /// The main stream's uplink controller sends less than configured: the uplink is narrow.
    fn main_limited(&self) -> bool {
        lock(&self.main.counters).uplink_limited
    }

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
        Publisher::start_with_small(config, None, video, audio)
    }

    /// [`Publisher::start`], and with `small` also a small stream of the same frames and sound
    /// to `small.url` (its connection's ups and downs show in [`PublisherStats::small`], not in
    /// events, which stay the main stream's).
    pub fn start_with_small(
        config: PublisherConfig,
        small: Option<SmallStreamConfig>,
        video: Option<Box<dyn VideoSource>>,
        audio: Option<Box<dyn AudioSource>>,
    ) -> Result<(PublisherHandle, UnboundedReceiver<PublisherEvent>), PublishError> {
        crate::init();
        config.validate()?;
        let small = small.map(|s| s.encoding(&config)).transpose()?;
        if encoder::find_by_name("libx264").is_none() {
            return Err(PublishError::MissingEncoder("libx264"));
        }
        let aac = open_audio_encoder(&config).map_err(|_| PublishError::MissingEncoder("aac"))?;
        let audio_params = codec::Parameters::from(&aac);
        let epoch_us = crate::frame::unix_micros();
        let processing = config.processing;
        let (events, rx_events) = unbounded_channel();
        let shared = Arc::new(Shared {
            main: Lane::new(config.clone(), MAX_QUEUED_VIDEO),
            small: small.map(|s| Lane::new(s, MAX_QUEUED_SMALL_VIDEO)),
            config,
            stop: StopSignal::new(),
            epoch_us,
            audio_params: Mutex::new(audio_params),
            audio_muted: AtomicBool::new(false),
            mic_level: AtomicU32::new(0),
            cleaning: Cleaning::new(processing),
            own_sound: Mutex::new(SoundTaps::new()),
            video_enabled: AtomicBool::new(true),
            screen: AtomicBool::new(false),
            new_video: Mutex::new(None),
            new_audio: Mutex::new(None),
            video_interrupter: Mutex::new(None),
            audio_interrupter: Mutex::new(None),
            events,
        });
        let (tx, rx) = mpsc::sync_channel(INPUT_QUEUE);
        let (small_tx, small_rx) = match shared.small {
            Some(_) => {
                let (t, r) = mpsc::sync_channel(INPUT_QUEUE);
                (Some(t), Some(r))
            }
            None => (None, None),
        };
        let outputs = Outputs {
            main: tx,
            small: small_tx,
        };
        let workers = Workers::default();
        let result = (|| {
            let (s, o) = (Arc::clone(&shared), outputs.clone());
            workers.spawn("media-pub-video", move || video_capture(&s, video, &o))?;
            let (s, o) = (Arc::clone(&shared), outputs);
            let aac = AudioEncoder::new(aac, epoch_us);
            workers.spawn("media-pub-audio", move || audio_capture(&s, audio, aac, &o))?;
            let s = Arc::clone(&shared);
            workers.spawn("media-pub-send", move || {
                send_loop(&s, StreamKind::Main, &rx);
            })?;
            if let Some(rx) = small_rx {
                let s = Arc::clone(&shared);
                workers.spawn("media-pub-small", move || {
                    send_loop(&s, StreamKind::Small, &rx);
                })?;
            }
            Ok::<(), std::io::Error>(())
        })();
        let inner = Arc::new(HandleInner { shared, workers });
        if let Err(e) = result {
            inner.shutdown();
            return Err(e.into());
        }
        Ok((PublisherHandle { inner }, rx_events))
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
mod tests;
