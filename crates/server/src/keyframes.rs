//! Keyframe requests (ext): a member that plays another's stream and has no picture yet asks,
//! over its event socket, for a keyframe; the server passes the request to that member's
//! sockets alone. Pure policy with the clock passed in; the server holds it behind a mutex.
//!
//! A request makes its target's encoder spend bits on a keyframe, so a member that floods
//! requests must not be able to make another encode keyframes continuously: each requester →
//! target pair gets at most one request through per [`KEYFRAME_REQUEST_INTERVAL`]; the rest are
//! dropped (the requester retries on its own schedule, so nothing is queued).

use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// Shortest time between two keyframe requests passed on from one member to another. A
/// player asks at most every 400 ms (`quartet_call::KEYFRAME_ASK_RETRY`), so an honest member
/// is never held back; a flood from one member reaches its target at most 3⅓ times a second,
/// which the target's own spacing of forced keyframes then halves again.
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(300);

/// Why a keyframe request went nowhere. Nothing is sent back: the event channel has no
/// replies, and a requester learns what it needs from the keyframe arriving or not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum KeyframeRefusal {
    /// The requester's membership has ended.
    #[error("the requester is no longer a member")]
    NotMember,
    /// The target is not a member of the room.
    #[error("{0:?} is not a member of the room")]
    NoSuchTarget(String),
    /// A member asked itself.
    #[error("a member asked itself for a keyframe")]
    OwnStream,
    /// The pair asked again within [`KEYFRAME_REQUEST_INTERVAL`].
    #[error("asked again within {KEYFRAME_REQUEST_INTERVAL:?}")]
    TooSoon,
    /// The target has no event socket open to tell.
    #[error("{0:?} has no event socket")]
    Unreachable(String),
}

/// When each requester → target pair last had a request passed on. Memory is bounded by the
/// pairs that asked within the last interval (stale pairs are forgotten at every sweep), and
/// every pair is two members of one room.
#[derive(Debug, Default)]
pub(crate) struct KeyframeRate {
    last: HashMap<(String, String, String), Instant>,
}

impl KeyframeRate {
    /// Counts a request from `from` for `to`'s keyframe in `room_id` at `now`, or refuses it if
    /// the pair asked within the interval.
    pub fn admit(
        &mut self,
        room_id: &str,
        from: &str,
        to: &str,
        now: Instant,
    ) -> Result<(), KeyframeRefusal> {
        let key = (room_id.to_owned(), from.to_owned(), to.to_owned());
        if let Some(last) = self.last.get(&key)
            && now.saturating_duration_since(*last) < KEYFRAME_REQUEST_INTERVAL
        {
            return Err(KeyframeRefusal::TooSoon);
        }
        self.last.insert(key, now);
        Ok(())
    }

    /// Forgets pairs whose last request is older than the interval.
    pub fn forget_expired(&mut self, now: Instant) {
        self.last
            .retain(|_, last| now.saturating_duration_since(*last) < KEYFRAME_REQUEST_INTERVAL);
    }

    #[cfg(test)]
    fn pairs(&self) -> usize {
        self.last.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_pair_per_interval() {
        let mut rate = KeyframeRate::default();
        let t0 = Instant::now();
        assert_eq!(rate.admit("r", "a", "b", t0), Ok(()));
        // Within the interval, by a hair: refused.
        let almost = t0 + KEYFRAME_REQUEST_INTERVAL - Duration::from_millis(1);
        assert_eq!(
            rate.admit("r", "a", "b", almost),
            Err(KeyframeRefusal::TooSoon)
        );
        // Other pairs are not held back by this one.
        assert_eq!(rate.admit("r", "c", "b", almost), Ok(()));
        assert_eq!(rate.admit("r", "a", "c", almost), Ok(()));
        assert_eq!(rate.admit("s", "a", "b", almost), Ok(()));
        assert_eq!(
            rate.admit("r", "a", "b", t0 + KEYFRAME_REQUEST_INTERVAL),
            Ok(())
        );
    }

    #[test]
    fn a_flood_gets_one_request_through_per_interval() {
        let mut rate = KeyframeRate::default();
        let t0 = Instant::now();
        // Every millisecond for three seconds.
        let passed = (0..3000u64)
            .filter(|ms| {
                rate.admit("r", "a", "b", t0 + Duration::from_millis(*ms))
                    .is_ok()
            })
            .count();
        assert_eq!(passed, 10);
    }

    #[test]
    fn stale_pairs_are_forgotten() {
        let mut rate = KeyframeRate::default();
        let t0 = Instant::now();
        rate.admit("r", "a", "b", t0).unwrap();
        rate.admit("r", "b", "a", t0 + KEYFRAME_REQUEST_INTERVAL)
            .unwrap();
        rate.forget_expired(t0 + KEYFRAME_REQUEST_INTERVAL);
        assert_eq!(rate.pairs(), 1);
        rate.forget_expired(t0 + 2 * KEYFRAME_REQUEST_INTERVAL);
        assert_eq!(rate.pairs(), 0);
    }
}
