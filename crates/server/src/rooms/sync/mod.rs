//! Following a store that other servers share: this server's copy of a room brought to what
//! the store holds, telling this server's sockets what changed, as if the change were local.

use super::{Member, Now, Registry, RoomChange};
use crate::store::StoredRoom;
use quartet_proto::ServerEvent;
use quartet_proto::event::CloseReason;
use std::collections::HashMap;

impl Registry {
    /// Makes this copy of room `id` what the store holds: `stored`, or, for `None`, closed for
    /// `gone` (its sockets are told so). A member kept keeps its sockets and heartbeats; a
    /// new one is counted as heard from now. Returns whether anything changed.
    pub fn sync_room(
        &mut self,
        id: &str,
        stored: Option<StoredRoom>,
        gone: CloseReason,
        now: Now,
    ) -> bool {
        match stored {
            None if self.rooms.contains_key(id) => {
                self.close(id, gone, now.unix_secs);
                true
            }
            None => false,
            Some(stored) if stored.id != id => false,
            Some(stored) if !stored.members.iter().any(|m| m.user_id == stored.creator) => {
                tracing::warn!(room = %id, "shared room has no creator; not followed");
                false
            }
            Some(stored) => match self.rooms.get(id) {
                None if self.closed.iter().any(|closed| closed == id) => false,
                None => {
                    let kind = stored.kind;
                    self.insert_stored(stored, now.at);
                    self.feed.tell(RoomChange::Created {
                        kind,
                        room_id: id.to_owned(),
                    });
                    true
                }
                Some(room) if stored.version <= room.version => false,
                Some(_) => {
                    self.refresh(stored, now);
                    true
                }
            },
        }
    }

    /// Room `stored.id`, which this copy has, changed elsewhere.
    fn refresh(&mut self, stored: StoredRoom, now: Now) {
        let Some(room) = self.rooms.get_mut(&stored.id) else {
            return;
        };
        let mut kept: HashMap<String, Member> = std::mem::take(&mut room.members)
            .into_iter()
            .map(|m| (m.profile.user_id.clone(), m))
            .collect();
        let mut joined = Vec::new();
        let mut members = Vec::with_capacity(stored.members.len());
        for m in stored.members {
            match kept.remove(&m.user_id) {
                Some(mut member) => {
                    member.profile = m.into();
                    members.push(member);
                }
                None => {
                    joined.push(m.user_id.clone());
                    self.next_serial += 1;
                    members.push(Member {
                        profile: m.into(),
                        serial: self.next_serial,
                        last_seen: now.at,
                        sockets: Default::default(),
                    });
                }
            }
        }
        room.members = members;
        room.version = stored.version;
        room.creator = stored.creator;
        room.name = stored.name;
        room.broadcast(ServerEvent::pusher_change());
        let left: Vec<String> = kept.into_keys().collect();
        for user in joined {
            *self.memberships.entry(user).or_default() += 1;
        }
        self.forget_memberships(left, now.unix_secs);
        self.feed.tell(RoomChange::Members { room_id: stored.id });
    }
}

#[cfg(test)]
mod tests;
