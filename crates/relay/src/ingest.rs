//! How fast one connection may send: a token bucket. A publisher's bursts (a keyframe, a
//! catch-up after a stall) pass at once while its average stays within what a real stream needs,
//! so one hostile publisher costs the relay a bounded share of its CPU however fast its link.

use std::time::Duration;
use tokio::time::Instant;

/// The allowance of one connection.
#[derive(Debug, Clone)]
pub(crate) struct Ingest {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Ingest {
    /// A full bucket of `burst` bytes, refilled at `rate` bytes per second.
    pub(crate) fn new(rate: u64, burst: u64, now: Instant) -> Ingest {
        Ingest {
            rate: rate.max(1) as f64,
            burst: burst as f64,
            tokens: burst as f64,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let earned = now.saturating_duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.last = now;
    }

    /// `bytes` arrived at `now`; the bucket may go below empty by one read.
    pub(crate) fn took(&mut self, bytes: usize, now: Instant) {
        self.refill(now);
        self.tokens -= bytes as f64;
    }

    /// When reading may go on: `None` while the bucket holds anything.
    pub(crate) fn resume_at(&mut self, now: Instant) -> Option<Instant> {
        self.refill(now);
        (self.tokens <= 0.0).then(|| now + Duration::from_secs_f64(-self.tokens / self.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u64 = 1_000_000;
    const BURST: u64 = 4_000_000;

    #[test]
    fn a_burst_passes_at_once_then_the_average_is_held_to_the_rate() {
        let t0 = Instant::now();
        let mut i = Ingest::new(RATE, BURST, t0);
        i.took(3_000_000, t0);
        assert_eq!(i.resume_at(t0), None, "within the burst");
        i.took(1_500_000, t0);
        let resume = i.resume_at(t0).expect("over the burst");
        assert_eq!(resume - t0, Duration::from_millis(500));
        assert_eq!(i.resume_at(resume + Duration::from_millis(1)), None);
    }

    #[test]
    fn an_idle_connection_earns_no_more_than_the_burst() {
        let t0 = Instant::now();
        let mut i = Ingest::new(RATE, BURST, t0);
        let later = t0 + Duration::from_secs(3_600);
        i.took(BURST as usize + 1, later);
        assert!(
            i.resume_at(later).is_some(),
            "an hour idle still allows one burst only"
        );
    }

    #[test]
    fn a_stream_at_the_rate_never_waits() {
        let t0 = Instant::now();
        let mut i = Ingest::new(RATE, BURST, t0);
        for ms in 0..10_000u64 {
            let now = t0 + Duration::from_millis(ms);
            i.took((RATE / 1_000) as usize, now);
            assert_eq!(i.resume_at(now), None, "at {ms} ms");
        }
    }
}
