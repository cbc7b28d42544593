//! When publishers and players try again after a connection fails: the one retry policy
//! ([`quartet_retry::Reconnect`]) with the media's delays.

use quartet_retry::{Backoff, Reconnect};
use std::time::Duration;

/// The first retry comes this soon: a restarting server is often back within a second.
pub const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(250);
/// Retries never wait longer than this, so a call resumes soon after the server returns.
pub const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(4);
/// A connection that lasted this long counts as healthy: the next failure retries quickly again.
pub const HEALTHY_CONNECTION: Duration = Duration::from_secs(5);

/// A fresh reconnect schedule for one publisher or player.
pub fn reconnect() -> Reconnect {
    Reconnect::new(
        Backoff::new(RECONNECT_MIN_DELAY, RECONNECT_MAX_DELAY),
        HEALTHY_CONNECTION,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_short_and_stay_under_twice_the_cap() {
        let mut r = reconnect();
        let delays: Vec<Duration> = (0..12).map(|_| r.next_delay()).collect();
        assert!(delays[0] >= RECONNECT_MIN_DELAY && delays[0] < RECONNECT_MIN_DELAY * 2);
        // Jitter adds up to the delay itself; the cap applies before it.
        assert!(
            delays.iter().all(|d| *d < RECONNECT_MAX_DELAY * 2),
            "{delays:?}"
        );
        assert!(
            delays[4..].iter().all(|d| *d >= RECONNECT_MAX_DELAY),
            "{delays:?}"
        );
    }
}
