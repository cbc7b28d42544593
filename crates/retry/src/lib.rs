//! The one retry policy of Quartet: exponential delays with an upper bound and optional
//! jitter, built on `backon`, as an endless iterator a loop can draw from without blocking
//! (the room session's retries, the event channel's reconnects), and [`Reconnect`], the same
//! schedule starting over once a connection has proved itself (publishers and players).

use backon::{BackoffBuilder, ExponentialBuilder};
use std::time::Duration;

/// Factor by which each delay grows.
pub const BACKOFF_FACTOR: f32 = 2.0;

/// An exponential retry schedule: `min`, `min·2`, `min·4`, … capped at `max`, never giving up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first delay.
    pub min: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Adds a random `[0, delay)` to each delay, so clients cut off together do not return
    /// together.
    pub jitter: bool,
}

impl Backoff {
    /// A schedule from `min` to `max` with jitter.
    pub const fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            jitter: true,
        }
    }

    /// The same schedule without jitter (deterministic).
    pub const fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// An endless iterator of delays following this schedule.
    pub fn delays(&self) -> Delays {
        let mut builder = ExponentialBuilder::new()
            .with_min_delay(self.min)
            .with_max_delay(self.max.max(self.min))
            .with_factor(BACKOFF_FACTOR)
            .without_max_times();
        if self.jitter {
            builder = builder.with_jitter();
        }
        Delays {
            inner: builder.build(),
            last: self.max.max(self.min),
        }
    }
}

/// The delays of one run of retries; restart with [`Backoff::delays`] after a success.
#[derive(Debug)]
pub struct Delays {
    inner: backon::ExponentialBackoff,
    last: Duration,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        // The builder has no attempt limit, but keep the schedule endless even if that changes.
        Some(self.inner.next().unwrap_or(self.last))
    }
}

/// A reconnect schedule: [`Backoff`]'s delays, started over when a connection that lasted
/// `healthy` or longer ends (its failure is news, not the same outage going on).
#[derive(Debug)]
pub struct Reconnect {
    schedule: Backoff,
    healthy: Duration,
    delays: Delays,
}

impl Reconnect {
    /// A fresh schedule.
    pub fn new(schedule: Backoff, healthy: Duration) -> Reconnect {
        Reconnect {
            schedule,
            healthy,
            delays: schedule.delays(),
        }
    }

    /// How long to wait before the next try.
    pub fn next_delay(&mut self) -> Duration {
        self.delays.next().unwrap_or(self.schedule.max)
    }

    /// Starts the schedule over.
    pub fn reset(&mut self) {
        self.delays = self.schedule.delays();
    }

    /// Starts over when the connection that just ended had lasted long enough to count as
    /// healthy.
    pub fn connection_ended(&mut self, lasted: Duration) {
        if lasted >= self.healthy {
            self.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    /// Whole milliseconds: the factor is an `f32`, so delays carry a few nanoseconds of rounding.
    fn ms(delays: impl Iterator<Item = Duration>) -> Vec<u128> {
        delays.map(|d| d.as_millis()).collect()
    }

    #[test]
    fn delays_double_up_to_the_cap_and_never_end() {
        let d = ms(Backoff::new(MS(100), MS(1000))
            .without_jitter()
            .delays()
            .take(8));
        assert_eq!(d, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
        let far = Backoff::new(MS(1), MS(50))
            .without_jitter()
            .delays()
            .nth(10_000);
        assert_eq!(far, Some(MS(50)));
    }

    #[test]
    fn jitter_stays_between_the_delay_and_twice_it() {
        let plain: Vec<_> = Backoff::new(MS(100), MS(800))
            .without_jitter()
            .delays()
            .take(20)
            .collect();
        let jittered: Vec<_> = Backoff::new(MS(100), MS(800)).delays().take(20).collect();
        for (p, j) in plain.iter().zip(&jittered) {
            let (p, j) = (p.as_secs_f64(), j.as_secs_f64());
            assert!(
                j >= p * 0.999 && j < p * 2.001,
                "{j} s outside [{p} s, 2·{p} s)"
            );
        }
    }

    #[test]
    fn a_cap_below_the_floor_means_a_constant_delay() {
        let d = ms(Backoff::new(MS(300), MS(100))
            .without_jitter()
            .delays()
            .take(3));
        assert_eq!(d, [300, 300, 300]);
    }

    #[test]
    fn a_healthy_connection_starts_the_schedule_over() {
        let schedule = Backoff::new(MS(250), MS(4000));
        let healthy = Duration::from_secs(5);
        let mut r = Reconnect::new(schedule, healthy);
        for _ in 0..8 {
            r.next_delay();
        }
        r.connection_ended(Duration::from_secs(1));
        assert!(r.next_delay() >= MS(4000));
        r.connection_ended(healthy);
        assert!(r.next_delay() < MS(500));
        r.next_delay();
        r.reset();
        assert!(r.next_delay() < MS(500));
    }
}
