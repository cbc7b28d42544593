//! Whether a member's stream is being published: v1 kept a silent member while its stream was
//! live, so a member whose heartbeats are lost but whose camera still reaches viewers stays.

/// Answers "is this stream being published right now?" (the relay, or any RTMP server's status).
pub trait StreamLiveness: Send + Sync + 'static {
    /// Whether `stream_id` (`{bizid}_{userID}`) has a publisher now.
    fn is_live(&self, stream_id: &str) -> bool;
}

/// The answer when no RTMP server is attached: no stream is ever live.
#[derive(Debug, Clone, Copy, Default)]
pub struct NeverLive;

impl StreamLiveness for NeverLive {
    fn is_live(&self, _stream_id: &str) -> bool {
        false
    }
}
