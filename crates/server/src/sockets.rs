//! The cap on event sockets per member: beyond it, the member's oldest socket is told to close.
//!
//! Closing the oldest rather than refusing the newest: a client reconnects because it believes its
//! old socket is dead, and it may be right before the server notices (up to the idle timeout);
//! refusing the new socket would then leave the member deaf. Only the member's own token opens
//! its sockets, so a flood can only displace the flooder's own.

use std::collections::{HashMap, VecDeque};
use tokio_util::sync::CancellationToken;

/// Most event sockets one member may hold open: one, plus one reconnect overlapping it.
pub const MAX_SOCKETS_PER_MEMBER: usize = 2;

/// An open socket's claim: its number, and the token cancelled when a newer socket displaces it.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// Unique among the server's sockets.
    pub id: u64,
    /// Cancelled when the socket must close.
    pub displaced: CancellationToken,
}

/// The open event sockets of every member, oldest first.
#[derive(Debug, Default)]
pub(crate) struct SocketSlots {
    next_id: u64,
    open: HashMap<(String, String), VecDeque<Slot>>,
}

impl SocketSlots {
    /// Registers a new socket of `user_id` in `room_id`; if the member then holds more than
    /// `max`, its oldest sockets are displaced.
    pub fn open(&mut self, room_id: &str, user_id: &str, max: usize) -> Slot {
        self.next_id += 1;
        let slot = Slot {
            id: self.next_id,
            displaced: CancellationToken::new(),
        };
        let slots = self
            .open
            .entry((room_id.to_owned(), user_id.to_owned()))
            .or_default();
        slots.push_back(slot.clone());
        while slots.len() > max.max(1) {
            if let Some(oldest) = slots.pop_front() {
                oldest.displaced.cancel();
            }
        }
        slot
    }

    /// Socket `id` of the member ended.
    pub fn close(&mut self, room_id: &str, user_id: &str, id: u64) {
        let key = (room_id.to_owned(), user_id.to_owned());
        if let Some(slots) = self.open.get_mut(&key) {
            slots.retain(|s| s.id != id);
            if slots.is_empty() {
                self.open.remove(&key);
            }
        }
    }

    /// Number of sockets held by the member.
    #[cfg(test)]
    pub fn held(&self, room_id: &str, user_id: &str) -> usize {
        self.open
            .get(&(room_id.to_owned(), user_id.to_owned()))
            .map_or(0, VecDeque::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_the_cap_the_oldest_socket_is_displaced() {
        let mut s = SocketSlots::default();
        let first = s.open("r", "u", 2);
        let second = s.open("r", "u", 2);
        let other = s.open("r", "v", 2);
        assert!(!first.displaced.is_cancelled());
        let third = s.open("r", "u", 2);
        assert!(first.displaced.is_cancelled());
        assert!(!second.displaced.is_cancelled() && !third.displaced.is_cancelled());
        assert!(!other.displaced.is_cancelled());
        assert_eq!(s.held("r", "u"), 2);
        s.close("r", "u", first.id);
        assert_eq!(s.held("r", "u"), 2);
        s.close("r", "u", second.id);
        s.close("r", "u", third.id);
        assert_eq!(s.held("r", "u"), 0);
        assert!(s.open.len() == 1);
    }
}
