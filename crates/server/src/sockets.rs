//! The cap on event sockets per member: beyond it, the member's oldest socket is told to close.
//!
//! Closing the oldest rather than refusing the newest: a client reconnects because it believes its
//! old socket is dead, and it may be right before the server notices (up to the idle timeout);
//! refusing the new socket would then leave the member deaf. Only the member's own token opens
//! its sockets, so a flood can only displace the flooder's own.

use quartet_proto::ServerEvent;
use std::collections::{HashMap, VecDeque};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Most event sockets one member may hold open: one, plus one reconnect overlapping it.
pub const MAX_SOCKETS_PER_MEMBER: usize = 2;
/// Events meant for one socket alone (keyframe requests) waiting to be written; beyond it they
/// are dropped. Requests are rate-limited before they get here, so only a socket that stopped
/// reading fills it.
pub const DIRECT_QUEUE: usize = 8;

/// An open socket's claim: its number, the token cancelled when a newer socket displaces it,
/// and where events for this member alone go.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// Unique among the server's sockets.
    pub id: u64,
    /// Cancelled when the socket must close.
    pub displaced: CancellationToken,
    /// Events for this member alone.
    direct: mpsc::Sender<ServerEvent>,
}

/// The open event sockets of every member, oldest first.
#[derive(Debug, Default)]
pub(crate) struct SocketSlots {
    next_id: u64,
    open: HashMap<(String, String), VecDeque<Slot>>,
}

impl SocketSlots {
    /// Registers a new socket of `user_id` in `room_id`; if the member then holds more than
    /// `max`, its oldest sockets are displaced. The receiver carries events for this member
    /// alone ([`SocketSlots::deliver`]).
    pub fn open(
        &mut self,
        room_id: &str,
        user_id: &str,
        max: usize,
    ) -> (Slot, mpsc::Receiver<ServerEvent>) {
        self.next_id += 1;
        let (direct, direct_rx) = mpsc::channel(DIRECT_QUEUE);
        let slot = Slot {
            id: self.next_id,
            displaced: CancellationToken::new(),
            direct,
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
        (slot, direct_rx)
    }

    /// Hands `event` to every open socket of `user_id` in `room_id`; returns how many took it.
    pub fn deliver(&self, room_id: &str, user_id: &str, event: &ServerEvent) -> usize {
        self.open
            .get(&(room_id.to_owned(), user_id.to_owned()))
            .map_or(0, |slots| {
                slots
                    .iter()
                    .filter(|s| s.direct.try_send(event.clone()).is_ok())
                    .count()
            })
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
        let (first, _) = s.open("r", "u", 2);
        let (second, _) = s.open("r", "u", 2);
        let (other, _) = s.open("r", "v", 2);
        assert!(!first.displaced.is_cancelled());
        let (third, _) = s.open("r", "u", 2);
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

    #[test]
    fn direct_events_reach_only_that_members_sockets_and_a_full_queue_drops() {
        let mut s = SocketSlots::default();
        let (_a1, mut a1) = s.open("r", "a", 2);
        let (_a2, mut a2) = s.open("r", "a", 2);
        let (_b, mut b) = s.open("r", "b", 2);
        let (_elsewhere, mut elsewhere) = s.open("q", "a", 2);
        let event = ServerEvent::KeyframeRequest {
            user_id: "b".into(),
        };
        assert_eq!(s.deliver("r", "a", &event), 2);
        assert_eq!(a1.try_recv().ok(), Some(event.clone()));
        assert_eq!(a2.try_recv().ok(), Some(event.clone()));
        assert!(b.try_recv().is_err());
        assert!(elsewhere.try_recv().is_err());
        assert_eq!(s.deliver("r", "nobody", &event), 0);
        // A socket that stops reading holds DIRECT_QUEUE events, then loses the rest.
        let delivered: usize = (0..DIRECT_QUEUE + 1)
            .map(|_| s.deliver("r", "b", &event))
            .sum();
        assert_eq!(delivered, DIRECT_QUEUE);
    }
}
