//! The event channel's side of the server: who may open a socket, and the sockets of each
//! member (their eviction clock and their cap).

use super::{Refusal, Server, lock};
use crate::keyframes::KeyframeRefusal;
use crate::rooms::{Attachment, RoomError};
use crate::sockets::{MAX_SOCKETS_PER_MEMBER, Slot};
use quartet_proto::{RoomKind, ServerEvent};
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::task::task_tracker::TaskTrackerToken;

impl Server {
    /// Checks, before upgrading, that `user_id` may open the event channel of the room.
    pub(crate) fn admit_socket(
        &self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
        token: Option<&str>,
    ) -> Result<(), Refusal> {
        self.authorize(Some(user_id), token)?;
        self.registry().member(kind, room_id, user_id)?;
        Ok(())
    }

    /// Registers an event socket of a member.
    pub(crate) fn attach_socket(
        &self,
        kind: RoomKind,
        room_id: &str,
        user_id: &str,
    ) -> Result<Attachment, RoomError> {
        self.registry().attach(kind, room_id, user_id)
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
