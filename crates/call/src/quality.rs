//! A tile's connection quality (good / poor / bad) from what its player measures: frame-clock
//! latency, frames skipped to catch up, and received bitrate against what the sender is set to.
//!
//! [`judge`] is the policy, a pure function of one observation and the level shown before;
//! [`QualityMeter`] adds the memory a steady indicator needs: it turns the player's running
//! counters into shares since the last look, shows a worse level at once and a better one only
//! after it has held for [`IMPROVE_AFTER`]. [`QualityTracker`] keeps one meter per member.

use crate::stats::CallStats;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Median latency above which a tile is poor, ms: the steady-state target of a call (issue 15),
/// past which speakers start to talk over each other now and then.
pub const POOR_P50_MS: f64 = 250.0;
/// 95th-percentile latency above which a tile is poor, ms: SRS's 400 ms, the delay people
/// start to perceive.
pub const POOR_P95_MS: f64 = 400.0;
/// Median latency above which a tile is bad, ms: past Tencent's 500 ms bound of its
/// accelerated path, turn-taking breaks down.
pub const BAD_P50_MS: f64 = 500.0;
/// 95th-percentile latency above which a tile is bad, ms: a second behind is no conversation.
pub const BAD_P95_MS: f64 = 1000.0;
/// Share of decoded frames skipped (to catch up with live) above which a tile is poor: one in
/// ten missing is a visible stutter.
pub const POOR_SKIPPED_SHARE: f64 = 0.10;
/// Share of decoded frames skipped above which a tile is bad: a third gone is a slide show.
pub const BAD_SKIPPED_SHARE: f64 = 0.33;
/// Received bitrate, as a share of what the sender is set to, below which a tile is poor: the
/// encoder has had to give up much of its picture.
pub const POOR_BITRATE_SHARE: f64 = 0.6;
/// Received bitrate share below which a tile is bad: a quarter is about what a 300 kbit/s
/// link leaves of the default stream once audio has its share.
pub const BAD_BITRATE_SHARE: f64 = 0.25;
/// To show a better level, every figure must clear its threshold by this factor (latency and
/// skips at most 80 % of it, bitrate at least 1/0.8 of it), so a figure hovering at a
/// threshold does not flip the indicator.
pub const RECOVER_MARGIN: f64 = 0.8;
/// A better level is shown only after the figures have said so this long without a break:
/// six looks of the app (every 500 ms), so a link flapping at a threshold shows its worse side
/// while a real recovery is seen within moments.
pub const IMPROVE_AFTER: Duration = Duration::from_secs(3);
/// Fewer frames decoded than this between two looks say nothing about skipping (a paused or
/// camera-off stream), so the skipped share is left out.
pub const MIN_FRAMES_FOR_SKIPS: u64 = 5;

/// How well a remote tile's stream gets to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Quality {
    /// Live and fluid.
    Good,
    /// Noticeably late, stuttering or soft.
    Poor,
    /// Too late or too broken for a conversation, or not connected.
    Bad,
}

impl Quality {
    /// Every quality, best first (for the page's list of names).
    pub const ALL: [Quality; 3] = [Quality::Good, Quality::Poor, Quality::Bad];

    /// The lower-case name the app's page uses (`good`, `poor`, `bad`).
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Good => "good",
            Quality::Poor => "poor",
            Quality::Bad => "bad",
        }
    }
}

/// One look at a tile, the figures [`judge`] weighs; `None` where a figure says nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Signals {
    /// The player is connected to the server.
    pub connected: bool,
    /// Frame-clock latency, median, ms.
    pub latency_ms_p50: Option<f64>,
    /// Frame-clock latency, 95th percentile, ms.
    pub latency_ms_p95: Option<f64>,
    /// Share of frames decoded since the last look that were skipped.
    pub skipped_share: Option<f64>,
    /// Received kbit/s as a share of what the sender is set to.
    pub bitrate_share: Option<f64>,
}

/// Which level `value` reaches on a scale where higher is worse, with `shown` the level shown
/// now: crossing into a worse level takes the plain threshold, staying at one takes only
/// [`RECOVER_MARGIN`] of it.
fn level_above(value: Option<f64>, poor: f64, bad: f64, shown: Quality) -> Quality {
    let Some(v) = value else {
        return Quality::Good;
    };
    let at = |q: Quality, threshold: f64| {
        if shown >= q {
            v > threshold * RECOVER_MARGIN
        } else {
            v > threshold
        }
    };
    if at(Quality::Bad, bad) {
        Quality::Bad
    } else if at(Quality::Poor, poor) {
        Quality::Poor
    } else {
        Quality::Good
    }
}

/// The level `signals` call for, given the level `shown` now (the hysteresis of the
/// thresholds; the dwell time is [`QualityMeter`]'s). Not connected is bad; otherwise the worst
/// of latency, skips and bitrate.
pub fn judge(signals: &Signals, shown: Quality) -> Quality {
    if !signals.connected {
        return Quality::Bad;
    }
    // Bitrate is worse when lower: judge its reciprocal on the same higher-is-worse scale.
    let starved = signals.bitrate_share.map(|s| 1.0 / s.max(f64::EPSILON));
    [
        level_above(signals.latency_ms_p50, POOR_P50_MS, BAD_P50_MS, shown),
        level_above(signals.latency_ms_p95, POOR_P95_MS, BAD_P95_MS, shown),
        level_above(
            signals.skipped_share,
            POOR_SKIPPED_SHARE,
            BAD_SKIPPED_SHARE,
            shown,
        ),
        level_above(
            starved,
            1.0 / POOR_BITRATE_SHARE,
            1.0 / BAD_BITRATE_SHARE,
            shown,
        ),
    ]
    .into_iter()
    .max()
    .unwrap_or(Quality::Good)
}

/// What a meter is told about a tile at each look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileReading {
    /// The player is connected.
    pub connected: bool,
    /// Frame-clock latency, median, ms.
    pub latency_ms_p50: Option<f64>,
    /// Frame-clock latency, 95th percentile, ms.
    pub latency_ms_p95: Option<f64>,
    /// Frames decoded since the player started.
    pub frames_decoded: u64,
    /// Frames skipped since the player started.
    pub frames_skipped: u64,
    /// Received kbit/s.
    pub kbps: f64,
    /// What the sender is set to send, kbit/s; `None` when bitrate says nothing (camera off).
    pub expected_kbps: Option<f64>,
}

/// One tile's indicator: the level shown and what it needs to change it.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityMeter {
    shown: Quality,
    /// Since when the figures have called for a better level than shown, and which.
    better_since: Option<(Instant, Quality)>,
    /// The counters at the last look.
    last_counts: Option<(u64, u64)>,
}

impl Default for QualityMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl QualityMeter {
    /// A meter showing good until told otherwise.
    pub fn new() -> Self {
        Self {
            shown: Quality::Good,
            better_since: None,
            last_counts: None,
        }
    }

    /// The level shown now.
    pub fn shown(&self) -> Quality {
        self.shown
    }

    /// Takes a look at `reading` at `now` and returns the level to show.
    pub fn update(&mut self, reading: &TileReading, now: Instant) -> Quality {
        let counts = (reading.frames_decoded, reading.frames_skipped);
        let skipped_share = self.last_counts.and_then(|(decoded, skipped)| {
            let decoded = counts.0.saturating_sub(decoded);
            let skipped = counts.1.saturating_sub(skipped);
            (decoded >= MIN_FRAMES_FOR_SKIPS).then(|| skipped as f64 / decoded as f64)
        });
        self.last_counts = Some(counts);
        let signals = Signals {
            connected: reading.connected,
            latency_ms_p50: reading.latency_ms_p50,
            latency_ms_p95: reading.latency_ms_p95,
            skipped_share,
            bitrate_share: reading
                .expected_kbps
                .filter(|e| *e > 0.0)
                .map(|e| reading.kbps / e),
        };
        let judged = judge(&signals, self.shown);
        if judged >= self.shown {
            self.shown = judged;
            self.better_since = None;
        } else {
            let since = match self.better_since {
                // Still better; the level it may move to is the worst seen since.
                Some((since, q)) => (since, q.max(judged)),
                None => (now, judged),
            };
            if now.duration_since(since.0) >= IMPROVE_AFTER {
                self.shown = since.1;
                self.better_since = None;
            } else {
                self.better_since = Some(since);
            }
        }
        self.shown
    }
}

/// A meter per remote member, forgetting those no longer played.
#[derive(Debug, Default)]
pub struct QualityTracker {
    meters: HashMap<String, QualityMeter>,
}

impl QualityTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks at every played member of `stats` at `now`; `expected_kbps(user_id)` says what
    /// that member's sender is set to (`None` where bitrate says nothing). Returns the level
    /// of each, by userID.
    pub fn update(
        &mut self,
        stats: &CallStats,
        expected_kbps: impl Fn(&str) -> Option<f64>,
        now: Instant,
    ) -> HashMap<String, Quality> {
        self.meters
            .retain(|id, _| stats.remotes.iter().any(|r| &r.user_id == id));
        stats
            .remotes
            .iter()
            .map(|r| {
                let reading = TileReading {
                    connected: r.player.connected,
                    latency_ms_p50: r.player.latency_ms_p50,
                    latency_ms_p95: r.player.latency_ms_p95,
                    frames_decoded: r.player.frames_decoded,
                    frames_skipped: r.player.frames_skipped,
                    kbps: r.player.kbps,
                    expected_kbps: expected_kbps(&r.user_id),
                };
                let meter = self.meters.entry(r.user_id.clone()).or_default();
                (r.user_id.clone(), meter.update(&reading, now))
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "quality_tests.rs"]
mod tests;
