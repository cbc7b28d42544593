//! Wire types of the RTCRoom v1 room API (`shared/spec/room-api.md`) and Quartet's extensions.
//!
//! Everything here is plain data and pure functions: requests, responses, result codes, event
//! channel messages, ID generation and the two signatures (stream URLs and `userSig` tokens).
//! The server, the client engine and the relay share these so they can never disagree on a byte.

pub mod api;
pub mod code;
pub mod event;
pub mod fields;
pub mod ids;
pub mod invite;
pub mod kind;
pub mod limits;
pub mod nonce;
pub mod redact;
pub mod sign;
pub mod token;

pub use api::*;
pub use code::{Code, DETAIL_FIELD, Reply};
pub use event::{ClientEvent, ServerEvent};
pub use fields::{Fields, FieldsError};
pub use invite::{INVITE_SCHEME, InviteError, InviteLink};
pub use kind::RoomKind;
