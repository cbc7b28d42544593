//! A send thread: one RTMP connection at a time, encoding and writing one stream until it
//! breaks, then reconnecting with backoff. The main stream's uplink controller's decisions are
//! applied here; the small stream follows the main stream's size and rate.

mod send;
mod socket;
mod x264;

use socket::{backlog_of, rtt_floor_of, socket_of};
pub(crate) use x264::{X264Setup, open_video_encoder, open_x264, set_video_bitrate};

use super::shape::ladder_for;
use super::small::{small_fps, small_size};
use super::{
    IDLE_TICK, Input, Lane, PublisherConfig, PublisherEvent, Shared, StreamKind, VideoContent,
    WRITE_TIMEOUT, lock,
};
use crate::adapt::{self, AdaptState, Ladder, Observation, Rung};
use crate::backoff;
use crate::convert::Scaler;
use crate::ffi::{self, InterruptibleOutput};
use crate::frame::{AUDIO_SAMPLE_RATE, unix_micros};
use ffmpeg_next::{Dictionary, Rational, codec, encoder};
use quartet_proto::redact::Redacted;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The uplink controller and its ladder, kept across connections.
struct Uplink {
    ladder: Ladder,
    state: AdaptState,
    /// What the ladder was shaped for: the content and, for a screen, its pictures' size.
    shaped_for: (VideoContent, (u32, u32)),
}

impl Uplink {
    fn new(config: &PublisherConfig) -> Uplink {
        let ladder = ladder_for(VideoContent::Camera, config, (0, 0));
        Uplink {
            state: AdaptState::start(&ladder),
            ladder,
            shaped_for: (VideoContent::Camera, (0, 0)),
        }
    }

    /// Reshapes the ladder for what the pictures now show (`source`: their size); true when
    /// it changed, and the encoder must follow.
    fn follow(
        &mut self,
        content: VideoContent,
        config: &PublisherConfig,
        source: (u32, u32),
    ) -> bool {
        let source = if content == VideoContent::Screen {
            source
        } else {
            (0, 0)
        };
        if self.shaped_for == (content, source) {
            return false;
        }
        let ladder = ladder_for(content, config, source);
        self.state = self.state.carried_to(&self.ladder, &ladder);
        self.ladder = ladder;
        self.shaped_for = (content, source);
        true
    }
}

/// Why a session ended without an error.
enum Ended {
    /// Stopped for good.
    Stopped,
}

/// What one connection of `lane` encodes: the main stream at its controller's rung and
/// bitrate, the small stream at its box fitted to the main stream's current size.
fn encoding_of(shared: &Shared, lane: &Lane, uplink: Option<&Uplink>) -> PublisherConfig {
    let (width, height, fps, video_kbps) = match uplink {
        Some(u) => {
            let rung = u.ladder.rung(u.state.rung);
            (rung.width, rung.height, rung.fps, u.state.video_kbps)
        }
        None => {
            let main = shared.main_rung();
            let (w, h) = small_size(
                (lane.config.width, lane.config.height),
                (main.width, main.height),
            );
            let fps = small_fps(lane.config.fps, main.fps);
            (w, h, fps, lane.config.video_kbps)
        }
    };
    PublisherConfig {
        width,
        height,
        fps,
        video_kbps,
        ..lane.config.clone()
    }
}

/// Publishes the `kind` stream until stopped. Only the main stream's connection is reported
/// in events (the call's state follows it); the small stream's shows in its figures.
pub(super) fn send_loop(shared: &Shared, kind: StreamKind, rx: &Receiver<Input>) {
    let Some(lane) = shared.lane(kind) else {
        return;
    };
    let emit = |e: PublisherEvent| {
        if kind == StreamKind::Main {
            shared.emit(e);
        }
    };
    let mut reconnect = backoff::reconnect();
    let mut attempt = 0u32;
    let mut ever_connected = false;
    let config = &lane.config;
    let mut uplink = (kind == StreamKind::Main).then(|| Uplink::new(config));
    while !shared.stop.is_stopped() {
        attempt += 1;
        emit(PublisherEvent::Connecting { attempt });
        let began = Instant::now();
        if let Some(u) = uplink.as_mut() {
            u.state.new_connection();
        }
        let encoding = encoding_of(shared, lane, uplink.as_ref());
        let reason = match Session::open(shared, lane, &encoding) {
            Ok(mut session) => {
                {
                    let mut c = lock(&lane.counters);
                    c.connected = true;
                    c.rung = session.rung;
                    if ever_connected {
                        c.reconnects += 1;
                    }
                }
                ever_connected = true;
                attempt = 0;
                emit(PublisherEvent::Connected);
                match session.run(shared, lane, rx, uplink.as_mut()) {
                    Ok(Ended::Stopped) => {
                        lock(&lane.counters).connected = false;
                        session.finish();
                        break;
                    }
                    Err(e) => {
                        lock(&lane.counters).connected = false;
                        e.to_string()
                    }
                }
            }
            Err(e) => {
                lock(&lane.counters).connected = false;
                e.to_string()
            }
        };
        if shared.stop.is_stopped() {
            break;
        }
        reconnect.connection_ended(began.elapsed());
        let retry_in = reconnect.next_delay();
        tracing::info!(
            "publishing to {} failed: {reason}; retrying in {retry_in:?}",
            Redacted(&config.url)
        );
        emit(PublisherEvent::Disconnected { reason, retry_in });
        if wait_draining(shared, lane, rx, retry_in) {
            break;
        }
    }
    emit(PublisherEvent::Stopped);
}

/// Discards captured media while waiting to reconnect (stale media is worthless after it);
/// true when stopped.
fn wait_draining(shared: &Shared, lane: &Lane, rx: &Receiver<Input>, delay: Duration) -> bool {
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
                lane.queued_video.fetch_sub(1, Ordering::SeqCst);
            }
            Ok(Input::Audio(_)) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return shared.stop.sleep(deadline - now),
        }
    }
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

struct Session {
    output: InterruptibleOutput,
    video: encoder::Video,
    video_index: usize,
    audio_index: usize,
    video_tb: Rational,
    audio_tb: Rational,
    start_us: i64,
    last_video_pts: Option<i64>,
    /// Time of the first packet sent, in the output's time base: FLV refuses anything earlier.
    first_ts: Option<i64>,
    /// The last picture's decoding time as written: pictures moved up to `first_ts` must still
    /// follow one another (two with one time break every demuxer after the relay).
    last_video_dts: Option<i64>,
    /// Samples of the publisher's audio timeline before this connection began.
    audio_offset: i64,
    scaler: Scaler,
    last_keyframe: Option<Instant>,
    /// The size and frame rate this connection sends.
    rung: Rung,
    /// What the encoder is set up for.
    content: VideoContent,
    /// The TCP socket under the RTMP output, where its backlog can be read.
    socket: Option<std::os::raw::c_int>,
    tick: TickMeter,
    /// When the next video frame is due at the rung's frame rate.
    video_due_us: Option<i64>,
    /// The decoder configuration of an encoder opened mid-stream for a new picture size, to go
    /// out with its first packet.
    new_extradata: Option<Vec<u8>>,
}

/// What one controller tick saw of the writes.
struct TickMeter {
    began: Instant,
    written: u64,
    blocked: Duration,
}

impl TickMeter {
    fn new() -> TickMeter {
        TickMeter {
            began: Instant::now(),
            written: 0,
            blocked: Duration::ZERO,
        }
    }
}

impl Session {
    fn open(
        shared: &Shared,
        lane: &Lane,
        encoding: &PublisherConfig,
    ) -> Result<Session, SessionError> {
        let config = encoding;
        let rung = Rung::new(encoding.width, encoding.height, encoding.fps);
        let mut opts = Dictionary::new();
        // FFmpeg's RTMP leaves Nagle on, which holds small packets back by up to 200 ms.
        opts.set("tcp_nodelay", "1");
        opts.set("rw_timeout", &WRITE_TIMEOUT.as_micros().to_string());
        let mut output = ffi::open_output(&config.url, "flv", opts, shared.stop.checker())
            .map_err(ctx("connecting"))?;
        let content = shared.video_content();
        let video =
            open_video_encoder(encoding, content).map_err(ctx("opening the H.264 encoder"))?;
        let audio = lock(&shared.audio_params).clone();
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
            s.set_parameters(audio);
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
        let socket = socket_of(&output);
        if socket.is_none() {
            tracing::debug!(
                "no socket backlog for {}: adapting on write times",
                Redacted(&config.url)
            );
        }
        // A new connection needs a keyframe for whoever is waiting on the other side.
        lane.keyframe_requested.store(true, Ordering::SeqCst);
        let start_us = unix_micros();
        Ok(Session {
            output,
            video,
            video_index,
            audio_index,
            video_tb,
            audio_tb,
            start_us,
            last_video_pts: None,
            first_ts: None,
            last_video_dts: None,
            audio_offset: (start_us - shared.epoch_us) * i64::from(AUDIO_SAMPLE_RATE) / 1_000_000,
            scaler: Scaler::default(),
            last_keyframe: None,
            rung,
            content,
            socket,
            tick: TickMeter::new(),
            video_due_us: None,
            new_extradata: None,
        })
    }

    /// Encodes and sends until stopped, resized by the controller (`Ok`) or the connection
    /// breaks (`Err`).
    fn run(
        &mut self,
        shared: &Shared,
        lane: &Lane,
        rx: &Receiver<Input>,
        mut uplink: Option<&mut Uplink>,
    ) -> Result<Ended, SessionError> {
        loop {
            if shared.stop.is_stopped() {
                return Ok(Ended::Stopped);
            }
            if self.tick.began.elapsed() >= adapt::TICK {
                let resize = match uplink.as_deref_mut() {
                    Some(u) => self.adapt(shared, u),
                    None => self.follow_main(shared, lane),
                };
                if resize {
                    self.resize(shared, lane, uplink.as_deref())?;
                }
            }
            // The small stream has no controller of its own: on a narrow uplink it would take
            // what the main stream, the one every v1 viewer plays, needs. It pauses meanwhile;
            // its viewers fall back to the main stream.
            let paused = uplink.is_none() && shared.main_limited();
            let result = match rx.recv_timeout(IDLE_TICK) {
                Ok(Input::Video(frame)) => {
                    lane.queued_video.fetch_sub(1, Ordering::SeqCst);
                    if let Some(u) = uplink.as_deref_mut() {
                        let source = (frame.width(), frame.height());
                        if u.follow(shared.video_content(), &lane.config, source) {
                            self.resize(shared, lane, Some(u))?;
                        }
                    }
                    let drop = paused || uplink.as_ref().is_some_and(|u| u.state.drop_video);
                    self.send_video(shared, lane, uplink.as_deref(), &frame, drop)
                }
                Ok(Input::Audio(_)) if paused => Ok(()),
                Ok(Input::Audio(packet)) => self.send_audio(lane, packet),
                Err(RecvTimeoutError::Timeout) => Ok(()),
                Err(RecvTimeoutError::Disconnected) => {
                    shared.stop.sleep(IDLE_TICK);
                    Ok(())
                }
            };
            if let Err(e) = result {
                return if shared.stop.is_stopped() {
                    Ok(Ended::Stopped)
                } else {
                    Err(e)
                };
            }
        }
    }

    /// The small stream's tick: its frame rate follows the main stream's now; true when its
    /// size must change with the main stream's.
    fn follow_main(&mut self, shared: &Shared, lane: &Lane) -> bool {
        self.tick = TickMeter::new();
        let main = shared.main_rung();
        let (w, h) = small_size(
            (lane.config.width, lane.config.height),
            (main.width, main.height),
        );
        self.rung.fps = small_fps(lane.config.fps, main.fps);
        lock(&lane.counters).rung = self.rung;
        (w, h) != (self.rung.width, self.rung.height)
    }

    /// One controller tick: observe, decide, apply. True when the picture size must change.
    fn adapt(&mut self, shared: &Shared, uplink: &mut Uplink) -> bool {
        let obs = Observation {
            elapsed: self.tick.began.elapsed(),
            written_bytes: self.tick.written,
            backlog_bytes: self.socket.and_then(backlog_of),
            blocked: self.tick.blocked,
            rtt_floor: self.socket.and_then(rtt_floor_of),
        };
        self.tick = TickMeter::new();
        let before = uplink.state.clone();
        let after = adapt::next(&uplink.ladder, &before, &obs);
        let ladder = &uplink.ladder;
        if after.video_kbps != before.video_kbps {
            set_video_bitrate(&mut self.video, after.video_kbps);
        }
        let rung = ladder.rung(after.rung);
        if after.rung != before.rung || after.video_kbps < before.video_kbps {
            tracing::info!(
                "uplink: {}x{}@{} at {} kbit/s (backlog {:?}, link {:?} bit/s)",
                rung.width,
                rung.height,
                rung.fps,
                after.video_kbps,
                after.queue,
                after.link_bps.map(|b| b.round())
            );
        }
        if after.limited(ladder) && !before.limited(ladder) {
            shared.emit(PublisherEvent::UplinkLimited {
                rung,
                video_kbps: after.video_kbps,
            });
        }
        {
            let mut c = lock(&shared.main.counters);
            c.rung = rung;
            c.target_kbps = after.video_kbps;
            c.adaptations = after.adaptations;
            c.uplink_limited = after.limited(ladder);
            c.uplink_queue_ms = obs
                .backlog_bytes
                .map(|_| after.queue.as_secs_f64() * 1000.0);
        }
        uplink.state = after;
        let resize = (rung.width, rung.height) != (self.rung.width, self.rung.height);
        self.rung = rung;
        resize
    }

    /// Carries on at the controller's new picture size, or with the encoder set up for new
    /// content (camera ↔ screen), on the same connection: a new encoder,
    /// whose decoder configuration goes out with its first packet as a new FLV sequence header
    /// (FFmpeg's `AV_PKT_DATA_NEW_EXTRADATA`). Players decode on without reconnecting, which
    /// a new connection would make them do, with a gap in sound and picture.
    fn resize(
        &mut self,
        shared: &Shared,
        lane: &Lane,
        uplink: Option<&Uplink>,
    ) -> Result<(), SessionError> {
        let encoding = encoding_of(shared, lane, uplink);
        self.rung = Rung::new(encoding.width, encoding.height, encoding.fps);
        lock(&lane.counters).rung = self.rung;
        self.content = shared.video_content();
        self.video = open_video_encoder(&encoding, self.content)
            .map_err(ctx("reopening the H.264 encoder"))?;
        self.new_extradata = Some(ffi::extradata(&self.video));
        self.video_due_us = None;
        // A new encoder starts with an IDR; counted so the interval restarts from it.
        self.last_keyframe = Some(Instant::now());
        Ok(())
    }
}
