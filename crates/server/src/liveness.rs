//! Whether a member's stream is being published: v1 kept a silent member while its stream was
//! live, so a member whose heartbeats are lost but whose camera still reaches viewers stays.
//! Only while the stream advances, though: a frozen client whose connection stays open keeps
//! a "live" stream that carries nothing, and that must not keep it.

use std::time::Duration;

/// Answers "is this stream being published right now, and is media still arriving?" (the
/// relay, or any RTMP server's status).
pub trait StreamLiveness: Send + Sync + 'static {
    /// Whether `stream_id` (`{bizid}_{userID}`) has a publisher now.
    fn is_live(&self, stream_id: &str) -> bool;

    /// Time since `stream_id`'s last audio or video message while it has a publisher; `None`
    /// when it has none. A source that cannot tell reports every live stream as advancing.
    fn media_age(&self, stream_id: &str) -> Option<Duration> {
        self.is_live(stream_id).then_some(Duration::ZERO)
    }

    /// Ends `stream_id`'s publish now: its member left, so its URLs no longer publish. A source
    /// that cannot cut a stream does nothing (an external RTMP server ends it on its own terms).
    fn revoke(&self, _stream_id: &str) {}
}

/// The answer when no RTMP server is attached: no stream is ever live.
#[derive(Debug, Clone, Copy, Default)]
pub struct NeverLive;

impl StreamLiveness for NeverLive {
    fn is_live(&self, _stream_id: &str) -> bool {
        false
    }
}
