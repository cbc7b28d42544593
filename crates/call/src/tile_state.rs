//! What a tile honestly shows: one state per tile, ours included, from what the player, the
//! publisher and the room already know.
//!
//! [`next`] is the policy, a pure function of the tile's [`TileTrack`] (its memory), the
//! [`TileFacts`] of this look and the time. A tile whose member has not started sending is
//! [`TileState::WaitingForStream`], not reconnecting: only a stream that was received and is
//! lost is. A picture that stops while the connection still stands is
//! [`TileState::Stalled`] within [`STALL_AFTER`] (the player only calls a silent connection
//! dead after its read timeout, seconds later). A member, or we, without a camera, with the
//! camera off, or sending sound alone is [`TileState::CameraOff`].

use std::time::{Duration, Instant};

/// No new picture for this long while the connection is up is a stall: at 15 fps that is over
/// twenty frames missed, and a camera-off member's black frames come every 0.5 s.
pub const STALL_AFTER: Duration = Duration::from_millis(1_500);
/// A player that has never connected for this long is waiting for a member who has not started
/// sending (one join and first picture take well under a second on a working link).
pub const WAIT_FOR_STREAM_AFTER: Duration = Duration::from_secs(3);
/// Connected with a video track but no picture for this long: the stream carries no decodable
/// picture (no keyframe comes), which is a stall. Over two keyframe intervals.
pub const NO_PICTURE_AFTER: Duration = Duration::from_secs(5);
/// After a switch of stream or camera, no picture for this long is the switch, not a stall:
/// a reconnect and the next keyframe take that long at most on a working link.
pub const SWITCH_GRACE: Duration = Duration::from_secs(2);

/// What a tile shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TileState {
    /// The first connection is being made; no picture yet.
    #[default]
    Connecting,
    /// The member is in the room but sends nothing yet (not a broken connection).
    WaitingForStream,
    /// Pictures are arriving.
    Live,
    /// No camera, the camera turned off, or sound only: the avatar, not a frozen picture.
    CameraOff,
    /// The connection stands but no new picture came for [`STALL_AFTER`].
    Stalled,
    /// The stream was received and is lost; the player is retrying.
    Reconnecting,
    /// The member left.
    Gone,
}

impl TileState {
    /// Every state, in the order declared (for the page's list of names).
    pub const ALL: [TileState; 7] = [
        TileState::Connecting,
        TileState::WaitingForStream,
        TileState::Live,
        TileState::CameraOff,
        TileState::Stalled,
        TileState::Reconnecting,
        TileState::Gone,
    ];

    /// The camel-case name the app and the page use (`waitingForStream`, `cameraOff`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            TileState::Connecting => "connecting",
            TileState::WaitingForStream => "waitingForStream",
            TileState::Live => "live",
            TileState::CameraOff => "cameraOff",
            TileState::Stalled => "stalled",
            TileState::Reconnecting => "reconnecting",
            TileState::Gone => "gone",
        }
    }
}

/// What is known of a tile at one look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileFacts {
    /// The member is still listed by the room (always true for our own tile).
    pub listed: bool,
    /// This is our own tile: we never wait for ourselves, our stream is connecting.
    pub own: bool,
    /// Connected: the player to the member's stream, or our publisher to the server.
    pub connected: bool,
    /// Pictures so far (the player's shown or received ones, or our encoder's): a count that
    /// moves is a live picture.
    pub pictures: u64,
    /// The latest picture is a camera-off one (black, without a frame clock).
    pub picture_blank: bool,
    /// The stream has a video track.
    pub has_video: bool,
    /// The stream has a sound track.
    pub has_audio: bool,
    /// The sender says its camera is off or it has none (our own camera state; the room's
    /// member list carries no such flag, so remote tiles learn it from the picture).
    pub camera_off: bool,
    /// Switches so far (of the member's stream, or of our camera): a change starts
    /// [`SWITCH_GRACE`].
    pub switches: u64,
    /// Sent data waiting on our own socket, when known: a backlog of [`STALL_AFTER`] or more
    /// is an uplink that stopped carrying our pictures while the connection still stands.
    pub unsent: Option<Duration>,
}

impl Default for TileFacts {
    fn default() -> TileFacts {
        TileFacts {
            listed: true,
            own: false,
            connected: false,
            pictures: 0,
            picture_blank: false,
            has_video: false,
            has_audio: false,
            camera_off: false,
            switches: 0,
            unsent: None,
        }
    }
}

/// A tile's state and the memory the policy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileTrack {
    /// What the tile shows.
    pub state: TileState,
    /// When it began to show it.
    pub since: Instant,
    started: Instant,
    pictures: u64,
    last_picture: Option<Instant>,
    connected_at: Option<Instant>,
    ever_connected: bool,
    switches: u64,
    switched_at: Option<Instant>,
}

impl TileTrack {
    /// A tile that starts at `now`: connecting.
    pub fn new(now: Instant) -> TileTrack {
        TileTrack {
            state: TileState::Connecting,
            since: now,
            started: now,
            pictures: 0,
            last_picture: None,
            connected_at: None,
            ever_connected: false,
            switches: 0,
            switched_at: None,
        }
    }

    /// How long the current picture has been the latest one (`None` before the first).
    pub fn picture_age(&self, now: Instant) -> Option<Duration> {
        self.last_picture.map(|t| now.saturating_duration_since(t))
    }
}

/// The tile after a look at `facts` at `now`.
pub fn next(track: &TileTrack, facts: &TileFacts, now: Instant) -> TileTrack {
    let mut t = track.clone();
    if facts.pictures != t.pictures {
        t.pictures = facts.pictures;
        t.last_picture = Some(now);
    }
    if facts.switches != t.switches {
        t.switches = facts.switches;
        t.switched_at = Some(now);
    }
    match (facts.connected, t.connected_at) {
        (true, None) => {
            t.connected_at = Some(now);
            t.ever_connected = true;
        }
        (false, Some(_)) => t.connected_at = None,
        _ => {}
    }
    let state = state_of(&t, track.state, facts, now);
    if state != t.state {
        t.state = state;
        t.since = now;
    }
    t
}

fn state_of(t: &TileTrack, before: TileState, facts: &TileFacts, now: Instant) -> TileState {
    let age = |at: Instant| now.saturating_duration_since(at);
    let in_grace = t.switched_at.is_some_and(|at| age(at) < SWITCH_GRACE);
    if !facts.listed {
        return TileState::Gone;
    }
    if facts.camera_off {
        return TileState::CameraOff;
    }
    let Some(connected_at) = t.connected_at else {
        return if in_grace && before == TileState::Live {
            // A switch reconnects on purpose: the old picture stays until the new one.
            TileState::Live
        } else if t.ever_connected {
            TileState::Reconnecting
        } else if !facts.own && age(t.started) >= WAIT_FOR_STREAM_AFTER {
            TileState::WaitingForStream
        } else {
            TileState::Connecting
        };
    };
    if facts.unsent.is_some_and(|d| d >= STALL_AFTER) {
        return TileState::Stalled;
    }
    match t.last_picture.filter(|&at| at >= connected_at) {
        Some(at) if age(at) >= STALL_AFTER && !in_grace => TileState::Stalled,
        Some(_) if facts.picture_blank => TileState::CameraOff,
        Some(_) => TileState::Live,
        None => no_picture_yet(t, before, facts, age(connected_at), in_grace),
    }
}

/// Connected for `connected_for` with no picture on this connection yet.
fn no_picture_yet(
    t: &TileTrack,
    before: TileState,
    facts: &TileFacts,
    connected_for: Duration,
    in_grace: bool,
) -> TileState {
    if facts.has_audio && !facts.has_video && connected_for >= STALL_AFTER {
        // Sound alone (a mini-program pushing with its camera off): nothing to wait for.
        TileState::CameraOff
    } else if connected_for >= NO_PICTURE_AFTER {
        TileState::Stalled
    } else if in_grace && before == TileState::Live {
        TileState::Live
    } else if t.last_picture.is_some() {
        // Back after a loss: still coming back until the first picture.
        TileState::Reconnecting
    } else {
        TileState::Connecting
    }
}

#[cfg(test)]
#[path = "tile_state_tests.rs"]
mod tests;
