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
}
