//! Holding pictures and packets for their sound: the `media-play-sync` thread applies the
//! [`sync`](super::sync) policy to what the decoder and the reader hand over.
//!
//! Whatever may go out at once (no sound to follow, sync off, nothing older still held) is
//! handed out by the thread that offers it, so an unheld picture pays no thread hop. Handing
//! out happens under the scheduler's lock, so the two threads never reorder pictures.

use super::sync::{
    self, MAX_HELD_FRAMES, PushedAudio, Release, audio_clock, frame_to_show, packets_to_send,
};
use super::{EncodedVideo, PlayerEvent, Shared, VideoDecoding, lock};
use crate::frame::{AUDIO_SAMPLE_RATE, VideoFrame, unix_micros};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct Held<T> {
    item: T,
    pts_ms: i64,
    since: Instant,
}

struct State {
    frames: VecDeque<Held<Arc<VideoFrame>>>,
    packets: VecDeque<Held<EncodedVideo>>,
    audio: Option<PushedAudio>,
    connection_began: Instant,
    shown_this_connection: bool,
}

/// The held pictures and packets of one player, and the sound they follow.
pub(super) struct Scheduler {
    enabled: bool,
    started: Instant,
    state: Mutex<State>,
    wake: Condvar,
}

impl Scheduler {
    pub(super) fn new(enabled: bool, started: Instant) -> Scheduler {
        Scheduler {
            enabled,
            started,
            state: Mutex::new(State {
                frames: VecDeque::new(),
                packets: VecDeque::new(),
                audio: None,
                connection_began: started,
                shown_this_connection: false,
            }),
            wake: Condvar::new(),
        }
    }

    /// Wakes the thread (to see a stop, or something new to hold).
    pub(super) fn wake(&self) {
        let _guard = lock(&self.state);
        self.wake.notify_all();
    }
}

fn clock(shared: &Shared, state: &State, now: Instant) -> Option<f64> {
    if !shared.sync.enabled {
        return None;
    }
    let mixer = shared.mixer.as_ref()?;
    let queued = lock(&shared.mixer_input).as_ref()?.queued();
    let queued = Duration::from_secs_f64(queued as f64 / f64::from(AUDIO_SAMPLE_RATE));
    audio_clock(state.audio, queued, mixer.output_latency(), now)
}

/// A new connection: its timelines start afresh, so held pictures and the clock are dropped.
pub(super) fn connected(shared: &Shared, began: Instant) {
    let mut s = lock(&shared.sync.state);
    let dropped = s.frames.len() as u64;
    s.frames.clear();
    s.audio = None;
    s.connection_began = began;
    s.shown_this_connection = false;
    drop(s);
    lock(&shared.counters).skipped += dropped;
}

/// The reader's new connection: held packets of the old one go out now, in order.
pub(super) fn flush_packets(shared: &Shared) {
    let mut s = lock(&shared.sync.state);
    for p in s.packets.drain(..) {
        let _ = shared.packets.send(p.item);
    }
}

/// Sound ending at `end_pts_ms` went into the mixer.
pub(super) fn audio_pushed(shared: &Shared, end_pts_ms: f64) {
    if !shared.sync.enabled {
        return;
    }
    lock(&shared.sync.state).audio = Some(PushedAudio {
        end_pts_ms,
        at: Instant::now(),
    });
}

/// A decoded picture of `pts_ms`, to show when its sound plays.
pub(super) fn offer_frame(shared: &Shared, frame: VideoFrame, pts_ms: i64) {
    let frame = Arc::new(frame);
    let now = Instant::now();
    // Latency is taken as the picture is ready, before the lip-sync hold: it is what the network
    // and decoder cost, what the stream and quality policies judge; the hold only waits for the
    // sound, which is that late anyway.
    if let Some(t) = frame.capture_us {
        let ms = (unix_micros() - t) as f64 / 1000.0;
        let mut c = lock(&shared.counters);
        c.latency.push(ms);
        c.latency_now.push(now, ms);
    }
    let mut s = lock(&shared.sync.state);
    if s.frames.is_empty()
        && sync::release(pts_ms, clock(shared, &s, now), Duration::ZERO) == Release::Now
    {
        present(shared, &mut s, frame, now);
        return;
    }
    s.frames.push_back(Held {
        item: frame,
        pts_ms,
        since: now,
    });
    if s.frames.len() > MAX_HELD_FRAMES {
        s.frames.pop_front();
        lock(&shared.counters).skipped += 1;
    }
    shared.sync.wake.notify_all();
}

/// An H.264 packet for the tap, to send when its sound plays.
pub(super) fn offer_packet(shared: &Shared, packet: EncodedVideo) {
    let now = Instant::now();
    let mut s = lock(&shared.sync.state);
    let pts_ms = packet.pts_ms;
    if s.packets.is_empty()
        && sync::release(pts_ms, clock(shared, &s, now), Duration::ZERO) == Release::Now
    {
        let _ = shared.packets.send(packet);
        return;
    }
    s.packets.push_back(Held {
        item: packet,
        pts_ms,
        since: now,
    });
    shared.sync.wake.notify_all();
}

/// The `media-play-sync` thread: hands out what is due, sleeps until the next is.
pub(super) fn run(shared: &Shared) {
    let mut s = lock(&shared.sync.state);
    while !shared.stop.is_stopped() {
        let next = release_due(shared, &mut s);
        s = match next {
            Some(wait) => wait_on(&shared.sync.wake, s, wait),
            None => shared.sync.wake.wait(s).unwrap_or_else(|e| e.into_inner()),
        };
    }
}

fn wait_on<'a>(wake: &Condvar, s: MutexGuard<'a, State>, wait: Duration) -> MutexGuard<'a, State> {
    match wake.wait_timeout(s, wait) {
        Ok((s, _)) => s,
        Err(e) => e.into_inner().0,
    }
}

/// Hands out what is due; the time until the next held item should be asked about again.
fn release_due(shared: &Shared, s: &mut State) -> Option<Duration> {
    let now = Instant::now();
    let clock_ms = clock(shared, s, now);
    let answer = |pts_ms: i64, since: Instant| {
        sync::release(pts_ms, clock_ms, now.saturating_duration_since(since))
    };
    let frames: Vec<Release> = s.frames.iter().map(|h| answer(h.pts_ms, h.since)).collect();
    let packets: Vec<Release> = s
        .packets
        .iter()
        .map(|h| answer(h.pts_ms, h.since))
        .collect();
    if let Some(i) = frame_to_show(&frames) {
        let passed = s.frames.drain(..i).count() as u64;
        lock(&shared.counters).skipped += passed;
        if let Some(h) = s.frames.pop_front() {
            present(shared, s, h.item, now);
        }
    }
    for p in s.packets.drain(..packets_to_send(&packets)) {
        let _ = shared.packets.send(p.item);
    }
    let waits = |answers: &[Release], left: usize| {
        answers[answers.len() - left..]
            .iter()
            .filter_map(|r| match r {
                Release::After(d) => Some(*d),
                Release::Now => None,
            })
            .min()
    };
    let next_frame = waits(&frames, s.frames.len());
    let next_packet = waits(&packets, s.packets.len());
    next_frame.into_iter().chain(next_packet).min()
}

/// Shows `frame`: the latest-frame slot, and the figures of what was shown.
fn present(shared: &Shared, s: &mut State, frame: Arc<VideoFrame>, now: Instant) {
    {
        let mut c = lock(&shared.counters);
        c.shown += 1;
        if shared.video == VideoDecoding::Always {
            c.fps.record(now, 1);
        }
        if !s.shown_this_connection && c.first_frame_ms.is_none() {
            c.first_frame_ms = Some(now.duration_since(shared.sync.started).as_secs_f64() * 1000.0);
        }
    }
    if !s.shown_this_connection {
        s.shown_this_connection = true;
        shared.emit(PlayerEvent::FirstFrame {
            after: now.duration_since(s.connection_began),
        });
    }
    shared.frames.send_replace(Some(frame));
}
