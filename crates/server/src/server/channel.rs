//! The event channel's side of the server: who may open a socket, and the sockets of each
//! member (their eviction clock and their cap).

use super::{Refusal, Server, lock};
use crate::keyframes::KeyframeRefusal;
use crate::rooms::RoomError;
use crate::sockets::{MAX_SOCKETS_PER_MEMBER, Slot};
use quartet_proto::{RoomKind, ServerEvent};
use std::sync::atomic::Ordering;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::task::task_tracker::TaskTrackerToken;

/// An event socket's subscription to its room.
pub(crate) struct Subscription {
    /// The membership the socket belongs to; `None` while the user has not joined.
    pub serial: Option<u64>,
    /// The room's events from the moment of subscribing.
    pub events: broadcast::Receiver<ServerEvent>,
}

/// The place of an event socket opened before its user joined, counted against the caps of
/// [`crate::prejoin`]; given back when dropped (the user joined, or the socket ended).
pub(crate) struct PreJoinPass {
    server: Server,
    room_id: String,
    user_id: String,
}

impl Drop for PreJoinPass {
    fn drop(&mut self) {
        lock(&self.server.inner.prejoins).release(&self.room_id, &self.user_id);
    }
}

impl Server {
    /// Checks, before upgrading, that `user_id` may open the event channel of the room: a
    /// member, or the holder of a valid token for a user about to join (v1 clients subscribe
    /// before `add_pusher`), who gets a [`PreJoinPass`] within the caps of [`crate::prejoin`].
    /// An anonymous caller (no token, on a server that allows it) must already be a member.
    pub(crate) fn admit_socket(
        &self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
        token: Option<&str>,
    ) -> Result<Option<PreJoinPass>, Refusal> {
        self.authorize(Some(user_id), token)?;
        self.sync(room_id)?;
        match self.registry().member(kind, room_id, user_id) {
            Ok(_) => Ok(None),
            Err(RoomError::NoSuchMember { .. }) if token.is_some() => {
                lock(&self.inner.prejoins).admit(room_id, user_id)?;
                Ok(Some(PreJoinPass {
                    server: self.clone(),
                    room_id: room_id.to_owned(),
                    user_id: user_id.to_owned(),
                }))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The room's events from now on for an event socket; the socket is registered as one of
    /// the member's when the user is a member (`serial` is then its membership), else it only
    /// listens until [`Server::attach_subscribed`]. One critical section, so no event falls
    /// between the membership check and the subscription.
    pub(crate) fn subscribe_socket(
        &self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
    ) -> Result<Subscription, RoomError> {
        let mut registry = self.registry();
        let events = registry.subscribe(kind, room_id)?;
        let serial = match registry.attach_subscribed(kind, room_id, user_id) {
            Ok(serial) => Some(serial),
            Err(RoomError::NoSuchMember { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok(Subscription { serial, events })
    }

    /// Registers a listening event socket as one of the member's, once the user has joined;
    /// returns its membership serial.
    pub(crate) fn attach_subscribed(
        &self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
    ) -> Result<u64, RoomError> {
        self.registry().attach_subscribed(kind, room_id, user_id)
    }

    /// How long an event socket of a user that has not joined may wait for its join.
    pub(crate) fn join_grace(&self) -> std::time::Duration {
        self.inner.config.join_grace
    }

    /// Event sockets subscribed to room `room_id`, members' or not (0 for no such room).
    pub fn room_subscribers(&self, room_id: &str) -> usize {
        self.registry().subscribers(room_id)
    }

    /// Event sockets open in rooms their users have not joined.
    pub fn prejoin_sockets(&self) -> usize {
        lock(&self.inner.prejoins).held()
    }

    /// An event socket of membership `serial` ended.
    /// When it was the member's last, its eviction check is due after the socket grace, not at
    /// the next periodic sweep: the sweeper is told.
    pub(crate) fn detach_socket(&self, room_id: &str, user_id: &str, serial: u64) {
        let last = self
            .registry()
            .detach(room_id, user_id, serial, Instant::now());
        if last {
            self.inner.wake.notify_one();
        }
    }

    /// Whether membership `serial` still stands.
    pub(crate) fn is_member(&self, room_id: &str, user_id: &str, serial: u64) -> bool {
        self.registry().is_member(room_id, user_id, serial)
    }

    /// Claims a place among the member's event sockets; its oldest beyond
    /// [`MAX_SOCKETS_PER_MEMBER`] is displaced. The receiver carries events for this member
    /// alone.
    pub(crate) fn open_socket_slot(
        &self,
        room_id: &str,
        user_id: &str,
    ) -> (Slot, mpsc::Receiver<ServerEvent>) {
        lock(&self.inner.slots).open(room_id, user_id, MAX_SOCKETS_PER_MEMBER)
    }

    /// Passes a keyframe request from `from` (whose socket belongs to membership `serial`) to
    /// the event sockets of `to` alone, within the pair's rate limit.
    pub(crate) fn request_keyframe(
        &self,
        kind: RoomKind,
        room_id: &str,
        from: &str,
        serial: u64,
        to: &str,
    ) -> Result<(), KeyframeRefusal> {
        if from == to {
            return Err(KeyframeRefusal::OwnStream);
        }
        {
            let registry = self.registry();
            if !registry.is_member(room_id, from, serial) {
                return Err(KeyframeRefusal::NotMember);
            }
            if registry.member(kind, room_id, to).is_err() {
                return Err(KeyframeRefusal::NoSuchTarget(to.to_owned()));
            }
        }
        lock(&self.inner.keyframes).admit(room_id, from, to, Instant::now())?;
        let event = ServerEvent::KeyframeRequest {
            user_id: from.to_owned(),
        };
        if lock(&self.inner.slots).deliver(room_id, to, &event) == 0 {
            return Err(KeyframeRefusal::Unreachable(to.to_owned()));
        }
        self.inner.keyframes_passed.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Keyframe requests passed on to their target since the server started.
    pub fn keyframe_requests_passed(&self) -> u64 {
        self.inner.keyframes_passed.load(Ordering::Relaxed)
    }

    /// Gives back the place of socket `id`.
    pub(crate) fn close_socket_slot(&self, room_id: &str, user_id: &str, id: u64) {
        lock(&self.inner.slots).close(room_id, user_id, id);
    }

    /// A claim that keeps [`Server::shutdown_rooms`] waiting until an event socket has ended.
    pub(crate) fn socket_token(&self) -> TaskTrackerToken {
        self.inner.sockets.token()
    }
}
