//! One room and its members, and how they are stored.

use super::RoomError;
use crate::presence::Sockets;
use crate::store::{Change, RoomRelay, StoredMember, StoredRoom};
use quartet_proto::{RoomKind, ServerEvent};
use tokio::sync::broadcast;
use tokio::time::Instant;

/// What a member shows to others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The member's userID.
    pub user_id: String,
    /// Nickname.
    pub user_name: String,
    /// Avatar URL.
    pub user_avatar: String,
    /// The push URL the client said it uses (kept; play URLs derive from the userID).
    pub push_url: String,
    /// Its stream shows a shared screen (ext).
    pub sharing_screen: bool,
}

impl From<StoredMember> for Profile {
    fn from(m: StoredMember) -> Self {
        Profile {
            user_id: m.user_id,
            user_name: m.user_name,
            user_avatar: m.user_avatar,
            push_url: m.push_url,
            sharing_screen: m.sharing_screen,
        }
    }
}

impl From<&Profile> for StoredMember {
    fn from(p: &Profile) -> Self {
        StoredMember {
            user_id: p.user_id.clone(),
            user_name: p.user_name.clone(),
            user_avatar: p.user_avatar.clone(),
            push_url: p.push_url.clone(),
            sharing_screen: p.sharing_screen,
        }
    }
}

/// The moment of a change, on both clocks: the monotonic one for presence, the wall clock for
/// revocations that must mean the same after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// For heartbeats and sockets.
    pub at: Instant,
    /// Unix seconds, for revocations.
    pub unix_secs: u64,
}

/// One member of a room.
#[derive(Debug)]
pub struct Member {
    /// What it shows.
    pub profile: Profile,
    /// Unique per membership, so a socket of an earlier membership never touches a later one.
    pub(super) serial: u64,
    pub(super) last_seen: Instant,
    pub(super) sockets: Sockets,
}

/// One room.
#[derive(Debug)]
pub struct Room {
    /// Its ID.
    pub id: String,
    /// Its kind.
    pub kind: RoomKind,
    /// Display name.
    pub name: String,
    /// The creator's userID.
    pub creator: String,
    /// Member limit, fixed at creation.
    pub capacity: usize,
    /// Where its streams live, fixed at creation (see [`RoomRelay`]).
    pub relay: Option<RoomRelay>,
    pub(super) seq: u64,
    /// The stored version this copy is at (see [`StoredRoom::version`]).
    pub(super) version: u64,
    pub(super) members: Vec<Member>,
    pub(super) events: broadcast::Sender<ServerEvent>,
}

impl Room {
    /// Members in join order, creator first.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub(super) fn member(&self, user_id: &str) -> Result<&Member, RoomError> {
        self.members
            .iter()
            .find(|m| m.profile.user_id == user_id)
            .ok_or_else(|| self.no_member(user_id))
    }

    pub(super) fn member_mut(&mut self, user_id: &str) -> Result<&mut Member, RoomError> {
        let room_id = &self.id;
        self.members
            .iter_mut()
            .find(|m| m.profile.user_id == user_id)
            .ok_or_else(|| RoomError::NoSuchMember {
                room_id: room_id.clone(),
                user_id: user_id.to_owned(),
            })
    }

    pub(super) fn no_member(&self, user_id: &str) -> RoomError {
        RoomError::NoSuchMember {
            room_id: self.id.clone(),
            user_id: user_id.to_owned(),
        }
    }

    /// Sends `event` to the room's sockets; a room with no socket simply has no one to tell.
    pub(super) fn broadcast(&self, event: ServerEvent) {
        let _ = self.events.send(event);
    }

    /// The room as it is to be stored, with `members` as its member list.
    pub(super) fn stored_with<'a>(&self, members: impl Iterator<Item = &'a Profile>) -> StoredRoom {
        StoredRoom {
            id: self.id.clone(),
            kind: self.kind,
            name: self.name.clone(),
            creator: self.creator.clone(),
            capacity: self.capacity,
            seq: self.seq,
            members: members.map(StoredMember::from).collect(),
            version: self.version,
            relay: self.relay.clone(),
        }
    }

    /// The room's next version as it is to be stored, with `members` as its member list.
    pub(super) fn next_with<'a>(&self, members: impl Iterator<Item = &'a Profile>) -> StoredRoom {
        let mut stored = self.stored_with(members);
        stored.version += 1;
        stored
    }

    /// The precondition of a change to this room: that it is stored as this copy has it.
    pub(super) fn expected(&self) -> Change {
        Change::Expect {
            id: self.id.clone(),
            room: Some(self.stored_with(self.profiles())),
        }
    }

    pub(super) fn profiles(&self) -> impl Iterator<Item = &Profile> {
        self.members.iter().map(|m| &m.profile)
    }
}
