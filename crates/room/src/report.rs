//! What a session tells its owner: events and errors. Both the handle side (`session`) and
//! the actor use it, so it depends on neither.

use crate::api::ApiError;
use crate::members::Member;
use quartet_proto::{Code, Endpoint};

/// `RoomClosed` reason when the server no longer knows the room (code 3).
pub const REASON_ROOM_GONE: &str = "room_gone";
/// `RoomClosed` reason when the member list no longer names us (v1 clients' rule).
pub const REASON_NOT_LISTED: &str = "not_listed";
/// `RoomClosed` reason when we were evicted and the room would not take us back.
pub const REASON_REJOIN_REFUSED: &str = "rejoin_refused";

/// Something that happened in the room.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// We are in the room (always the first event).
    Joined {
        /// The room.
        room_id: String,
        /// Our userID.
        user_id: String,
        /// Everyone in the room, creator first, us included.
        members: Vec<Member>,
    },
    /// Someone joined.
    MemberJoined(Member),
    /// Someone left (or was evicted).
    MemberLeft(Member),
    /// Someone's name, avatar, role or stream changed.
    MemberUpdated(Member),
    /// Someone's play URL was signed again for the same stream (every member list carries fresh
    /// signatures); nothing a user sees changed, but the next connection needs the new URL.
    PlayUrlRenewed(Member),
    /// The creator left and handed the room to us (ext): our leaving now closes it unless we
    /// hand it on in turn.
    BecameCreator,
    /// A text message (ext event channel only).
    Text {
        /// Sender's userID.
        user_id: String,
        /// Sender's display name.
        nick_name: String,
        /// Sender's avatar.
        head_pic: String,
        /// The text.
        text: String,
        /// When the server accepted it, unix milliseconds.
        time: u64,
    },
    /// The room is gone, or we are no longer in it; the session has ended.
    RoomClosed {
        /// The server's reason, or one of the `REASON_*` constants.
        reason: String,
    },
    /// The server stopped answering; retrying.
    ConnectionLost,
    /// The server answers again.
    ConnectionRestored,
    /// The server had dropped us (code 5) and we joined again; with a new identity if our token
    /// was refused (code 7), so restart pushing if `push_url` changed.
    Rejoined {
        /// Our userID now.
        user_id: String,
        /// Where to push now.
        push_url: String,
    },
}

/// How the session learns about membership changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipSource {
    /// The event channel is open.
    Events,
    /// Polling `get_pushers` (no event channel, or it is being reopened).
    Polling,
}

/// Why a session call failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The configuration lacks a field the server requires.
    #[error("`{0}` must not be empty")]
    InvalidConfig(&'static str),
    /// The API client could not be set up (e.g. a server URL that is not http or https).
    #[error("cannot set up the room session: {0}")]
    Setup(#[source] ApiError),
    /// A call to the room server failed.
    #[error("{step} failed: {source}")]
    Api {
        /// The endpoint that failed.
        step: Endpoint,
        /// How it failed.
        #[source]
        source: ApiError,
    },
    /// The server accepted us but does not list us in the room.
    #[error("joined room {room_id}, but the server does not list us in it")]
    NotListed {
        /// The room.
        room_id: String,
    },
    /// A text message must have some text.
    #[error("a text message must not be empty")]
    EmptyText,
    /// The session has ended (left, room closed, or stopped).
    #[error("the room session has ended")]
    Closed,
}

impl SessionError {
    /// The server's result code, when it answered with one (e.g. 3 for an unknown room).
    pub fn code(&self) -> Option<Code> {
        match self {
            SessionError::Api { source, .. } => source.code(),
            _ => None,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, SessionError::Api { source, .. } if source.is_transient())
    }

    pub(crate) fn api(step: Endpoint) -> impl FnOnce(ApiError) -> SessionError {
        move |source| SessionError::Api { step, source }
    }
}
