//! The player: pull RTMP with low-latency options, decode, scale to a tile, hand out the latest
//! frame; tap the H.264 packets; decode sound into an [`AudioMixer`]; reconnect with backoff.
//!
//! Threads: `media-play-read` connects and demuxes (and feeds the packet tap);
//! `media-play-decode` decodes. Between them the player measures how far decoding lags behind
//! the network and catches up ("jump to live") instead of showing old pictures.
//!
//! Joining fast: probing is skipped entirely (the FLV demuxer creates streams from their first
//! packets, with the AVC sequence header and AudioSpecificConfig already attached), decoders are
//! created when a stream first appears, decoding runs on one thread with `low_delay`, and
//! TCP_NODELAY and a small RTMP buffer time keep the server from holding data back.

use crate::backoff::Reconnect;
use crate::clock;
use crate::convert::{Scaler, to_mono_48k};
use crate::ffi;
use crate::frame::{VideoFrame, rms, unix_micros};
use crate::mixer::{AudioMixer, MixerInput};
use crate::redact::Redacted;
use crate::signal::{StopSignal, Workers};
use crate::stats::{GapMeter, RateMeter, RecentSamples, SampleWindow};
use ffmpeg_next::codec::packet::side_data;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{Dictionary, Error, Packet, Rational, codec, decoder, frame, media, threading};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
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
    /// Decode video in Rust; off when only the packet tap is used (WebCodecs).
    pub decode_video: bool,
    /// Where decoded sound goes; `None` leaves audio undecoded.
    pub mixer: Option<AudioMixer>,
    /// See [`DEFAULT_READ_TIMEOUT`].
    pub read_timeout: Duration,
}

impl PlayerConfig {
    /// Plays `url` into frames of `tile_width`×`tile_height`, without sound.
    pub fn new(url: impl Into<String>, tile_width: u32, tile_height: u32) -> PlayerConfig {
        PlayerConfig {
            url: url.into(),
            tile_width,
            tile_height,
            decode_video: true,
            mixer: None,
            read_timeout: DEFAULT_READ_TIMEOUT,
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
    /// Frames shown per second (recent).
    pub fps: f64,
    /// Received kbit/s (recent).
    pub kbps: f64,
    /// Video frames decoded since start.
    pub frames_decoded: u64,
    /// Frames handed out through [`PlayerHandle::frames`].
    pub frames_shown: u64,
    /// Frames decoded but not shown, or packets skipped, to catch up with live.
    pub frames_skipped: u64,
    /// Capture → shown latency from the frame clock, median, ms (recent).
    pub latency_ms_p50: Option<f64>,
    /// Capture → shown latency, 95th percentile, ms (recent).
    pub latency_ms_p95: Option<f64>,
    /// Capture → shown latency, median over the last [`LATENCY_NOW_WINDOW`], ms; `None` when
    /// no frame was shown in it (a stalled stream is not a live one).
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
    shown: u64,
    skipped: u64,
    latency: SampleWindow,
    latency_now: RecentSamples,
    audio_gaps: GapMeter,
    first_frame_ms: Option<f64>,
    source_size: Option<(u32, u32)>,
    audio_level: f32,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            connected: false,
            reconnects: 0,
            fps: RateMeter::default(),
            bytes: RateMeter::default(),
            decoded: 0,
            shown: 0,
            skipped: 0,
            latency: SampleWindow::default(),
            latency_now: RecentSamples::new(LATENCY_NOW_WINDOW),
            audio_gaps: GapMeter::default(),
            first_frame_ms: None,
            source_size: None,
            audio_level: 0.0,
        }
    }
}

struct Shared {
    /// Where the next connection goes (a newer signature replaces an older one).
    url: Mutex<String>,
    read_timeout: Duration,
    decode_video: bool,
    mixer: Option<AudioMixer>,
    stop: StopSignal,
    reconnect_now: Arc<AtomicBool>,
    tile: AtomicU64,
    latest_video_dts: AtomicI64,
    frames: watch::Sender<Option<Arc<VideoFrame>>>,
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
        let shared = Arc::new(Shared {
            url: Mutex::new(config.url),
            read_timeout: config.read_timeout,
            decode_video: config.decode_video,
            mixer: config.mixer,
            stop: StopSignal::new(),
            reconnect_now: Arc::new(AtomicBool::new(false)),
            tile: AtomicU64::new(pack_tile(config.tile_width, config.tile_height)),
            latest_video_dts: AtomicI64::new(0),
            frames: watch::Sender::new(None),
            packets,
            counters: Mutex::new(Counters::default()),
            events,
        });
        let started = Instant::now();
        let (tx, rx) = mpsc::sync_channel(PACKET_QUEUE);
        let workers = Workers::default();
        let result = (|| {
            let s = Arc::clone(&shared);
            workers.spawn("media-play-decode", move || decode_loop(&s, &rx, started))?;
            let s = Arc::clone(&shared);
            workers.spawn("media-play-read", move || read_loop(&s, &tx))
        })();
        let inner = Arc::new(HandleInner { shared, workers });
        if let Err(e) = result {
            inner.shutdown();
            return Err(e.into());
        }
        Ok((PlayerHandle { inner }, rx_events))
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

struct HandleInner {
    shared: Arc<Shared>,
    workers: Workers,
}

impl HandleInner {
    fn shutdown(&self) {
        self.shared.stop.stop();
        self.workers.join();
    }
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Controls a running player; clones share it. Dropping the last clone stops it (and waits for
/// its threads, like [`PlayerHandle::stop`]).
#[derive(Clone)]
pub struct PlayerHandle {
    inner: Arc<HandleInner>,
}

impl PlayerHandle {
    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The latest decoded frame at tile size (`None` before the first). Only the newest is
    /// kept: a slow reader skips frames, it never queues them.
    pub fn frames(&self) -> watch::Receiver<Option<Arc<VideoFrame>>> {
        self.shared().frames.subscribe()
    }

    /// The H.264 access units as they arrive, each with its avcC record.
    pub fn packets(&self) -> broadcast::Receiver<EncodedVideo> {
        self.shared().packets.subscribe()
    }

    /// Changes the size of decoded frames (e.g. when the window is resized).
    pub fn set_tile_size(&self, width: u32, height: u32) {
        self.shared()
            .tile
            .store(pack_tile(width.max(2), height.max(2)), Ordering::Relaxed);
    }

    /// Plays `url` from the next connection on; the current one goes on undisturbed (a fresh
    /// signature for the same stream needs no new connection).
    pub fn set_url(&self, url: impl Into<String>) -> Result<(), PlayError> {
        let url = url.into();
        check_url(&url)?;
        *lock(&self.shared().url) = url;
        Ok(())
    }

    /// Drops the current connection and connects again at once.
    pub fn reconnect(&self) {
        self.shared().reconnect_now.store(true, Ordering::SeqCst);
    }

    /// Current figures.
    pub fn stats(&self) -> PlayerStats {
        let now = Instant::now();
        let mut c = lock(&self.shared().counters);
        PlayerStats {
            connected: c.connected,
            reconnects: c.reconnects,
            fps: c.fps.per_second(now),
            kbps: c.bytes.per_second(now) * 8.0 / 1000.0,
            frames_decoded: c.decoded,
            frames_shown: c.shown,
            frames_skipped: c.skipped,
            latency_ms_p50: c.latency.percentile(50.0),
            latency_ms_p95: c.latency.percentile(95.0),
            latency_ms_now: c.latency_now.percentile(now, 50.0),
            audio_max_gap_ms: c.audio_gaps.longest(now).map(|d| d.as_secs_f64() * 1000.0),
            first_frame_ms: c.first_frame_ms,
            source_size: c.source_size,
            audio_level: c.audio_level,
        }
    }

    /// Forgets collected latency samples (e.g. after a warm-up).
    pub fn reset_latency(&self) {
        let mut c = lock(&self.shared().counters);
        c.latency.clear();
        c.latency_now.clear();
    }

    /// Stops playing and joins both threads (blocks briefly; from async code prefer
    /// [`PlayerHandle::stop_async`]).
    pub fn stop(&self) {
        self.inner.shutdown();
    }

    /// [`PlayerHandle::stop`] without blocking the async runtime.
    pub async fn stop_async(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = tokio::task::spawn_blocking(move || inner.shutdown()).await;
    }
}

fn open(shared: &Shared) -> Result<Input, Error> {
    let mut o = Dictionary::new();
    o.set("tcp_nodelay", "1");
    o.set("rw_timeout", &shared.read_timeout.as_micros().to_string());
    o.set("rtmp_buffer", &RTMP_BUFFER_MS.to_string());
    o.set("rtmp_live", "live");
    // Probing is skipped (see the module docs); these keep anything that still reads ahead
    // (format detection) minimal.
    o.set("probesize", "32");
    o.set("analyzeduration", "1");
    o.set("fpsprobesize", "0");
    o.set("fflags", "nobuffer");
    let mut stop = shared.stop.checker();
    let again = Arc::clone(&shared.reconnect_now);
    let interrupt = move || stop() || again.load(Ordering::Relaxed);
    ffi::open_input(&shared.url(), Some("flv"), o, interrupt, false)
}

enum Ended {
    Stopped,
    Lost(String),
}

fn read_loop(shared: &Shared, tx: &SyncSender<ToDecoder>) {
    let mut reconnect = Reconnect::new();
    let mut attempt = 0u32;
    let mut ever_connected = false;
    while !shared.stop.is_stopped() {
        attempt += 1;
        shared.emit(PlayerEvent::Connecting { attempt });
        let began = Instant::now();
        shared.reconnect_now.store(false, Ordering::SeqCst);
        let reason = match open(shared) {
            Ok(mut input) => {
                {
                    let mut c = lock(&shared.counters);
                    c.connected = true;
                    if ever_connected {
                        c.reconnects += 1;
                    }
                }
                ever_connected = true;
                attempt = 0;
                shared.emit(PlayerEvent::Playing);
                let ended = if tx.send(ToDecoder::Connected { began }).is_err() {
                    Ended::Stopped
                } else {
                    read_packets(shared, &mut input, tx)
                };
                lock(&shared.counters).connected = false;
                match ended {
                    Ended::Stopped => break,
                    Ended::Lost(reason) => reason,
                }
            }
            Err(e) => e.to_string(),
        };
        if shared.stop.is_stopped() {
            break;
        }
        let retry_in = if shared.reconnect_now.swap(false, Ordering::SeqCst) {
            reconnect.reset();
            Duration::ZERO
        } else {
            reconnect.connection_ended(began.elapsed());
            reconnect.next_delay()
        };
        tracing::debug!(
            "playing {} failed: {reason}; retrying in {retry_in:?}",
            Redacted(&shared.url())
        );
        shared.emit(PlayerEvent::Disconnected { reason, retry_in });
        if shared.stop.sleep(retry_in) {
            break;
        }
    }
    shared.emit(PlayerEvent::Stopped);
}

fn ms(ts: Option<i64>, tb: Rational) -> i64 {
    let ts = ts.unwrap_or(0);
    if tb.denominator() == 0 {
        return ts;
    }
    ts * 1000 * i64::from(tb.numerator()) / i64::from(tb.denominator())
}

fn read_packets(shared: &Shared, input: &mut Input, tx: &SyncSender<ToDecoder>) -> Ended {
    let mut kinds: HashMap<usize, (media::Type, Rational)> = HashMap::new();
    let mut avcc: Arc<[u8]> = Arc::from(Vec::new());
    let mut keyed = false;
    loop {
        let mut packet = Packet::empty();
        match packet.read(input) {
            Ok(()) => {}
            Err(Error::Other { errno: EAGAIN }) => continue,
            Err(Error::Eof) => return Ended::Lost("the stream ended".to_owned()),
            Err(Error::Exit) if shared.stop.is_stopped() => return Ended::Stopped,
            Err(Error::Exit) => return Ended::Lost("reconnect requested".to_owned()),
            Err(e) => return Ended::Lost(e.to_string()),
        }
        let index = packet.stream();
        let (kind, tb) = match kinds.get(&index) {
            Some(k) => *k,
            None => {
                let Some(stream) = input.stream(index) else {
                    continue;
                };
                let tb = stream.time_base();
                let Ok(ctx) = codec::Context::from_parameters(stream.parameters()) else {
                    continue;
                };
                let kind = ctx.medium();
                kinds.insert(index, (kind, tb));
                if kind == media::Type::Video {
                    avcc = Arc::from(ffi::extradata(&ctx));
                }
                let wanted = match kind {
                    media::Type::Video => shared.decode_video,
                    media::Type::Audio => shared.mixer.is_some(),
                    _ => false,
                };
                if wanted
                    && tx
                        .send(ToDecoder::Stream {
                            index,
                            kind,
                            ctx,
                            time_base: tb,
                        })
                        .is_err()
                {
                    return Ended::Stopped;
                }
                (kind, tb)
            }
        };
        lock(&shared.counters)
            .bytes
            .record(Instant::now(), packet.size() as u64);
        match kind {
            media::Type::Video => {
                for sd in packet.side_data() {
                    if sd.kind() == side_data::Type::NewExtraData {
                        avcc = Arc::from(sd.data());
                    }
                }
                if !keyed && packet.is_key() {
                    keyed = true;
                    shared.emit(PlayerEvent::FirstKeyframe);
                }
                let dts_ms = ms(packet.dts().or(packet.pts()), tb);
                shared.latest_video_dts.store(dts_ms, Ordering::SeqCst);
                if let Some(data) = packet
                    .data()
                    .filter(|_| shared.packets.receiver_count() > 0)
                {
                    let _ = shared.packets.send(EncodedVideo {
                        data: Arc::from(data),
                        keyframe: packet.is_key(),
                        pts_ms: ms(packet.pts(), tb),
                        dts_ms,
                        config: Arc::clone(&avcc),
                    });
                }
                if shared.decode_video && tx.send(ToDecoder::Packet(packet)).is_err() {
                    return Ended::Stopped;
                }
            }
            media::Type::Audio
                if shared.mixer.is_some() && tx.send(ToDecoder::Packet(packet)).is_err() =>
            {
                return Ended::Stopped;
            }
            _ => {}
        }
    }
}

struct VideoDecoding {
    index: usize,
    decoder: decoder::Video,
    time_base: Rational,
    waiting_for_key: bool,
}

struct AudioDecoding {
    index: usize,
    decoder: decoder::Audio,
}

struct Decoder<'a> {
    shared: &'a Shared,
    started: Instant,
    video: Option<VideoDecoding>,
    audio: Option<AudioDecoding>,
    scaler: Scaler,
    resampler: Option<(
        ffmpeg_next::software::resampling::Context,
        (ffmpeg_next::format::Sample, u64, u32),
    )>,
    mixer_input: Option<MixerInput>,
    connection_began: Instant,
    shown_this_connection: bool,
    decoded: frame::Video,
    decoded_audio: frame::Audio,
}

fn decode_loop(shared: &Shared, rx: &Receiver<ToDecoder>, started: Instant) {
    let mut d = Decoder {
        shared,
        started,
        video: None,
        audio: None,
        scaler: Scaler::default(),
        resampler: None,
        mixer_input: shared.mixer.as_ref().map(AudioMixer::add_input),
        connection_began: started,
        shown_this_connection: false,
        decoded: frame::Video::empty(),
        decoded_audio: frame::Audio::empty(),
    };
    while let Ok(msg) = rx.recv() {
        if shared.stop.is_stopped() {
            break;
        }
        match msg {
            ToDecoder::Connected { began } => {
                d.video = None;
                d.audio = None;
                d.connection_began = began;
                d.shown_this_connection = false;
            }
            ToDecoder::Stream {
                index,
                kind,
                mut ctx,
                time_base,
            } => {
                // One thread and low_delay: frame threads would hold pictures back.
                ctx.set_threading(threading::Config::count(1));
                ctx.set_flags(codec::Flags::LOW_DELAY);
                match kind {
                    media::Type::Video => match ctx.decoder().video() {
                        Ok(decoder) => {
                            d.video = Some(VideoDecoding {
                                index,
                                decoder,
                                time_base,
                                waiting_for_key: true,
                            })
                        }
                        Err(e) => {
                            tracing::warn!("no video decoder for {}: {e}", Redacted(&shared.url()))
                        }
                    },
                    media::Type::Audio => match ctx.decoder().audio() {
                        Ok(decoder) => d.audio = Some(AudioDecoding { index, decoder }),
                        Err(e) => {
                            tracing::warn!("no audio decoder for {}: {e}", Redacted(&shared.url()))
                        }
                    },
                    _ => {}
                }
            }
            ToDecoder::Packet(packet) => {
                let index = packet.stream();
                if d.video.as_ref().is_some_and(|v| v.index == index) {
                    d.video_packet(&packet);
                } else if d.audio.as_ref().is_some_and(|a| a.index == index) {
                    d.audio_packet(&packet);
                }
            }
        }
    }
}

impl Decoder<'_> {
    fn video_packet(&mut self, packet: &Packet) {
        let shared = self.shared;
        let Some(v) = self.video.as_mut() else { return };
        let dts = ms(packet.dts().or(packet.pts()), v.time_base);
        let backlog = shared.latest_video_dts.load(Ordering::SeqCst) - dts;
        let action = catch_up(Duration::from_millis(backlog.max(0) as u64));
        if action == CatchUp::SkipToKeyframe {
            v.waiting_for_key = true;
        }
        if v.waiting_for_key {
            if !packet.is_key() {
                lock(&shared.counters).skipped += 1;
                return;
            }
            v.waiting_for_key = false;
        }
        if let Err(e) = v.decoder.send_packet(packet) {
            tracing::debug!("video decode error on {}: {e}", Redacted(&shared.url()));
            return;
        }
        while v.decoder.receive_frame(&mut self.decoded).is_ok() {
            lock(&shared.counters).decoded += 1;
            if action != CatchUp::Show {
                lock(&shared.counters).skipped += 1;
                continue;
            }
            let (w, h) = (self.decoded.width(), self.decoded.height());
            let capture = clock::read(self.decoded.data(0), self.decoded.stride(0), w, h);
            let (tw, th) = shared.tile();
            let mut frame = match self.scaler.frame_at(&self.decoded, tw, th) {
                Ok(f) => f,
                Err(e) => {
                    tracing::debug!("scaling failed on {}: {e}", Redacted(&shared.url()));
                    continue;
                }
            };
            frame.capture_us = capture;
            let now = Instant::now();
            {
                let mut c = lock(&shared.counters);
                c.shown += 1;
                c.fps.record(now, 1);
                c.source_size = Some((w, h));
                if let Some(t) = capture {
                    let ms = (unix_micros() - t) as f64 / 1000.0;
                    c.latency.push(ms);
                    c.latency_now.push(now, ms);
                }
                if !self.shown_this_connection && c.first_frame_ms.is_none() {
                    c.first_frame_ms =
                        Some(now.duration_since(self.started).as_secs_f64() * 1000.0);
                }
            }
            if !self.shown_this_connection {
                self.shown_this_connection = true;
                shared.emit(PlayerEvent::FirstFrame {
                    after: now.duration_since(self.connection_began),
                });
            }
            shared.frames.send_replace(Some(Arc::new(frame)));
        }
    }

    fn audio_packet(&mut self, packet: &Packet) {
        let shared = self.shared;
        let Some(a) = self.audio.as_mut() else { return };
        if a.decoder.send_packet(packet).is_err() {
            return;
        }
        while a.decoder.receive_frame(&mut self.decoded_audio).is_ok() {
            match to_mono_48k(&mut self.resampler, &self.decoded_audio) {
                Ok(samples) => {
                    {
                        let mut c = lock(&shared.counters);
                        c.audio_level = rms(&samples);
                        c.audio_gaps.record(Instant::now());
                    }
                    if let Some(input) = &self.mixer_input {
                        input.push(&samples);
                    }
                }
                Err(e) => tracing::debug!(
                    "audio conversion failed on {}: {e}",
                    Redacted(&shared.url())
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_up_thresholds() {
        assert_eq!(catch_up(Duration::ZERO), CatchUp::Show);
        assert_eq!(catch_up(MAX_SHOW_BACKLOG), CatchUp::Show);
        assert_eq!(
            catch_up(MAX_SHOW_BACKLOG + Duration::from_millis(1)),
            CatchUp::DecodeOnly
        );
        assert_eq!(
            catch_up(SKIP_TO_KEYFRAME_BACKLOG + Duration::from_millis(1)),
            CatchUp::SkipToKeyframe
        );
    }

    #[test]
    fn timestamps_to_milliseconds() {
        assert_eq!(ms(Some(1500), Rational::new(1, 1000)), 1500);
        assert_eq!(ms(Some(48_000), Rational::new(1, 48_000)), 1000);
        assert_eq!(ms(None, Rational::new(1, 1000)), 0);
    }

    #[test]
    fn bad_configs_are_refused() {
        assert!(matches!(
            Player::start(PlayerConfig::new("http://x", 320, 180)),
            Err(PlayError::InvalidConfig(_))
        ));
        assert!(matches!(
            Player::start(PlayerConfig::new("rtmp://127.0.0.1:1/live/x", 0, 180)),
            Err(PlayError::InvalidConfig(_))
        ));
    }
}
