//! Decoding on demand: while the page decodes a member's pictures itself (WebCodecs), Rust
//! decodes only the keyframes (the tile's facts, such as a camera-off picture, and a recent
//! picture for whoever asks) and holds the access units after the latest one, so that a reader
//! who starts wanting every picture (a decoded feed, a snapshot) gets the current one at once,
//! not at the next keyframe.

use super::LATENCY_NOW_WINDOW;
use std::time::Duration;

/// Access units held after the latest keyframe while nobody wants pictures: 20 s at 15 fps,
/// beyond the longest keyframe interval we send (8 s for a shared screen). A sender that
/// sends no keyframe for longer is decoded from its next one instead, and holds no more
/// memory than this (a few MB at the highest rates).
pub const MAX_HELD_UNITS: usize = 300;

/// [`super::PlayerStats::latency_ms_now`]'s span when only keyframes are decoded: two of the
/// longest camera keyframe intervals, so a live stream always has a sample in it.
pub const SPARSE_LATENCY_NOW_WINDOW: Duration = Duration::from_secs(4);

/// When a player decodes video in Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VideoDecoding {
    /// Never: only the packet tap is used.
    Off,
    /// Keyframes always, every picture only while one is wanted (see the module's page).
    OnDemand,
    /// Every picture (the figures of every picture, e.g. latency, are wanted).
    #[default]
    Always,
}

impl VideoDecoding {
    /// Video packets go to the decoder at all.
    pub fn decodes(self) -> bool {
        self != VideoDecoding::Off
    }

    /// The span of the latest-latency figure: pictures decoded only at keyframes need a
    /// longer one to hold a sample.
    pub fn latency_now_window(self) -> Duration {
        match self {
            VideoDecoding::Always => LATENCY_NOW_WINDOW,
            VideoDecoding::OnDemand | VideoDecoding::Off => SPARSE_LATENCY_NOW_WINDOW,
        }
    }
}

/// What the decoder does with one video access unit when decoding on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Demand {
    /// Decode it (held units are no longer needed).
    Decode,
    /// Decode the held units without showing them, then this one.
    CatchUpThenDecode,
    /// Keep it for later, undecoded.
    Hold,
    /// Too many held: forget them and this one, and decode again from the next keyframe.
    Forget,
}

/// The on-demand rule for a unit: keyframes are always decoded; other units are decoded while
/// pictures are `wanted`, after the `held` ones before them, and held otherwise.
pub fn demand(wanted: bool, keyframe: bool, held: usize) -> Demand {
    if keyframe {
        Demand::Decode
    } else if wanted && held > 0 {
        Demand::CatchUpThenDecode
    } else if wanted {
        Demand::Decode
    } else if held >= MAX_HELD_UNITS {
        Demand::Forget
    } else {
        Demand::Hold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframes_are_always_decoded() {
        for wanted in [false, true] {
            for held in [0, 5, MAX_HELD_UNITS] {
                assert_eq!(demand(wanted, true, held), Demand::Decode);
            }
        }
    }

    #[test]
    fn unwanted_pictures_are_held_until_the_bound() {
        assert_eq!(demand(false, false, 0), Demand::Hold);
        assert_eq!(demand(false, false, MAX_HELD_UNITS - 1), Demand::Hold);
        assert_eq!(demand(false, false, MAX_HELD_UNITS), Demand::Forget);
    }

    #[test]
    fn a_new_reader_catches_up_on_what_was_held_first() {
        assert_eq!(demand(true, false, 3), Demand::CatchUpThenDecode);
        assert_eq!(demand(true, false, 0), Demand::Decode);
    }

    #[test]
    fn only_decoding_on_demand_or_never_widens_the_latency_window() {
        assert_eq!(
            VideoDecoding::Always.latency_now_window(),
            LATENCY_NOW_WINDOW
        );
        assert!(VideoDecoding::OnDemand.latency_now_window() > LATENCY_NOW_WINDOW);
        assert!(!VideoDecoding::Off.decodes() && VideoDecoding::OnDemand.decodes());
    }
}
