//! The room registry: rooms in creation order, their members in join order (creator first), who
//! is still present, and each room's event fan-out. Knows nothing of HTTP or media.

use quartet_proto::event::CloseReason;
use quartet_proto::{Code, RoomKind, ServerEvent};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// Events a room buffers per socket; a socket further behind skips ahead (see `events`), so a
/// slow reader never holds up the others.
pub const EVENT_BUFFER: usize = 64;

/// Why a room operation was refused; each maps onto a v1 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    /// No room of this kind has that ID.
    #[error("您请求的房间不存在 (no {kind} room {room_id:?})")]
    NoSuchRoom {
        /// The kind asked for.
        kind: RoomKind,
        /// The room asked for.
        room_id: String,
    },
    /// Someone other than the creator tried to destroy the room.
    #[error("您请求的房间不存在 (only the creator {creator:?} may destroy room {room_id:?})")]
    NotCreator {
        /// The room.
        room_id: String,
        /// Its creator.
        creator: String,
    },
    /// The user is not a member of the room.
    #[error("您请求的房间成员不存在 ({user_id:?} is not a member of room {room_id:?})")]
    NoSuchMember {
        /// The room.
        room_id: String,
        /// The user.
        user_id: String,
    },
    /// The room already holds its limit.
    #[error("超出房间人数上限 (room {room_id:?} is full: {capacity} members)")]
    Full {
        /// The room.
        room_id: String,
        /// Its member limit.
        capacity: usize,
    },
    /// The server already holds its limit of rooms.
    #[error("服务器内部错误 (the server already holds its limit of {max} rooms)")]
    TooManyRooms {
        /// The limit.
        max: usize,
    },
}

impl RoomError {
    /// The v1 code for this refusal.
    pub fn code(&self) -> Code {
        match self {
            RoomError::NoSuchRoom { .. } | RoomError::NotCreator { .. } => Code::NoSuchRoom,
            RoomError::NoSuchMember { .. } => Code::NoSuchMember,
            RoomError::Full { .. } => Code::RoomFull,
            RoomError::TooManyRooms { .. } => Code::Internal,
        }
    }
}

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
}

/// The event sockets of one member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sockets {
    /// Sockets open now (a reconnect may briefly overlap the old socket).
    pub open: usize,
    /// When the last open socket closed, if one ever opened and none is open now.
    pub closed_since: Option<Instant>,
}

/// The timings that decide whether a member is still present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest silence between heartbeats.
    pub heartbeat: Duration,
    /// Longest time without an event socket after one closed.
    pub socket_grace: Duration,
}

/// Whether a member is still there, as far as heartbeats and sockets tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Heard from recently enough.
    Present,
    /// No heartbeat for longer than the timeout: gone unless its stream is live.
    Silent,
    /// Its event socket closed and it did not come back within the grace: gone.
    SocketLost,
}

/// The presence policy: a closed socket not replaced within the grace outweighs everything; else
/// a member is present while heartbeats arrive within the timeout.
pub fn presence(last_seen: Instant, sockets: Sockets, now: Instant, t: Timeouts) -> Presence {
    if sockets.open == 0
        && let Some(closed) = sockets.closed_since
        && now.saturating_duration_since(closed) > t.socket_grace
    {
        return Presence::SocketLost;
    }
    if now.saturating_duration_since(last_seen) > t.heartbeat {
        Presence::Silent
    } else {
        Presence::Present
    }
}

/// One member of a room.
#[derive(Debug)]
pub struct Member {
    /// What it shows.
    pub profile: Profile,
    /// Unique per membership, so a socket of an earlier membership never touches a later one.
    serial: u64,
    last_seen: Instant,
    sockets: Sockets,
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
    seq: u64,
    members: Vec<Member>,
    events: broadcast::Sender<ServerEvent>,
}

impl Room {
    /// Members in join order, creator first.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    fn member(&self, user_id: &str) -> Result<&Member, RoomError> {
        self.members
            .iter()
            .find(|m| m.profile.user_id == user_id)
            .ok_or_else(|| self.no_member(user_id))
    }

    fn member_mut(&mut self, user_id: &str) -> Result<&mut Member, RoomError> {
        let room_id = &self.id;
        self.members
            .iter_mut()
            .find(|m| m.profile.user_id == user_id)
            .ok_or_else(|| RoomError::NoSuchMember {
                room_id: room_id.clone(),
                user_id: user_id.to_owned(),
            })
    }

    fn no_member(&self, user_id: &str) -> RoomError {
        RoomError::NoSuchMember {
            room_id: self.id.clone(),
            user_id: user_id.to_owned(),
        }
    }

    /// Sends `event` to the room's sockets; a room with no socket simply has no one to tell.
    fn broadcast(&self, event: ServerEvent) {
        let _ = self.events.send(event);
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

/// A member found not present by a sweep, to be checked against its stream and then evicted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The room.
    pub room_id: String,
    /// The member.
    pub user_id: String,
    serial: u64,
}

/// An event socket's claim on a membership, returned by [`Registry::attach`].
#[derive(Debug)]
pub struct Attachment {
    /// The membership the socket belongs to.
    pub serial: u64,
    /// The room's events from now on.
    pub events: broadcast::Receiver<ServerEvent>,
}

/// Every room of the server.
#[derive(Debug, Default)]
pub struct Registry {
    rooms: HashMap<String, Room>,
    order: HashMap<RoomKind, BTreeMap<u64, String>>,
    next_seq: u64,
    next_serial: u64,
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
        now: Instant,
    ) -> Result<(), RoomError> {
        if self.rooms.len() >= max_rooms {
            return Err(RoomError::TooManyRooms { max: max_rooms });
        }
        self.next_seq += 1;
        let seq = self.next_seq;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let NewRoom {
            kind,
            id: room_id,
            name,
            capacity,
        } = room;
        let creator_id = creator.user_id.clone();
        let member = self.new_member(creator, now);
        tracing::info!(%kind, room = %room_id, creator = %creator_id, "room created");
        self.order
            .entry(kind)
            .or_default()
            .insert(seq, room_id.clone());
        self.rooms.insert(
            room_id.clone(),
            Room {
                id: room_id,
                kind,
                name,
                creator: creator_id,
                capacity,
                seq,
                members: vec![member],
                events,
            },
        );
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

    fn room_mut(&mut self, kind: RoomKind, room_id: &str) -> Result<&mut Room, RoomError> {
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
        self.rooms
            .values()
            .filter(|r| r.members.iter().any(|m| m.profile.user_id == user_id))
            .count()
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

    /// Closes the room: its sockets get `roomClosed`, then the room is gone.
    fn close(&mut self, room_id: &str, reason: CloseReason) {
        if let Some(room) = self.rooms.remove(room_id) {
            if let Some(ids) = self.order.get_mut(&room.kind) {
                ids.remove(&room.seq);
            }
            room.broadcast(ServerEvent::room_closed(reason));
            tracing::info!(kind = %room.kind, room = %room.id, reason = reason.as_str(), "room closed");
        }
    }

    /// The creator closes its room.
    pub fn destroy(
        &mut self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
    ) -> Result<(), RoomError> {
        let room = self.room(kind, room_id)?;
        if room.creator != user_id {
            return Err(RoomError::NotCreator {
                room_id: room_id.to_owned(),
                creator: room.creator.clone(),
            });
        }
        self.close(room_id, CloseReason::Destroyed);
        Ok(())
    }

    /// Joins `profile` to the room, or refreshes it if it is already a member.
    pub fn add(
        &mut self,
        kind: RoomKind,
        room_id: &str,
        profile: Profile,
        now: Instant,
    ) -> Result<Joined, RoomError> {
        let room = self.room_mut(kind, room_id)?;
        if let Ok(member) = room.member_mut(&profile.user_id) {
            let visible_change = member.profile.user_name != profile.user_name
                || member.profile.user_avatar != profile.user_avatar;
            member.profile = profile;
            member.last_seen = now;
            if visible_change {
                room.broadcast(ServerEvent::pusher_change());
            }
            return Ok(Joined::Refreshed);
        }
        if room.members.len() >= room.capacity {
            return Err(RoomError::Full {
                room_id: room_id.to_owned(),
                capacity: room.capacity,
            });
        }
        let user_id = profile.user_id.clone();
        let member = self.new_member(profile, now);
        let room = self.room_mut(kind, room_id)?;
        room.members.push(member);
        room.broadcast(ServerEvent::pusher_change());
        tracing::info!(%kind, room = %room_id, user = %user_id, members = room.members.len(), "member joined");
        Ok(Joined::New)
    }

    /// A member leaves; the creator leaving closes the room.
    pub fn remove(
        &mut self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
    ) -> Result<Left, RoomError> {
        let room = self.room_mut(kind, room_id)?;
        room.member(user_id)?;
        if room.creator == user_id {
            self.close(room_id, CloseReason::CreatorLeft);
            return Ok(Left::RoomClosed);
        }
        room.members.retain(|m| m.profile.user_id != user_id);
        room.broadcast(ServerEvent::pusher_change());
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

    /// Registers an event socket of a member and subscribes it to the room.
    pub fn attach(
        &mut self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
    ) -> Result<Attachment, RoomError> {
        let room = self.room_mut(kind, room_id)?;
        let events = room.events.subscribe();
        let member = room.member_mut(user_id)?;
        member.sockets.open += 1;
        member.sockets.closed_since = None;
        Ok(Attachment {
            serial: member.serial,
            events,
        })
    }

    /// An event socket of membership `serial` closed at `now`.
    pub fn detach(&mut self, room_id: &str, user_id: &str, serial: u64, now: Instant) {
        if let Some(member) = self.membership_mut(room_id, user_id, serial) {
            member.sockets.open = member.sockets.open.saturating_sub(1);
            if member.sockets.open == 0 {
                member.sockets.closed_since = Some(now);
            }
        }
    }

    /// Whether membership `serial` still stands.
    pub fn is_member(&self, room_id: &str, user_id: &str, serial: u64) -> bool {
        self.rooms.get(room_id).is_some_and(|r| {
            r.members
                .iter()
                .any(|m| m.profile.user_id == user_id && m.serial == serial)
        })
    }

    fn membership_mut(&mut self, room_id: &str, user_id: &str, serial: u64) -> Option<&mut Member> {
        self.rooms
            .get_mut(room_id)?
            .members
            .iter_mut()
            .find(|m| m.profile.user_id == user_id && m.serial == serial)
    }

    /// Number of event sockets open in every room.
    pub fn open_sockets(&self) -> usize {
        self.rooms
            .values()
            .flat_map(|r| &r.members)
            .map(|m| m.sockets.open)
            .sum()
    }

    /// Members not present at `now`.
    pub fn candidates(&self, now: Instant, t: Timeouts) -> Vec<Candidate> {
        self.rooms
            .values()
            .flat_map(|r| r.members.iter().map(move |m| (r, m)))
            .filter(|(_, m)| presence(m.last_seen, m.sockets, now, t) != Presence::Present)
            .map(|(r, m)| Candidate {
                room_id: r.id.clone(),
                user_id: m.profile.user_id.clone(),
                serial: m.serial,
            })
            .collect()
    }

    /// Evicts a candidate if, looked at again, it is still not present (a heartbeat may have
    /// arrived meanwhile): a silent member goes only if its stream is not `live`. Returns
    /// whether it was evicted.
    pub fn evict(&mut self, c: &Candidate, live: bool, now: Instant, t: Timeouts) -> bool {
        let Some(member) = self.membership_mut(&c.room_id, &c.user_id, c.serial) else {
            return false;
        };
        let verdict = presence(member.last_seen, member.sockets, now, t);
        let why = match verdict {
            Presence::Present => return false,
            Presence::Silent if live => return false,
            Presence::Silent => "heartbeat timeout",
            Presence::SocketLost => "event socket closed",
        };
        let Some(room) = self.rooms.get_mut(&c.room_id) else {
            return false;
        };
        tracing::info!(kind = %room.kind, room = %room.id, user = %c.user_id, why, "member evicted");
        if room.creator == c.user_id {
            self.close(&c.room_id, CloseReason::CreatorTimedOut);
        } else {
            room.members.retain(|m| m.serial != c.serial);
            room.broadcast(ServerEvent::pusher_change());
        }
        true
    }

    /// Closes every room for `reason`.
    pub fn close_all(&mut self, reason: CloseReason) -> usize {
        let ids: Vec<String> = self.rooms.keys().cloned().collect();
        for id in &ids {
            self.close(id, reason);
        }
        ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        heartbeat: Duration::from_secs(20),
        socket_grace: Duration::from_secs(5),
    };

    fn profile(user: &str) -> Profile {
        Profile {
            user_id: user.into(),
            user_name: format!("{user} name"),
            user_avatar: format!("{user}.png"),
            push_url: format!("rtmp://x/live/{user}"),
        }
    }

    fn room(kind: RoomKind, id: String, capacity: usize) -> NewRoom {
        NewRoom {
            kind,
            id,
            name: "n".into(),
            capacity,
        }
    }

    /// A registry with room `r` of `kind`: creator `a`, then member `b`, both seen at `now`.
    fn room_of_two(kind: RoomKind, now: Instant) -> Registry {
        let mut reg = Registry::new();
        reg.create(room(kind, "r".into(), 4), profile("a"), 10, now)
            .unwrap();
        reg.add(kind, "r", profile("b"), now).unwrap();
        reg
    }

    fn ids(r: &Room) -> Vec<&str> {
        r.members()
            .iter()
            .map(|m| m.profile.user_id.as_str())
            .collect()
    }

    #[test]
    fn presence_follows_heartbeats_until_the_timeout() {
        let t0 = Instant::now();
        let no_socket = Sockets::default();
        assert_eq!(presence(t0, no_socket, t0, T), Presence::Present);
        assert_eq!(
            presence(t0, no_socket, t0 + T.heartbeat, T),
            Presence::Present
        );
        assert_eq!(
            presence(
                t0,
                no_socket,
                t0 + T.heartbeat + Duration::from_millis(1),
                T
            ),
            Presence::Silent
        );
    }

    #[test]
    fn a_lost_socket_outweighs_fresh_heartbeats_after_the_grace() {
        let t0 = Instant::now();
        let closed = Sockets {
            open: 0,
            closed_since: Some(t0),
        };
        let now = t0 + T.socket_grace;
        assert_eq!(presence(now, closed, now, T), Presence::Present);
        let later = now + Duration::from_millis(1);
        assert_eq!(presence(later, closed, later, T), Presence::SocketLost);
        let reconnected = Sockets {
            open: 1,
            closed_since: Some(t0),
        };
        assert_eq!(presence(later, reconnected, later, T), Presence::Present);
    }

    #[test]
    fn creator_first_then_join_order_and_capacity_for_new_members_only() {
        let now = Instant::now();
        let mut reg = Registry::new();
        let kind = RoomKind::DoubleRoom;
        reg.create(room(kind, "r".into(), 2), profile("a"), 10, now)
            .unwrap();
        assert_eq!(reg.add(kind, "r", profile("b"), now), Ok(Joined::New));
        assert!(matches!(
            reg.add(kind, "r", profile("c"), now),
            Err(RoomError::Full { capacity: 2, .. })
        ));
        let mut renamed = profile("b");
        renamed.user_name = "B".into();
        assert_eq!(reg.add(kind, "r", renamed, now), Ok(Joined::Refreshed));
        let room = reg.room(kind, "r").unwrap();
        assert_eq!(ids(room), ["a", "b"]);
        assert_eq!(room.members()[1].profile.user_name, "B");
    }

    #[test]
    fn rooms_are_found_only_under_their_kind_and_listed_in_creation_order() {
        let now = Instant::now();
        let mut reg = Registry::new();
        for (i, kind) in [RoomKind::MultiRoom, RoomKind::LiveRoom, RoomKind::MultiRoom]
            .into_iter()
            .enumerate()
        {
            reg.create(room(kind, format!("r{i}"), 4), profile("a"), 10, now)
                .unwrap();
        }
        assert!(reg.room(RoomKind::LiveRoom, "r0").is_err());
        let listed: Vec<_> = reg
            .list(RoomKind::MultiRoom, 0, 10)
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(listed, ["r0", "r2"]);
        assert_eq!(reg.list(RoomKind::MultiRoom, 1, 1)[0].id, "r2");
        assert!(reg.list(RoomKind::DoubleRoom, 0, 10).is_empty());
        reg.destroy(RoomKind::MultiRoom, "r0", "a").unwrap();
        assert_eq!(reg.list(RoomKind::MultiRoom, 0, 10)[0].id, "r2");
    }

    #[test]
    fn room_limit_refuses_creation_without_touching_existing_rooms() {
        let now = Instant::now();
        let mut reg = Registry::new();
        let k = RoomKind::MultiRoom;
        reg.create(room(k, "r1".into(), 4), profile("a"), 1, now)
            .unwrap();
        let e = reg
            .create(room(k, "r2".into(), 4), profile("b"), 1, now)
            .unwrap_err();
        assert_eq!(e.code(), Code::Internal);
        assert_eq!(reg.len(), 1);
    }

    #[test]
    fn creator_leaving_closes_and_others_leaving_notify() {
        let now = Instant::now();
        let k = RoomKind::MultiRoom;
        let mut reg = room_of_two(k, now);
        let mut events = reg.attach(k, "r", "b").unwrap().events;
        assert_eq!(reg.remove(k, "r", "b"), Ok(Left::Member));
        assert_eq!(events.try_recv().unwrap(), ServerEvent::pusher_change());
        assert!(matches!(
            reg.remove(k, "r", "b"),
            Err(RoomError::NoSuchMember { .. })
        ));
        assert_eq!(reg.remove(k, "r", "a"), Ok(Left::RoomClosed));
        assert_eq!(
            events.try_recv().unwrap(),
            ServerEvent::room_closed(CloseReason::CreatorLeft)
        );
        assert_eq!(reg.len(), 0);
    }

    #[test]
    fn only_the_creator_destroys() {
        let now = Instant::now();
        let k = RoomKind::LiveRoom;
        let mut reg = room_of_two(k, now);
        let e = reg.destroy(k, "r", "b").unwrap_err();
        assert_eq!(e.code(), Code::NoSuchRoom);
        assert!(e.to_string().contains("only the creator"));
        assert_eq!(ids(reg.room(k, "r").unwrap()), ["a", "b"]);
        reg.destroy(k, "r", "a").unwrap();
        assert!(reg.room(k, "r").is_err());
    }

    #[test]
    fn eviction_rechecks_heartbeat_and_liveness() {
        let t0 = Instant::now();
        let k = RoomKind::MultiRoom;
        let mut reg = room_of_two(k, t0);
        let late = t0 + T.heartbeat + Duration::from_secs(1);
        reg.heartbeat(k, "r", "a", late).unwrap();
        let cands = reg.candidates(late, T);
        assert_eq!(cands.len(), 1);
        assert_eq!(cands[0].user_id, "b");
        assert!(
            !reg.evict(&cands[0], true, late, T),
            "a live stream keeps it"
        );
        reg.heartbeat(k, "r", "b", late).unwrap();
        assert!(!reg.evict(&cands[0], false, late, T), "it spoke meanwhile");
        let later = late + T.heartbeat + Duration::from_secs(1);
        reg.heartbeat(k, "r", "a", later).unwrap();
        let cands = reg.candidates(later, T);
        assert!(reg.evict(&cands[0], false, later, T));
        assert_eq!(ids(reg.room(k, "r").unwrap()), ["a"]);
    }

    #[test]
    fn a_socket_of_an_old_membership_does_not_touch_a_new_one() {
        let t0 = Instant::now();
        let k = RoomKind::MultiRoom;
        let mut reg = room_of_two(k, t0);
        let old = reg.attach(k, "r", "b").unwrap().serial;
        reg.remove(k, "r", "b").unwrap();
        reg.add(k, "r", profile("b"), t0).unwrap();
        assert!(!reg.is_member("r", "b", old));
        reg.detach("r", "b", old, t0);
        let much_later = t0 + T.socket_grace * 2;
        reg.heartbeat(k, "r", "a", much_later).unwrap();
        reg.heartbeat(k, "r", "b", much_later).unwrap();
        assert!(reg.candidates(much_later, T).is_empty());
    }

    #[test]
    fn an_evicted_creator_closes_the_room_for_its_sockets() {
        let t0 = Instant::now();
        let k = RoomKind::LiveRoom;
        let mut reg = room_of_two(k, t0);
        let mut events = reg.attach(k, "r", "b").unwrap().events;
        let late = t0 + T.heartbeat + Duration::from_secs(1);
        reg.heartbeat(k, "r", "b", late).unwrap();
        let cands = reg.candidates(late, T);
        assert_eq!(cands.len(), 1);
        assert!(reg.evict(&cands[0], false, late, T));
        assert_eq!(
            events.try_recv().unwrap(),
            ServerEvent::room_closed(CloseReason::CreatorTimedOut)
        );
        assert!(reg.room(k, "r").is_err());
        assert!(reg.list(k, 0, 10).is_empty());
    }
}
