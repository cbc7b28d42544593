//! What the registry keeps beyond memory: restoring from a store, and the revocations of
//! signed URLs written when a user leaves its last room.

use super::{EVENT_BUFFER, Member, Registry, Room, write};
use crate::store::{Change, RoomStore, StoreContents, StoredRoom};
use tokio::sync::broadcast;
use tokio::time::Instant;

impl Registry {
    /// The registry a store held: rooms in their creation order, every member counted as heard
    /// from at `now` (so each has a full heartbeat timeout to come back), no sockets.
    pub fn restore(contents: StoreContents, now: Instant) -> Self {
        let mut reg = Registry::new();
        let mut rooms = contents.rooms;
        rooms.sort_by_key(|r| r.seq);
        for stored in rooms {
            if !stored.members.iter().any(|m| m.user_id == stored.creator) {
                // Every write keeps the creator in its room; a room without one cannot go on.
                tracing::warn!(room = %stored.id, "stored room has no creator; not restored");
                continue;
            }
            reg.insert_stored(stored, now);
        }
        reg.revoked_before = contents.revoked_before;
        reg
    }

    /// Adds room `stored` as stored, every member counted as heard from at `now`.
    pub(super) fn insert_stored(&mut self, stored: StoredRoom, now: Instant) {
        self.next_seq = self.next_seq.max(stored.seq);
        let members: Vec<Member> = stored
            .members
            .into_iter()
            .map(|m| self.new_member(m.into(), now))
            .collect();
        for m in &members {
            *self
                .memberships
                .entry(m.profile.user_id.clone())
                .or_default() += 1;
        }
        self.order
            .entry(stored.kind)
            .or_default()
            .insert(stored.seq, stored.id.clone());
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        self.rooms.insert(
            stored.id.clone(),
            Room {
                id: stored.id,
                kind: stored.kind,
                name: stored.name,
                creator: stored.creator,
                capacity: stored.capacity,
                relay: stored.relay,
                seq: stored.seq,
                version: stored.version,
                members,
                events,
            },
        );
    }

    /// Revocations to write for `leaving` users that are in no other room.
    pub(super) fn revocations<'a>(
        &self,
        leaving: impl Iterator<Item = &'a str>,
        unix_secs: u64,
    ) -> Vec<Change> {
        leaving
            .filter(|user| self.memberships.get(*user).copied().unwrap_or(0) <= 1)
            .map(|user| Change::Revoke {
                user_id: user.to_owned(),
                before_unix: unix_secs,
            })
            .collect()
    }

    /// `users` left a room at `unix_secs`; those in no other room have their URLs revoked.
    pub(super) fn forget_memberships(&mut self, users: Vec<String>, unix_secs: u64) {
        for user in users {
            let count = self.memberships.entry(user.clone()).or_default();
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.memberships.remove(&user);
                let before = self.revoked_before.entry(user.clone()).or_default();
                *before = (*before).max(unix_secs);
                self.revoked_now.push(user);
            }
        }
    }

    /// Users whose URLs were revoked since the last call: their live streams are to be cut.
    pub fn take_revoked(&mut self) -> Vec<String> {
        std::mem::take(&mut self.revoked_now)
    }

    /// Whether a signed URL of `user_id`'s stream issued at `issued_unix` is still honoured.
    pub fn admitted(&self, user_id: &str, issued_unix: u64) -> bool {
        self.revoked_before
            .get(user_id)
            .is_none_or(|&before| issued_unix >= before)
    }

    /// Forgets revocations made before `unix_secs` (no URL issued before them is still valid).
    pub fn prune_revocations(&mut self, unix_secs: u64, store: &dyn RoomStore) -> usize {
        let stale: Vec<String> = self
            .revoked_before
            .iter()
            .filter(|&(_, &before)| before < unix_secs)
            .map(|(user, _)| user.clone())
            .collect();
        if stale.is_empty() {
            return 0;
        }
        let changes: Vec<Change> = stale.iter().cloned().map(Change::Forget).collect();
        if write(store, &changes).is_err() {
            return 0;
        }
        for user in &stale {
            self.revoked_before.remove(user);
        }
        stale.len()
    }
}
