//! The room client engine: a typed API client for the RTCRoom v1 room API (and Quartet's
//! extensions) and a session actor that joins a room and keeps its membership alive and in
//! sync, by the event channel where the server offers one and by polling where it does not.
//! No media: the session hands out push and play URLs; what is pushed is someone else's job.

mod actor;
pub mod api;
pub mod config;
pub mod events;
mod identity;
pub mod journal;
pub mod kinds;
pub mod leave;
pub mod members;
mod report;
pub mod session;

pub use api::{ApiClient, ApiError, RawReply};
pub use config::{EventMode, JoinTarget, SessionConfig, SessionTiming};
pub use events::EventChannelError;
pub use journal::{ApiCall, ChannelEntry, Journal};
pub use kinds::find_room_kind;
pub use leave::{LeaveMode, likely_heir};
pub use members::{Member, MemberChange, MemberDiff, diff_members, same_stream};
pub use quartet_retry::{Backoff, Delays};
pub use session::{
    MembershipSource, SessionError, SessionEvent, SessionHandle, connect, connect_recording,
};
