//! How the publisher fits its stream to its uplink: a pure controller fed, every [`TICK`], with
//! what the publisher can see of its own backlog, and deciding the video bitrate, the rung of a
//! size and frame-rate ladder, and whether to drop video at the source.
//!
//! The backlog is the socket's unsent and unacknowledged bytes (Linux's `SIOCOUTQ`), turned into
//! time by the rate the link drains them at, less the connection's least round trip: what is
//! merely in flight on a long path is not a queue. Where it cannot be read, the time spent blocked
//! in writes stands in for it. Like OBS's dynamic bitrate, the bitrate drops at once to what the
//! link delivered when the backlog grows; like WebRTC's estimators, it climbs back by small
//! multiplicative steps while the backlog stays empty. Audio is never the controller's to touch:
//! it only ever lowers, paces or drops video.

use std::time::Duration;

/// How often the publisher reports to the controller: fast enough to react within a few hundred
/// milliseconds of a link narrowing, slow enough for a tick to hold a few packets at 15 fps.
pub const TICK: Duration = Duration::from_millis(200);
/// A backlog longer than this means the link does not keep up: the bitrate comes down. A call's
/// budget is ~400 ms end to end, and the relay and player need most of it.
pub const QUEUE_HIGH: Duration = Duration::from_millis(150);
/// A backlog longer than this drops video frames at the source until it is back under
/// [`QUEUE_HIGH`]: queued video only adds delay, and audio must not wait behind it.
pub const QUEUE_DROP: Duration = Duration::from_millis(400);
/// A backlog shorter than this counts as an empty link, the condition for probing upward.
pub const QUEUE_CLEAR: Duration = Duration::from_millis(30);
/// Share of the measured link rate the stream (video plus audio) is fitted to after a cut: the
/// rest drains the backlog and absorbs keyframes.
pub const LINK_SHARE: f64 = 0.85;
/// Factor a cut applies when the link rate is unknown (blocked writes, no backlog reading).
pub const BLIND_CUT: f64 = 0.7;
/// How long a backlog over [`QUEUE_HIGH`] must last before a cut. A lost packet stalls a TCP
/// stream for about one retransmission timeout (≥ 200 ms) and the backlog then drains at once;
/// a narrow link's backlog keeps growing. Video is still dropped at once past [`QUEUE_DROP`].
pub const CUT_AFTER: Duration = Duration::from_millis(400);
/// Least time between two cuts: the backlog needs about this long to show the previous one.
pub const CUT_HOLD: Duration = Duration::from_millis(600);
/// Time the backlog must stay clear before each upward probe: a second, so a link that just
/// recovered proves it before more is sent.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// Factor of the first upward probe (+8 %, WebRTC's rate per second when it climbs): small enough
/// that overshooting a link costs one short cut.
pub const PROBE_STEP: f64 = 1.08;
/// Largest factor of one probe. Each probe that leaves the link clear makes the next one larger
/// (×[`PROBE_STEP`] again), so a link that came back whole is refilled in seconds, while one that
/// is still narrow stops the climb at its first overshoot.
pub const PROBE_STEP_MAX: f64 = 1.25;
/// Congestion at a rung's floor lasting this long moves one rung down.
pub const RUNG_DOWN_AFTER: Duration = Duration::from_secs(1);
/// Clear time at a rung's ceiling before moving one rung up. A rung up keeps the bitrate (the
/// rungs' ranges overlap), so it cannot overfill the link; what it costs is a restarted encoder,
/// which [`RUNG_HOLD`] already spaces out.
pub const RUNG_UP_AFTER: Duration = Duration::from_secs(2);
/// Least time between two rung changes, so a link at a rung's edge does not flap.
pub const RUNG_HOLD: Duration = Duration::from_secs(3);
/// A rung's floor is this share of its ceiling: below it a lower rung looks better.
pub const FLOOR_SHARE: f64 = 0.5;
/// Encoding cost grows slower than pixel rate (larger frames compress better), so a rung's
/// ceiling is the configured bitrate times (pixel rate ratio) to this power.
pub const PIXEL_RATE_EXPONENT: f64 = 0.75;
/// The least video bitrate ever asked of the encoder, in kbit/s.
pub const MIN_VIDEO_KBPS: u32 = 40;
/// Share of a tick spent blocked in writes that counts as congestion where no backlog reading
/// exists (a full send buffer).
pub const BLOCKED_CONGESTED: f64 = 0.2;
/// Share of a tick spent blocked in writes that drops video where no backlog reading exists.
pub const BLOCKED_DROP: f64 = 0.5;
/// Weight of a new link-rate sample in the running estimate.
pub const LINK_SMOOTHING: f64 = 0.5;

/// One picture size and frame rate the publisher may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rung {
    /// Encoded width.
    pub width: u32,
    /// Encoded height.
    pub height: u32,
    /// Frames per second sent.
    pub fps: u32,
}

impl Rung {
    /// A rung of `width`×`height` at `fps`.
    pub const fn new(width: u32, height: u32, fps: u32) -> Rung {
        Rung { width, height, fps }
    }

    fn pixel_rate(&self) -> f64 {
        f64::from(self.width) * f64::from(self.height) * f64::from(self.fps)
    }
}

/// The rungs a publisher may step down to, largest first: from HD (1280×720 at 30 fps) first
/// fewer pixels at full motion, then half the frames; below a call's usual 640×360 at 15 fps,
/// smaller pictures, then fewer of them. A publisher uses only those below its configured rung.
pub const LADDER: [Rung; 7] = [
    Rung::new(960, 540, 30),
    Rung::new(960, 540, 15),
    Rung::new(640, 360, 30),
    Rung::new(640, 360, 15),
    Rung::new(480, 270, 15),
    Rung::new(480, 270, 10),
    Rung::new(320, 180, 10),
];

/// The ladder one publisher walks: its configured rung on top, then the [`LADDER`] rungs that
/// are smaller in every respect, each with a bitrate range.
#[derive(Debug, Clone, PartialEq)]
pub struct Ladder {
    rungs: Vec<(Rung, u32, u32)>,
    audio_kbps: u32,
}

impl Ladder {
    /// The ladder under `top` at `top_kbps` of video, with `audio_kbps` of audio beside it.
    pub fn new(top: Rung, top_kbps: u32, audio_kbps: u32) -> Ladder {
        let below = LADDER.into_iter().filter(|r| {
            r.width <= top.width
                && r.height <= top.height
                && r.fps <= top.fps
                && r.pixel_rate() < top.pixel_rate()
        });
        Ladder::of(top, below, top_kbps, audio_kbps)
    }

    /// `top` at `top_kbps`, then `below` (largest first), each with a bitrate that follows its
    /// pixel rate ([`PIXEL_RATE_EXPONENT`]).
    pub fn of(
        top: Rung,
        below: impl IntoIterator<Item = Rung>,
        top_kbps: u32,
        audio_kbps: u32,
    ) -> Ladder {
        let top_kbps = top_kbps.max(MIN_VIDEO_KBPS);
        let mut rungs = vec![(top, floor(top_kbps), top_kbps)];
        for r in below {
            let ratio = (r.pixel_rate() / top.pixel_rate().max(1.0)).powf(PIXEL_RATE_EXPONENT);
            let ceiling = ((f64::from(top_kbps) * ratio) as u32).max(MIN_VIDEO_KBPS);
            rungs.push((r, floor(ceiling), ceiling));
        }
        Ladder { rungs, audio_kbps }
    }

    /// How many rungs there are (at least one).
    pub fn len(&self) -> usize {
        self.rungs.len()
    }

    /// Never true: a ladder has its top rung.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Rung `i` (clamped to the ladder).
    pub fn rung(&self, i: usize) -> Rung {
        self.rungs[i.min(self.rungs.len() - 1)].0
    }

    /// The lowest and highest video bitrate of rung `i`, kbit/s.
    pub fn range(&self, i: usize) -> (u32, u32) {
        let (_, lo, hi) = self.rungs[i.min(self.rungs.len() - 1)];
        (lo, hi)
    }
}

fn floor(ceiling: u32) -> u32 {
    ((f64::from(ceiling) * FLOOR_SHARE) as u32).max(MIN_VIDEO_KBPS)
}

/// What the publisher saw of its uplink during one tick.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observation {
    /// Length of the tick.
    pub elapsed: Duration,
    /// Bytes handed to the socket (video and audio).
    pub written_bytes: u64,
    /// Bytes in the socket not yet acknowledged by the server, at the end of the tick; `None`
    /// where the platform or protocol does not tell.
    pub backlog_bytes: Option<u64>,
    /// Time spent inside writes.
    pub blocked: Duration,
    /// The least round trip the connection has seen (the kernel's minimum RTT): the part of the
    /// backlog that is in flight on the path rather than queued. `None` where it is not told.
    pub rtt_floor: Option<Duration>,
}

/// The controller's decision and memory. The public fields are what the publisher applies.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptState {
    /// Index into the [`Ladder`] (0: the configured size and rate).
    pub rung: usize,
    /// Video bitrate the encoder is asked for, kbit/s.
    pub video_kbps: u32,
    /// Drop video frames at the source (the backlog is over [`QUEUE_DROP`]).
    pub drop_video: bool,
    /// Bitrate cuts and rung changes so far.
    pub adaptations: u64,
    /// Backlog at the last tick, as time at the link's rate.
    pub queue: Duration,
    /// Estimated link rate, bit/s, measured while the link was saturated.
    pub link_bps: Option<f64>,
    prev_backlog: u64,
    prev_queued: u64,
    high_for: Duration,
    since_cut: Duration,
    since_rung: Duration,
    clear_for: Duration,
    stuck_for: Duration,
    probes: u32,
}

impl AdaptState {
    /// The start: the top rung at its full bitrate.
    pub fn start(ladder: &Ladder) -> AdaptState {
        AdaptState {
            rung: 0,
            video_kbps: ladder.range(0).1,
            drop_video: false,
            adaptations: 0,
            queue: Duration::ZERO,
            link_bps: None,
            prev_backlog: 0,
            prev_queued: 0,
            high_for: Duration::ZERO,
            since_cut: Duration::MAX,
            since_rung: Duration::MAX,
            clear_for: Duration::ZERO,
            stuck_for: Duration::ZERO,
            probes: 0,
        }
    }

    /// Sending less than configured: the uplink is the cause.
    pub fn limited(&self, ladder: &Ladder) -> bool {
        self.rung > 0 || self.video_kbps < ladder.range(0).1
    }

    /// This state on `ladder`, a new ladder for other content: what was learnt of the link is
    /// kept, and a publisher the uplink held back starts on the first rung that fits in the
    /// bitrate it had come down to, rather than at the top.
    pub fn carried_to(&self, old: &Ladder, ladder: &Ladder) -> AdaptState {
        let mut next = AdaptState::start(ladder);
        next.link_bps = self.link_bps;
        next.adaptations = self.adaptations;
        if self.limited(old) {
            let fits = (0..ladder.len())
                .find(|&i| ladder.range(i).1 <= self.video_kbps)
                .unwrap_or(ladder.len() - 1);
            let (lo, hi) = ladder.range(fits);
            next.rung = fits;
            next.video_kbps = self.video_kbps.clamp(lo, hi);
        }
        next
    }

    /// Forget the backlog (a new connection starts with an empty socket).
    pub fn new_connection(&mut self) {
        self.prev_backlog = 0;
        self.prev_queued = 0;
        self.high_for = Duration::ZERO;
        self.queue = Duration::ZERO;
        self.drop_video = false;
    }
}

/// The link's state this tick, read from an observation.
struct Reading {
    queue: Duration,
    /// Backlog bytes beyond what is in flight.
    queued: u64,
    growing: bool,
    /// The link rate estimate after this tick.
    link_bps: Option<f64>,
}

fn read(state: &AdaptState, obs: &Observation, ladder: &Ladder) -> Reading {
    let secs = obs.elapsed.as_secs_f64().max(1e-3);
    let target_bps = f64::from(state.video_kbps + ladder.audio_kbps) * 1000.0;
    match obs.backlog_bytes {
        Some(backlog) => {
            let drained = (obs.written_bytes + state.prev_backlog).saturating_sub(backlog);
            let drain_bps = drained as f64 * 8.0 / secs;
            // A path of this round trip holds this much in flight at the rate sent: not a queue.
            let sent_bps = state.link_bps.map_or(target_bps, |l| l.min(target_bps));
            let in_flight = obs
                .rtt_floor
                .map_or(0.0, |rtt| sent_bps * rtt.as_secs_f64() / 8.0);
            let queued = backlog.saturating_sub(in_flight as u64);
            // Only a tick queued at both ends measures the link, not the encoder.
            let saturated = state.prev_queued > 0 && queued > 0;
            let link_bps = match (saturated && drain_bps > 0.0, state.link_bps) {
                (true, Some(old)) => Some(old + LINK_SMOOTHING * (drain_bps - old)),
                (true, None) => Some(drain_bps),
                (false, old) => old,
            };
            let rate = link_bps.unwrap_or(target_bps).max(1000.0);
            Reading {
                queue: Duration::from_secs_f64(queued as f64 * 8.0 / rate),
                queued,
                growing: queued > state.prev_queued,
                link_bps,
            }
        }
        None => {
            let share = obs.blocked.as_secs_f64() / secs;
            let queue = if share >= BLOCKED_DROP {
                QUEUE_DROP + TICK
            } else if share >= BLOCKED_CONGESTED {
                QUEUE_HIGH + TICK
            } else {
                Duration::ZERO
            };
            let link_sample = (share >= BLOCKED_CONGESTED && obs.written_bytes > 0)
                .then(|| obs.written_bytes as f64 * 8.0 / secs);
            Reading {
                queue,
                queued: 0,
                growing: share >= BLOCKED_CONGESTED,
                link_bps: link_sample.or(state.link_bps),
            }
        }
    }
}

/// One tick of the controller: the state after `obs`.
pub fn next(ladder: &Ladder, state: &AdaptState, obs: &Observation) -> AdaptState {
    let r = read(state, obs, ladder);
    let mut s = state.clone();
    let dt = obs.elapsed;
    s.prev_backlog = obs.backlog_bytes.unwrap_or(0);
    s.prev_queued = r.queued;
    s.queue = r.queue;
    s.since_cut = s.since_cut.saturating_add(dt);
    s.since_rung = s.since_rung.saturating_add(dt);
    s.link_bps = r.link_bps;
    s.drop_video = if r.queue > QUEUE_DROP {
        true
    } else {
        s.drop_video && r.queue > QUEUE_HIGH
    };
    if r.queue > QUEUE_HIGH {
        s.clear_for = Duration::ZERO;
        s.probes = 0;
        s.high_for = s.high_for.saturating_add(dt);
        // Blocked writes are a full send buffer already; a backlog must last to be a narrow link.
        let lasting = obs.backlog_bytes.is_none() || s.high_for >= CUT_AFTER;
        congested(ladder, &mut s, &r, dt, lasting);
    } else {
        s.stuck_for = Duration::ZERO;
        s.high_for = Duration::ZERO;
        if r.queue < QUEUE_CLEAR {
            s.clear_for = s.clear_for.saturating_add(dt);
            clear(ladder, &mut s, dt);
        } else {
            s.clear_for = Duration::ZERO;
            s.probes = 0;
        }
    }
    s
}

fn congested(ladder: &Ladder, s: &mut AdaptState, r: &Reading, dt: Duration, lasting: bool) {
    let dropping = s.drop_video;
    let (lo, _) = ladder.range(s.rung);
    if s.video_kbps <= lo {
        s.stuck_for = s.stuck_for.saturating_add(dt);
    }
    // A backlog that drains after a cut needs no further one; one that drains only because
    // video is dropped does.
    let filling = r.growing || dropping;
    if !lasting || !filling || s.since_cut < CUT_HOLD {
        return;
    }
    let wanted = match s.link_bps {
        Some(bps) => (bps * LINK_SHARE / 1000.0) as u32,
        None => ((f64::from(s.video_kbps + ladder.audio_kbps)) * BLIND_CUT) as u32,
    }
    .saturating_sub(ladder.audio_kbps);
    let wanted = wanted.min(s.video_kbps);
    let lower = s.rung + 1 < ladder.len();
    let down =
        lower && s.since_rung >= RUNG_HOLD && (wanted < lo || s.stuck_for >= RUNG_DOWN_AFTER);
    if down {
        // Down quickly, up slowly: straight to the first rung whose floor the link carries.
        s.rung = (s.rung + 1..ladder.len())
            .find(|&i| ladder.range(i).0 <= wanted)
            .unwrap_or(ladder.len() - 1);
        s.since_rung = Duration::ZERO;
        s.stuck_for = Duration::ZERO;
    }
    let (lo, hi) = ladder.range(s.rung);
    let kbps = wanted.clamp(lo, hi);
    if kbps != s.video_kbps || down {
        s.video_kbps = kbps;
        s.adaptations += 1;
    }
    s.since_cut = Duration::ZERO;
}

fn clear(ladder: &Ladder, s: &mut AdaptState, dt: Duration) {
    let (_, hi) = ladder.range(s.rung);
    if s.video_kbps >= hi {
        let up = s.rung > 0 && s.clear_for >= RUNG_UP_AFTER && s.since_rung >= RUNG_UP_AFTER;
        if up {
            s.rung -= 1;
            s.since_rung = Duration::ZERO;
            s.clear_for = Duration::ZERO;
            s.video_kbps = s.video_kbps.max(ladder.range(s.rung).0);
            s.adaptations += 1;
        }
        return;
    }
    // Probe once per PROBE_EVERY of clear link: the tick that crosses a multiple of it.
    let every = PROBE_EVERY.as_millis().max(1);
    let before = s.clear_for.saturating_sub(dt).as_millis() / every;
    if s.clear_for.as_millis() / every > before {
        let raised = (f64::from(s.video_kbps) * probe_step(s.probes)).ceil() as u32;
        s.video_kbps = raised.min(hi);
        s.probes = s.probes.saturating_add(1);
    }
}

/// The factor of the probe that follows `done` probes which all left the link clear.
pub fn probe_step(done: u32) -> f64 {
    PROBE_STEP
        .powi(i32::try_from(done.saturating_add(1)).unwrap_or(i32::MAX))
        .min(PROBE_STEP_MAX)
}

/// Whether a frame captured at `now_us` goes out at `fps`, given when the next one is `due`
/// (`None` at first); returns the decision and the new due time. Frames a quarter interval early
/// pass (capture jitter), so a 15 fps source paced to 10 fps sends two frames of three.
pub fn pace(due: Option<i64>, now_us: i64, fps: u32) -> (bool, Option<i64>) {
    let interval = 1_000_000 / i64::from(fps.max(1));
    match due {
        Some(due) if now_us < due - interval / 4 => (false, Some(due)),
        // After a pause the schedule restarts from now rather than letting a burst through.
        Some(due) if now_us < due + interval => (true, Some(due + interval)),
        _ => (true, Some(now_us + interval)),
    }
}

#[cfg(test)]
mod tests;
