//! What a session said to the room server and heard back, for testers: every API call with its
//! code and time, and every event-channel frame. Bounded, so a long call cannot grow it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Most API calls kept; the oldest go first (a 2 h call polls far more than this).
pub const JOURNAL_MAX_CALLS: usize = 500;
/// Most event-channel entries kept.
pub const JOURNAL_MAX_EVENTS: usize = 500;

/// One room API call.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    /// When it was sent, Unix milliseconds.
    pub at_ms: u64,
    /// The endpoint (`add_pusher`, …).
    pub endpoint: String,
    /// The reply's code (0 success); `None` when there was no v1 reply.
    pub code: Option<i64>,
    /// The HTTP status when it was not 200.
    pub status: Option<u16>,
    /// Round trip, ms.
    pub ms: f64,
    /// What went wrong, for people (no tokens: replies never carry them).
    pub error: Option<String>,
}

/// One event-channel entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelEntry {
    /// When it arrived, Unix milliseconds.
    pub at_ms: u64,
    /// What it was: `pusher_change`, `room_closed`, `text`, `keyframe_request`, `closed`, ….
    pub kind: String,
    /// A short detail (the sender of a text, the reason of a close), never message contents.
    pub detail: String,
}

#[derive(Debug, Default)]
struct Entries {
    calls: VecDeque<ApiCall>,
    events: VecDeque<ChannelEntry>,
}

/// A shared, bounded record of a session's API calls and event-channel frames.
#[derive(Debug, Clone, Default)]
pub struct Journal(Arc<Mutex<Entries>>);

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, max: usize) {
    if queue.len() == max {
        queue.pop_front();
    }
    queue.push_back(item);
}

impl Journal {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an API call.
    pub fn call(&self, call: ApiCall) {
        push_bounded(&mut self.lock().calls, call, JOURNAL_MAX_CALLS);
    }

    /// Records an event-channel frame.
    pub fn event(&self, kind: impl Into<String>, detail: impl Into<String>) {
        let entry = ChannelEntry {
            at_ms: now_ms(),
            kind: kind.into(),
            detail: detail.into(),
        };
        push_bounded(&mut self.lock().events, entry, JOURNAL_MAX_EVENTS);
    }

    /// The API calls kept, oldest first.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.lock().calls.iter().cloned().collect()
    }

    /// The event-channel entries kept, oldest first.
    pub fn events(&self) -> Vec<ChannelEntry> {
        self.lock().events.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(n: u64) -> ApiCall {
        ApiCall {
            at_ms: n,
            endpoint: "pusher_heartbeat".into(),
            code: Some(0),
            status: None,
            ms: 1.0,
            error: None,
        }
    }

    #[test]
    fn keeps_the_latest_within_its_bounds() {
        let j = Journal::default();
        for n in 0..(JOURNAL_MAX_CALLS as u64 + 10) {
            j.call(call(n));
        }
        let calls = j.calls();
        assert_eq!(calls.len(), JOURNAL_MAX_CALLS);
        assert_eq!(calls[0].at_ms, 10);
        for _ in 0..JOURNAL_MAX_EVENTS + 1 {
            j.event("pusher_change", "");
        }
        assert_eq!(j.events().len(), JOURNAL_MAX_EVENTS);
        let shared = j.clone();
        shared.event("closed", "bye");
        assert_eq!(j.events().last().map(|e| e.kind.as_str()), Some("closed"));
    }
}
