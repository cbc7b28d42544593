//! State that outlives the process: rooms with their members, per-user revocations of signed
//! URLs, and (beside them, in the same data directory) the signing keys.
//!
//! Everything goes through [`RoomStore`], a small trait of "load everything" and "apply these
//! changes atomically", so that a shared store (Redis, for several servers) can stand where the
//! embedded one stands now. The registry writes through it before it changes its memory, so
//! what a client was answered is always what the store holds. Heartbeats and event sockets are
//! not stored: a restored member gets a fresh heartbeat grace instead.
//!
//! The embedded store is [redb](https://www.redb.org) ([`RedbStore`]); see its module for why.

mod keys;
mod redb;
mod redis;
mod redis_scripts;

pub use self::keys::{KEYS_FILE, KEYS_FORMAT, KeyError, Keys, SECRET_BYTES};
pub use self::redb::{ROOMS_FILE, RedbStore, STORE_FORMAT};
pub use self::redis::{
    CONNECT_TIMEOUT, CONNECTIONS, GONE_TTL_SECS, KEY_PREFIX, NOTES_CHANNEL, REPLY_TIMEOUT,
    RedisStore,
};

use crate::config::{ServerConfig, Storage};
use futures_util::future::BoxFuture;
use quartet_proto::RoomKind;
use quartet_proto::event::CloseReason;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// One member as stored: what it shows and the push URL it said it uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMember {
    /// The member's userID.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// Nickname.
    pub user_name: String,
    /// Avatar URL.
    pub user_avatar: String,
    /// The push URL the client gave.
    #[serde(rename = "pushURL")]
    pub push_url: String,
    /// Its stream shows a shared screen (ext); absent in stores written before it existed.
    #[serde(default)]
    pub sharing_screen: bool,
}

/// The relay a room's streams live on, when several relays serve one set of rooms (each server
/// of a shared store with its own embedded relay): the one of the server that created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomRelay {
    /// Base of its push URLs.
    pub rtmp_base: String,
    /// Base of its play URLs.
    pub play_base: String,
}

/// One room as stored: everything but its sockets and its members' heartbeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRoom {
    /// Its ID.
    pub id: String,
    /// Its kind.
    pub kind: RoomKind,
    /// Display name.
    pub name: String,
    /// The creator's userID.
    pub creator: String,
    /// Member limit, fixed at creation.
    pub capacity: usize,
    /// Creation order among all rooms (room lists are in this order).
    pub seq: u64,
    /// Members in join order, creator first.
    pub members: Vec<StoredMember>,
    /// Raised by one with every change, so a server sharing the store never takes an older
    /// state of the room for a newer one; 0 in stores written before it existed.
    #[serde(default)]
    pub version: u64,
    /// Where its streams live; absent when every room's streams live on the server's one relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<RoomRelay>,
}

/// Everything a store holds, as loaded at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreContents {
    /// Every room, in no particular order.
    pub rooms: Vec<StoredRoom>,
    /// Per userID: signed URLs of its stream issued before this unix second are revoked.
    pub revoked_before: HashMap<String, u64>,
}

/// One change; a batch of them is applied atomically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Create or replace a room.
    PutRoom(StoredRoom),
    /// Remove a room (absent already is fine), closed for `reason` (which a shared store tells
    /// the other servers, for their sockets in the room).
    DeleteRoom {
        /// The room.
        id: String,
        /// Why it closed.
        reason: CloseReason,
    },
    /// A precondition: the batch applies only if room `id` is stored exactly as `room` (or,
    /// for `None`, not at all). Servers sharing a store each change rooms from their own copy;
    /// this is what keeps two of them from both admitting a room's last free place.
    Expect {
        /// The room.
        id: String,
        /// How it must be stored now.
        room: Option<StoredRoom>,
    },
    /// URLs of `user_id`'s stream issued before `before_unix` are revoked (a later revocation
    /// of the same user replaces an earlier one, never the other way round).
    Revoke {
        /// The user.
        user_id: String,
        /// Unix seconds.
        before_unix: u64,
    },
    /// Forget a revocation that no URL can outlive any more.
    Forget(String),
}

/// Why the store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be made or read.
    #[error("data directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store could not be opened (another server may hold it).
    #[error("room store {path}: {source}")]
    Open {
        /// The file or address.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A read or write failed.
    #[error("room store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored record could not be read back.
    #[error("room store record {key:?} is unreadable: {reason}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// Why.
        reason: String,
    },
    /// The file was written by a newer format this server does not know.
    #[error("room store {path} has format {found}; this server reads format {STORE_FORMAT}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The format found.
        found: u64,
    },
    /// A [`Change::Expect`] did not hold (another server changed the room first): nothing
    /// was applied, and the change may be tried again from the room as stored now.
    #[error("room {0:?} changed meanwhile; nothing was applied")]
    Conflict(String),
    /// The signing keys could not be read or made.
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// Where rooms are kept: the embedded store, a shared one, or nowhere.
pub trait RoomStore: Send + Sync + 'static {
    /// Everything stored.
    fn load(&self) -> Result<StoreContents, StoreError>;
    /// Applies `changes` all together or not at all, durably before returning.
    fn apply(&self, changes: &[Change]) -> Result<(), StoreError>;
    /// Whether what is applied outlives the process (so a shutdown must not close rooms).
    fn is_durable(&self) -> bool;
    /// Room `id` as stored now.
    fn room(&self, id: &str) -> Result<Option<StoredRoom>, StoreError>;
    /// The store's side for servers that share it, if others may share it.
    fn shared(&self) -> Option<&dyn SharedStore> {
        None
    }
}

/// A member heard from: when, and by which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heard {
    /// Unix milliseconds.
    pub unix_ms: u64,
    /// The server that heard it (see [`SharedStore::publish_event`]'s `origin`).
    pub origin: u64,
}

/// A room read from the shared store.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// As stored.
    Room(StoredRoom),
    /// Not stored: closed recently for this reason, or long ago or never (`None`).
    Gone(Option<CloseReason>),
}

/// What became of a heartbeat in the shared store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// Recorded as heard.
    Heard,
    /// The stored room does not have the member (or there is no such room); nothing recorded.
    Absent,
    /// Its nonce was claimed before: a replay; nothing recorded.
    Replayed,
}

/// What servers sharing one store need of it beyond rooms: creation order, heartbeats heard by
/// any of them, and a channel that carries room changes and events to all of them.
pub trait SharedStore: Send + Sync {
    /// The next room's place in creation order, unique across servers.
    fn next_seq(&self) -> Result<u64, StoreError>;
    /// IDs of up to `cnt` rooms of `kind` from offset `index`, in creation order, and how many
    /// rooms of `kind` there are.
    fn page(
        &self,
        kind: RoomKind,
        index: usize,
        cnt: usize,
    ) -> Result<(Vec<String>, usize), StoreError>;
    /// Those rooms of `ids` that are stored, in the same order.
    fn rooms(&self, ids: &[String]) -> Result<Vec<StoredRoom>, StoreError>;
    /// `user_id` of room `room_id` was heard from (a heartbeat) at `unix_ms` by the server
    /// numbered `origin`.
    fn heard(&self, room_id: &str, user_id: &str, heard: Heard) -> Result<(), StoreError>;
    /// When, and by which server, each `(room, user)` was last heard from.
    fn last_heard(&self, members: &[(&str, &str)]) -> Result<Vec<Option<Heard>>, StoreError>;
    /// Tells every server's sockets in `room_id` the event `event_json`; `origin` names the
    /// server telling it, which has told its own sockets already.
    fn publish_event(&self, origin: u64, room_id: &str, event_json: &str)
    -> Result<(), StoreError>;
    /// Records `user_id`'s `nonce` until `expires_unix_ms`; false if a server recorded it
    /// before (a request replayed to another server).
    fn claim_nonce(
        &self,
        user_id: &str,
        nonce: &str,
        expires_unix_ms: u64,
    ) -> Result<bool, StoreError>;
    /// Room `id` as stored, or why it closed: one round trip, waited for without holding a
    /// thread (the hot path of every poll).
    fn fetch<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Fetched, StoreError>>;
    /// One heartbeat in one round trip, waited for without holding a thread: claims `nonce`
    /// (and its expiry) as [`SharedStore::claim_nonce`] does, then, if stored room `room_id`
    /// has `user_id`, records it heard as [`SharedStore::heard`] does.
    fn beat<'a>(
        &'a self,
        room_id: &'a str,
        user_id: &'a str,
        nonce: Option<(&'a str, u64)>,
        heard: Heard,
    ) -> BoxFuture<'a, Result<Beat, StoreError>>;
    /// Counts a room creation by `user_id` at `now_unix_ms` (named `tag`, unique per
    /// creation), unless `user_id` created `max` within the `window` before: then how long
    /// until the oldest of those leaves it, and nothing is counted.
    fn admit_creation(
        &self,
        user_id: &str,
        now_unix_ms: u64,
        tag: &str,
        max: usize,
        window: Duration,
    ) -> Result<Option<Duration>, StoreError>;
    /// Puts the signing keys this server took from the store back if the store lost them (a
    /// Redis restarted empty), so servers started later sign as this one does; true if it did.
    fn restore_keys(&self) -> Result<bool, StoreError>;
    /// Why room `id` closed, if it closed recently.
    fn gone(&self, id: &str) -> Result<Option<CloseReason>, StoreError>;
    /// Where the channel is, for a subscriber of its notes.
    fn notes_url(&self) -> &str;
}

/// Keeps nothing: the server's rooms live and die with the process (tests, demos, `--ephemeral`).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStore;

impl RoomStore for NoStore {
    fn load(&self) -> Result<StoreContents, StoreError> {
        Ok(StoreContents::default())
    }

    fn apply(&self, _changes: &[Change]) -> Result<(), StoreError> {
        Ok(())
    }

    fn is_durable(&self) -> bool {
        false
    }

    fn room(&self, _id: &str) -> Result<Option<StoredRoom>, StoreError> {
        Ok(None)
    }
}

/// Opens the store `config.storage` names and puts its signing keys (the data directory's, or
/// those the servers of one Redis share) into `config` where `config` still has the
/// per-process random ones (keys given explicitly win).
/// Opening the room store first also locks the directory against a second server.
pub fn open_storage(config: &mut ServerConfig) -> Result<Arc<dyn RoomStore>, StoreError> {
    let (store, keys): (Arc<dyn RoomStore>, Keys) = match &config.storage {
        Storage::Memory => return Ok(Arc::new(NoStore)),
        Storage::Dir(dir) => {
            create_private_dir(dir)?;
            let store = RedbStore::open(&dir.join(ROOMS_FILE))?;
            (Arc::new(store), Keys::load_or_create(dir)?)
        }
        Storage::Redis(url) => {
            let store = RedisStore::open(url)?;
            let keys = store.keys()?;
            (Arc::new(store), keys)
        }
    };
    if config.has_random_push_key() {
        config.push_secret_key = keys.push_secret_key;
    }
    if config.has_random_token_secret() {
        config.token_secret = keys.token_secret;
    }
    Ok(store)
}

/// Makes `dir` (owner-only on Unix when it is new).
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| StoreError::Dir {
        path: dir.to_owned(),
        source,
    })
}
