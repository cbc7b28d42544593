//! What a tester attaches to a bug report: every room API call and event-channel frame of the
//! call, and each stream's figures and details, in one snapshot.

use crate::stats::CallStats;
use quartet_room::{ApiCall, ChannelEntry};

/// A snapshot of everything a tester looks at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics {
    /// Room API calls, oldest first (bounded: [`quartet_room::journal::JOURNAL_MAX_CALLS`]).
    pub api_calls: Vec<ApiCall>,
    /// Event-channel frames, oldest first (bounded).
    pub events: Vec<ChannelEntry>,
    /// Our publisher and every played stream, with codecs, keyframe intervals and latency.
    pub stats: CallStats,
}
