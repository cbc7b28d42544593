//! Connections that neither publish nor play yet, and the cap that keeps a flood of them from
//! locking real clients out: past the cap, the oldest is closed to make room for the newest.
//!
//! A slow starter is either an attacker holding a slot or a client that will be closed by its
//! start deadline anyway, so closing the oldest costs nothing real; refusing the newest would
//! let whoever opened connections first keep every slot.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::hub::lock;

/// One connection's place among the starting ones.
#[derive(Debug)]
pub(crate) struct Admission {
    /// The set it was admitted to.
    pub set: Arc<PendingSet>,
    /// Its number.
    pub conn: u64,
    /// Cancelled when it is evicted. Its own token, not the connection's stop token: a
    /// connection that started publishing or playing just before the eviction reached it
    /// ignores it instead of being cut off.
    pub evict: CancellationToken,
}

/// The starting connections, by connection number (which grows with accept order).
#[derive(Debug)]
pub(crate) struct PendingSet {
    conns: Mutex<BTreeMap<u64, CancellationToken>>,
    limit: usize,
}

impl PendingSet {
    /// An empty set holding at most `limit` connections (at least one).
    pub fn new(limit: usize) -> PendingSet {
        PendingSet {
            conns: Mutex::new(BTreeMap::new()),
            limit: limit.max(1),
        }
    }

    /// Adds connection `conn`, closed through `stop` if evicted; returns the connections evicted
    /// to make room (the oldest first), whose tokens were cancelled.
    pub fn admit(&self, conn: u64, stop: CancellationToken) -> Vec<u64> {
        let mut conns = lock(&self.conns);
        let mut evicted = Vec::new();
        while conns.len() >= self.limit {
            let Some((old, token)) = conns.pop_first() else {
                break;
            };
            token.cancel();
            evicted.push(old);
        }
        conns.insert(conn, stop);
        evicted
    }

    /// Evicts the oldest connection (to make room under the connection limit); returns it.
    pub fn evict_oldest(&self) -> Option<u64> {
        let (old, token) = lock(&self.conns).pop_first()?;
        token.cancel();
        Some(old)
    }

    /// Takes `conn` out: it started publishing or playing, or it ended.
    pub fn remove(&self, conn: u64) {
        lock(&self.conns).remove(&conn);
    }

    /// Whether `conn` is still counted as starting (an evicted one is not).
    #[cfg(test)]
    pub fn contains(&self, conn: u64) -> bool {
        lock(&self.conns).contains_key(&conn)
    }

    /// Connections starting now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        lock(&self.conns).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_cap_the_oldest_starter_goes() {
        let set = PendingSet::new(3);
        let tokens: Vec<CancellationToken> = (0..5).map(|_| CancellationToken::new()).collect();
        for (i, t) in tokens.iter().enumerate().take(3) {
            assert!(set.admit(i as u64, t.clone()).is_empty(), "within the cap");
        }
        assert_eq!(set.admit(3, tokens[3].clone()), vec![0]);
        assert!(tokens[0].is_cancelled());
        assert!(!tokens[1].is_cancelled());
        // One that started is no longer a candidate.
        set.remove(1);
        assert!(set.admit(4, tokens[4].clone()).is_empty());
        assert_eq!(set.len(), 3);
        assert_eq!(set.evict_oldest(), Some(2));
        assert!(tokens[2].is_cancelled() && !set.contains(2));
        assert!(
            !tokens[1].is_cancelled(),
            "a started connection is never evicted"
        );
        assert!(set.contains(3) && set.contains(4));
    }

    #[test]
    fn a_zero_cap_still_admits_the_newest() {
        let set = PendingSet::new(0);
        let first = CancellationToken::new();
        set.admit(1, first.clone());
        assert_eq!(set.admit(2, CancellationToken::new()), vec![1]);
        assert!(first.is_cancelled());
        assert_eq!(set.len(), 1);
    }
}
