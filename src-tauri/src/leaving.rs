//! Leaving as host: the page asks "Leave, or end for everyone?" before a host leaves, and the
//! window's close button asks the same instead of ending the call for everyone without a word.

use quartet_call::{LeaveMode, LeaveOptions};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant};
#[cfg(test)]
use ts_rs::TS;

/// The event the page gets when closing the window was held so it can ask how to leave.
pub const CLOSE_REQUESTED_EVENT: &str = "close-requested";
/// A second close within this long after one was held closes at once: a page that cannot
/// answer (hung, or its dialog lost) never traps the user in the window.
pub const CLOSE_AGAIN_WITHIN: Duration = Duration::from_secs(5);

/// How the page asks to leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "LeaveMode"))]
#[serde(rename_all = "camelCase")]
pub enum LeaveModeDto {
    /// Leave; the call goes on for the others where the room can be handed over.
    Leave,
    /// End the call for everyone (as host).
    End,
}

impl From<LeaveModeDto> for LeaveMode {
    fn from(mode: LeaveModeDto) -> LeaveMode {
        match mode {
            LeaveModeDto::Leave => LeaveMode::Leave,
            LeaveModeDto::End => LeaveMode::EndForEveryone,
        }
    }
}

/// What the page needs to word its question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "LeaveOptions"))]
#[serde(rename_all = "camelCase")]
pub struct LeaveOptionsDto {
    /// We host the room.
    pub is_host: bool,
    /// Leaving hands the room over instead of closing it.
    pub can_hand_over: bool,
    /// The name of who would become host.
    pub heir_name: Option<String>,
    /// How many others are in the room.
    pub others: usize,
    /// Leaving would end the call for someone else unless the user chooses: ask.
    pub worth_asking: bool,
}

impl From<LeaveOptions> for LeaveOptionsDto {
    fn from(o: LeaveOptions) -> LeaveOptionsDto {
        LeaveOptionsDto {
            is_host: o.is_host,
            can_hand_over: o.can_hand_over,
            worth_asking: o.worth_asking(),
            heir_name: o.heir.map(|m| m.user_name),
            others: o.others,
        }
    }
}

/// Whether a close request is held for the page to ask: only when leaving would end the call
/// for others, and not when the user closes again soon after a held one.
pub fn hold_close(worth_asking: bool, last_held: Option<Instant>, now: Instant) -> bool {
    worth_asking && last_held.is_none_or(|at| now.duration_since(at) > CLOSE_AGAIN_WITHIN)
}

/// Remembers when a close was last held.
#[derive(Debug, Default)]
pub struct CloseGuard {
    last_held: Mutex<Option<Instant>>,
}

impl CloseGuard {
    /// Decides a close request now (see [`hold_close`]) and remembers a hold.
    pub fn should_hold(&self, worth_asking: bool) -> bool {
        let now = Instant::now();
        let mut last = self
            .last_held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let hold = hold_close(worth_asking, *last, now);
        *last = hold.then_some(now);
        hold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_is_held_only_when_leaving_would_end_the_call_for_others() {
        let now = Instant::now();
        assert!(hold_close(true, None, now));
        assert!(!hold_close(false, None, now));
    }

    #[test]
    fn closing_again_soon_after_a_held_close_closes() {
        let now = Instant::now();
        let soon = now + CLOSE_AGAIN_WITHIN / 2;
        let later = now + CLOSE_AGAIN_WITHIN + Duration::from_millis(1);
        assert!(!hold_close(true, Some(now), soon));
        assert!(hold_close(true, Some(now), later));
    }

    #[test]
    fn the_guard_lets_the_second_close_through() {
        let guard = CloseGuard::default();
        assert!(guard.should_hold(true));
        assert!(!guard.should_hold(true));
        assert!(!guard.should_hold(false));
        assert!(guard.should_hold(true));
    }

    #[test]
    fn the_page_words_name_the_heir() {
        let dto = LeaveOptionsDto::from(LeaveOptions {
            is_host: true,
            can_hand_over: true,
            heir: None,
            others: 2,
        });
        assert!(dto.worth_asking && dto.can_hand_over);
        assert_eq!(dto.heir_name, None);
    }
}
