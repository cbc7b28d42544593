//! The room registry: rooms in creation order, their members in join order (creator first), who
//! is still present, each room's event fan-out, and which users' signed URLs are revoked.
//! Knows nothing of HTTP or media. Every change is written to the [`RoomStore`] before memory
//! changes, so a change the store refused leaves nothing behind.

use crate::presence::Sockets;
use crate::store::{Change, RoomRelay, RoomStore, StoreError};
use quartet_proto::event::CloseReason;
use quartet_proto::{Code, RoomKind, ServerEvent};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::broadcast;
use tokio::time::Instant;

mod eviction;
mod feed;
mod handover;
mod persist;
mod room;
mod sockets;
mod sync;
#[cfg(test)]
mod tests;

pub use eviction::Candidate;
pub use feed::{Feed, RoomChange};
pub use handover::HandOver;
pub use room::{Member, Now, Profile, Room};

/// Events a room buffers per socket; a socket further behind skips ahead (see `events`), so a
/// slow reader never holds up the others.
pub const EVENT_BUFFER: usize = 64;

/// Why a room operation was refused; each maps onto a v1 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// No room of this kind has that ID.
    #[error("no {kind} room {room_id:?}")]
    NoSuchRoom {
        /// The kind asked for.
        kind: RoomKind,
        /// The room asked for.
        room_id: String,
    },
    /// Someone other than the creator tried to destroy the room.
    #[error("only the creator {creator:?} may destroy room {room_id:?}")]
    NotCreator {
        /// The room.
        room_id: String,
        /// Its creator.
        creator: String,
    },
    /// The user is not a member of the room.
    #[error("{user_id:?} is not a member of room {room_id:?}")]
    NoSuchMember {
        /// The room.
        room_id: String,
        /// The user.
        user_id: String,
    },
    /// The room already holds its limit.
    #[error("room {room_id:?} is full: {capacity} members")]
    Full {
        /// The room.
        room_id: String,
        /// Its member limit.
        capacity: usize,
    },
    /// The server already holds its limit of rooms.
    #[error("the server already holds its limit of {max} rooms")]
    TooManyRooms {
        /// The limit.
        max: usize,
    },
    /// Another server sharing the store changed the room first, so nothing changed; the
    /// change is tried again from the room as stored now.
    #[error("room {room_id:?} changed on another server meanwhile; nothing changed")]
    Conflict {
        /// The room.
        room_id: String,
    },
    /// The room store refused the change, so nothing changed.
    #[error("the room store could not record this change, so nothing changed: {0}")]
    Store(String),
}

impl RoomError {
    /// The v1 code for this refusal.
    pub fn code(&self) -> Code {
        match self {
            RoomError::NoSuchRoom { .. } | RoomError::NotCreator { .. } => Code::NoSuchRoom,
            RoomError::NoSuchMember { .. } => Code::NoSuchMember,
            RoomError::Full { .. } => Code::RoomFull,
            RoomError::TooManyRooms { .. } | RoomError::Conflict { .. } | RoomError::Store(_) => {
                Code::Internal
            }
        }
    }

    /// This refusal as a call on `user_id`'s membership (`pusher_heartbeat`, `delete_pusher`)
    /// gives it: v1 only asked whether the user was a member of the room, so a room that is gone
    /// answers as a missing member (code 5), not a missing room.
    pub fn for_membership(self, user_id: &str) -> RoomError {
        match self {
            RoomError::NoSuchRoom { room_id, .. } => RoomError::NoSuchMember {
                room_id,
                user_id: user_id.to_owned(),
            },
            other => other,
        }
    }
}

/// What `create_room` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    /// Its kind.
    pub kind: RoomKind,
    /// Its ID, fresh from the ID generator.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Member limit.
    pub capacity: usize,
    /// Where its streams are to live, when that is per room.
    pub relay: Option<RoomRelay>,
}

/// How `add_pusher` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// A new member.
    New,
    /// Already a member: profile and heartbeat refreshed.
    Refreshed,
}

/// How `delete_pusher` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// A member left; the room goes on.
    Member,
    /// The creator left, so the room closed.
    RoomClosed,
}

/// Every room of the server.
#[derive(Debug, Default)]
pub struct Registry {
    rooms: HashMap<String, Room>,
    order: HashMap<RoomKind, BTreeMap<u64, String>>,
    next_seq: u64,
    next_serial: u64,
    /// Rooms each user is in, so its URLs are revoked only when it leaves the last one.
    memberships: HashMap<String, usize>,
    /// Per user: signed URLs of its stream issued before this unix second are revoked.
    revoked_before: HashMap<String, u64>,
    /// Users revoked since the last [`Registry::take_revoked`], whose live streams must be cut.
    revoked_now: Vec<String>,
    /// Where changes are told beyond the event sockets.
    feed: Feed,
    /// Rooms closed lately, newest last: a stale read of a shared store must not bring one back.
    closed: std::collections::VecDeque<String>,
}

/// Closed rooms remembered in [`Registry`]'s `closed`; a read older than this many closings
/// is far older than any request takes.
pub const CLOSED_REMEMBERED: usize = 4096;

/// Writes `changes`, or says why not (and logs it: the operator must hear of a failing disk).
fn write(store: &dyn RoomStore, changes: &[Change]) -> Result<(), RoomError> {
    store.apply(changes).map_err(|e| match e {
        StoreError::Conflict(room_id) => RoomError::Conflict { room_id },
        e => store_failed(e),
    })
}

/// The refusal for a store that failed, logged: the operator must hear of a failing disk or an
/// unreachable Redis.
pub(crate) fn store_failed(e: StoreError) -> RoomError {
    tracing::error!(error = %e, "room store failed; the change was refused");
    RoomError::Store(e.to_string())
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of rooms of every kind.
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    /// Every room, in no particular order.
    pub fn rooms(&self) -> impl Iterator<Item = &Room> {
        self.rooms.values()
    }

    fn new_member(&mut self, profile: Profile, now: Instant) -> Member {
        self.next_serial += 1;
        Member {
            profile,
            serial: self.next_serial,
            last_seen: now,
            sockets: Sockets::default(),
        }
    }

    /// Opens `room` with `creator` as its first member. No notification, as in v1.
    pub fn create(
        &mut self,
        room: NewRoom,
        creator: Profile,
        max_rooms: usize,
        now: Now,
        store: &dyn RoomStore,
    ) -> Result<(), RoomError> {
        if self.rooms.len() >= max_rooms {
            return Err(RoomError::TooManyRooms { max: max_rooms });
        }
        let seq = match store.shared() {
            Some(shared) => shared.next_seq().map_err(store_failed)?,
            None => self.next_seq + 1,
        };
        let NewRoom {
            kind,
            id: room_id,
            name,
            capacity,
            relay,
        } = room;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let mut room = Room {
            id: room_id.clone(),
            kind,
            name,
            creator: creator.user_id.clone(),
            capacity,
            relay,
            seq,
            version: 1,
            members: Vec::new(),
            events,
        };
        write(
            store,
            &[
                Change::Expect {
                    id: room_id.clone(),
                    room: None,
                },
                Change::PutRoom(room.stored_with(std::iter::once(&creator))),
            ],
        )?;
        self.next_seq = seq;
        tracing::info!(%kind, room = %room_id, creator = %creator.user_id, "room created");
        *self.memberships.entry(creator.user_id.clone()).or_default() += 1;
        room.members.push(self.new_member(creator, now.at));
        self.order
            .entry(kind)
            .or_default()
            .insert(seq, room_id.clone());
        self.rooms.insert(room_id.clone(), room);
        self.feed.tell(RoomChange::Created { kind, room_id });
        Ok(())
    }

    /// The room `room_id`, if it is of `kind`.
    pub fn room(&self, kind: RoomKind, room_id: &str) -> Result<&Room, RoomError> {
        self.rooms
            .get(room_id)
            .filter(|r| r.kind == kind)
            .ok_or_else(|| RoomError::NoSuchRoom {
                kind,
                room_id: room_id.to_owned(),
            })
    }

    pub(super) fn room_mut(
        &mut self,
        kind: RoomKind,
        room_id: &str,
    ) -> Result<&mut Room, RoomError> {
        self.rooms
            .get_mut(room_id)
            .filter(|r| r.kind == kind)
            .ok_or_else(|| RoomError::NoSuchRoom {
                kind,
                room_id: room_id.to_owned(),
            })
    }

    /// Number of rooms of `kind`.
    pub fn count(&self, kind: RoomKind) -> usize {
        self.order.get(&kind).map_or(0, BTreeMap::len)
    }

    /// Number of rooms `user_id` is a member (or the creator) of, for the per-user quota.
    pub fn rooms_of(&self, user_id: &str) -> usize {
        self.memberships.get(user_id).copied().unwrap_or(0)
    }

    /// Up to `cnt` rooms of `kind` from offset `index`, in creation order.
    pub fn list(&self, kind: RoomKind, index: usize, cnt: usize) -> Vec<&Room> {
        self.order
            .get(&kind)
            .into_iter()
            .flat_map(|ids| ids.values())
            .skip(index)
            .take(cnt)
            .filter_map(|id| self.rooms.get(id))
            .collect()
    }

    /// What closing `room` writes: the room goes, its members' URLs are revoked.
    fn close_changes(&self, room: &Room, reason: CloseReason, unix_secs: u64) -> Vec<Change> {
        let mut changes = vec![
            room.expected(),
            Change::DeleteRoom {
                id: room.id.clone(),
                reason,
            },
        ];
        changes.extend(self.revocations(room.profiles().map(|p| p.user_id.as_str()), unix_secs));
        changes
    }

    /// Closes the room in memory: its sockets get `roomClosed`, then the room is gone.
    fn close(&mut self, room_id: &str, reason: CloseReason, unix_secs: u64) {
        if let Some(room) = self.rooms.remove(room_id) {
            if let Some(ids) = self.order.get_mut(&room.kind) {
                ids.remove(&room.seq);
            }
            room.broadcast(ServerEvent::room_closed(reason));
            if self.closed.len() >= CLOSED_REMEMBERED {
                self.closed.pop_front();
            }
            self.closed.push_back(room.id.clone());
            tracing::info!(kind = %room.kind, room = %room.id, reason = reason.as_str(), "room closed");
            self.feed.tell(RoomChange::Closed {
                room_id: room.id.clone(),
                reason,
            });
            let users = room.members.into_iter().map(|m| m.profile.user_id);
            self.forget_memberships(users.collect(), unix_secs);
        }
    }

    /// Writes the closing of `room_id`, then closes it.
    pub(super) fn close_through(
        &mut self,
        room_id: &str,
        reason: CloseReason,
        now: Now,
        store: &dyn RoomStore,
    ) -> Result<(), RoomError> {
        if let Some(room) = self.rooms.get(room_id) {
            write(store, &self.close_changes(room, reason, now.unix_secs))?;
            self.close(room_id, reason, now.unix_secs);
        }
        Ok(())
    }

    /// The creator closes its room.
    pub fn destroy(
        &mut self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
        now: Now,
        store: &dyn RoomStore,
    ) -> Result<(), RoomError> {
        let room = self.room(kind, room_id)?;
        if room.creator != user_id {
            return Err(RoomError::NotCreator {
                room_id: room_id.to_owned(),
                creator: room.creator.clone(),
            });
        }
        self.close_through(room_id, CloseReason::Destroyed, now, store)
    }

    /// Joins `profile` to the room, or refreshes it if it is already a member.
    pub fn add(
        &mut self,
        kind: RoomKind,
        room_id: &str,
        profile: Profile,
        now: Now,
        store: &dyn RoomStore,
    ) -> Result<Joined, RoomError> {
        let room = self.room(kind, room_id)?;
        if let Ok(member) = room.member(&profile.user_id) {
            let visible_change = member.profile.user_name != profile.user_name
                || member.profile.user_avatar != profile.user_avatar
                || member.profile.sharing_screen != profile.sharing_screen;
            let changed = member.profile != profile;
            if changed {
                let members = room.profiles().map(|p| {
                    if p.user_id == profile.user_id {
                        &profile
                    } else {
                        p
                    }
                });
                write(
                    store,
                    &[room.expected(), Change::PutRoom(room.next_with(members))],
                )?;
            }
            let room = self.room_mut(kind, room_id)?;
            room.version += u64::from(changed);
            let member = room.member_mut(&profile.user_id)?;
            member.profile = profile;
            member.last_seen = now.at;
            if visible_change {
                room.broadcast(ServerEvent::pusher_change());
                self.feed.tell(RoomChange::Members {
                    room_id: room_id.to_owned(),
                });
            }
            return Ok(Joined::Refreshed);
        }
        if room.members.len() >= room.capacity {
            return Err(RoomError::Full {
                room_id: room_id.to_owned(),
                capacity: room.capacity,
            });
        }
        let stored = room.next_with(room.profiles().chain(std::iter::once(&profile)));
        write(store, &[room.expected(), Change::PutRoom(stored)])?;
        let user_id = profile.user_id.clone();
        *self.memberships.entry(user_id.clone()).or_default() += 1;
        let member = self.new_member(profile, now.at);
        let room = self.room_mut(kind, room_id)?;
        room.version += 1;
        room.members.push(member);
        room.broadcast(ServerEvent::pusher_change());
        tracing::info!(%kind, room = %room_id, user = %user_id, members = room.members.len(), "member joined");
        self.feed.tell(RoomChange::Members {
            room_id: room_id.to_owned(),
        });
        Ok(Joined::New)
    }

    /// Takes `user_id` out of room `room_id` (not its creator): writes, then changes memory.
    pub(super) fn drop_member(
        &mut self,
        room_id: &str,
        user_id: &str,
        now: Now,
        store: &dyn RoomStore,
    ) -> Result<(), RoomError> {
        let Some(room) = self.rooms.get(room_id) else {
            return Ok(());
        };
        let stored = room.next_with(room.profiles().filter(|p| p.user_id != user_id));
        let mut changes = vec![room.expected(), Change::PutRoom(stored)];
        changes.extend(self.revocations(std::iter::once(user_id), now.unix_secs));
        write(store, &changes)?;
        if let Some(room) = self.rooms.get_mut(room_id) {
            room.version += 1;
            room.members.retain(|m| m.profile.user_id != user_id);
            room.broadcast(ServerEvent::pusher_change());
            self.feed.tell(RoomChange::Members {
                room_id: room_id.to_owned(),
            });
        }
        self.forget_memberships(vec![user_id.to_owned()], now.unix_secs);
        Ok(())
    }

    /// A member leaves; the creator leaving closes the room.
    pub fn remove(
        &mut self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
        now: Now,
        store: &dyn RoomStore,
    ) -> Result<Left, RoomError> {
        let room = self.room(kind, room_id)?;
        room.member(user_id)?;
        if room.creator == user_id {
            self.close_through(room_id, CloseReason::CreatorLeft, now, store)?;
            return Ok(Left::RoomClosed);
        }
        self.drop_member(room_id, user_id, now, store)?;
        tracing::info!(%kind, room = %room_id, user = %user_id, "member left");
        Ok(Left::Member)
    }

    /// A member's heartbeat.
    pub fn heartbeat(
        &mut self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
        now: Instant,
    ) -> Result<(), RoomError> {
        self.room_mut(kind, room_id)?.member_mut(user_id)?.last_seen = now;
        Ok(())
    }

    /// A member's profile, for messages it sends.
    pub fn member(
        &self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
    ) -> Result<&Profile, RoomError> {
        Ok(&self.room(kind, room_id)?.member(user_id)?.profile)
    }

    /// Sends `event` to the sockets of room `room_id`, of whatever kind (another server's event).
    pub fn broadcast_any(&self, room_id: &str, event: ServerEvent) {
        if let Some(room) = self.rooms.get(room_id) {
            room.broadcast(event);
        }
    }

    /// Sends `event` to the sockets of the room.
    pub fn broadcast(
        &self,
        kind: RoomKind,
        room_id: &str,
        event: ServerEvent,
    ) -> Result<(), RoomError> {
        self.room(kind, room_id)?.broadcast(event);
        Ok(())
    }

    /// Membership `serial` of `user_id` in room `room_id`, if it still stands.
    pub(super) fn membership(&self, room_id: &str, user_id: &str, serial: u64) -> Option<&Member> {
        self.rooms
            .get(room_id)?
            .members
            .iter()
            .find(|m| m.profile.user_id == user_id && m.serial == serial)
    }

    /// [`Registry::membership`], to change.
    pub(super) fn membership_mut(
        &mut self,
        room_id: &str,
        user_id: &str,
        serial: u64,
    ) -> Option<&mut Member> {
        self.rooms
            .get_mut(room_id)?
            .members
            .iter_mut()
            .find(|m| m.profile.user_id == user_id && m.serial == serial)
    }

    /// Closes every room for `reason` (in memory only: for a server that keeps nothing).
    pub fn close_all(&mut self, reason: CloseReason, unix_secs: u64) -> usize {
        let ids: Vec<String> = self.rooms.keys().cloned().collect();
        for id in &ids {
            self.close(id, reason, unix_secs);
        }
        ids.len()
    }
}
