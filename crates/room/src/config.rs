//! What a session needs to know before it connects: the server, who we are, which room, and
//! its cadence.

use quartet_proto::RoomKind;
use quartet_retry::Backoff;
use std::time::Duration;
use url::Url;

/// v1 clients sent their first heartbeat this long after joining.
pub const V1_FIRST_HEARTBEAT: Duration = Duration::from_secs(3);
/// v1 clients' heartbeat period.
pub const V1_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(7);
/// How often to refetch the member list when there is no event channel (v1's heartbeat cadence).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(7);
/// First delay before retrying a server that stopped answering: short, so that a server
/// restarted in well under a second is found again (with jitter) within 0.2–0.4 s, and the
/// doubling behind it keeps a server that stays down from being hammered.
pub const RETRY_MIN: Duration = Duration::from_millis(200);
/// Longest delay between retries of a server that stopped answering; short enough that a
/// member is back well before a v1 server's 20 s eviction.
pub const RETRY_MAX: Duration = Duration::from_secs(5);
/// First delay before reopening a dropped event channel.
pub const EVENT_RECONNECT_MIN: Duration = Duration::from_millis(250);
/// Longest delay between attempts to reopen the event channel.
pub const EVENT_RECONNECT_MAX: Duration = Duration::from_secs(15);
/// How long after an outage (or a dropped event channel) "no such room" is taken for a server
/// that has not got the room back yet rather than for the room being gone: we keep re-joining
/// meanwhile. Covers a restarting server that answers before its rooms are loaded, or another
/// instance behind the same address taking over; a room that is really gone is reported after
/// at most this long.
pub const REJOIN_GRACE: Duration = Duration::from_secs(10);
/// First delay before re-joining a room the server did not know right after an outage.
pub const REJOIN_RETRY_MIN: Duration = Duration::from_millis(100);
/// Longest delay between those re-joins: a room the server gets back is re-joined within this.
pub const REJOIN_RETRY_MAX: Duration = Duration::from_secs(1);

/// Which room to be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinTarget {
    /// Create a new room and be its creator.
    Create {
        /// The new room's display name.
        room_name: String,
    },
    /// Join an existing room.
    Join {
        /// The room's ID.
        room_id: String,
    },
}

/// Whether to use the event channel (ext) or only poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EventMode {
    /// Use the event channel when the server offers it, else poll.
    #[default]
    Auto,
    /// Never open the event channel: poll, as against an original v1 server.
    Off,
}

/// The session's cadence; the default is v1's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionTiming {
    /// Delay from joining to the first heartbeat.
    pub first_heartbeat: Duration,
    /// Period of heartbeats after the first.
    pub heartbeat_interval: Duration,
    /// Period of member-list refetches while there is no event channel.
    pub poll_interval: Duration,
    /// Schedule for retrying a server that stopped answering.
    pub retry: Backoff,
    /// Schedule for reopening a dropped event channel.
    pub event_reconnect: Backoff,
    /// How long after an outage "no such room" still means "re-join", not "the room is gone".
    pub rejoin_grace: Duration,
    /// Schedule of those re-joins.
    pub rejoin_retry: Backoff,
}

impl Default for SessionTiming {
    fn default() -> Self {
        Self {
            first_heartbeat: V1_FIRST_HEARTBEAT,
            heartbeat_interval: V1_HEARTBEAT_INTERVAL,
            poll_interval: DEFAULT_POLL_INTERVAL,
            retry: Backoff::new(RETRY_MIN, RETRY_MAX),
            event_reconnect: Backoff::new(EVENT_RECONNECT_MIN, EVENT_RECONNECT_MAX),
            rejoin_grace: REJOIN_GRACE,
            rejoin_retry: Backoff::new(REJOIN_RETRY_MIN, REJOIN_RETRY_MAX),
        }
    }
}

/// Everything [`crate::connect`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// The room server's base URL (`http://host:port/`, optionally with a path prefix).
    pub server: Url,
    /// The room kind.
    pub kind: RoomKind,
    /// Our nickname (v1 requires it non-empty).
    pub user_name: String,
    /// Our avatar URL (v1 requires it non-empty).
    pub user_avatar: String,
    /// The room to create or join.
    pub target: JoinTarget,
    /// The cadence.
    pub timing: SessionTiming,
    /// Whether to use the event channel.
    pub events: EventMode,
    /// Send only v1's fields, as the original mini-program client did: no token, no nonce
    /// (see [`crate::ApiClient::bare`]). Only a server that lets anonymous members in accepts it.
    pub bare_requests: bool,
}

impl SessionConfig {
    /// A configuration with v1's cadence and the event channel on `Auto`.
    pub fn new(
        server: Url,
        kind: RoomKind,
        target: JoinTarget,
        user_name: impl Into<String>,
        user_avatar: impl Into<String>,
    ) -> Self {
        Self {
            server,
            kind,
            user_name: user_name.into(),
            user_avatar: user_avatar.into(),
            target,
            timing: SessionTiming::default(),
            events: EventMode::Auto,
            bare_requests: false,
        }
    }

    /// The first field a v1 server would call "missing", if any.
    pub(crate) fn missing_field(&self) -> Option<&'static str> {
        let target_field = match &self.target {
            JoinTarget::Create { room_name } => ("room_name", room_name),
            JoinTarget::Join { room_id } => ("room_id", room_id),
        };
        [
            ("user_name", &self.user_name),
            ("user_avatar", &self.user_avatar),
            target_field,
        ]
        .into_iter()
        .find(|(_, value)| value.is_empty())
        .map(|(name, _)| name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_timing_is_v1_cadence() {
        let t = SessionTiming::default();
        assert_eq!(t.first_heartbeat, Duration::from_secs(3));
        assert_eq!(t.heartbeat_interval, Duration::from_secs(7));
        assert_eq!(t.poll_interval, t.heartbeat_interval);
        assert!(t.retry.min <= t.retry.max);
        assert!(t.event_reconnect.min <= t.event_reconnect.max);
        assert!(t.rejoin_retry.min <= t.rejoin_retry.max && t.rejoin_retry.max < t.rejoin_grace);
    }

    #[test]
    fn empty_fields_are_named() {
        let server = Url::parse("http://127.0.0.1:1/").unwrap();
        let join = |id: &str| JoinTarget::Join { room_id: id.into() };
        let ok = SessionConfig::new(server.clone(), RoomKind::MultiRoom, join("r"), "A", "a");
        assert_eq!(ok.missing_field(), None);
        let no_name = SessionConfig::new(server.clone(), RoomKind::MultiRoom, join("r"), "", "a");
        assert_eq!(no_name.missing_field(), Some("user_name"));
        let no_room = SessionConfig::new(server, RoomKind::MultiRoom, join(""), "A", "a");
        assert_eq!(no_room.missing_field(), Some("room_id"));
    }
}
