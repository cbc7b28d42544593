//! `hand_over_room` (ext): the creator leaves without ending the call. The room passes to the
//! member present longest — the first after the creator in join order — so the room, its ID and
//! every stream go on; v1 clients simply see a new `roomCreator` in `get_pushers`.

use super::{Now, Registry, RoomChange, RoomError, write};
use crate::store::{Change, RoomStore};
use quartet_proto::event::CloseReason;
use quartet_proto::{RoomKind, ServerEvent};

/// How `hand_over` went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandOver {
    /// The room goes on with this creator.
    To(String),
    /// Nobody else was in the room, so it closed, as the creator's `delete_pusher` closes it.
    RoomClosed,
}

impl Registry {
    /// The creator `user_id` leaves room `room_id` and hands it to the member present longest.
    /// Refused for anyone but the creator, as `destroy_room` is. Written before memory changes.
    pub fn hand_over(
        &mut self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
        now: Now,
        store: &dyn RoomStore,
    ) -> Result<HandOver, RoomError> {
        let room = self.room(kind, room_id)?;
        room.member(user_id)?;
        if room.creator != user_id {
            return Err(RoomError::NotCreator {
                room_id: room_id.to_owned(),
                creator: room.creator.clone(),
            });
        }
        // Members are kept in join order with the creator first: the next one has been here
        // longest.
        let Some(heir) = room
            .profiles()
            .map(|p| p.user_id.clone())
            .find(|id| id != user_id)
        else {
            self.close_through(room_id, CloseReason::CreatorLeft, now, store)?;
            return Ok(HandOver::RoomClosed);
        };
        let mut stored = room.next_with(room.profiles().filter(|p| p.user_id != user_id));
        stored.creator = heir.clone();
        let mut changes = vec![room.expected(), Change::PutRoom(stored)];
        changes.extend(self.revocations(std::iter::once(user_id), now.unix_secs));
        write(store, &changes)?;
        let room = self.room_mut(kind, room_id)?;
        room.version += 1;
        room.members.retain(|m| m.profile.user_id != user_id);
        room.creator = heir.clone();
        room.broadcast(ServerEvent::pusher_change());
        self.feed.tell(RoomChange::Members {
            room_id: room_id.to_owned(),
        });
        self.forget_memberships(vec![user_id.to_owned()], now.unix_secs);
        tracing::info!(%kind, room = %room_id, from = %user_id, to = %heir, "room handed over");
        Ok(HandOver::To(heir))
    }
}
