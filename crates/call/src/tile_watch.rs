//! Looks at every tile every [`TILE_LOOK_EVERY`] and keeps each one's [`TileState`] current
//! for whoever reads the call: the facts come from the players' and the publisher's figures,
//! the policy is [`crate::tile_state`].

use crate::media_port::{PlayControl, SendControl};
use crate::tile_state::{TileFacts, TileState, TileTrack, next};
use quartet_media::VideoDecoding;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often tiles are looked at: a stall of [`crate::tile_state::STALL_AFTER`] shows within
/// a quarter second of it, and a look costs a few locks per tile.
pub const TILE_LOOK_EVERY: Duration = Duration::from_millis(250);

/// Every tile's state right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TileStates {
    /// Our own tile.
    pub(crate) own: TileState,
    /// Each played member's tile, by userID.
    pub(crate) remote: HashMap<String, TileState>,
}

/// What is known of our own side at a look.
pub(crate) struct OwnSide<'a> {
    /// Our publisher, while there is one.
    pub(crate) publisher: Option<&'a dyn SendControl>,
    /// The camera is off, missing, or "No camera" is chosen.
    pub(crate) camera_off: bool,
    /// Camera switches so far.
    pub(crate) switches: u64,
}

/// One played member at a look.
pub(crate) struct Played<'a> {
    /// The member's userID.
    pub(crate) user_id: &'a str,
    /// Its player.
    pub(crate) player: &'a dyn PlayControl,
    /// Stream switches of its tile so far.
    pub(crate) switches: u64,
}

/// Each tile's memory, and where the states are published.
pub(crate) struct TileWatch {
    own: TileTrack,
    remote: HashMap<String, TileTrack>,
    /// How remote pictures are decoded here: every one, so shown ones can be counted, or
    /// fewer, so received ones are.
    decoding: VideoDecoding,
    states: watch::Sender<TileStates>,
}

impl TileWatch {
    /// Tiles starting now; `decoding` says how remote pictures are decoded in Rust.
    pub(crate) fn new(decoding: VideoDecoding) -> TileWatch {
        TileWatch {
            own: TileTrack::new(Instant::now()),
            remote: HashMap::new(),
            decoding,
            states: watch::Sender::new(TileStates::default()),
        }
    }

    /// A reader of the states.
    pub(crate) fn subscribe(&self) -> watch::Receiver<TileStates> {
        self.states.subscribe()
    }

    /// Looks at our side and every played member now; members no longer played are forgotten
    /// (a member who comes back starts connecting afresh).
    pub(crate) fn look<'a>(&mut self, own: &OwnSide<'_>, played: impl Iterator<Item = Played<'a>>) {
        let now = Instant::now();
        self.own = next(&self.own, &own_facts(own), now);
        let mut seen = HashMap::new();
        for p in played {
            let facts = self.remote_facts(&p);
            let track = self
                .remote
                .remove(p.user_id)
                .unwrap_or_else(|| TileTrack::new(now));
            let track = next(&track, &facts, now);
            seen.insert(p.user_id.to_owned(), track);
        }
        self.remote = seen;
        let states = TileStates {
            own: self.own.state,
            remote: self
                .remote
                .iter()
                .map(|(id, t)| (id.clone(), t.state))
                .collect(),
        };
        self.states.send_if_modified(|old| {
            if *old == states {
                return false;
            }
            log_changes(old, &states);
            *old = states;
            true
        });
    }

    fn remote_facts(&self, p: &Played<'_>) -> TileFacts {
        let stats = p.player.stats();
        let blank = p.player.latest_frame().is_some_and(|f| f.is_blank());
        let pictures = match self.decoding {
            VideoDecoding::Always => stats.frames_shown,
            // Not every picture is decoded: a stream that moves is one whose pictures arrive.
            VideoDecoding::OnDemand | VideoDecoding::Off => stats.units_received,
        };
        TileFacts {
            connected: stats.connected,
            pictures,
            picture_blank: blank,
            has_video: stats.stream_info.video.is_some(),
            has_audio: stats.stream_info.audio.is_some(),
            switches: p.switches,
            ..TileFacts::default()
        }
    }
}

fn own_facts(own: &OwnSide<'_>) -> TileFacts {
    let stats = own.publisher.map(|p| p.stats());
    TileFacts {
        own: true,
        connected: stats.as_ref().is_some_and(|s| s.connected),
        // Encoded pictures: a frozen camera and an encoder held up by a blocked socket both
        // stop this count.
        pictures: stats.as_ref().map_or(0, |s| s.frames_encoded),
        has_video: true,
        has_audio: true,
        camera_off: own.camera_off,
        switches: own.switches,
        unsent: stats
            .and_then(|s| s.uplink_queue_ms)
            .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok()),
        ..TileFacts::default()
    }
}

fn log_changes(old: &TileStates, new: &TileStates) {
    if old.own != new.own {
        tracing::info!(state = new.own.as_str(), "own tile");
    }
    for (user_id, state) in &new.remote {
        if old.remote.get(user_id) != Some(state) {
            tracing::info!(%user_id, state = state.as_str(), "tile");
        }
    }
}
