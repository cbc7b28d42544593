//! The three room kinds of v1, each a path segment under `/weapp/`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of v1's room kinds; they share every endpoint and differ in capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Many-to-many video call (v1 default capacity 4).
    MultiRoom,
    /// One-to-one video call (capacity 2).
    DoubleRoom,
    /// Live room with an anchor and co-hosts (capacity 4).
    LiveRoom,
}

impl RoomKind {
    /// Every kind, in the order v1 documented them.
    pub const ALL: [RoomKind; 3] = [
        RoomKind::MultiRoom,
        RoomKind::DoubleRoom,
        RoomKind::LiveRoom,
    ];

    /// The URL path segment, e.g. `multi_room`.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::MultiRoom => "multi_room",
            RoomKind::DoubleRoom => "double_room",
            RoomKind::LiveRoom => "live_room",
        }
    }

    /// The v1 demo's member limit for this kind.
    pub fn default_capacity(self) -> usize {
        match self {
            RoomKind::MultiRoom | RoomKind::LiveRoom => 4,
            RoomKind::DoubleRoom => 2,
        }
    }
}

impl fmt::Display for RoomKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text named no room kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown room kind {0:?} (expected multi_room, double_room or live_room)")]
pub struct UnknownKind(pub String);

impl FromStr for RoomKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RoomKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}
