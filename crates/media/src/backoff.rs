//! When to try again after a connection fails: exponential backoff with jitter, reset once a
//! connection has proved itself.

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use std::time::Duration;

/// The first retry comes this soon: a restarting server is often back within a second.
pub const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(250);
/// Retries never wait longer than this, so a call resumes soon after the server returns.
pub const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(4);
/// Each failed try multiplies the wait by this.
pub const RECONNECT_FACTOR: f32 = 2.0;
/// A connection that lasted this long counts as healthy: the next failure retries quickly again.
pub const HEALTHY_CONNECTION: Duration = Duration::from_secs(5);

/// The reconnect schedule of one publisher or player.
#[derive(Debug)]
pub struct Reconnect {
    backoff: ExponentialBackoff,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect::new()
    }
}

fn schedule() -> ExponentialBackoff {
    ExponentialBuilder::new()
        .with_min_delay(RECONNECT_MIN_DELAY)
        .with_max_delay(RECONNECT_MAX_DELAY)
        .with_factor(RECONNECT_FACTOR)
        .with_jitter()
        .without_max_times()
        .build()
}

impl Reconnect {
    /// A fresh schedule.
    pub fn new() -> Reconnect {
        Reconnect {
            backoff: schedule(),
        }
    }

    /// How long to wait before the next try.
    pub fn next_delay(&mut self) -> Duration {
        // The schedule has no limit on tries; the fallback only guards against a future change.
        self.backoff.next().unwrap_or(RECONNECT_MAX_DELAY)
    }

    /// Starts the schedule over.
    pub fn reset(&mut self) {
        self.backoff = schedule();
    }

    /// Resets when the connection that just ended had lasted long enough to count as healthy.
    pub fn connection_ended(&mut self, lasted: Duration) {
        if lasted >= HEALTHY_CONNECTION {
            self.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let mut r = Reconnect::new();
        let delays: Vec<Duration> = (0..12).map(|_| r.next_delay()).collect();
        assert!(delays[0] >= RECONNECT_MIN_DELAY && delays[0] < RECONNECT_MIN_DELAY * 2);
        // Jitter adds up to the delay itself; the cap applies before it.
        for d in &delays {
            assert!(*d < RECONNECT_MAX_DELAY * 2, "{delays:?}");
        }
        assert!(
            delays[4..].iter().all(|d| *d >= RECONNECT_MAX_DELAY),
            "{delays:?}"
        );
    }

    #[test]
    fn a_healthy_connection_resets_the_schedule() {
        let mut r = Reconnect::new();
        for _ in 0..8 {
            r.next_delay();
        }
        r.connection_ended(Duration::from_secs(1));
        assert!(r.next_delay() >= RECONNECT_MAX_DELAY);
        r.connection_ended(HEALTHY_CONNECTION);
        assert!(r.next_delay() < RECONNECT_MIN_DELAY * 2);
    }
}
