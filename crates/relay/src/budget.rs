//! A player's latency budget: how far behind live everything that waits for it may be.
//!
//! What waits for a player is its queue, the output its connection has staged and the bytes the
//! kernel holds unsent on its socket. A byte count says nothing about latency (64 KiB is 30 ms
//! of a 16 Mbit/s screen share and 2 s of a 300 kbit/s link), so the budget is kept in media
//! time: the publisher's timestamp of the newest message against the oldest message not yet
//! gone from the relay. The [`Ledger`] remembers which timestamps the bytes handed out of the
//! queue carry until the connection and the kernel (`SIOCOUTQNSD`) say they left; [`judge_video`]
//! decides what a new video frame does. Audio is never judged: the conversation goes on.

use std::collections::VecDeque;

/// Most handed-on messages remembered per player: a budget's worth of the densest stream (a
/// 60 fps video with 50 audio frames a second is about 45 in 400 ms) many times over. Past it
/// the oldest is forgotten, which can only make the player look less late than it is.
pub const MAX_LEDGER_MARKS: usize = 1_024;

/// What a new video frame does for a player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the budget: it goes out.
    Send,
    /// A keyframe that fits once the queued video is gone: that goes, and this goes out.
    Jump,
    /// Over the budget: it and the queued video go, and video waits for a keyframe that fits.
    Skip,
}

/// How late a player is, in milliseconds of media time, when a frame arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lateness {
    /// Behind the frame, counting everything that waits for the player.
    pub all_ms: u32,
    /// Behind the frame, counting what would still wait once the queued video is dropped
    /// (the audio in the queue and whatever already left the queue).
    pub kept_ms: u32,
}

/// Decides what a video frame does to a player `late` by that much, while (`skipping`) or not
/// waiting for a keyframe, within `budget_ms`. An inter frame can only follow what went before,
/// so once video is over budget it waits for a keyframe; a keyframe starts afresh when what
/// cannot be dropped fits, and otherwise the next one is the chance.
pub(crate) fn judge_video(
    keyframe: bool,
    skipping: bool,
    late: Lateness,
    budget_ms: u32,
) -> Verdict {
    match (keyframe, skipping) {
        (false, true) => Verdict::Skip,
        (false, false) if late.all_ms <= budget_ms => Verdict::Send,
        (false, false) => Verdict::Skip,
        (true, _) if late.all_ms <= budget_ms => Verdict::Send,
        (true, _) if late.kept_ms <= budget_ms => Verdict::Jump,
        (true, _) => Verdict::Skip,
    }
}

/// How far (ms) `oldest` is behind `newest`; timestamps wrap after 49 days, and going
/// backwards (a new publisher starting at 0) is no lag.
pub(crate) fn behind(newest: u32, oldest: u32) -> u32 {
    u32::try_from(newest.wrapping_sub(oldest) as i32).unwrap_or(0)
}

/// The timestamps of the bytes handed out of a player's queue that may not have left yet.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// (end offset in the player's byte stream, timestamp) of each message handed on, oldest
    /// first, until it is known to have left.
    marks: VecDeque<(u64, u32)>,
    /// Bytes handed on so far.
    handed: u64,
    /// Of those, bytes staged in the connection at its last word.
    staged: u64,
    /// Of those, bytes unsent in the kernel at the last look.
    unsent: u64,
}

impl Ledger {
    /// Notes `bytes` handed on (to the connection or straight to the socket); `timestamp` is
    /// the media's, `None` for anything else.
    pub fn handed(&mut self, bytes: usize, timestamp: Option<u32>) {
        self.handed += bytes as u64;
        if let Some(ts) = timestamp {
            if self.marks.len() >= MAX_LEDGER_MARKS {
                self.marks.pop_front();
            }
            self.marks.push_back((self.handed, ts));
        }
    }

    /// Notes the bytes the connection holds staged now and, if known, the kernel's unsent
    /// bytes: together, as a write moves bytes from one to the other.
    pub fn waiting(&mut self, staged: usize, unsent: Option<usize>) {
        self.staged = staged as u64;
        if let Some(unsent) = unsent {
            self.unsent = unsent as u64;
        }
        self.forget_gone();
    }

    /// Notes the bytes the kernel holds unsent now.
    pub fn unsent(&mut self, bytes: usize) {
        self.unsent = bytes as u64;
        self.forget_gone();
    }

    /// The timestamp of the oldest message handed on that may still wait.
    pub fn oldest(&self) -> Option<u32> {
        self.marks.front().map(|&(_, ts)| ts)
    }

    fn forget_gone(&mut self) {
        let waiting = self.staged.saturating_add(self.unsent);
        let gone = self.handed.saturating_sub(waiting);
        while self.marks.front().is_some_and(|&(end, _)| end <= gone) {
            self.marks.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: u32 = 400;

    fn late(all_ms: u32, kept_ms: u32) -> Lateness {
        Lateness { all_ms, kept_ms }
    }

    #[test]
    fn within_the_budget_every_frame_goes() {
        for keyframe in [false, true] {
            assert_eq!(
                judge_video(keyframe, false, late(0, 0), BUDGET),
                Verdict::Send
            );
            assert_eq!(
                judge_video(keyframe, false, late(BUDGET, BUDGET), BUDGET),
                Verdict::Send
            );
        }
    }

    #[test]
    fn one_millisecond_over_the_budget_an_inter_frame_starts_the_skip() {
        assert_eq!(
            judge_video(false, false, late(BUDGET + 1, 0), BUDGET),
            Verdict::Skip
        );
    }

    #[test]
    fn while_skipping_inter_frames_go_whatever_the_lag() {
        assert_eq!(judge_video(false, true, late(0, 0), BUDGET), Verdict::Skip);
    }

    #[test]
    fn a_keyframe_ends_the_skip_only_if_what_stays_fits() {
        assert_eq!(judge_video(true, true, late(10, 10), BUDGET), Verdict::Send);
        assert_eq!(
            judge_video(true, true, late(900, BUDGET), BUDGET),
            Verdict::Jump
        );
        assert_eq!(
            judge_video(true, true, late(900, BUDGET + 1), BUDGET),
            Verdict::Skip
        );
        assert_eq!(
            judge_video(true, false, late(900, 100), BUDGET),
            Verdict::Jump
        );
        assert_eq!(
            judge_video(true, false, late(900, 800), BUDGET),
            Verdict::Skip
        );
    }

    #[test]
    fn lag_wraps_and_never_goes_negative() {
        assert_eq!(behind(100, 40), 60);
        assert_eq!(behind(5, u32::MAX - 4), 10);
        assert_eq!(behind(0, 90_000), 0);
    }

    #[test]
    fn the_ledger_forgets_what_the_connection_and_the_kernel_let_go() {
        let mut l = Ledger::default();
        assert_eq!(l.oldest(), None);
        l.handed(100, Some(0));
        l.handed(10, None);
        l.handed(100, Some(66));
        l.handed(100, Some(133));
        // Everything staged: nothing left.
        l.waiting(310, Some(0));
        assert_eq!(l.oldest(), Some(0));
        // Written to the kernel, which sent all but the last 150 bytes.
        l.waiting(0, Some(150));
        assert_eq!(l.oldest(), Some(66));
        l.unsent(99);
        assert_eq!(l.oldest(), Some(133));
        l.unsent(0);
        assert_eq!(l.oldest(), None);
    }

    #[test]
    fn the_ledger_stays_bounded_when_nobody_looks() {
        let mut l = Ledger::default();
        for i in 0..(MAX_LEDGER_MARKS as u32 + 5) {
            l.handed(1, Some(i));
        }
        assert_eq!(l.marks.len(), MAX_LEDGER_MARKS);
        assert_eq!(l.oldest(), Some(5));
    }
}
