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

pub use self::keys::{KEYS_FILE, KEYS_FORMAT, KeyError, Keys, SECRET_BYTES};
pub use self::redb::{ROOMS_FILE, RedbStore, STORE_FORMAT};

use crate::config::{ServerConfig, Storage};
use quartet_proto::RoomKind;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Remove a room (absent already is fine).
    DeleteRoom(String),
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
}

/// Opens the store `config.storage` names and, for a data directory, puts its signing keys into
/// `config` where `config` still has the per-process random ones (keys given explicitly win).
/// Opening the room store first also locks the directory against a second server.
pub fn open_storage(config: &mut ServerConfig) -> Result<Arc<dyn RoomStore>, StoreError> {
    let dir = match &config.storage {
        Storage::Memory => return Ok(Arc::new(NoStore)),
        Storage::Dir(dir) => dir.clone(),
    };
    create_private_dir(&dir)?;
    let store = RedbStore::open(&dir.join(ROOMS_FILE))?;
    let keys = Keys::load_or_create(&dir)?;
    if config.has_random_push_key() {
        config.push_secret_key = keys.push_secret_key;
    }
    if config.has_random_token_secret() {
        config.token_secret = keys.token_secret;
    }
    Ok(Arc::new(store))
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
