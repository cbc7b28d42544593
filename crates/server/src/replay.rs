//! Replay protection: the nonces (`<unix millis>-<random>`, see `quartet_proto::nonce`) each user
//! sent within the window. Pure policy with the clock passed in; the server holds it behind a
//! mutex.

use quartet_proto::nonce::{self, NonceError};
use std::collections::HashMap;
use std::time::Duration;

/// How far a nonce's time may be from the server's clock, either way: the clock skew Kerberos
/// tolerates, so a client whose clock is a little off is not refused. A captured request is
/// refused after this long, and before that because its nonce was seen.
pub const NONCE_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Most nonces remembered per user within the window: a client sends a few hundred mutating
/// requests per window (chat included); beyond this, its requests are refused until old nonces
/// expire, so memory stays bounded.
pub const MAX_NONCES_PER_USER: usize = 1024;

/// Why a nonce was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NonceRefusal {
    /// Not of the nonce's shape.
    #[error("field `nonce` {0}")]
    Malformed(#[from] NonceError),
    /// Its time is outside the window from now.
    #[error(
        "nonce is {skew_secs} s away from the server's clock; the window is {} s: check the clock",
        NONCE_WINDOW.as_secs()
    )]
    Stale {
        /// How far off it is, in seconds.
        skew_secs: u64,
    },
    /// Already seen from this user within the window: a replay.
    #[error("nonce already used: a replayed request")]
    Replayed,
    /// The user sent more nonces within the window than are remembered.
    #[error(
        "more than {MAX_NONCES_PER_USER} mutating requests within {} s",
        NONCE_WINDOW.as_secs()
    )]
    TooMany,
}

/// The nonces seen per user, each kept until its time leaves the window.
#[derive(Debug)]
pub struct SeenNonces {
    window_ms: u64,
    max_per_user: usize,
    seen: HashMap<String, HashMap<String, u64>>,
}

impl Default for SeenNonces {
    fn default() -> Self {
        Self::new(NONCE_WINDOW, MAX_NONCES_PER_USER)
    }
}

impl SeenNonces {
    /// Nonces within `window` of now, at most `max_per_user` per user.
    pub fn new(window: Duration, max_per_user: usize) -> Self {
        Self {
            window_ms: u64::try_from(window.as_millis()).unwrap_or(u64::MAX),
            max_per_user,
            seen: HashMap::new(),
        }
    }

    /// Accepts `nonce` from `user` at `now_ms` (unix millis) and remembers it, or refuses it;
    /// returns the nonce's own time (unix millis).
    pub fn check(&mut self, user: &str, nonce: &str, now_ms: u64) -> Result<u64, NonceRefusal> {
        let at = nonce::parse(nonce)?;
        let skew = at.abs_diff(now_ms);
        if skew > self.window_ms {
            return Err(NonceRefusal::Stale {
                skew_secs: skew / 1000,
            });
        }
        let window_ms = self.window_ms;
        let seen = self.seen.entry(user.to_owned()).or_default();
        if seen.contains_key(nonce) {
            return Err(NonceRefusal::Replayed);
        }
        if seen.len() >= self.max_per_user {
            seen.retain(|_, t| !expired(*t, now_ms, window_ms));
            if seen.len() >= self.max_per_user {
                return Err(NonceRefusal::TooMany);
            }
        }
        seen.insert(nonce.to_owned(), at);
        Ok(at)
    }

    /// Forgets nonces whose time has left the window, and users with none left.
    pub fn forget_expired(&mut self, now_ms: u64) {
        let window_ms = self.window_ms;
        self.seen.retain(|_, seen| {
            seen.retain(|_, t| !expired(*t, now_ms, window_ms));
            !seen.is_empty()
        });
    }

    /// Number of nonces remembered.
    pub fn len(&self) -> usize {
        self.seen.values().map(HashMap::len).sum()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// Whether a nonce made at `at` can no longer be accepted at `now_ms`, so need not be kept.
fn expired(at: u64, now_ms: u64, window_ms: u64) -> bool {
    now_ms.saturating_sub(at) > window_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;
    const W: u64 = 300_000;

    fn n(at: u64, r: u64) -> String {
        nonce::make(at, r)
    }

    #[test]
    fn a_nonce_is_accepted_once_per_user() {
        let mut s = SeenNonces::default();
        s.check("a", &n(T0, 1), T0).unwrap();
        assert_eq!(s.check("a", &n(T0, 1), T0 + 5), Err(NonceRefusal::Replayed));
        s.check("b", &n(T0, 1), T0).unwrap();
        s.check("a", &n(T0, 2), T0).unwrap();
    }

    #[test]
    fn nonces_outside_the_window_are_refused_either_way() {
        let mut s = SeenNonces::default();
        s.check("a", &n(T0 - W, 1), T0).unwrap();
        s.check("a", &n(T0 + W, 2), T0).unwrap();
        assert!(matches!(
            s.check("a", &n(T0 - W - 1, 3), T0),
            Err(NonceRefusal::Stale { skew_secs: 300 })
        ));
        assert!(matches!(
            s.check("a", &n(T0 + W + 1000, 4), T0),
            Err(NonceRefusal::Stale { .. })
        ));
        assert!(matches!(
            s.check("a", "yesterday", T0),
            Err(NonceRefusal::Malformed(_))
        ));
    }

    #[test]
    fn a_replay_after_the_window_is_stale_so_forgetting_it_is_safe() {
        let mut s = SeenNonces::default();
        let old = n(T0, 1);
        s.check("a", &old, T0).unwrap();
        s.forget_expired(T0 + W + 1);
        assert!(s.is_empty());
        assert!(matches!(
            s.check("a", &old, T0 + W + 1),
            Err(NonceRefusal::Stale { .. })
        ));
    }

    #[test]
    fn memory_per_user_is_capped_and_frees_as_nonces_expire() {
        let mut s = SeenNonces::new(Duration::from_millis(W), 3);
        for r in 0..3 {
            s.check("a", &n(T0, r), T0).unwrap();
        }
        assert_eq!(s.check("a", &n(T0, 9), T0), Err(NonceRefusal::TooMany));
        s.check("b", &n(T0, 9), T0).unwrap();
        let later = T0 + W + 1;
        s.check("a", &n(later, 9), later).unwrap();
        assert_eq!(s.len(), 2);
    }
}
