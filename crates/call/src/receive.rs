//! Which of a member's two streams a tile plays: the main one while our downlink carries it, the
//! small one when it cannot, and the main one again once the link has room.
//!
//! [`choose`] is the policy, a pure function of what the tile's player saw since the last look,
//! how the tile is shown, the viewer's setting, and the [`Choice`] state it returns. Going down
//! is quick (a downlink that cannot carry the main stream shows it within a second or two);
//! going up is a trial, since the only way to learn whether the main stream fits is to play it:
//! a trial that fails makes the next one wait twice as long, one that holds resets the wait.

use std::time::Duration;

/// Latency over the last second above which the main stream does not fit our downlink, ms:
/// the 400 ms where people notice delay (SRS's figure), which the relay's budget also keeps.
pub const DOWN_LATENCY_MS: f64 = 400.0;
/// Share of frames skipped to catch up with live above which the main stream does not fit:
/// the relay drops video to keep us live, and one frame in five gone is a stutter.
pub const DOWN_SKIPPED_SHARE: f64 = 0.2;
/// How long the main stream must look too heavy before the tile goes small: long enough that
/// one keyframe's burst does not count, short enough that a narrow link is answered in
/// seconds.
pub const DOWN_AFTER: Duration = Duration::from_millis(1_500);
/// Latency below which the small stream shows a link with room, ms.
pub const UP_LATENCY_MS: f64 = 150.0;
/// First wait on the small stream, with the link looking roomy, before the main stream is
/// tried again: also the least time between two switches of a tile (at most one per 10 s on a
/// steady link).
pub const FIRST_TRIAL_AFTER: Duration = Duration::from_secs(10);
/// Longest wait between two trials of the main stream: a link that never carries it costs one
/// short stutter a minute and a half at most.
pub const MAX_TRIAL_AFTER: Duration = Duration::from_secs(80);
/// A trial of the main stream that lasts this long without going down has succeeded: the wait
/// before the next trial starts from [`FIRST_TRIAL_AFTER`] again.
pub const TRIAL_HOLDS_AFTER: Duration = Duration::from_secs(30);
/// A small stream that shows nothing for this long is not being sent (a v1 member, or one whose
/// encoder for it failed): the tile goes back to the main stream and stays there. Long enough
/// for a switch's reconnect and first keyframe, short enough that a blank tile is a moment.
pub const NO_SMALL_AFTER: Duration = Duration::from_secs(3);
/// A tile shown at most this many pixels wide gains nothing from the main stream (640 wide):
/// the small one (320 wide) is enough, and it saves our downlink and decoder.
pub const SMALL_TILE_MAX_WIDTH: u32 = 360;

/// One of a member's two streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Stream {
    /// The member's configured picture (e.g. 640×360): what v1 clients play.
    #[default]
    Main,
    /// The small picture beside it (e.g. 320×180).
    Small,
}

impl Stream {
    /// The lower-case name the app and the bot show (`main`, `small`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Main => "main",
            Stream::Small => "small",
        }
    }
}

/// What the viewer lets its tiles receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Receive {
    /// Each tile picks for itself.
    #[default]
    Auto,
    /// Data saver: small streams only, wherever a member offers one.
    Small,
    /// Main streams only.
    Main,
}

/// One look at a tile.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Look {
    /// Time since the previous look.
    pub elapsed: Duration,
    /// The member offers a small stream.
    pub small_offered: bool,
    /// Frame-clock latency over the last second, ms; `None` while no clocked frame was shown.
    pub latency_ms_now: Option<f64>,
    /// Some picture was shown since the last look (a camera-off picture too).
    pub showing: bool,
    /// Share of frames skipped to catch up since the last look; `None` with too few frames.
    pub skipped_share: Option<f64>,
    /// How wide the tile is shown, pixels; `None` when not known (a bot).
    pub tile_width: Option<u32>,
    /// The tile is pinned or full screen: it wants the best picture the link carries.
    pub featured: bool,
}

/// A tile's stream and the memory the choice needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The stream the tile plays.
    pub stream: Stream,
    /// Switches so far.
    pub switches: u64,
    heavy_for: Duration,
    roomy_for: Duration,
    since_switch: Duration,
    trial_after: Duration,
    /// The link could not carry the main stream: on the small one, the main one waits for a
    /// trial; on the main one, it is that trial, until it holds.
    fell: bool,
    /// The small stream showed nothing for [`NO_SMALL_AFTER`]: the member does not send one.
    pub small_missing: bool,
    dark_for: Duration,
}

impl Default for Choice {
    fn default() -> Choice {
        Choice {
            stream: Stream::Main,
            switches: 0,
            heavy_for: Duration::ZERO,
            roomy_for: Duration::ZERO,
            since_switch: Duration::MAX,
            trial_after: FIRST_TRIAL_AFTER,
            fell: false,
            small_missing: false,
            dark_for: Duration::ZERO,
        }
    }
}

impl Choice {
    fn switch(&mut self, to: Stream) {
        if self.stream != to {
            self.stream = to;
            self.switches += 1;
            self.since_switch = Duration::ZERO;
            self.heavy_for = Duration::ZERO;
            self.roomy_for = Duration::ZERO;
            self.dark_for = Duration::ZERO;
        }
    }
}

/// The tile's choice after `look`, with the viewer's `setting`.
pub fn choose(choice: &Choice, look: &Look, setting: Receive) -> Choice {
    let mut c = choice.clone();
    c.since_switch = c.since_switch.saturating_add(look.elapsed);
    c.dark_for = if look.showing {
        Duration::ZERO
    } else {
        c.dark_for.saturating_add(look.elapsed)
    };
    if c.stream == Stream::Small && c.dark_for >= NO_SMALL_AFTER {
        c.small_missing = true;
    }
    if !look.small_offered || c.small_missing || setting == Receive::Main {
        c.switch(Stream::Main);
        return c;
    }
    if setting == Receive::Small {
        c.switch(Stream::Small);
        return c;
    }
    let small_tile = !look.featured && look.tile_width.is_some_and(|w| w <= SMALL_TILE_MAX_WIDTH);
    if small_tile {
        c.switch(Stream::Small);
        return c;
    }
    match c.stream {
        Stream::Main => on_main(&mut c, look),
        Stream::Small => on_small(&mut c, look),
    }
    c
}

fn on_main(c: &mut Choice, look: &Look) {
    let heavy = look.latency_ms_now.is_some_and(|l| l > DOWN_LATENCY_MS)
        || look.skipped_share.is_some_and(|s| s > DOWN_SKIPPED_SHARE);
    c.heavy_for = if heavy {
        c.heavy_for.saturating_add(look.elapsed)
    } else {
        Duration::ZERO
    };
    if c.fell && c.since_switch >= TRIAL_HOLDS_AFTER {
        c.fell = false;
        c.trial_after = FIRST_TRIAL_AFTER;
    }
    if c.heavy_for >= DOWN_AFTER {
        // A failed trial doubles the wait; a fall from a main stream that held does not.
        if c.fell {
            c.trial_after = (c.trial_after * 2).min(MAX_TRIAL_AFTER);
        }
        c.fell = true;
        c.switch(Stream::Small);
    }
}

fn on_small(c: &mut Choice, look: &Look) {
    // Small for the tile's size or the setting, not for the link: the main stream at once.
    if !c.fell {
        c.switch(Stream::Main);
        return;
    }
    let roomy = look.latency_ms_now.is_some_and(|l| l < UP_LATENCY_MS)
        && look.skipped_share.is_none_or(|s| s == 0.0);
    c.roomy_for = if roomy {
        c.roomy_for.saturating_add(look.elapsed)
    } else {
        Duration::ZERO
    };
    if c.roomy_for >= c.trial_after && c.since_switch >= FIRST_TRIAL_AFTER {
        c.switch(Stream::Main);
    }
}

#[cfg(test)]
#[path = "receive_tests.rs"]
mod tests;
