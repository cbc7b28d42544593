//! The room engine's change feed: what happened to rooms, in the order the registry made it
//! happen, for whoever must tell the world beyond the event sockets (the IM bridge). Sending
//! never waits: the feed is bounded, and a change that does not fit is dropped and logged, so a
//! slow consumer can never hold up the room API.

use quartet_proto::RoomKind;
use quartet_proto::event::{CloseReason, TextHead};
use tokio::sync::mpsc;

/// One change to a room.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomChange {
    /// A room was created (with its creator as first member; v1 sent no notice for it).
    Created {
        /// Its kind.
        kind: RoomKind,
        /// Its ID.
        room_id: String,
    },
    /// The member list changed: a join, a leave, an eviction, or a new name or avatar.
    Members {
        /// The room.
        room_id: String,
    },
    /// The room closed.
    Closed {
        /// The room.
        room_id: String,
        /// Why.
        reason: CloseReason,
    },
    /// A member sent a text message to the room.
    Text {
        /// The room.
        room_id: String,
        /// The sender.
        user_id: String,
        /// The sender's stored name and avatar.
        head: TextHead,
        /// The message.
        text: String,
    },
}

impl RoomChange {
    /// The room it concerns.
    pub fn room_id(&self) -> &str {
        match self {
            RoomChange::Created { room_id, .. }
            | RoomChange::Members { room_id }
            | RoomChange::Closed { room_id, .. }
            | RoomChange::Text { room_id, .. } => room_id,
        }
    }
}

/// Where the registry tells its changes: nowhere unless a consumer is attached.
#[derive(Debug, Clone, Default)]
pub struct Feed(Option<mpsc::Sender<RoomChange>>);

impl Feed {
    /// A feed into a bounded queue; the receiver gets every change that fits.
    pub fn bounded(capacity: usize) -> (Feed, mpsc::Receiver<RoomChange>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Feed(Some(tx)), rx)
    }

    /// Passes `change` on without waiting; drops it (and says so) when the queue is full.
    pub fn tell(&self, change: RoomChange) {
        let Some(tx) = &self.0 else {
            return;
        };
        match tx.try_send(change) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(change)) => {
                tracing::warn!(room = %change.room_id(), ?change, "room change feed full; change dropped");
            }
            // The consumer stopped (shutdown): nobody is left to tell.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

impl super::Registry {
    /// Tells every change from now on to `feed`.
    pub fn set_feed(&mut self, feed: Feed) {
        self.feed = feed;
    }

    /// The feed, for changes made outside the registry (text messages).
    pub fn feed(&self) -> &Feed {
        &self.feed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_feed_drops_instead_of_waiting_and_no_feed_is_silent() {
        let (feed, mut rx) = Feed::bounded(2);
        for n in 0..3 {
            feed.tell(RoomChange::Members {
                room_id: format!("r{n}"),
            });
        }
        assert_eq!(rx.try_recv().unwrap().room_id(), "r0");
        assert_eq!(rx.try_recv().unwrap().room_id(), "r1");
        assert!(rx.try_recv().is_err(), "the third did not fit");
        Feed::default().tell(RoomChange::Members {
            room_id: "r".into(),
        });
        drop(rx);
        feed.tell(RoomChange::Members {
            room_id: "r".into(),
        });
    }
}
