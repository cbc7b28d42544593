//! Serving rooms that other servers serve too, through a shared store (see
//! [`crate::store::RedisStore`]): this server's copy of a room is brought up to the store before
//! a request reads or changes it, a change another server made first is tried again from the
//! fresh copy, and notes and heartbeats from other servers reach this one. Alone, each of these
//! does nothing.

use super::admit::Claim;
use super::{Refusal, Server, lock, millis, unix_now};
use crate::quota::{CREATION_WINDOW, MAX_CREATIONS_PER_WINDOW, RateLimited};
use crate::replay::NonceRefusal;
use crate::rooms::{Candidate, Registry, RoomError, store_failed};
use crate::store::{Beat, Fetched, Heard, SharedStore, StoreError, StoredRoom};
use quartet_proto::event::CloseReason;
use quartet_proto::{RoomKind, ServerEvent};
use std::time::Duration;
use tokio::time::Instant;

/// Until when a nonce is kept: as long as a request carrying it could be taken.
fn nonce_expiry(claim: &Claim) -> u64 {
    claim.at.saturating_add(millis(crate::replay::NONCE_WINDOW))
}

/// Attempts at one change while other servers keep changing the room first; each attempt
/// starts from the room as stored, so only a room changing this fast for this long fails.
pub const MAX_CHANGE_ATTEMPTS: usize = 16;

impl Server {
    fn shared(&self) -> Option<&dyn SharedStore> {
        self.inner.store.shared()
    }

    /// Where the shared store's notes are, if the rooms are shared.
    pub(crate) fn notes_url(&self) -> Option<String> {
        self.shared().map(|s| s.notes_url().to_owned())
    }

    /// Brings this server's copy of `room_id` up to the shared store.
    pub(super) fn sync(&self, room_id: &str) -> Result<(), RoomError> {
        let Some(shared) = self.shared() else {
            return Ok(());
        };
        let fetched = match self.store().room(room_id).map_err(store_failed)? {
            Some(room) => Fetched::Room(room),
            None => Fetched::Gone(shared.gone(room_id).map_err(store_failed)?),
        };
        self.follow_fetched(room_id, fetched);
        Ok(())
    }

    /// As [`Server::sync`] in one round trip, waiting without holding a thread: the hot
    /// path of polls and heartbeats.
    pub(super) async fn sync_async(&self, room_id: &str) -> Result<(), RoomError> {
        let Some(shared) = self.shared() else {
            return Ok(());
        };
        let fetched = shared.fetch(room_id).await.map_err(store_failed)?;
        self.follow_fetched(room_id, fetched);
        Ok(())
    }

    /// Takes what the store answered for `room_id` into this server's copy.
    fn follow_fetched(&self, room_id: &str, fetched: Fetched) {
        match fetched {
            Fetched::Room(room) => self.follow(room_id, Some(room), CloseReason::Destroyed),
            Fetched::Gone(reason) => {
                self.follow(room_id, None, reason.unwrap_or(CloseReason::Destroyed));
            }
        }
    }

    /// Takes `stored` (or, for `None`, the room's closing for `gone`) into this server's copy.
    fn follow(&self, room_id: &str, stored: Option<StoredRoom>, gone: CloseReason) {
        let changed = self.registry().sync_room(room_id, stored, gone, self.now());
        if changed {
            self.cut_revoked();
        }
    }

    /// Runs `op` on the registry from a fresh copy of `room_id`, again while another server
    /// changed the room first.
    pub(super) fn changing<T>(
        &self,
        room_id: &str,
        mut op: impl FnMut(&mut Registry) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        for _ in 0..MAX_CHANGE_ATTEMPTS {
            self.sync(room_id)?;
            match op(&mut self.registry()) {
                Err(Refusal::Room(RoomError::Conflict { .. })) => continue,
                done => return done,
            }
        }
        tracing::warn!(room = %room_id, "room kept changing on other servers; change refused");
        Err(RoomError::Store(format!("room {room_id:?} kept changing on other servers")).into())
    }

    /// Up to `cnt` rooms of `kind` from `index`, as the shared store lists them, each brought up
    /// to the store, and how many there are; `None` alone.
    pub(super) fn sync_page(
        &self,
        kind: RoomKind,
        index: usize,
        cnt: usize,
    ) -> Result<Option<(Vec<String>, usize)>, RoomError> {
        let Some(shared) = self.shared() else {
            return Ok(None);
        };
        let (ids, total) = shared.page(kind, index, cnt).map_err(store_failed)?;
        let rooms = shared.rooms(&ids).map_err(store_failed)?;
        for room in rooms {
            let id = room.id.clone();
            self.follow(&id, Some(room), CloseReason::Destroyed);
        }
        Ok(Some((ids, total)))
    }

    /// Refuses `claim`'s nonce if another server sharing the store saw it already; nothing to
    /// do alone.
    pub(super) fn claim_nonce_shared(&self, claim: &Claim) -> Result<(), Refusal> {
        let Some(shared) = self.shared() else {
            return Ok(());
        };
        match shared.claim_nonce(&claim.user, &claim.nonce, nonce_expiry(claim)) {
            Ok(true) => Ok(()),
            Ok(false) => Err(NonceRefusal::Replayed.into()),
            Err(e) => Err(store_failed(e).into()),
        }
    }

    /// A heartbeat's share in one round trip: claims its nonce across servers and, if the
    /// store has `user_id` in `room_id`, tells the other servers it was heard. `Some(false)`:
    /// the store does not have the member; `None` alone.
    pub(super) async fn beat_shared(
        &self,
        room_id: &str,
        user_id: &str,
        claim: Option<&Claim>,
    ) -> Result<Option<bool>, Refusal> {
        let Some(shared) = self.shared() else {
            return Ok(None);
        };
        let nonce = claim.map(|c| (c.nonce.as_str(), nonce_expiry(c)));
        match shared.beat(room_id, user_id, nonce, self.heard_now()).await {
            Ok(Beat::Heard) => Ok(Some(true)),
            Ok(Beat::Absent) => Ok(Some(false)),
            Ok(Beat::Replayed) => Err(NonceRefusal::Replayed.into()),
            Err(e) => Err(store_failed(e).into()),
        }
    }

    /// Counts a room creation by `user_id` against the per-user rate: across every server
    /// sharing the store, else this server's own count.
    pub(super) fn admit_creation(&self, user_id: &str, at: Instant) -> Result<(), Refusal> {
        let Some(shared) = self.shared() else {
            return Ok(lock(&self.inner.creations).admit(user_id, at)?);
        };
        let tag = format!("{}:{:016x}", self.inner.origin, rand::random::<u64>());
        let (max, window) = (MAX_CREATIONS_PER_WINDOW, CREATION_WINDOW);
        match shared.admit_creation(user_id, millis(unix_now()), &tag, max, window) {
            Ok(None) => Ok(()),
            Ok(Some(retry_after)) => Err(RateLimited {
                max,
                window,
                retry_after,
            }
            .into()),
            Err(e) => Err(store_failed(e).into()),
        }
    }

    /// A member heard from now, by this server.
    fn heard_now(&self) -> Heard {
        Heard {
            unix_ms: millis(unix_now()),
            origin: self.inner.origin,
        }
    }

    /// Tells the other servers that `user_id` of `room_id` was heard from just now.
    pub(super) fn tell_heard(&self, room_id: &str, user_id: &str) {
        if let Some(shared) = self.shared()
            && let Err(e) = shared.heard(room_id, user_id, self.heard_now())
        {
            // Not fatal: the member's next heartbeat tells it again.
            tracing::warn!(error = %e, room = %room_id, user = %user_id, "could not share a heartbeat");
        }
    }

    /// Sends `event` to the sockets other servers hold in `room_id`.
    pub(super) fn tell_others(&self, room_id: &str, event: &ServerEvent) {
        let Some(shared) = self.shared() else {
            return;
        };
        let sent = serde_json::to_string(event)
            .map_err(|e| StoreError::Corrupt {
                key: room_id.to_owned(),
                reason: e.to_string(),
            })
            .and_then(|json| shared.publish_event(self.inner.origin, room_id, &json));
        if let Err(e) = sent {
            tracing::warn!(error = %e, room = %room_id, "could not tell other servers an event");
        }
    }

    /// Counts as heard those `candidates` another server heard from within the heartbeat
    /// timeout, so no server evicts a member that heartbeats to another.
    pub(super) fn heard_elsewhere(&self, candidates: &[Candidate]) {
        let Some(shared) = self.shared() else {
            return;
        };
        let keys: Vec<(&str, &str)> = candidates
            .iter()
            .map(|c| (c.room_id.as_str(), c.user_id.as_str()))
            .collect();
        let heard = match shared.last_heard(&keys) {
            Ok(heard) => heard,
            Err(e) => {
                tracing::warn!(error = %e, "could not read heartbeats heard elsewhere");
                return;
            }
        };
        let (now, now_ms) = (tokio::time::Instant::now(), millis(unix_now()));
        let mut registry = self.registry();
        for (c, heard) in candidates.iter().zip(heard) {
            // What this server heard, its own copy has already.
            let Some(heard) = heard.filter(|h| h.origin != self.inner.origin) else {
                continue;
            };
            let age = Duration::from_millis(now_ms.saturating_sub(heard.unix_ms));
            if let Some(at) = now.checked_sub(age) {
                registry.touch(c, at);
            }
        }
    }

    /// One note of the shared store's channel: a room changed or closed, or an event for a
    /// room's sockets. A note this server cannot read is logged and dropped.
    pub(crate) fn take_note(&self, note: &[u8]) {
        let Ok(note) = std::str::from_utf8(note) else {
            tracing::warn!("shared store note is not UTF-8; dropped");
            return;
        };
        let mut fields = note.splitn(3, '\n');
        let (kind, first, rest) = (fields.next(), fields.next(), fields.next());
        match (kind, first, rest) {
            (Some("R"), Some(id), Some(json)) => match serde_json::from_str(json) {
                Ok(room) => self.follow(id, Some(room), CloseReason::Destroyed),
                Err(e) => tracing::warn!(room = %id, error = %e, "unreadable room note; dropped"),
            },
            (Some("G"), Some(id), Some(reason)) => {
                let reason = CloseReason::parse(reason).unwrap_or(CloseReason::Destroyed);
                self.follow(id, None, reason);
            }
            (Some("E"), Some(origin), Some(rest)) => self.take_event(origin, rest),
            _ => tracing::warn!(note = %note.escape_debug(), "unknown shared store note; dropped"),
        }
    }

    fn take_event(&self, origin: &str, rest: &str) {
        if origin.parse() == Ok(self.inner.origin) {
            return;
        }
        let Some((room_id, json)) = rest.split_once('\n') else {
            return;
        };
        match serde_json::from_str::<ServerEvent>(json) {
            Ok(event) => self.registry().broadcast_any(room_id, event),
            Err(e) => tracing::warn!(room = %room_id, error = %e, "unreadable event note; dropped"),
        }
    }

    /// Brings every room of this server's copy up to the shared store, after notes may have
    /// been missed; returns how many rooms the store holds.
    pub(crate) fn resync_all(&self) -> Result<usize, StoreError> {
        if let Some(shared) = self.shared()
            && shared.restore_keys()?
        {
            tracing::warn!(
                "the shared store had lost the signing keys (a Redis restarted without persistence); this server's are back in it"
            );
        }
        let contents = self.store().load()?;
        let stored: std::collections::HashSet<String> =
            contents.rooms.iter().map(|r| r.id.clone()).collect();
        let held: Vec<String> = self.registry().rooms().map(|r| r.id.clone()).collect();
        for id in held.iter().filter(|id| !stored.contains(*id)) {
            let gone = self
                .shared()
                .and_then(|s| s.gone(id).ok().flatten())
                .unwrap_or(CloseReason::Destroyed);
            self.follow(id, None, gone);
        }
        let count = contents.rooms.len();
        for room in contents.rooms {
            let id = room.id.clone();
            self.follow(&id, Some(room), CloseReason::Destroyed);
        }
        Ok(count)
    }
}
