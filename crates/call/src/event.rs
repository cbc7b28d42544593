//! What a call tells whoever drives it.

use quartet_media::source::DeviceKind;
use quartet_media::{PlayerEvent, PublisherEvent};
use quartet_room::Member;
use std::time::Duration;

/// Where a member is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// This is us: the grid's first tile, showing our own picture.
    Own,
    /// A remote tile, `0..REMOTE_TILES`: played.
    Tile(usize),
    /// No tile free: listed, not played.
    Listed,
}

/// A member and where the grid shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// The member as the room lists it.
    pub member: Member,
    /// Where it is shown.
    pub placement: Placement,
}

/// A connection that can drop and come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// The room server.
    Room,
    /// Our stream to the RTMP server.
    Publisher,
    /// A remote member's stream (by userID).
    Player(String),
}

/// Our publisher's connection state.
#[derive(Debug, Clone, PartialEq)]
pub enum PublisherState {
    /// Connecting (attempt 1 is the first since the last success).
    Connecting {
        /// Attempt number.
        attempt: u32,
    },
    /// Sending.
    Live,
    /// The connection failed or broke; retrying in `retry_in`.
    Disconnected {
        /// Why.
        reason: String,
        /// When the next try comes.
        retry_in: Duration,
    },
    /// Stopped for good (left, or restarting with a new URL).
    Stopped,
}

/// A remote member's player state.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayerState {
    /// Connecting (attempt 1 is the first since the last success).
    Connecting {
        /// Attempt number.
        attempt: u32,
    },
    /// Media is arriving.
    Playing,
    /// The first picture of this connection is out.
    FirstFrame {
        /// Time since this connection attempt began.
        after: Duration,
    },
    /// The connection failed or broke; retrying in `retry_in`.
    Disconnected {
        /// Why.
        reason: String,
        /// When the next try comes.
        retry_in: Duration,
    },
    /// The player could not start (e.g. the member's play URL is not RTMP).
    Failed {
        /// Why.
        reason: String,
    },
    /// Stopped for good (the member left or lost its tile, or we left).
    Stopped,
}

/// Something that happened in the call.
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    /// We are in the room (always the first event).
    Joined {
        /// The room.
        room_id: String,
        /// Our userID.
        user_id: String,
        /// Everyone in the room, us included, creator first.
        members: Vec<Participant>,
    },
    /// Someone joined; `placement` says whether they are played.
    MemberJoined(Participant),
    /// Someone left; `freed_tile` is the tile they held, if any.
    MemberLeft {
        /// Who.
        member: Member,
        /// The tile they held.
        freed_tile: Option<usize>,
    },
    /// A listed member got a freed tile and is now played.
    MemberPromoted(Participant),
    /// Someone's name, avatar, role or stream changed (not a new signature alone).
    MemberUpdated(Participant),
    /// The host left and handed the room to us: our leaving now ends the call for everyone
    /// unless we hand it on.
    BecameHost,
    /// A text message.
    Text {
        /// Sender's userID.
        user_id: String,
        /// Sender's display name.
        nick_name: String,
        /// The text.
        text: String,
        /// When the server accepted it, unix milliseconds.
        time: u64,
    },
    /// The room is gone or we were removed; media has stopped and the call has ended.
    RoomClosed {
        /// The server's reason.
        reason: String,
    },
    /// A link dropped; it is retried without user action.
    Reconnecting(Link),
    /// A link is back.
    Reconnected(Link),
    /// A device is missing or failed; the call goes on without it.
    DeviceError {
        /// Which kind of device.
        kind: DeviceKind,
        /// What went wrong, for people.
        message: String,
    },
    /// Our publisher's state changed.
    PublisherState(PublisherState),
    /// Our own uplink cannot carry the configured quality, so we now send less: told each time
    /// the publisher goes from full quality to less (the app says so once per call).
    UplinkLimited {
        /// Width sent.
        width: u32,
        /// Height sent.
        height: u32,
        /// Frames per second sent.
        fps: u32,
        /// Video bitrate asked of the encoder, kbit/s.
        video_kbps: u32,
    },
    /// A remote member's player state changed.
    PlayerState {
        /// Whose player.
        user_id: String,
        /// The new state.
        state: PlayerState,
    },
}

/// Whether a link has been up at all, is up, or is down after having been up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected yet (first attempts failing are not a reconnect).
    #[default]
    NeverUp,
    /// Connected.
    Up,
    /// Lost after having been connected.
    Down,
}

/// The next state of a link that is now `up` or not, and whether that is worth telling:
/// only losing a link that was up, and getting it back, are.
pub fn link_transition(state: LinkState, up: bool) -> (LinkState, Option<bool>) {
    match (state, up) {
        (LinkState::NeverUp, true) => (LinkState::Up, None),
        (LinkState::NeverUp, false) => (LinkState::NeverUp, None),
        (LinkState::Up, true) => (LinkState::Up, None),
        (LinkState::Up, false) => (LinkState::Down, Some(false)),
        (LinkState::Down, true) => (LinkState::Up, Some(true)),
        (LinkState::Down, false) => (LinkState::Down, None),
    }
}

/// Our publisher's state after `event`, and whether the link is up or down with it.
pub(crate) fn publisher_state(event: &PublisherEvent) -> Option<(PublisherState, Option<bool>)> {
    Some(match event {
        PublisherEvent::Connecting { attempt } => {
            (PublisherState::Connecting { attempt: *attempt }, None)
        }
        PublisherEvent::Connected => (PublisherState::Live, Some(true)),
        PublisherEvent::Disconnected { reason, retry_in } => (
            PublisherState::Disconnected {
                reason: reason.clone(),
                retry_in: *retry_in,
            },
            Some(false),
        ),
        PublisherEvent::Stopped => (PublisherState::Stopped, None),
        PublisherEvent::VideoSourceFailed(_)
        | PublisherEvent::AudioSourceFailed(_)
        | PublisherEvent::UplinkLimited { .. } => {
            return None;
        }
    })
}

/// A player's state after `event`, and whether the link is up or down with it; `None` for
/// events that change neither.
pub(crate) fn player_state(event: &PlayerEvent) -> Option<(PlayerState, Option<bool>)> {
    Some(match event {
        PlayerEvent::Connecting { attempt } => {
            (PlayerState::Connecting { attempt: *attempt }, None)
        }
        PlayerEvent::Playing => (PlayerState::Playing, Some(true)),
        PlayerEvent::FirstFrame { after } => (PlayerState::FirstFrame { after: *after }, None),
        PlayerEvent::Disconnected { reason, retry_in } => (
            PlayerState::Disconnected {
                reason: reason.clone(),
                retry_in: *retry_in,
            },
            Some(false),
        ),
        PlayerEvent::Stopped => (PlayerState::Stopped, None),
        PlayerEvent::FirstKeyframe => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_losing_and_regaining_a_link_is_news() {
        let mut s = LinkState::default();
        let mut told = Vec::new();
        // Fails twice before the first success, then drops, retries, and comes back.
        for up in [false, false, true, true, false, false, true] {
            let (next, news) = link_transition(s, up);
            s = next;
            told.extend(news);
        }
        assert_eq!(told, vec![false, true]);
        assert_eq!(s, LinkState::Up);
    }

    #[test]
    fn media_events_map_to_states() {
        let (state, up) = player_state(&PlayerEvent::Disconnected {
            reason: "eof".into(),
            retry_in: Duration::from_secs(1),
        })
        .unwrap();
        assert_eq!(player_state(&PlayerEvent::FirstKeyframe), None);
        assert_eq!(up, Some(false));
        assert!(matches!(state, PlayerState::Disconnected { .. }));
        assert_eq!(
            publisher_state(&PublisherEvent::Connected),
            Some((PublisherState::Live, Some(true)))
        );
        assert_eq!(
            publisher_state(&PublisherEvent::Connecting { attempt: 2 }),
            Some((PublisherState::Connecting { attempt: 2 }, None))
        );
    }
}
