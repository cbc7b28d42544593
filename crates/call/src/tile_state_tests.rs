use super::*;

/// The pace of the tests' looks (the call looks at its tiles as often).
const STEP: Duration = Duration::from_millis(250);

/// A tile driven through looks, one [`STEP`] apart.
struct Drive {
    track: TileTrack,
    now: Instant,
    facts: TileFacts,
}

impl Drive {
    fn new(facts: TileFacts) -> Drive {
        let now = Instant::now();
        Drive {
            track: TileTrack::new(now),
            now,
            facts,
        }
    }

    /// Looks once after a step, with `change` applied to the facts first.
    fn step(&mut self, change: impl FnOnce(&mut TileFacts)) -> TileState {
        self.now += STEP;
        change(&mut self.facts);
        self.track = next(&self.track, &self.facts, self.now);
        self.track.state
    }

    /// Looks for `span` with the facts unchanged; every state seen, in order, once each.
    fn hold(&mut self, span: Duration) -> Vec<TileState> {
        let mut seen = Vec::new();
        let end = self.now + span;
        while self.now < end {
            let s = self.step(|_| {});
            if seen.last() != Some(&s) {
                seen.push(s);
            }
        }
        seen
    }

    /// Looks for `span` with a new picture at every look.
    fn pictures_for(&mut self, span: Duration) -> TileState {
        let end = self.now + span;
        let mut s = self.track.state;
        while self.now < end {
            s = self.step(|f| f.pictures += 1);
        }
        s
    }

    /// How long the facts as they are take to reach `state`; `None` within `limit`.
    fn time_to(&mut self, state: TileState, limit: Duration) -> Option<Duration> {
        let from = self.now;
        while self.now - from < limit {
            if self.step(|_| {}) == state {
                return Some(self.now - from);
            }
        }
        None
    }
}

fn live_tile() -> Drive {
    let mut d = Drive::new(TileFacts {
        has_video: true,
        has_audio: true,
        ..TileFacts::default()
    });
    d.step(|f| f.connected = true);
    assert_eq!(d.pictures_for(Duration::from_secs(1)), TileState::Live);
    d
}

#[test]
fn a_member_who_sends_nothing_yet_is_waited_for_not_reconnecting() {
    let mut d = Drive::new(TileFacts::default());
    // Its player fails attempt after attempt: that is no lost connection.
    let seen = d.hold(Duration::from_secs(30));
    assert_eq!(
        seen,
        vec![TileState::Connecting, TileState::WaitingForStream]
    );
    assert!(d.track.since - d.track.started <= WAIT_FOR_STREAM_AFTER + STEP);
    // It starts sending: connecting, then live.
    d.step(|f| {
        f.connected = true;
        f.has_video = true;
    });
    assert_eq!(d.track.state, TileState::Connecting);
    assert_eq!(d.pictures_for(STEP * 2), TileState::Live);
}

#[test]
fn our_own_tile_never_waits_for_us() {
    let mut d = Drive::new(TileFacts {
        own: true,
        ..TileFacts::default()
    });
    assert_eq!(d.hold(Duration::from_secs(10)), vec![TileState::Connecting]);
}

#[test]
fn a_frozen_picture_on_a_standing_connection_is_a_stall_within_two_seconds() {
    let mut d = live_tile();
    let took = d.time_to(TileState::Stalled, Duration::from_secs(10));
    let took = took.expect("a stall");
    assert!(
        took >= STALL_AFTER && took <= STALL_AFTER + STEP,
        "{took:?}"
    );
    // Pictures again: live at the next look.
    assert_eq!(d.step(|f| f.pictures += 1), TileState::Live);
}

#[test]
fn a_lost_connection_is_reconnecting_until_the_first_picture_of_the_next() {
    let mut d = live_tile();
    assert_eq!(d.step(|f| f.connected = false), TileState::Reconnecting);
    assert_eq!(
        d.hold(Duration::from_secs(20)),
        vec![TileState::Reconnecting]
    );
    // Connected again, but no picture yet: still coming back, then a stall if none comes.
    assert_eq!(d.step(|f| f.connected = true), TileState::Reconnecting);
    let seen = d.hold(NO_PICTURE_AFTER);
    assert_eq!(seen, vec![TileState::Reconnecting, TileState::Stalled]);
    assert_eq!(d.step(|f| f.pictures += 1), TileState::Live);
}

#[test]
fn a_switch_is_not_a_stall() {
    let mut d = live_tile();
    // The stream switch drops the connection on purpose, and the new one needs a keyframe.
    d.step(|f| {
        f.switches += 1;
        f.connected = false;
    });
    assert_eq!(d.track.state, TileState::Live);
    d.step(|f| f.connected = true);
    let seen = d.hold(SWITCH_GRACE - STEP * 3);
    assert_eq!(seen, vec![TileState::Live]);
    assert_eq!(d.pictures_for(STEP * 2), TileState::Live);
    // A switch whose stream never shows a picture is a stall once the grace is over.
    d.step(|f| f.switches += 1);
    let took = d.time_to(TileState::Stalled, Duration::from_secs(10));
    assert!(took.is_some_and(|t| t >= SWITCH_GRACE - STEP), "{took:?}");
}

#[test]
fn camera_off_frames_sound_only_and_our_own_camera_are_camera_off() {
    // Black frames every half second: camera off, not stalled.
    let mut d = live_tile();
    d.facts.picture_blank = true;
    for _ in 0..20 {
        d.step(|_| {});
        assert_eq!(d.step(|f| f.pictures += 1), TileState::CameraOff);
    }
    // …and when even those stop, a stall.
    assert_eq!(
        d.time_to(TileState::Stalled, Duration::from_secs(5)),
        Some(STALL_AFTER)
    );

    // Sound and no video track: camera off once the video had its chance to appear.
    let mut d = Drive::new(TileFacts {
        has_audio: true,
        ..TileFacts::default()
    });
    d.step(|f| f.connected = true);
    let seen = d.hold(Duration::from_secs(10));
    assert_eq!(seen, vec![TileState::Connecting, TileState::CameraOff]);

    // Our own tile without a camera: camera off from the start, connected or not, never
    // connecting and never a frozen picture.
    let mut own = Drive::new(TileFacts {
        own: true,
        camera_off: true,
        ..TileFacts::default()
    });
    assert_eq!(own.hold(Duration::from_secs(3)), vec![TileState::CameraOff]);
    own.step(|f| f.connected = true);
    assert_eq!(own.hold(Duration::from_secs(3)), vec![TileState::CameraOff]);
    own.step(|f| f.camera_off = false);
    assert_eq!(own.pictures_for(STEP * 2), TileState::Live);
}

#[test]
fn an_uplink_that_stopped_carrying_our_pictures_is_a_stall() {
    let mut d = Drive::new(TileFacts {
        own: true,
        has_video: true,
        ..TileFacts::default()
    });
    d.step(|f| f.connected = true);
    assert_eq!(d.pictures_for(STEP * 4), TileState::Live);
    d.facts.unsent = Some(STALL_AFTER - STEP);
    assert_eq!(d.pictures_for(STEP), TileState::Live);
    d.facts.unsent = Some(STALL_AFTER);
    assert_eq!(d.pictures_for(STEP), TileState::Stalled);
}

#[test]
fn a_member_who_left_is_gone() {
    let mut d = live_tile();
    assert_eq!(d.step(|f| f.listed = false), TileState::Gone);
}

#[test]
fn states_have_stable_names() {
    let names: Vec<&str> = [
        TileState::Connecting,
        TileState::WaitingForStream,
        TileState::Live,
        TileState::CameraOff,
        TileState::Stalled,
        TileState::Reconnecting,
        TileState::Gone,
    ]
    .iter()
    .map(|s| s.as_str())
    .collect();
    assert_eq!(
        names,
        [
            "connecting",
            "waitingForStream",
            "live",
            "cameraOff",
            "stalled",
            "reconnecting",
            "gone"
        ]
    );
}

#[test]
fn all_names_every_state_once_in_order() {
    // The match is exhaustive: a new state fails to compile here until ALL lists it.
    let position = |s: TileState| match s {
        TileState::Connecting => 0,
        TileState::WaitingForStream => 1,
        TileState::Live => 2,
        TileState::CameraOff => 3,
        TileState::Stalled => 4,
        TileState::Reconnecting => 5,
        TileState::Gone => 6,
    };
    for (i, state) in TileState::ALL.into_iter().enumerate() {
        assert_eq!(position(state), i, "{state:?}");
    }
}
