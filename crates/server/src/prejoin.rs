//! Event sockets opened before joining: v1's order is to subscribe to a room's notices first and
//! call `add_pusher` after, so a token holder may listen to a room it is about to join, for a
//! short while (`ServerConfig::join_grace`) and within the caps below.
//!
//! Past a cap the newest socket is refused rather than the oldest displaced (as member sockets
//! are): nobody relies on a socket that has not joined yet, and refusing keeps a flooder from
//! costing anything but its own refusals.

use crate::quota::MAX_ROOMS_PER_USER;
use std::collections::HashMap;

/// Most event sockets one user may hold in one room before it is a member: one, plus one
/// reconnect overlapping it (as [`crate::MAX_SOCKETS_PER_MEMBER`]).
pub const MAX_PREJOIN_SOCKETS_PER_ROOM: usize = 2;
/// Most rooms one user may be waiting to join at once: no more than it may be in.
pub const MAX_PREJOIN_ROOMS_PER_USER: usize = MAX_ROOMS_PER_USER;

/// Why a socket of a user that has not joined was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreJoinRefusal {
    /// The user already holds the most sockets it may in this room before joining it.
    #[error(
        "{user_id:?} already holds {MAX_PREJOIN_SOCKETS_PER_ROOM} event sockets in room {room_id:?} without having joined it"
    )]
    TooManySockets {
        /// The room.
        room_id: String,
        /// The user.
        user_id: String,
    },
    /// The user is already waiting to join the most rooms it may.
    #[error(
        "{user_id:?} is already listening to {MAX_PREJOIN_ROOMS_PER_USER} rooms it has not joined"
    )]
    TooManyRooms {
        /// The user.
        user_id: String,
    },
}

/// The open sockets of users that have not joined, per user and room.
#[derive(Debug, Default)]
pub(crate) struct PreJoins {
    open: HashMap<String, HashMap<String, usize>>,
}

impl PreJoins {
    /// Counts one more socket of `user_id` in `room_id`, or refuses it past a cap.
    pub fn admit(&mut self, room_id: &str, user_id: &str) -> Result<(), PreJoinRefusal> {
        let rooms = self.open.entry(user_id.to_owned()).or_default();
        let held = rooms.get(room_id).copied().unwrap_or(0);
        if held >= MAX_PREJOIN_SOCKETS_PER_ROOM {
            return Err(PreJoinRefusal::TooManySockets {
                room_id: room_id.to_owned(),
                user_id: user_id.to_owned(),
            });
        }
        if held == 0 && rooms.len() >= MAX_PREJOIN_ROOMS_PER_USER {
            return Err(PreJoinRefusal::TooManyRooms {
                user_id: user_id.to_owned(),
            });
        }
        *rooms.entry(room_id.to_owned()).or_default() += 1;
        Ok(())
    }

    /// One socket of `user_id` in `room_id` joined or ended.
    pub fn release(&mut self, room_id: &str, user_id: &str) {
        let Some(rooms) = self.open.get_mut(user_id) else {
            return;
        };
        if let Some(held) = rooms.get_mut(room_id) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                rooms.remove(room_id);
            }
        }
        if rooms.is_empty() {
            self.open.remove(user_id);
        }
    }

    /// Sockets counted, in every room.
    pub fn held(&self) -> usize {
        self.open.values().flat_map(HashMap::values).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_a_few_sockets_per_room_and_a_few_rooms() {
        let mut p = PreJoins::default();
        for _ in 0..MAX_PREJOIN_SOCKETS_PER_ROOM {
            p.admit("r0", "u").unwrap();
        }
        assert!(matches!(
            p.admit("r0", "u"),
            Err(PreJoinRefusal::TooManySockets { .. })
        ));
        // Another user is not held back by the first.
        p.admit("r0", "v").unwrap();
        for room in 1..MAX_PREJOIN_ROOMS_PER_USER {
            p.admit(&format!("r{room}"), "u").unwrap();
        }
        assert!(matches!(
            p.admit("r-extra", "u"),
            Err(PreJoinRefusal::TooManyRooms { .. })
        ));
        // A room it already listens to still takes its second socket.
        p.admit("r1", "u").unwrap();
        assert_eq!(
            p.held(),
            MAX_PREJOIN_SOCKETS_PER_ROOM * 2 + MAX_PREJOIN_ROOMS_PER_USER - 1
        );
    }

    #[test]
    fn released_sockets_make_room_and_leave_nothing_behind() {
        let mut p = PreJoins::default();
        p.admit("r", "u").unwrap();
        p.admit("r", "u").unwrap();
        p.release("r", "u");
        p.admit("r", "u").unwrap();
        p.release("r", "u");
        p.release("r", "u");
        p.release("r", "u");
        p.release("nowhere", "nobody");
        assert_eq!(p.held(), 0);
        assert!(p.open.is_empty());
    }
}
