//! Sweeps: which members are no longer present, when to look again, and evicting them.

use tokio::time::Instant;

use super::{Member, Now, Registry, Room};
use crate::presence::{self, Presence, Timeouts};
use crate::store::RoomStore;
use quartet_proto::event::CloseReason;

/// A member found not present by a sweep, to be checked against its stream and then evicted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The room.
    pub room_id: String,
    /// The member.
    pub user_id: String,
    serial: u64,
}

impl Registry {
    fn all_members(&self) -> impl Iterator<Item = (&Room, &Member)> {
        self.rooms
            .values()
            .flat_map(|r| r.members.iter().map(move |m| (r, m)))
    }

    /// Candidate `c` was heard from at `at` (by another server sharing the store): that counts
    /// as a heartbeat, and as its return if its event socket had closed before.
    pub fn touch(&mut self, c: &Candidate, at: Instant) {
        if let Some(member) = self.membership_mut(&c.room_id, &c.user_id, c.serial) {
            member.last_seen = member.last_seen.max(at);
            if member.sockets.open == 0 && member.sockets.closed_since.is_some_and(|t| t < at) {
                member.sockets.closed_since = None;
            }
        }
    }

    /// Members not present at `now`.
    pub fn candidates(&self, now: Instant, t: Timeouts) -> Vec<Candidate> {
        self.all_members()
            .filter(|(_, m)| {
                presence::presence(m.last_seen, m.sockets, now, t) != Presence::Present
            })
            .map(|(r, m)| Candidate {
                room_id: r.id.clone(),
                user_id: m.profile.user_id.clone(),
                serial: m.serial,
            })
            .collect()
    }

    /// The earliest instant after `now` at which a member present now may stop being present.
    pub fn next_check(&self, now: Instant, t: Timeouts) -> Option<Instant> {
        self.all_members()
            .filter_map(|(_, m)| presence::next_check(m.last_seen, m.sockets, now, t))
            .min()
    }

    /// Evicts a candidate if, looked at again, it is still not present (a heartbeat may have
    /// arrived meanwhile): a silent member goes only if its stream does not `keep` it. Returns
    /// whether it was evicted; a store that refuses the eviction leaves the member for the
    /// next sweep.
    pub fn evict(
        &mut self,
        c: &Candidate,
        keep: bool,
        now: Now,
        t: Timeouts,
        store: &dyn RoomStore,
    ) -> bool {
        let Some(member) = self.membership(&c.room_id, &c.user_id, c.serial) else {
            return false;
        };
        let why = match presence::presence(member.last_seen, member.sockets, now.at, t) {
            Presence::Present => return false,
            Presence::Silent if keep => return false,
            Presence::Silent => "heartbeat timeout",
            Presence::SocketLost => "event socket closed",
        };
        let Some(room) = self.rooms.get(&c.room_id) else {
            return false;
        };
        let (kind, creator) = (room.kind, room.creator == c.user_id);
        let done = if creator {
            self.close_through(&c.room_id, CloseReason::CreatorTimedOut, now, store)
        } else {
            self.drop_member(&c.room_id, &c.user_id, now, store)
        };
        if done.is_ok() {
            tracing::info!(%kind, room = %c.room_id, user = %c.user_id, why, "member evicted");
        }
        done.is_ok()
    }
}
