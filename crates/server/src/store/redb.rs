//! The embedded store: one redb file in the data directory.
//!
//! redb rather than SQLite: it is pure Rust (no C toolchain, nothing to bundle, builds in
//! seconds on the machines that build the server), ACID with copy-on-write commits that
//! survive a crash at any point, one file with a lock that keeps a second server out, and a
//! key-value shape that fits what is stored (a room snapshot per room ID, a timestamp per
//! user) with no schema or query language to carry. The server never queries across records;
//! it loads everything once at start and then only writes.
//!
//! Format ([`STORE_FORMAT`] 1), tables:
//! - `meta`: `"format"` → 1.
//! - `rooms`: room ID → JSON of [`StoredRoom`](super::StoredRoom): `{"id", "kind"
//!   (multi_room|double_room|live_room), "name", "creator", "capacity", "seq", "members":
//!   [{"userID", "userName", "userAvatar", "pushURL"}]}`.
//! - `revoked_before`: userID → unix seconds; signed URLs of that user's stream issued before
//!   then are revoked.

use super::{Change, RoomStore, StoreContents, StoreError, StoredRoom};
use ::redb::{Database, ReadableTable, TableDefinition};
use std::path::{Path, PathBuf};

/// Name of the room store's file in the data directory.
pub const ROOMS_FILE: &str = "rooms.redb";
/// Version of the layout described above; a file of a newer version is refused, not misread.
pub const STORE_FORMAT: u64 = 1;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const ROOMS: TableDefinition<&str, &[u8]> = TableDefinition::new("rooms");
const REVOKED: TableDefinition<&str, u64> = TableDefinition::new("revoked_before");
const FORMAT_KEY: &str = "format";

/// Rooms and revocations in a redb file.
pub struct RedbStore {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn backend(e: impl Into<::redb::Error>) -> StoreError {
    StoreError::Backend(Box::new(e.into()))
}

impl RedbStore {
    /// Opens `path`, creating it (with its tables) if it does not exist.
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        let db = Database::create(path).map_err(|source| StoreError::Open {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        let store = RedbStore {
            db,
            path: path.to_owned(),
        };
        store.prepare()?;
        Ok(store)
    }

    /// Creates missing tables and checks the format.
    fn prepare(&self) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(backend)?;
        {
            let mut meta = tx.open_table(META).map_err(backend)?;
            let found = meta.get(FORMAT_KEY).map_err(backend)?.map(|v| v.value());
            match found {
                None => {
                    meta.insert(FORMAT_KEY, STORE_FORMAT).map_err(backend)?;
                }
                Some(found) if found > STORE_FORMAT => {
                    return Err(StoreError::Format {
                        path: self.path.clone(),
                        found,
                    });
                }
                Some(_) => {}
            }
            tx.open_table(ROOMS).map_err(backend)?;
            tx.open_table(REVOKED).map_err(backend)?;
        }
        tx.commit().map_err(backend)
    }

    /// The file it keeps.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl RoomStore for RedbStore {
    fn load(&self) -> Result<StoreContents, StoreError> {
        let tx = self.db.begin_read().map_err(backend)?;
        let mut contents = StoreContents::default();
        let rooms = tx.open_table(ROOMS).map_err(backend)?;
        for entry in rooms.iter().map_err(backend)? {
            let (key, value) = entry.map_err(backend)?;
            let room: StoredRoom =
                serde_json::from_slice(value.value()).map_err(|e| StoreError::Corrupt {
                    key: key.value().to_owned(),
                    reason: e.to_string(),
                })?;
            contents.rooms.push(room);
        }
        let revoked = tx.open_table(REVOKED).map_err(backend)?;
        for entry in revoked.iter().map_err(backend)? {
            let (user, before) = entry.map_err(backend)?;
            contents
                .revoked_before
                .insert(user.value().to_owned(), before.value());
        }
        Ok(contents)
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin_write().map_err(backend)?;
        {
            let mut rooms = tx.open_table(ROOMS).map_err(backend)?;
            let mut revoked = tx.open_table(REVOKED).map_err(backend)?;
            for change in changes {
                match change {
                    Change::PutRoom(room) => {
                        let json = serde_json::to_vec(room).map_err(|e| StoreError::Corrupt {
                            key: room.id.clone(),
                            reason: e.to_string(),
                        })?;
                        rooms
                            .insert(room.id.as_str(), json.as_slice())
                            .map_err(backend)?;
                    }
                    Change::DeleteRoom { id, .. } => {
                        rooms.remove(id.as_str()).map_err(backend)?;
                    }
                    Change::Expect { id, room } => {
                        // Returning drops the transaction uncommitted: nothing of the batch.
                        if read_room(&rooms, id)? != *room {
                            return Err(StoreError::Conflict(id.clone()));
                        }
                    }
                    Change::Revoke {
                        user_id,
                        before_unix,
                    } => {
                        let old = revoked
                            .get(user_id.as_str())
                            .map_err(backend)?
                            .map(|v| v.value());
                        let before = old.map_or(*before_unix, |old| old.max(*before_unix));
                        revoked.insert(user_id.as_str(), before).map_err(backend)?;
                    }
                    Change::Forget(user_id) => {
                        revoked.remove(user_id.as_str()).map_err(backend)?;
                    }
                }
            }
        }
        tx.commit().map_err(backend)
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn room(&self, id: &str) -> Result<Option<StoredRoom>, StoreError> {
        let tx = self.db.begin_read().map_err(backend)?;
        read_room(&tx.open_table(ROOMS).map_err(backend)?, id)
    }
}

/// Room `id` of table `rooms`, if stored.
fn read_room(
    rooms: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Option<StoredRoom>, StoreError> {
    let Some(value) = rooms.get(id).map_err(backend)? else {
        return Ok(None);
    };
    serde_json::from_slice(value.value())
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            key: id.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoredMember;
    use quartet_proto::RoomKind;
    use quartet_proto::event::CloseReason;

    fn room(id: &str, seq: u64) -> StoredRoom {
        StoredRoom {
            id: id.into(),
            kind: RoomKind::LiveRoom,
            name: "名字 with \"quotes\"".into(),
            creator: "a".into(),
            capacity: 4,
            seq,
            members: vec![StoredMember {
                user_id: "a".into(),
                user_name: "A".into(),
                user_avatar: "a.png".into(),
                push_url: "rtmp://x/live/8888_a".into(),
                sharing_screen: true,
            }],
            version: 1,
            relay: None,
        }
    }

    #[test]
    fn changes_survive_reopening_and_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ROOMS_FILE);
        {
            let store = RedbStore::open(&path).unwrap();
            store
                .apply(&[
                    Change::PutRoom(room("r1", 1)),
                    Change::PutRoom(room("r2", 2)),
                    Change::Revoke {
                        user_id: "u".into(),
                        before_unix: 100,
                    },
                    Change::Revoke {
                        user_id: "v".into(),
                        before_unix: 7,
                    },
                ])
                .unwrap();
            store
                .apply(&[
                    Change::DeleteRoom {
                        id: "r1".into(),
                        reason: CloseReason::Destroyed,
                    },
                    Change::DeleteRoom {
                        id: "never there".into(),
                        reason: CloseReason::Destroyed,
                    },
                    Change::Revoke {
                        user_id: "u".into(),
                        before_unix: 50,
                    },
                    Change::Forget("v".into()),
                ])
                .unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(loaded.rooms, [room("r2", 2)]);
        assert_eq!(loaded.revoked_before.len(), 1);
        assert_eq!(
            loaded.revoked_before["u"], 100,
            "a revocation never moves back"
        );
    }

    #[test]
    fn a_second_open_of_the_same_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ROOMS_FILE);
        let _first = RedbStore::open(&path).unwrap();
        let e = RedbStore::open(&path).unwrap_err();
        assert!(matches!(e, StoreError::Open { .. }), "{e}");
    }

    #[test]
    fn a_newer_format_is_refused_not_misread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ROOMS_FILE);
        {
            let db = Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert(FORMAT_KEY, STORE_FORMAT + 1)
                .unwrap();
            tx.commit().unwrap();
        }
        let e = RedbStore::open(&path).unwrap_err();
        assert!(matches!(e, StoreError::Format { found: 2, .. }), "{e}");
    }

    #[test]
    fn an_unreadable_room_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(ROOMS_FILE);
        let store = RedbStore::open(&path).unwrap();
        {
            let tx = store.db.begin_write().unwrap();
            tx.open_table(ROOMS)
                .unwrap()
                .insert("bad", b"{not json".as_slice())
                .unwrap();
            tx.commit().unwrap();
        }
        let e = store.load().unwrap_err();
        assert!(e.to_string().contains("\"bad\""), "{e}");
    }
}
