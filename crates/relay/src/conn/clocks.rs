//! A connection's clocks: the handshake, start, pending-idle and idle deadlines, and which of
//! them is due next.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::RelayConfig;

/// Which clock ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum Timeout {
    #[error("no RTMP handshake within {0:?}")]
    Handshake(Duration),
    #[error("neither publishing nor playing {0:?} after accept")]
    Start(Duration),
    #[error("silent for {0:?} before publishing or playing")]
    PendingIdle(Duration),
    #[error("no progress for {0:?}")]
    Idle(Duration),
}

/// Where a connection stands, as its clocks see it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clocks {
    pub(super) handshaken: bool,
    /// The handshake's deadline (from accept).
    pub(super) handshake_deadline: Instant,
    /// Since when it neither publishes nor plays (accept, or the end of its last role).
    pub(super) starting_since: Option<Instant>,
    /// Whether it plays (a player is judged by its output, everyone else by input).
    pub(super) playing: bool,
    /// Whether output waits to be written.
    pub(super) output_pending: bool,
    pub(super) last_input: Instant,
    pub(super) last_output: Instant,
}

/// The earliest deadline the connection must meet and the clock that sets it; `None` when no
/// clock runs (a player waiting for a stream with nothing to deliver).
pub(super) fn next_deadline(config: &RelayConfig, c: &Clocks) -> Option<(Instant, Timeout)> {
    let mut due: Vec<(Instant, Timeout)> = Vec::with_capacity(4);
    if !c.handshaken {
        due.push((
            c.handshake_deadline,
            Timeout::Handshake(config.handshake_timeout),
        ));
    }
    if let Some(since) = c.starting_since {
        due.push((
            since + config.start_timeout,
            Timeout::Start(config.start_timeout),
        ));
        due.push((
            c.last_input + config.pending_idle_timeout,
            Timeout::PendingIdle(config.pending_idle_timeout),
        ));
    }
    if c.playing {
        // A player waiting for a stream to start is not stuck; one not draining its output is.
        if c.output_pending {
            due.push((
                c.last_output + config.idle_timeout,
                Timeout::Idle(config.idle_timeout),
            ));
        }
    } else {
        due.push((
            c.last_input + config.idle_timeout,
            Timeout::Idle(config.idle_timeout),
        ));
    }
    due.into_iter().min_by_key(|(at, _)| *at)
}

impl Clocks {
    /// The clocks of a connection accepted at `at`: handshaking and starting.
    pub(super) fn accepted(at: Instant, config: &RelayConfig) -> Clocks {
        Clocks {
            handshaken: false,
            handshake_deadline: at + config.handshake_timeout,
            starting_since: Some(at),
            playing: false,
            output_pending: false,
            last_input: at,
            last_output: at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clocks(at: Instant) -> Clocks {
        Clocks {
            handshaken: true,
            handshake_deadline: at + DEFAULT_HANDSHAKE,
            starting_since: Some(at),
            playing: false,
            output_pending: false,
            last_input: at,
            last_output: at,
        }
    }

    const DEFAULT_HANDSHAKE: Duration = crate::config::DEFAULT_HANDSHAKE_TIMEOUT;

    #[test]
    fn a_starting_connection_must_keep_talking_and_start_in_time() {
        let config = RelayConfig::default();
        let t0 = Instant::now();
        let mut c = clocks(t0);
        c.handshaken = false;
        c.last_input = t0;
        // Silent: the progress rule is due first (3 s), before the handshake's 5 s.
        assert_eq!(
            next_deadline(&config, &c),
            Some((
                t0 + config.pending_idle_timeout,
                Timeout::PendingIdle(config.pending_idle_timeout)
            ))
        );
        // Trickling keeps the progress rule at bay, not the handshake or start deadlines.
        c.last_input = t0 + Duration::from_secs(4);
        assert_eq!(
            next_deadline(&config, &c).map(|d| d.1),
            Some(Timeout::Handshake(config.handshake_timeout))
        );
        c.handshaken = true;
        c.last_input = t0 + Duration::from_secs(9);
        assert_eq!(
            next_deadline(&config, &c),
            Some((
                t0 + config.start_timeout,
                Timeout::Start(config.start_timeout)
            ))
        );
    }

    #[test]
    fn started_connections_answer_to_the_idle_clock_alone() {
        let config = RelayConfig::default();
        let t0 = Instant::now();
        let mut c = clocks(t0);
        c.starting_since = None;
        let later = t0 + Duration::from_secs(60);
        c.last_input = later;
        assert_eq!(
            next_deadline(&config, &c),
            Some((
                later + config.idle_timeout,
                Timeout::Idle(config.idle_timeout)
            ))
        );
        c.playing = true;
        assert_eq!(
            next_deadline(&config, &c),
            None,
            "a player with nothing to deliver"
        );
        c.output_pending = true;
        c.last_output = later;
        assert_eq!(
            next_deadline(&config, &c).map(|d| d.0),
            Some(later + config.idle_timeout)
        );
    }
}
