//! Small statistics helpers: percentiles over a sliding window of samples and event rates.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How many recent samples a [`SampleWindow`] keeps by default (≈ 20 s of video at 15 fps).
pub const DEFAULT_WINDOW: usize = 300;
/// The span over which a [`RateMeter`] averages.
pub const RATE_WINDOW: Duration = Duration::from_secs(2);

/// The `p`-th percentile (0–100) of `values` by nearest rank; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p.clamp(0.0, 100.0) / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.saturating_sub(1).min(sorted.len() - 1)])
}

/// The most recent samples of one measure, for percentiles.
#[derive(Debug, Clone)]
pub struct SampleWindow {
    samples: VecDeque<f64>,
    capacity: usize,
}

impl Default for SampleWindow {
    fn default() -> Self {
        SampleWindow::new(DEFAULT_WINDOW)
    }
}

impl SampleWindow {
    /// A window keeping the last `capacity` samples (at least one).
    pub fn new(capacity: usize) -> SampleWindow {
        SampleWindow {
            samples: VecDeque::with_capacity(capacity.max(1)),
            capacity: capacity.max(1),
        }
    }

    /// Adds a sample, forgetting the oldest when full.
    pub fn push(&mut self, value: f64) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(value);
    }

    /// How many samples are held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when no sample is held.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The `p`-th percentile of the held samples.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let v: Vec<f64> = self.samples.iter().copied().collect();
        percentile(&v, p)
    }

    /// The mean of the held samples.
    pub fn mean(&self) -> Option<f64> {
        (!self.samples.is_empty())
            .then(|| self.samples.iter().sum::<f64>() / self.samples.len() as f64)
    }

    /// Forgets every sample.
    pub fn clear(&mut self) {
        self.samples.clear();
    }
}

/// Counts events (frames, bytes) and reports their rate over the last [`RATE_WINDOW`].
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    events: VecDeque<(Instant, u64)>,
}

impl RateMeter {
    /// Records `amount` (1 for a frame, a size for bytes) at `now`.
    pub fn record(&mut self, now: Instant, amount: u64) {
        self.events.push_back((now, amount));
        self.expire(now);
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(t, _)) = self.events.front() {
            if now.duration_since(t) > RATE_WINDOW {
                self.events.pop_front();
            } else {
                break;
            }
        }
    }

    /// The amount per second over the window ending at `now`.
    pub fn per_second(&mut self, now: Instant) -> f64 {
        self.expire(now);
        let total: u64 = self.events.iter().map(|&(_, a)| a).sum();
        total as f64 / RATE_WINDOW.as_secs_f64()
    }
}

/// The samples of the last `span` only, for a figure about now rather than the recent past.
#[derive(Debug, Clone)]
pub struct RecentSamples {
    samples: VecDeque<(Instant, f64)>,
    span: Duration,
}

impl RecentSamples {
    /// Keeps samples for `span`, and never more than [`DEFAULT_WINDOW`] of them.
    pub fn new(span: Duration) -> RecentSamples {
        RecentSamples {
            samples: VecDeque::new(),
            span,
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(t, _)) = self.samples.front() {
            if now.saturating_duration_since(t) > self.span || self.samples.len() > DEFAULT_WINDOW {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Adds `value`, taken at `now`.
    pub fn push(&mut self, now: Instant, value: f64) {
        self.samples.push_back((now, value));
        self.expire(now);
    }

    /// The `p`-th percentile of the samples taken in the span ending at `now`; `None` when
    /// there were none.
    pub fn percentile(&mut self, now: Instant, p: f64) -> Option<f64> {
        self.expire(now);
        let v: Vec<f64> = self.samples.iter().map(|&(_, v)| v).collect();
        percentile(&v, p)
    }

    /// Forgets every sample.
    pub fn clear(&mut self) {
        self.samples.clear();
    }
}

/// The longest wait between consecutive events (e.g. sound arriving), counting the wait for
/// the next one that has not come yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct GapMeter {
    last: Option<Instant>,
    longest: Duration,
}

impl GapMeter {
    /// An event happened at `now`.
    pub fn record(&mut self, now: Instant) {
        if let Some(last) = self.last {
            self.longest = self.longest.max(now.saturating_duration_since(last));
        }
        self.last = Some(now);
    }

    /// The longest gap up to `now`; `None` before the first event.
    pub fn longest(&self, now: Instant) -> Option<Duration> {
        let last = self.last?;
        Some(self.longest.max(now.saturating_duration_since(last)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 95.0), Some(95.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
    }

    #[test]
    fn window_forgets_the_oldest() {
        let mut w = SampleWindow::new(3);
        for x in [100.0, 1.0, 2.0, 3.0] {
            w.push(x);
        }
        assert_eq!(w.len(), 3);
        assert_eq!(w.percentile(100.0), Some(3.0));
        assert_eq!(w.mean(), Some(2.0));
        w.clear();
        assert!(w.is_empty());
        assert_eq!(w.mean(), None);
    }

    #[test]
    fn rate_counts_only_the_window() {
        let t0 = Instant::now();
        let mut r = RateMeter::default();
        r.record(t0, 1000);
        r.record(t0 + Duration::from_secs(1), 1000);
        assert_eq!(r.per_second(t0 + Duration::from_secs(1)), 1000.0);
        // The first event falls out of the window.
        assert_eq!(r.per_second(t0 + Duration::from_millis(2500)), 500.0);
        assert_eq!(r.per_second(t0 + Duration::from_secs(10)), 0.0);
    }

    #[test]
    fn recent_samples_keep_only_their_span() {
        let t0 = Instant::now();
        let s = Duration::from_millis;
        let mut r = RecentSamples::new(s(1000));
        r.push(t0, 5000.0);
        for i in 1..=10 {
            r.push(t0 + s(100 * i), 100.0);
        }
        // The spike is still within the span at 1 s, and gone 1 ms later.
        assert_eq!(r.percentile(t0 + s(1000), 100.0), Some(5000.0));
        assert_eq!(r.percentile(t0 + s(1001), 100.0), Some(100.0));
        assert_eq!(r.percentile(t0 + s(2001), 50.0), None);
    }

    #[test]
    fn recent_samples_are_bounded_in_number_too() {
        let t0 = Instant::now();
        let mut r = RecentSamples::new(Duration::from_secs(60));
        for i in 0..=DEFAULT_WINDOW {
            r.push(t0, i as f64);
        }
        assert_eq!(r.samples.len(), DEFAULT_WINDOW);
        assert_eq!(r.percentile(t0, 0.0), Some(1.0), "the oldest went first");
    }

    #[test]
    fn gaps_count_the_longest_wait_including_the_current_one() {
        let t0 = Instant::now();
        let s = Duration::from_millis;
        let mut g = GapMeter::default();
        assert_eq!(g.longest(t0), None);
        g.record(t0);
        g.record(t0 + s(20));
        g.record(t0 + s(150));
        g.record(t0 + s(170));
        assert_eq!(g.longest(t0 + s(180)), Some(s(130)));
        // Nothing has come for 300 ms: that silence is a gap already.
        assert_eq!(g.longest(t0 + s(470)), Some(s(300)));
    }
}
