//! The event sockets of members: subscribing to a room's events and counting open sockets,
//! which presence reads.

use tokio::sync::broadcast;
use tokio::time::Instant;

use super::{EVENT_BUFFER, Registry, RoomError};
use quartet_proto::{RoomKind, ServerEvent};

/// An event socket's claim on a membership, returned by [`Registry::attach`].
#[cfg(test)]
#[derive(Debug)]
pub struct Attachment {
    /// The membership the socket belongs to.
    pub serial: u64,
    /// The room's events from now on.
    pub events: broadcast::Receiver<ServerEvent>,
}

impl Registry {
    /// Registers an event socket of a member and subscribes it to the room.
    #[cfg(test)]
    pub fn attach(
        &mut self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
    ) -> Result<Attachment, RoomError> {
        let events = self.subscribe(kind, room_id)?;
        let serial = self.attach_subscribed(kind, room_id, user_id)?;
        Ok(Attachment { serial, events })
    }

    /// The room's events from now on, for a socket of a user that is not (yet) a member.
    pub fn subscribe(
        &self,
        kind: RoomKind,
        room_id: &str,
    ) -> Result<broadcast::Receiver<ServerEvent>, RoomError> {
        Ok(self.room(kind, room_id)?.events.subscribe())
    }

    /// Receivers of room `room_id`'s events (0 for no such room).
    pub fn subscribers(&self, room_id: &str) -> usize {
        self.rooms
            .get(room_id)
            .map_or(0, |r| r.events.receiver_count())
    }

    /// Registers an event socket that already holds a subscription ([`Registry::subscribe`]) as
    /// one of the member's; returns its membership serial.
    pub fn attach_subscribed(
        &mut self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
    ) -> Result<u64, RoomError> {
        let member = self.room_mut(kind, room_id)?.member_mut(user_id)?;
        member.sockets.open += 1;
        member.sockets.closed_since = None;
        Ok(member.serial)
    }

    /// An event socket of membership `serial` closed at `now`; returns whether it was the
    /// member's last, so that its eviction check is due after the grace.
    pub fn detach(&mut self, room_id: &str, user_id: &str, serial: u64, now: Instant) -> bool {
        let Some(member) = self.membership_mut(room_id, user_id, serial) else {
            return false;
        };
        member.sockets.open = member.sockets.open.saturating_sub(1);
        if member.sockets.open == 0 {
            member.sockets.closed_since = Some(now);
        }
        member.sockets.open == 0
    }

    /// Whether membership `serial` still stands.
    pub fn is_member(&self, room_id: &str, user_id: &str, serial: u64) -> bool {
        self.rooms.get(room_id).is_some_and(|r| {
            r.members
                .iter()
                .any(|m| m.profile.user_id == user_id && m.serial == serial)
        })
    }

    /// Number of event sockets open in every room.
    pub fn open_sockets(&self) -> usize {
        self.rooms
            .values()
            .flat_map(|r| &r.members)
            .map(|m| m.sockets.open)
            .sum()
    }

    /// Ends every event socket without closing any room (their channels close, so each socket
    /// ends with a plain close frame and no `roomClosed`): for a server whose rooms outlive it.
    pub fn release_sockets(&mut self) -> usize {
        for room in self.rooms.values_mut() {
            room.events = broadcast::channel(EVENT_BUFFER).0;
        }
        self.rooms.len()
    }
}
