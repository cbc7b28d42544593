//! A call's figures: our publisher and each remote player, in one snapshot.

use crate::receive::Stream;
use crate::tile_state::TileState;
use quartet_media::{PlayerStats, PublisherStats};

/// One remote member's player figures.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteStats {
    /// The member's userID.
    pub user_id: String,
    /// The member's name.
    pub user_name: String,
    /// The tile it is played in.
    pub tile: usize,
    /// The player's figures.
    pub player: PlayerStats,
    /// Which of the member's streams the tile plays.
    pub stream: Stream,
    /// How often the tile moved between the member's streams.
    pub stream_switches: u64,
    /// What the tile honestly shows.
    pub state: TileState,
}

/// Everything measurable about a call right now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallStats {
    /// Our publisher (`None` once the call has ended).
    pub publisher: Option<PublisherStats>,
    /// Every played remote member, in tile order.
    pub remotes: Vec<RemoteStats>,
    /// Members listed but not played (no tile free).
    pub listed: usize,
    /// RMS level of the sound mixed for the speaker (0.0 silence).
    pub mix_level: f32,
    /// What our own tile honestly shows.
    pub own_state: TileState,
}

impl CallStats {
    /// Frames per second shown, summed over the remote tiles.
    pub fn remote_fps(&self) -> f64 {
        self.remotes.iter().map(|r| r.player.fps).sum()
    }

    /// kbit/s received, summed over the remote tiles.
    pub fn remote_kbps(&self) -> f64 {
        self.remotes.iter().map(|r| r.player.kbps).sum()
    }

    /// The worst median capture-to-shown latency among the remote tiles, ms.
    pub fn worst_latency_ms_p50(&self) -> Option<f64> {
        self.remotes
            .iter()
            .filter_map(|r| r.player.latency_ms_p50)
            .reduce(f64::max)
    }

    /// The remote member `user_id`'s figures.
    pub fn remote(&self, user_id: &str) -> Option<&RemoteStats> {
        self.remotes.iter().find(|r| r.user_id == user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(id: &str, fps: f64, p50: Option<f64>) -> RemoteStats {
        RemoteStats {
            user_id: id.into(),
            user_name: id.into(),
            tile: 0,
            stream: Stream::Main,
            stream_switches: 0,
            state: TileState::Live,
            player: PlayerStats {
                fps,
                kbps: fps * 10.0,
                latency_ms_p50: p50,
                ..PlayerStats::default()
            },
        }
    }

    #[test]
    fn sums_and_worst_case() {
        let s = CallStats {
            remotes: vec![
                remote("a", 15.0, Some(80.0)),
                remote("b", 14.0, None),
                remote("c", 15.0, Some(120.0)),
            ],
            ..CallStats::default()
        };
        assert_eq!(s.remote_fps(), 44.0);
        assert_eq!(s.remote_kbps(), 440.0);
        assert_eq!(s.worst_latency_ms_p50(), Some(120.0));
        assert!(s.remote("b").is_some() && s.remote("z").is_none());
        assert_eq!(CallStats::default().worst_latency_ms_p50(), None);
    }
}
