//! Leaving a room: a member's `delete_pusher`, the creator's `destroy_room`, and the creator's
//! `hand_over_room` (ext), which leaves the room to the others instead of closing it.

use super::{Refusal, Server};
use crate::rooms::HandOver;
use quartet_proto::{DeletePusher, DestroyRoom, HandOverRoom, HandedOver, Reply, RoomKind};

impl Server {
    pub(super) fn destroy_room(
        &self,
        kind: RoomKind,
        DestroyRoom(r): DestroyRoom,
    ) -> Result<Reply, Refusal> {
        self.changing(&r.room_id, |registry| {
            Ok(registry.destroy(kind, &r.room_id, &r.user_id, self.now(), self.store())?)
        })?;
        self.cut_revoked();
        Ok(Reply::ok_empty())
    }

    pub(super) fn delete_pusher(
        &self,
        kind: RoomKind,
        DeletePusher(r): DeletePusher,
    ) -> Result<Reply, Refusal> {
        self.changing(&r.room_id, |registry| {
            registry
                .remove(kind, &r.room_id, &r.user_id, self.now(), self.store())
                .map_err(|e| e.for_membership(&r.user_id).into())
        })?;
        self.cut_revoked();
        Ok(Reply::ok_empty())
    }

    pub(super) fn hand_over_room(
        &self,
        kind: RoomKind,
        HandOverRoom(r): HandOverRoom,
    ) -> Result<Reply, Refusal> {
        if !self.inner.config.hand_over {
            return Err(Refusal::HandOverOff);
        }
        let done = self.changing(&r.room_id, |registry| {
            registry
                .hand_over(kind, &r.room_id, &r.user_id, self.now(), self.store())
                .map_err(|e| e.for_membership(&r.user_id).into())
        })?;
        self.cut_revoked();
        Ok(Reply::ok(&HandedOver {
            room_creator: match done {
                HandOver::To(heir) => Some(heir),
                HandOver::RoomClosed => None,
            },
        }))
    }
}
