//! The presence policy, as pure functions of a member's heartbeats, event sockets and stream:
//! whether it is still there, when that may next change, and whether its stream may keep it.

use std::time::Duration;
use tokio::time::Instant;

/// How far past a deadline a scheduled check runs, so that the check sees the deadline passed
/// (presence changes strictly after it) even on a clock that rounds.
pub const CHECK_SLACK: Duration = Duration::from_millis(1);

/// The event sockets of one member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sockets {
    /// Sockets open now (a reconnect may briefly overlap the old socket).
    pub open: usize,
    /// When the last open socket closed, if one ever opened and none is open now.
    pub closed_since: Option<Instant>,
}

/// The timings that decide whether a member is still present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest silence between heartbeats.
    pub heartbeat: Duration,
    /// Longest time without an event socket after one closed.
    pub socket_grace: Duration,
    /// Longest time without media after which a live stream no longer keeps a silent member.
    pub media_stall: Duration,
}

/// Whether a member is still there, as far as heartbeats and sockets tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Heard from recently enough.
    Present,
    /// No heartbeat for longer than the timeout: gone unless its stream is live and advancing.
    Silent,
    /// Its event socket closed and it did not come back within the grace: gone.
    SocketLost,
}

/// The presence policy: a closed socket not replaced within the grace outweighs everything; else
/// a member is present while heartbeats arrive within the timeout.
pub fn presence(last_seen: Instant, sockets: Sockets, now: Instant, t: Timeouts) -> Presence {
    if sockets.open == 0
        && let Some(closed) = sockets.closed_since
        && now.saturating_duration_since(closed) > t.socket_grace
    {
        return Presence::SocketLost;
    }
    if now.saturating_duration_since(last_seen) > t.heartbeat {
        Presence::Silent
    } else {
        Presence::Present
    }
}

/// The first instant after `now` at which a member present now may stop being present, if
/// nothing else happens (no heartbeat, no socket); `None` if it is not present now. Checking
/// there, rather than at the next periodic sweep, is what makes eviction prompt.
pub fn next_check(
    last_seen: Instant,
    sockets: Sockets,
    now: Instant,
    t: Timeouts,
) -> Option<Instant> {
    if presence(last_seen, sockets, now, t) != Presence::Present {
        return None;
    }
    let silent_at = last_seen + t.heartbeat + CHECK_SLACK;
    let lost_at = match sockets {
        Sockets {
            open: 0,
            closed_since: Some(closed),
        } => Some(closed + t.socket_grace + CHECK_SLACK),
        _ => None,
    };
    Some(lost_at.map_or(silent_at, |lost| lost.min(silent_at)))
}

/// Whether a silent member's stream keeps it: the stream must be live (`media_age` is the time
/// since its last media message, `None` when nobody publishes it) and still advancing.
pub fn stream_keeps(media_age: Option<Duration>, t: Timeouts) -> bool {
    media_age.is_some_and(|age| age <= t.media_stall)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        heartbeat: Duration::from_secs(20),
        socket_grace: Duration::from_millis(1500),
        media_stall: Duration::from_secs(5),
    };

    #[test]
    fn presence_follows_heartbeats_until_the_timeout() {
        let t0 = Instant::now();
        let no_socket = Sockets::default();
        assert_eq!(presence(t0, no_socket, t0, T), Presence::Present);
        assert_eq!(
            presence(t0, no_socket, t0 + T.heartbeat, T),
            Presence::Present
        );
        assert_eq!(
            presence(
                t0,
                no_socket,
                t0 + T.heartbeat + Duration::from_millis(1),
                T
            ),
            Presence::Silent
        );
    }

    #[test]
    fn a_lost_socket_outweighs_fresh_heartbeats_after_the_grace() {
        let t0 = Instant::now();
        let closed = Sockets {
            open: 0,
            closed_since: Some(t0),
        };
        let now = t0 + T.socket_grace;
        assert_eq!(presence(now, closed, now, T), Presence::Present);
        let later = now + Duration::from_millis(1);
        assert_eq!(presence(later, closed, later, T), Presence::SocketLost);
        let reconnected = Sockets {
            open: 1,
            closed_since: Some(t0),
        };
        assert_eq!(presence(later, reconnected, later, T), Presence::Present);
    }

    #[test]
    fn the_next_check_is_where_presence_changes() {
        let t0 = Instant::now();
        let open = Sockets {
            open: 1,
            closed_since: None,
        };
        let at = next_check(t0, open, t0, T).unwrap();
        assert_eq!(at, t0 + T.heartbeat + CHECK_SLACK);
        assert_eq!(presence(t0, open, at - CHECK_SLACK, T), Presence::Present);
        assert_eq!(presence(t0, open, at, T), Presence::Silent);

        let closed_at = t0 + Duration::from_secs(3);
        let closed = Sockets {
            open: 0,
            closed_since: Some(closed_at),
        };
        let at = next_check(t0, closed, closed_at, T).unwrap();
        assert_eq!(at, closed_at + T.socket_grace + CHECK_SLACK);
        assert_eq!(presence(t0, closed, at, T), Presence::SocketLost);

        // A socket that closed just before the heartbeat deadline: the heartbeat comes first.
        let late_close = Sockets {
            open: 0,
            closed_since: Some(t0 + T.heartbeat - Duration::from_millis(100)),
        };
        assert_eq!(
            next_check(t0, late_close, t0, T),
            Some(t0 + T.heartbeat + CHECK_SLACK)
        );

        let gone = t0 + T.heartbeat * 2;
        assert_eq!(next_check(t0, open, gone, T), None, "already silent");
    }

    #[test]
    fn only_a_live_and_advancing_stream_keeps_a_silent_member() {
        assert!(!stream_keeps(None, T), "nobody publishes");
        assert!(stream_keeps(Some(Duration::ZERO), T));
        assert!(stream_keeps(Some(T.media_stall), T));
        assert!(
            !stream_keeps(Some(T.media_stall + Duration::from_millis(1)), T),
            "live but stalled"
        );
    }
}
