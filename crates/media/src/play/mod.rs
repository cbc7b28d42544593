//! The player: pull RTMP with low-latency options, decode, scale to a tile, hand out the latest
//! frame; tap the H.264 packets; decode sound into an [`AudioMixer`]; reconnect with backoff.
//!
//! Threads: `media-play-read` connects and demuxes ([`read`]); `media-play-decode` decodes
//! ([`decode`]). Between them the player measures how far decoding lags behind the network and
//! catches up ("jump to live") instead of showing old pictures. `media-play-sync`
//! ([`schedule`]) holds pictures and packet-tap packets until their sound plays ([`sync`]:
//! lip sync against the mixer's audio clock). Video is decoded always, never, or on demand
//! ([`demand`]: keyframes only until someone wants every picture), as [`VideoDecoding`] says.
//!
//! Joining fast: probing is skipped entirely (the FLV demuxer creates streams from their first
//! packets, with the AVC sequence header and AudioSpecificConfig already attached), decoders are
//! created when a stream first appears, decoding runs on one thread with `low_delay`, and
//! TCP_NODELAY and a small RTMP buffer time keep the server from holding data back.

mod decode;
mod demand;
mod handle;
mod read;
mod schedule;
pub mod sync;
#[cfg(test)]
mod tests;

pub use demand::{Demand, MAX_HELD_UNITS, VideoDecoding, demand};
pub use handle::PlayerHandle;

use crate::frame::VideoFrame;
use crate::mixer::{AudioMixer, MixerInput};
use crate::signal::{StopSignal, Workers};
use crate::stats::{GapMeter, RateMeter, RecentSamples, SampleWindow};
use crate::stream_info::StreamInfo;
use ffmpeg_next::{Packet, Rational, codec, media};
use handle::HandleInner;
use quartet_proto::redact::Redacted;
use schedule::Scheduler;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::{broadcast, watch};

/// A read blocked this long counts as a dead connection (the UI can show "reconnecting").
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// What the player tells the server to buffer for it (RTMP SetBufferLength; FFmpeg's default
/// of 3 s lets a server hold data back).
pub const RTMP_BUFFER_MS: u32 = 100;
/// Decoding that lags the network by more than this decodes without showing, to catch up
/// (the mini-program live-player's max-cache).
pub const MAX_SHOW_BACKLOG: Duration = Duration::from_millis(300);
/// Lagging by more than this, skip straight to the next keyframe.
pub const SKIP_TO_KEYFRAME_BACKLOG: Duration = Duration::from_secs(1);
/// The span of [`PlayerStats::latency_ms_now`]: a spike shows within a second of it and is
/// gone a second after it ends, and at 15 fps a second still holds 15 frames for a median.
pub const LATENCY_NOW_WINDOW: Duration = Duration::from_secs(1);
/// Packets held between the reader and the decoder.
const PACKET_QUEUE: usize = 512;
/// H.264 packets held for each slow packet-tap subscriber before it starts losing them.
pub const PACKET_TAP_CAPACITY: usize = 64;

/// What to play and how.
#[derive(Debug, Clone)]
pub struct PlayerConfig {
    /// The RTMP URL to play.
    pub url: String,
    /// Width of decoded frames (the tile), rounded to even.
    pub tile_width: u32,
    /// Height of decoded frames, rounded to even.
    pub tile_height: u32,
    /// When video is decoded in Rust: always, only while a picture is wanted (the page decodes
    /// the packet tap itself), or never.
    pub video: VideoDecoding,
    /// Where decoded sound goes; `None` leaves audio undecoded.
    pub mixer: Option<AudioMixer>,
    /// See [`DEFAULT_READ_TIMEOUT`].
    pub read_timeout: Duration,
    /// Hold pictures and packet-tap packets until their sound plays (lip sync, [`sync`]); off,
    /// each goes out as soon as it is decoded or read.
    pub sync_to_audio: bool,
}

impl PlayerConfig {
    /// Plays `url` into frames of `tile_width`×`tile_height`, without sound.
    pub fn new(url: impl Into<String>, tile_width: u32, tile_height: u32) -> PlayerConfig {
        PlayerConfig {
            url: url.into(),
            tile_width,
            tile_height,
            video: VideoDecoding::Always,
            mixer: None,
            read_timeout: DEFAULT_READ_TIMEOUT,
            sync_to_audio: true,
        }
    }

    /// The same, with sound going into `mixer`.
    pub fn with_mixer(mut self, mixer: AudioMixer) -> PlayerConfig {
        self.mixer = Some(mixer);
        self
    }
}

/// Why a player could not start. Connection trouble is reported as events and retried.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// The settings are unusable.
    #[error("invalid player settings: {0}")]
    InvalidConfig(String),
    /// A thread could not be started.
    #[error("cannot start player thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// What happened to a player.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayerEvent {
    /// Connecting (attempt 1 is the first since the last success).
    Connecting {
        /// Attempt number.
        attempt: u32,
    },
    /// Connected and media is arriving (FFmpeg's RTMP client completes its open only once the
    /// first audio or video message comes, so a player waiting for a publisher that is not up
    /// yet keeps reconnecting every read timeout until then). Video starts at the next
    /// keyframe: a good moment to ask the publisher for one.
    Playing,
    /// The first keyframe of this connection has arrived (decoded or not): from here on the
    /// stream is decodable, so there is nothing left to ask the publisher for.
    FirstKeyframe,
    /// The first picture of this connection is out.
    FirstFrame {
        /// Time since this connection attempt began.
        after: Duration,
    },
    /// The connection failed or broke; the next try is scheduled.
    Disconnected {
        /// Why.
        reason: String,
        /// When the next try comes.
        retry_in: Duration,
    },
    /// Stopped for good.
    Stopped,
}

/// One H.264 access unit as it arrived, for decoding elsewhere (WebCodecs).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedVideo {
    /// The access unit: length-prefixed NAL units, as FLV and WebCodecs (avc format) use.
    pub data: Arc<[u8]>,
    /// True for keyframes.
    pub keyframe: bool,
    /// Presentation time, ms on the publisher's timeline.
    pub pts_ms: i64,
    /// Decoding time, ms.
    pub dts_ms: i64,
    /// The avcC record (WebCodecs `description`) in force for this packet.
    pub config: Arc<[u8]>,
}

/// A snapshot of a player's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlayerStats {
    /// Connected to the server now.
    pub connected: bool,
    /// Successful connections after the first.
    pub reconnects: u64,
    /// Pictures per second (recent): those shown while every picture is decoded
    /// ([`VideoDecoding::Always`]), those received otherwise.
    pub fps: f64,
    /// Received kbit/s (recent).
    pub kbps: f64,
    /// Video frames decoded since start.
    pub frames_decoded: u64,
    /// Video access units received since start, decoded or not.
    pub units_received: u64,
    /// Frames handed out through [`PlayerHandle::frames`].
    pub frames_shown: u64,
    /// Frames decoded but not shown, or packets skipped, to catch up with live.
    pub frames_skipped: u64,
    /// Capture → decoded latency from the frame clock (before the lip-sync hold, which only
    /// waits for the sound), median, ms (recent).
    pub latency_ms_p50: Option<f64>,
    /// Capture → decoded latency (before the lip-sync hold), 95th percentile, ms (recent).
    pub latency_ms_p95: Option<f64>,
    /// Capture → decoded latency (before the lip-sync hold), median over the last
    /// [`LATENCY_NOW_WINDOW`], ms; `None` when no frame was decoded in it (a stalled stream is
    /// not a live one).
    pub latency_ms_now: Option<f64>,
    /// Longest time between two consecutive pieces of decoded sound reaching the mixer since
    /// the first, the wait for the next one included, ms: past the mixer's prebuffer, a gap
    /// this long is silence a listener hears. `None` before any sound.
    pub audio_max_gap_ms: Option<f64>,
    /// Start → first shown frame of the first connection, ms.
    pub first_frame_ms: Option<f64>,
    /// Size of the pictures as sent, before scaling.
    pub source_size: Option<(u32, u32)>,
    /// RMS level of the latest decoded sound (0.0 silence).
    pub audio_level: f32,
    /// Codecs, profiles, levels and shapes of the stream, as far as seen.
    pub stream_info: StreamInfo,
    /// Time between the last two keyframes received, ms (stream time).
    pub keyframe_interval_ms: Option<f64>,
}

/// How to treat a video packet, given how far decoding lags the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Decode and show.
    Show,
    /// Decode (later pictures need it) but do not show.
    DecodeOnly,
    /// Too far behind: drop packets up to the next keyframe.
    SkipToKeyframe,
}

/// The catch-up policy for a decoding backlog.
pub fn catch_up(backlog: Duration) -> CatchUp {
    if backlog > SKIP_TO_KEYFRAME_BACKLOG {
        CatchUp::SkipToKeyframe
    } else if backlog > MAX_SHOW_BACKLOG {
        CatchUp::DecodeOnly
    } else {
        CatchUp::Show
    }
}

struct Counters {
    connected: bool,
    reconnects: u64,
    fps: RateMeter,
    bytes: RateMeter,
    decoded: u64,
    units: u64,
    shown: u64,
    skipped: u64,
    latency: SampleWindow,
    latency_now: RecentSamples,
    audio_gaps: GapMeter,
    first_frame_ms: Option<f64>,
    source_size: Option<(u32, u32)>,
    audio_level: f32,
    stream_info: StreamInfo,
    /// Stream time of the last keyframe, ms, and the interval before it.
    last_keyframe_ms: Option<i64>,
    keyframe_interval_ms: Option<f64>,
}

impl Counters {
    fn new(video: VideoDecoding) -> Self {
        Counters {
            connected: false,
            reconnects: 0,
            fps: RateMeter::default(),
            bytes: RateMeter::default(),
            decoded: 0,
            units: 0,
            shown: 0,
            skipped: 0,
            latency: SampleWindow::default(),
            latency_now: RecentSamples::new(video.latency_now_window()),
            audio_gaps: GapMeter::default(),
            first_frame_ms: None,
            source_size: None,
            audio_level: 0.0,
            stream_info: StreamInfo::default(),
            last_keyframe_ms: None,
            keyframe_interval_ms: None,
        }
    }
}

struct Shared {
    /// Where the next connection goes (a newer signature replaces an older one).
    url: Mutex<String>,
    read_timeout: Duration,
    video: VideoDecoding,
    mixer: Option<AudioMixer>,
    /// This stream's input of `mixer`: decoded sound goes in, the audio clock reads its queue.
    /// Taken out when the player stops, so a stopped player leaves the mix.
    mixer_input: Mutex<Option<MixerInput>>,
    sync: Scheduler,
    stop: StopSignal,
    reconnect_now: Arc<AtomicBool>,
    tile: AtomicU64,
    latest_video_dts: AtomicI64,
    frames: watch::Sender<Option<Arc<VideoFrame>>>,
    /// Someone waits for the next picture at the stream's own size (see [`PlayerHandle::full_size_frame`]).
    full_wanted: AtomicBool,
    /// The last picture asked for at the stream's own size.
    full: watch::Sender<Option<Arc<VideoFrame>>>,
    packets: broadcast::Sender<EncodedVideo>,
    counters: Mutex<Counters>,
    events: UnboundedSender<PlayerEvent>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn pack_tile(w: u32, h: u32) -> u64 {
    (u64::from(w) << 32) | u64::from(h)
}

impl Shared {
    fn emit(&self, e: PlayerEvent) {
        let _ = self.events.send(e);
    }

    fn url(&self) -> String {
        lock(&self.url).clone()
    }

    /// Someone wants pictures decoded now: decoding always, a reader of [`PlayerHandle::frames`],
    /// or a full-size picture asked for.
    fn pictures_wanted(&self) -> bool {
        self.video == VideoDecoding::Always
            || self.frames.receiver_count() > 0
            || self.full_wanted.load(Ordering::SeqCst)
    }

    fn tile(&self) -> (u32, u32) {
        let t = self.tile.load(Ordering::Relaxed);
        ((t >> 32) as u32, t as u32)
    }
}

enum ToDecoder {
    Connected {
        began: Instant,
    },
    Stream {
        index: usize,
        kind: media::Type,
        ctx: codec::Context,
        time_base: Rational,
    },
    Packet(Packet),
}

/// Starts players.
pub struct Player;

impl Player {
    /// Starts playing `config.url`, retrying until stopped (the publisher may not be up yet).
    pub fn start(
        config: PlayerConfig,
    ) -> Result<(PlayerHandle, UnboundedReceiver<PlayerEvent>), PlayError> {
        crate::init();
        check_url(&config.url)?;
        if config.tile_width < 2 || config.tile_height < 2 {
            return Err(PlayError::InvalidConfig(format!(
                "tile {}x{} too small",
                config.tile_width, config.tile_height
            )));
        }
        let (events, rx_events) = unbounded_channel();
        let (packets, _) = broadcast::channel(PACKET_TAP_CAPACITY);
        let started = Instant::now();
        let shared = Arc::new(Shared {
            url: Mutex::new(config.url),
            read_timeout: config.read_timeout,
            video: config.video,
            mixer_input: Mutex::new(config.mixer.as_ref().map(AudioMixer::add_input)),
            mixer: config.mixer,
            sync: Scheduler::new(config.sync_to_audio, started),
            stop: StopSignal::new(),
            reconnect_now: Arc::new(AtomicBool::new(false)),
            tile: AtomicU64::new(pack_tile(config.tile_width, config.tile_height)),
            latest_video_dts: AtomicI64::new(0),
            frames: watch::Sender::new(None),
            full_wanted: AtomicBool::new(false),
            full: watch::Sender::new(None),
            packets,
            counters: Mutex::new(Counters::new(config.video)),
            events,
        });
        let (tx, rx) = mpsc::sync_channel(PACKET_QUEUE);
        let workers = Workers::default();
        let result = (|| {
            let s = Arc::clone(&shared);
            workers.spawn("media-play-sync", move || schedule::run(&s))?;
            let s = Arc::clone(&shared);
            workers.spawn("media-play-decode", move || decode::run(&s, &rx))?;
            let s = Arc::clone(&shared);
            workers.spawn("media-play-read", move || read::run(&s, &tx))
        })();
        let inner = Arc::new(HandleInner { shared, workers });
        if let Err(e) = result {
            inner.shutdown();
            return Err(e.into());
        }
        Ok((PlayerHandle::new(inner), rx_events))
    }
}

fn check_url(url: &str) -> Result<(), PlayError> {
    if url.starts_with("rtmp://") || url.starts_with("rtmps://") {
        Ok(())
    } else {
        Err(PlayError::InvalidConfig(format!(
            "not an RTMP URL: {}",
            Redacted(url)
        )))
    }
}

/// A timestamp in `tb` units as ms (0 when absent).
fn ms(ts: Option<i64>, tb: Rational) -> i64 {
    let ts = ts.unwrap_or(0);
    if tb.denominator() == 0 {
        return ts;
    }
    ts * 1000 * i64::from(tb.numerator()) / i64::from(tb.denominator())
}
