//! Per-user quotas: how many rooms a user may be in at once, and how fast it may create rooms.
//! Pure policy with the clock passed in; the server holds it behind a mutex.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// Most rooms one user may be a member (or creator) of at once: a client is in one room, and a
/// rejoin after an outage may briefly overlap its old membership.
pub const MAX_ROOMS_PER_USER: usize = 4;
/// The window over which room creations are counted.
pub const CREATION_WINDOW: Duration = Duration::from_secs(60);
/// Most rooms one user may create per [`CREATION_WINDOW`]: a person starts a call a few times a
/// minute at most (retries included); one token created 511 per second in an attack.
pub const MAX_CREATIONS_PER_WINDOW: usize = 10;

/// A creation refused by the rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more than {max} rooms created in {} s; try again in {} s", window.as_secs(), retry_after.as_secs().max(1))]
pub struct RateLimited {
    /// The limit.
    pub max: usize,
    /// Its window.
    pub window: Duration,
    /// When the oldest counted creation leaves the window.
    pub retry_after: Duration,
}

/// A sliding-window count of room creations per user. Memory is bounded by the users that
/// created a room within the window, each holding at most `max` instants.
#[derive(Debug)]
pub struct CreationRate {
    max: usize,
    window: Duration,
    log: HashMap<String, VecDeque<Instant>>,
}

impl Default for CreationRate {
    fn default() -> Self {
        Self::new(MAX_CREATIONS_PER_WINDOW, CREATION_WINDOW)
    }
}

impl CreationRate {
    /// At most `max` creations per user within any `window`.
    pub fn new(max: usize, window: Duration) -> Self {
        Self {
            max,
            window,
            log: HashMap::new(),
        }
    }

    /// Counts a creation by `user` at `now`, or refuses it if the user is at the limit.
    pub fn admit(&mut self, user: &str, now: Instant) -> Result<(), RateLimited> {
        let window = self.window;
        let times = self.log.entry(user.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            times.pop_front();
        }
        if times.len() >= self.max {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(RateLimited {
                max: self.max,
                window,
                retry_after: window.saturating_sub(now.saturating_duration_since(oldest)),
            });
        }
        times.push_back(now);
        Ok(())
    }

    /// Forgets users whose creations have all left the window.
    pub fn forget_expired(&mut self, now: Instant) {
        let window = self.window;
        self.log.retain(|_, times| {
            times
                .back()
                .is_some_and(|t| now.saturating_duration_since(*t) < window)
        });
    }

    /// Number of users remembered.
    pub fn tracked_users(&self) -> usize {
        self.log.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_within_the_window_and_lifts_as_it_slides() {
        let t0 = Instant::now();
        let mut rate = CreationRate::new(3, Duration::from_secs(60));
        for s in 0..3 {
            rate.admit("u", t0 + Duration::from_secs(s)).unwrap();
        }
        let e = rate.admit("u", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(e.retry_after, Duration::from_secs(50));
        assert!(e.to_string().contains("3 rooms created in 60 s"), "{e}");
        rate.admit("other", t0 + Duration::from_secs(10)).unwrap();
        rate.admit("u", t0 + Duration::from_secs(60)).unwrap();
        assert!(rate.admit("u", t0 + Duration::from_secs(60)).is_err());
        rate.admit("u", t0 + Duration::from_secs(61)).unwrap();
    }

    #[test]
    fn refused_attempts_do_not_count() {
        let t0 = Instant::now();
        let mut rate = CreationRate::new(1, Duration::from_secs(10));
        rate.admit("u", t0).unwrap();
        for s in 1..10 {
            assert!(rate.admit("u", t0 + Duration::from_secs(s)).is_err());
        }
        rate.admit("u", t0 + Duration::from_secs(10)).unwrap();
    }

    #[test]
    fn users_are_forgotten_once_their_window_passes() {
        let t0 = Instant::now();
        let mut rate = CreationRate::new(5, Duration::from_secs(60));
        rate.admit("a", t0).unwrap();
        rate.admit("b", t0 + Duration::from_secs(30)).unwrap();
        rate.forget_expired(t0 + Duration::from_secs(60));
        assert_eq!(rate.tracked_users(), 1);
        rate.forget_expired(t0 + Duration::from_secs(90));
        assert_eq!(rate.tracked_users(), 0);
    }
}
