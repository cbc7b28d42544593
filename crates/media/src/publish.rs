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

use crate::backoff::Reconnect;
use crate::convert::{Scaler, to_av};
use crate::ffi::{self, InterruptibleOutput};
use crate::frame::{AUDIO_SAMPLE_RATE, AudioChunk, VideoFrame, unix_micros};
use crate::redact::Redacted;
use crate::signal::{StopSignal, Workers};
use crate::source::{AudioSource, Interrupter, SourceError, SyntheticTone, VideoSource};
use crate::stats::{RateMeter, SampleWindow};
use ffmpeg_next::format::{Pixel, Sample, sample};
use ffmpeg_next::{
    ChannelLayout, Dictionary, Packet, Rational, codec, encoder, frame, picture, threading,
};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

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
            counters: Mutex::new(Counters::default()),
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

fn set_interrupter(slot: &Mutex<Option<Interrupter>>, i: Option<Interrupter>) {
    *lock(slot) = i;
}

fn offer_video(shared: &Shared, tx: &SyncSender<Input>, frame: VideoFrame) {
    if shared.queued_video.load(Ordering::SeqCst) >= MAX_QUEUED_VIDEO {
        shared.dropped.fetch_add(1, Ordering::Relaxed);
        return;
    }
    shared.queued_video.fetch_add(1, Ordering::SeqCst);
    if tx.try_send(Input::Video(frame)).is_err() {
        shared.queued_video.fetch_sub(1, Ordering::SeqCst);
        shared.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

fn video_capture(
    shared: &Shared,
    mut source: Option<Box<dyn VideoSource>>,
    tx: &SyncSender<Input>,
) {
    set_interrupter(
        &shared.video_interrupter,
        source.as_ref().and_then(|s| s.interrupter()),
    );
    let mut next_off_frame = Instant::now();
    while !shared.stop.is_stopped() {
        if let Some(replacement) = lock(&shared.new_video).take() {
            source = replacement;
            set_interrupter(
                &shared.video_interrupter,
                source.as_ref().and_then(|s| s.interrupter()),
            );
        }
        let enabled = shared.video_enabled.load(Ordering::SeqCst);
        match source.as_mut() {
            Some(src) if enabled => match src.next_frame() {
                Ok(Some(frame)) => offer_video(shared, tx, frame),
                Ok(None) => {}
                Err(SourceError::Interrupted) => source = None,
                Err(e) => {
                    tracing::warn!("video source {} failed: {e}", src.describe());
                    shared.emit(PublisherEvent::VideoSourceFailed(e));
                    source = None;
                }
            },
            _ => {
                // Short sleeps so turning the camera back on takes effect quickly.
                let now = Instant::now();
                if now < next_off_frame {
                    shared.stop.sleep((next_off_frame - now).min(IDLE_TICK));
                    continue;
                }
                next_off_frame = now + CAMERA_OFF_INTERVAL;
                let mut frame = VideoFrame::black(shared.config.width, shared.config.height);
                frame.capture_us = None;
                offer_video(shared, tx, frame);
            }
        }
    }
}

fn audio_capture(shared: &Shared, source: Option<Box<dyn AudioSource>>, tx: &SyncSender<Input>) {
    let silence = || Box::new(SyntheticTone::silence()) as Box<dyn AudioSource>;
    let mut source = source.unwrap_or_else(silence);
    set_interrupter(&shared.audio_interrupter, source.interrupter());
    while !shared.stop.is_stopped() {
        if let Some(replacement) = lock(&shared.new_audio).take() {
            source = replacement.unwrap_or_else(silence);
            set_interrupter(&shared.audio_interrupter, source.interrupter());
        }
        match source.next_chunk() {
            Ok(Some(mut chunk)) => {
                let level = chunk.rms();
                shared.mic_level.store(level.to_bits(), Ordering::Relaxed);
                if shared.audio_muted.load(Ordering::SeqCst) {
                    chunk.samples.fill(0.0);
                }
                // A full queue means the encoder stalled; audio is dropped rather than delayed.
                let _ = tx.try_send(Input::Audio(chunk));
            }
            Ok(None) => {}
            Err(SourceError::Interrupted) => {
                if lock(&shared.new_audio).is_none() {
                    source = silence();
                }
            }
            Err(e) => {
                tracing::warn!("audio source {} failed: {e}", source.describe());
                shared.emit(PublisherEvent::AudioSourceFailed(e));
                source = silence();
                set_interrupter(&shared.audio_interrupter, None);
            }
        }
    }
}

fn send_loop(shared: &Shared, rx: &Receiver<Input>) {
    let mut reconnect = Reconnect::new();
    let mut attempt = 0u32;
    let mut ever_connected = false;
    while !shared.stop.is_stopped() {
        attempt += 1;
        shared.emit(PublisherEvent::Connecting { attempt });
        let began = Instant::now();
        let reason = match Session::open(shared) {
            Ok(mut session) => {
                {
                    let mut c = lock(&shared.counters);
                    c.connected = true;
                    if ever_connected {
                        c.reconnects += 1;
                    }
                }
                ever_connected = true;
                attempt = 0;
                shared.emit(PublisherEvent::Connected);
                let result = session.run(shared, rx);
                lock(&shared.counters).connected = false;
                match result {
                    Ok(()) => {
                        session.finish();
                        break;
                    }
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        if shared.stop.is_stopped() {
            break;
        }
        reconnect.connection_ended(began.elapsed());
        let retry_in = reconnect.next_delay();
        tracing::info!(
            "publishing to {} failed: {reason}; retrying in {retry_in:?}",
            Redacted(&shared.config.url)
        );
        shared.emit(PublisherEvent::Disconnected { reason, retry_in });
        if wait_draining(shared, rx, retry_in) {
            break;
        }
    }
    shared.emit(PublisherEvent::Stopped);
}

/// Discards captured media while waiting to reconnect (stale media is worthless after it);
/// true when stopped.
fn wait_draining(shared: &Shared, rx: &Receiver<Input>, delay: Duration) -> bool {
    let deadline = Instant::now() + delay;
    loop {
        if shared.stop.is_stopped() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        match rx.recv_timeout((deadline - now).min(IDLE_TICK)) {
            Ok(Input::Video(_)) => {
                shared.queued_video.fetch_sub(1, Ordering::SeqCst);
            }
            Ok(Input::Audio(_)) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return shared.stop.sleep(deadline - now),
        }
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

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("{context}: {source}")]
    Ffmpeg {
        context: &'static str,
        source: ffmpeg_next::Error,
    },
}

fn ctx(context: &'static str) -> impl FnOnce(ffmpeg_next::Error) -> SessionError {
    move |source| SessionError::Ffmpeg { context, source }
}

/// Builds the x264 encoder for `config` (also used by the frame clock's codec test).
pub(crate) fn open_video_encoder(
    config: &PublisherConfig,
) -> Result<encoder::Video, ffmpeg_next::Error> {
    let codec = encoder::find_by_name("libx264").ok_or(ffmpeg_next::Error::EncoderNotFound)?;
    let mut enc = codec::Context::new_with_codec(codec).encoder().video()?;
    enc.set_width(config.width);
    enc.set_height(config.height);
    enc.set_format(Pixel::YUV420P);
    enc.set_time_base(Rational::new(1, 1000));
    enc.set_frame_rate(Some(Rational::new(config.fps as i32, 1)));
    let bps = config.video_kbps as usize * 1000;
    enc.set_bit_rate(bps);
    enc.set_max_bit_rate(bps);
    let keyint =
        ((config.keyframe_interval.as_secs_f64() * f64::from(config.fps)).round() as u32).max(1);
    enc.set_gop(keyint);
    enc.set_max_b_frames(0);
    // FLV carries SPS/PPS once, in the AVC sequence header, so x264 must put them in extradata.
    enc.set_flags(codec::Flags::GLOBAL_HEADER);
    // One thread: no frame-thread delay, and four encoders share two cores.
    enc.set_threading(threading::Config::count(1));
    let mut o = Dictionary::new();
    o.set("preset", &config.preset);
    o.set("tune", "zerolatency");
    // Constrained baseline plays everywhere, WebCodecs included.
    o.set("profile", "baseline");
    o.set("forced-idr", "1");
    o.set(
        "x264-params",
        &format!(
            "keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes=0:rc-lookahead=0:sync-lookahead=0:vbv-maxrate={k}:vbv-bufsize={k}",
            k = config.video_kbps
        ),
    );
    enc.open_with(o)
}

fn open_audio_encoder(config: &PublisherConfig) -> Result<encoder::Audio, ffmpeg_next::Error> {
    let codec = encoder::find(codec::Id::AAC).ok_or(ffmpeg_next::Error::EncoderNotFound)?;
    let mut enc = codec::Context::new_with_codec(codec).encoder().audio()?;
    enc.set_rate(AUDIO_SAMPLE_RATE as i32);
    enc.set_channel_layout(ChannelLayout::MONO);
    enc.set_format(Sample::F32(sample::Type::Planar));
    enc.set_bit_rate(config.audio_kbps as usize * 1000);
    enc.set_time_base(Rational::new(1, AUDIO_SAMPLE_RATE as i32));
    enc.set_flags(codec::Flags::GLOBAL_HEADER);
    enc.open_as(codec)
}

struct Session {
    output: InterruptibleOutput,
    video: encoder::Video,
    audio: encoder::Audio,
    video_index: usize,
    audio_index: usize,
    video_tb: Rational,
    audio_tb: Rational,
    start_us: i64,
    last_video_pts: Option<i64>,
    audio_fifo: Vec<f32>,
    audio_next: Option<i64>,
    audio_frame: usize,
    scaler: Scaler,
    last_keyframe: Option<Instant>,
}

impl Session {
    fn open(shared: &Shared) -> Result<Session, SessionError> {
        let config = &shared.config;
        let mut opts = Dictionary::new();
        // FFmpeg's RTMP leaves Nagle on, which holds small packets back by up to 200 ms.
        opts.set("tcp_nodelay", "1");
        opts.set("rw_timeout", &WRITE_TIMEOUT.as_micros().to_string());
        let mut output = ffi::open_output(&config.url, "flv", opts, shared.stop.checker())
            .map_err(ctx("connecting"))?;
        let video = open_video_encoder(config).map_err(ctx("opening the H.264 encoder"))?;
        let audio = open_audio_encoder(config).map_err(ctx("opening the AAC encoder"))?;
        let video_codec = encoder::find_by_name("libx264");
        let video_index = {
            let mut s = output
                .add_stream(video_codec)
                .map_err(ctx("adding video"))?;
            s.set_parameters(&video);
            s.set_time_base(Rational::new(1, 1000));
            s.index()
        };
        let audio_index = {
            let mut s = output
                .add_stream(encoder::find(codec::Id::AAC))
                .map_err(ctx("adding audio"))?;
            s.set_parameters(&audio);
            s.set_time_base(Rational::new(1, AUDIO_SAMPLE_RATE as i32));
            s.index()
        };
        let mut mux = Dictionary::new();
        // Not seekable: don't try to patch duration and size at the end.
        mux.set("flvflags", "no_duration_filesize");
        // Push every packet to the socket as soon as it is written.
        mux.set("flush_packets", "1");
        output
            .write_header_with(mux)
            .map_err(ctx("writing the FLV header"))?;
        let tb = |i: usize| {
            output
                .stream(i)
                .map(|s| s.time_base())
                .unwrap_or(Rational::new(1, 1000))
        };
        let (video_tb, audio_tb) = (tb(video_index), tb(audio_index));
        let audio_frame = (audio.frame_size() as usize).max(1);
        // A new connection needs a keyframe for whoever is waiting on the other side.
        shared.keyframe_requested.store(true, Ordering::SeqCst);
        Ok(Session {
            output,
            video,
            audio,
            video_index,
            audio_index,
            video_tb,
            audio_tb,
            start_us: unix_micros(),
            last_video_pts: None,
            audio_fifo: Vec::new(),
            audio_next: None,
            audio_frame,
            scaler: Scaler::default(),
            last_keyframe: None,
        })
    }

    /// Encodes and sends until stopped (`Ok`) or the connection breaks (`Err`).
    fn run(&mut self, shared: &Shared, rx: &Receiver<Input>) -> Result<(), SessionError> {
        loop {
            if shared.stop.is_stopped() {
                return Ok(());
            }
            let result = match rx.recv_timeout(IDLE_TICK) {
                Ok(Input::Video(frame)) => {
                    shared.queued_video.fetch_sub(1, Ordering::SeqCst);
                    self.send_video(shared, &frame)
                }
                Ok(Input::Audio(chunk)) => self.send_audio(shared, chunk),
                Err(RecvTimeoutError::Timeout) => Ok(()),
                Err(RecvTimeoutError::Disconnected) => {
                    shared.stop.sleep(IDLE_TICK);
                    Ok(())
                }
            };
            if let Err(e) = result {
                return if shared.stop.is_stopped() {
                    Ok(())
                } else {
                    Err(e)
                };
            }
        }
    }

    fn write(
        &mut self,
        shared: &Shared,
        packet: &mut Packet,
        index: usize,
        from: Rational,
        to: Rational,
    ) -> Result<(), SessionError> {
        packet.set_stream(index);
        packet.rescale_ts(from, to);
        let size = packet.size() as u64;
        packet.write(&mut self.output).map_err(ctx("sending"))?;
        lock(&shared.counters).bytes.record(Instant::now(), size);
        Ok(())
    }

    fn send_video(&mut self, shared: &Shared, frame: &VideoFrame) -> Result<(), SessionError> {
        let config = &shared.config;
        let capture = frame.capture_us.unwrap_or_else(unix_micros);
        let mut pts = ((capture - self.start_us) / 1000).max(0);
        if let Some(last) = self.last_video_pts {
            pts = pts.max(last + 1);
        }
        self.last_video_pts = Some(pts);
        let mut av = to_av(frame);
        if (frame.width(), frame.height()) != (config.width, config.height) {
            av = self
                .scaler
                .run(&av, config.width, config.height)
                .map_err(ctx("scaling"))?;
        }
        av.set_pts(Some(pts));
        let requested = shared.keyframe_requested.swap(false, Ordering::SeqCst);
        let key = keyframe_due(
            requested,
            self.last_keyframe.map(|t| t.elapsed()),
            config.keyframe_interval,
        );
        av.set_kind(if key {
            picture::Type::I
        } else {
            picture::Type::None
        });
        if key {
            // Counted from the request so a late IDR does not trigger another.
            self.last_keyframe = Some(Instant::now());
        }
        let began = Instant::now();
        self.video.send_frame(&av).map_err(ctx("encoding video"))?;
        let mut packet = Packet::empty();
        while self.video.receive_packet(&mut packet).is_ok() {
            let encode_ms = began.elapsed().as_secs_f64() * 1000.0;
            {
                let mut c = lock(&shared.counters);
                c.frames += 1;
                c.fps.record(Instant::now(), 1);
                c.encode_ms.push(encode_ms);
                if packet.is_key() {
                    c.keyframes += 1;
                }
            }
            let (index, tb) = (self.video_index, self.video_tb);
            self.write(shared, &mut packet, index, Rational::new(1, 1000), tb)?;
        }
        Ok(())
    }

    fn send_audio(&mut self, shared: &Shared, chunk: AudioChunk) -> Result<(), SessionError> {
        let captured =
            ((chunk.capture_us - self.start_us).max(0)) * i64::from(AUDIO_SAMPLE_RATE) / 1_000_000;
        let expected = self
            .audio_next
            .map_or(captured, |n| n + self.audio_fifo.len() as i64);
        match audio_sync(expected, captured) {
            AudioSync::Append => {}
            AudioSync::Drop => return Ok(()),
            AudioSync::JumpTo(at) => {
                self.audio_fifo.clear();
                self.audio_next = Some(at.max(self.audio_next.unwrap_or(0)));
            }
        }
        let next = *self.audio_next.get_or_insert(captured);
        self.audio_fifo.extend_from_slice(&chunk.samples);
        let mut pts = next;
        while self.audio_fifo.len() >= self.audio_frame {
            let n = self.audio_frame;
            let mut f =
                frame::Audio::new(Sample::F32(sample::Type::Planar), n, ChannelLayout::MONO);
            f.set_rate(AUDIO_SAMPLE_RATE);
            f.plane_mut::<f32>(0).copy_from_slice(&self.audio_fifo[..n]);
            self.audio_fifo.drain(..n);
            f.set_pts(Some(pts + AAC_PRIMING_SAMPLES));
            pts += n as i64;
            self.audio.send_frame(&f).map_err(ctx("encoding audio"))?;
            let mut packet = Packet::empty();
            while self.audio.receive_packet(&mut packet).is_ok() {
                let (index, tb) = (self.audio_index, self.audio_tb);
                self.write(
                    shared,
                    &mut packet,
                    index,
                    Rational::new(1, AUDIO_SAMPLE_RATE as i32),
                    tb,
                )?;
            }
        }
        self.audio_next = Some(pts);
        Ok(())
    }

    /// Ends the stream cleanly (best effort: the server may already be gone).
    fn finish(mut self) {
        let _ = self.output.write_trailer();
    }
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
