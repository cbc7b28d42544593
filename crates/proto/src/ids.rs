//! IDs in v1's shapes: `user_<epoch ms>_<counter>` and `room_<epoch ms>_<counter>`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Makes unique user and room IDs; the counter keeps IDs made in the same millisecond apart.
#[derive(Debug, Default)]
pub struct IdGenerator {
    counter: AtomicU64,
}

impl IdGenerator {
    /// A generator whose counter starts at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// A userID for a user created at `now_ms` (unix milliseconds).
    pub fn user_id(&self, now_ms: u64) -> String {
        format!("user_{now_ms}_{}", self.next())
    }

    /// A roomID for a room created at `now_ms`; one generator serves all kinds, so IDs are
    /// unique across kinds.
    pub fn room_id(&self, now_ms: u64) -> String {
        format!("room_{now_ms}_{}", self.next())
    }

    /// A generator whose counter starts at `first`: servers sharing one store each start at a
    /// random point, so their IDs of the same millisecond differ too.
    pub fn starting_at(first: u64) -> Self {
        IdGenerator {
            counter: AtomicU64::new(first),
        }
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_the_same_millisecond_differ() {
        let g = IdGenerator::new();
        assert_eq!(g.user_id(1000), "user_1000_0");
        assert_eq!(g.room_id(1000), "room_1000_1");
        assert_ne!(g.user_id(1000), g.user_id(1000));
    }
}
