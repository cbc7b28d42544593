//! The shared store: Redis, so that any number of servers serve the same rooms.
//!
//! Every server keeps a copy of the rooms in memory and changes a room only through
//! [`Change::Expect`]: a batch applies, in one Lua script (atomic in Redis), only if the room is
//! stored exactly as the changing server's copy has it. Two servers racing for a room's last
//! place therefore cannot both win; the loser re-reads the room and finds it full. Each change
//! publishes a note on [`NOTES_CHANNEL`] carrying the room as stored, so every server's copy (and
//! its event sockets) follow within a round trip.
//!
//! Layout (all under [`KEY_PREFIX`]):
//! - `room:{id}` → JSON of [`StoredRoom`](super::StoredRoom), as the embedded store has it;
//! - `order:{kind}` → sorted set of room IDs by creation `seq`; `seq` → the last `seq` given;
//! - `gone:{id}` → why room `id` closed, for [`GONE_TTL_SECS`] (for a server that missed the note);
//! - `revoked` → hash userID → unix seconds (see [`Change::Revoke`]);
//! - `heard` → hash `"{room}\n{user}"` → `"{unix ms} {origin}"`: the member's last heartbeat on
//!   any server, and which server took it;
//! - `keys` → the signing keys as the keys file has them (made by the first server);
//! - `nonce:{user}\n{nonce}` → a request nonce seen by any server, until it leaves the window;
//! - `created:{user}` → sorted set of the user's recent room creations (unix ms), for the
//!   per-user creation rate across servers.
//!
//! Notes (one line each, fields split by `\n`): `R\n{id}\n{room JSON}` (put),
//! `G\n{id}\n{reason}` (closed), `E\n{origin}\n{id}\n{event JSON}` (an event for the room's
//! sockets, from the server numbered `origin`).

use super::keys::Keys;
use super::redis_scripts::{APPLY_SCRIPT, BEAT_SCRIPT, CREATION_SCRIPT};
use super::{
    Beat, Change, Fetched, Heard, RoomStore, SharedStore, StoreContents, StoreError, StoredRoom,
};
use crate::lock;
use futures_util::future::BoxFuture;
use quartet_proto::RoomKind;
use quartet_proto::event::CloseReason;
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Prefix of every key and channel, so one Redis database can hold other things too.
pub const KEY_PREFIX: &str = "quartet:";
/// The channel of room changes and room events.
pub const NOTES_CHANNEL: &str = "quartet:notes";
/// How long a closed room's reason is kept for servers that missed its note.
pub const GONE_TTL_SECS: u64 = 300;
/// Longest wait to connect to Redis; a request then fails rather than hangs.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Blocking connections to Redis per server, for changes and the rarer reads (lists, nonces,
/// the sweep's heartbeats): one waits while another change is answered. Redis serves each in
/// turn, so more buy nothing on the two to four cores a server has. Polls and heartbeats share
/// one more, multiplexed, that holds no thread.
pub const CONNECTIONS: usize = 4;
/// Longest wait for one answer from Redis.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

/// Rooms, revocations, heartbeats and keys in Redis.
pub struct RedisStore {
    client: redis::Client,
    url: String,
    /// [`CONNECTIONS`] connections, each made when first needed and again after it fails.
    conns: Vec<Mutex<Option<redis::Connection>>>,
    /// Where the next caller that finds every connection busy waits.
    next: AtomicUsize,
    apply: redis::Script,
    beat: redis::Script,
    creation: redis::Script,
    /// The signing keys as [`RedisStore::keys`] found them, to put back into a Redis that lost
    /// them.
    keys: Mutex<Option<Vec<u8>>>,
    /// The connection of the hot path (heartbeats, polls): shared by every request, which
    /// waits for its answer without holding a thread; Redis answers pipelined commands in order.
    aio: Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").finish_non_exhaustive()
    }
}

fn backend(e: redis::RedisError) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn key(name: &str) -> String {
    format!("{KEY_PREFIX}{name}")
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    }
}

/// A stored room's JSON read back.
fn parse_room(id: &str, json: &str) -> Result<StoredRoom, StoreError> {
    serde_json::from_str(json).map_err(|e| corrupt(&format!("room:{id}"), e))
}

impl RedisStore {
    /// Connects to `url` (`redis://HOST:PORT/DB`) and checks that Redis answers.
    pub fn open(url: &str) -> Result<RedisStore, StoreError> {
        let open = |e: redis::RedisError| StoreError::Open {
            path: PathBuf::from(url),
            source: Box::new(e),
        };
        let client = redis::Client::open(url).map_err(open)?;
        let store = RedisStore {
            client,
            url: url.to_owned(),
            conns: (0..CONNECTIONS).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            apply: redis::Script::new(APPLY_SCRIPT),
            beat: redis::Script::new(BEAT_SCRIPT),
            creation: redis::Script::new(CREATION_SCRIPT),
            keys: Mutex::new(None),
            aio: Mutex::new(None),
        };
        store
            .run(|c| redis::cmd("PING").query::<String>(c))
            .map_err(|e| match e {
                StoreError::Backend(source) => StoreError::Open {
                    path: PathBuf::from(url),
                    source,
                },
                e => e,
            })?;
        Ok(store)
    }

    /// Runs `f` on the connection, connecting first if there is none; a failed connection is
    /// dropped so the next call connects again.
    fn run<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let mut slot = self.connection();
        let conn = match slot.as_mut() {
            Some(conn) => conn,
            None => {
                let conn = self
                    .client
                    .get_connection_with_timeout(CONNECT_TIMEOUT)
                    .map_err(backend)?;
                conn.set_read_timeout(Some(REPLY_TIMEOUT))
                    .map_err(backend)?;
                conn.set_write_timeout(Some(REPLY_TIMEOUT))
                    .map_err(backend)?;
                slot.insert(conn)
            }
        };
        f(conn).map_err(|e| {
            if e.is_unrecoverable_error() || e.is_io_error() || e.is_timeout() {
                *slot = None;
            }
            backend(e)
        })
    }

    /// The hot path's connection, made when first needed and again after it failed.
    async fn aio(&self) -> Result<MultiplexedConnection, StoreError> {
        if let Some(conn) = lock(&self.aio).clone() {
            return Ok(conn);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(REPLY_TIMEOUT));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(backend)?;
        *lock(&self.aio) = Some(conn.clone());
        Ok(conn)
    }

    /// `e` of the hot path's connection; one that broke is dropped, so the next call connects.
    fn aio_failed(&self, e: redis::RedisError) -> StoreError {
        if e.is_unrecoverable_error() || e.is_io_error() || e.is_timeout() {
            *lock(&self.aio) = None;
        }
        backend(e)
    }

    /// A free connection slot, or, when all are busy, the next one in turn to wait for.
    fn connection(&self) -> MutexGuard<'_, Option<redis::Connection>> {
        for slot in &self.conns {
            if let Ok(free) = slot.try_lock() {
                return free;
            }
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
        lock(&self.conns[turn])
    }

    /// The signing keys the servers of this Redis share, made by the first one to ask.
    pub fn keys(&self) -> Result<Keys, StoreError> {
        let fresh = Keys::generate()?
            .to_json()
            .map_err(|e| corrupt("keys", e))?;
        let name = key("keys");
        let json: Vec<u8> = self.run(|c| {
            redis::cmd("SET").arg(&name).arg(&fresh).arg("NX").exec(c)?;
            redis::cmd("GET").arg(&name).query(c)
        })?;
        let keys = Keys::parse(&PathBuf::from(format!("{} {name}", self.url)), &json)?;
        *lock(&self.keys) = Some(json);
        Ok(keys)
    }
}

/// The script's five fields for `change`.
fn fields(change: &Change) -> Result<[String; 5], StoreError> {
    let json = |room: &StoredRoom| serde_json::to_string(room).map_err(|e| corrupt(&room.id, e));
    Ok(match change {
        Change::Expect { id, room } => match room {
            Some(room) => [
                "expect".into(),
                id.clone(),
                json(room)?,
                "1".into(),
                "".into(),
            ],
            None => [
                "expect".into(),
                id.clone(),
                "".into(),
                "0".into(),
                "".into(),
            ],
        },
        Change::PutRoom(room) => [
            "put".into(),
            room.id.clone(),
            json(room)?,
            room.kind.to_string(),
            room.seq.to_string(),
        ],
        Change::DeleteRoom { id, reason } => [
            "del".into(),
            id.clone(),
            reason.as_str().into(),
            GONE_TTL_SECS.to_string(),
            "".into(),
        ],
        Change::Revoke {
            user_id,
            before_unix,
        } => [
            "revoke".into(),
            user_id.clone(),
            before_unix.to_string(),
            "".into(),
            "".into(),
        ],
        Change::Forget(user_id) => [
            "forget".into(),
            user_id.clone(),
            "".into(),
            "".into(),
            "".into(),
        ],
    })
}

impl RoomStore for RedisStore {
    fn load(&self) -> Result<StoreContents, StoreError> {
        let mut contents = StoreContents::default();
        for kind in RoomKind::ALL {
            let order = key(&format!("order:{kind}"));
            let ids: Vec<String> =
                self.run(|c| redis::cmd("ZRANGE").arg(&order).arg(0).arg(-1).query(c))?;
            contents.rooms.extend(self.rooms(&ids)?);
        }
        let revoked: Vec<(String, u64)> =
            self.run(|c| redis::cmd("HGETALL").arg(key("revoked")).query(c))?;
        contents.revoked_before = revoked.into_iter().collect();
        Ok(contents)
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut args = Vec::with_capacity(changes.len() * 5);
        for change in changes {
            args.extend(fields(change)?);
        }
        let answer: String = self.run(|c| {
            let mut call = self.apply.prepare_invoke();
            call.key(KEY_PREFIX);
            for arg in &args {
                call.arg(arg);
            }
            call.invoke(c)
        })?;
        match answer.strip_prefix("conflict:") {
            Some(room_id) => Err(StoreError::Conflict(room_id.to_owned())),
            None => Ok(()),
        }
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn room(&self, id: &str) -> Result<Option<StoredRoom>, StoreError> {
        Ok(self.rooms(&[id.to_owned()])?.pop())
    }

    fn shared(&self) -> Option<&dyn SharedStore> {
        Some(self)
    }
}

impl SharedStore for RedisStore {
    fn next_seq(&self) -> Result<u64, StoreError> {
        self.run(|c| redis::cmd("INCR").arg(key("seq")).query(c))
    }

    fn page(
        &self,
        kind: RoomKind,
        index: usize,
        cnt: usize,
    ) -> Result<(Vec<String>, usize), StoreError> {
        let order = key(&format!("order:{kind}"));
        let total: usize = self.run(|c| redis::cmd("ZCARD").arg(&order).query(c))?;
        if cnt == 0 || index >= total {
            return Ok((Vec::new(), total));
        }
        let last = index.saturating_add(cnt - 1);
        let ids = self.run(|c| {
            redis::cmd("ZRANGE")
                .arg(&order)
                .arg(index)
                .arg(last)
                .query(c)
        })?;
        Ok((ids, total))
    }

    fn rooms(&self, ids: &[String]) -> Result<Vec<StoredRoom>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| key(&format!("room:{id}"))).collect();
        let found: Vec<Option<String>> = self.run(|c| redis::cmd("MGET").arg(&keys).query(c))?;
        ids.iter()
            .zip(found)
            .filter_map(|(id, json)| json.map(|json| parse_room(id, &json)))
            .collect()
    }

    fn heard(&self, room_id: &str, user_id: &str, heard: Heard) -> Result<(), StoreError> {
        let field = format!("{room_id}\n{user_id}");
        let value = format!("{} {}", heard.unix_ms, heard.origin);
        self.run(|c| {
            redis::cmd("HSET")
                .arg(key("heard"))
                .arg(&field)
                .arg(&value)
                .exec(c)
        })
    }

    fn last_heard(&self, members: &[(&str, &str)]) -> Result<Vec<Option<Heard>>, StoreError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let fields: Vec<String> = members.iter().map(|(r, u)| format!("{r}\n{u}")).collect();
        let found: Vec<Option<String>> =
            self.run(|c| redis::cmd("HMGET").arg(key("heard")).arg(&fields).query(c))?;
        Ok(found
            .into_iter()
            .map(|v| {
                let v = v?;
                let (ms, origin) = v.split_once(' ')?;
                Some(Heard {
                    unix_ms: ms.parse().ok()?,
                    origin: origin.parse().ok()?,
                })
            })
            .collect())
    }

    fn publish_event(
        &self,
        origin: u64,
        room_id: &str,
        event_json: &str,
    ) -> Result<(), StoreError> {
        let note = format!("E\n{origin}\n{room_id}\n{event_json}");
        self.run(|c| redis::cmd("PUBLISH").arg(NOTES_CHANNEL).arg(&note).exec(c))
    }

    fn claim_nonce(
        &self,
        user_id: &str,
        nonce: &str,
        expires_unix_ms: u64,
    ) -> Result<bool, StoreError> {
        let name = key(&format!("nonce:{user_id}\n{nonce}"));
        let set: Option<String> = self.run(|c| {
            redis::cmd("SET")
                .arg(&name)
                .arg(1)
                .arg("NX")
                .arg("PXAT")
                .arg(expires_unix_ms)
                .query(c)
        })?;
        Ok(set.is_some())
    }

    fn fetch<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Fetched, StoreError>> {
        Box::pin(async move {
            let mut conn = self.aio().await?;
            let (room, gone): (Option<String>, Option<String>) = redis::pipe()
                .cmd("GET")
                .arg(key(&format!("room:{id}")))
                .cmd("GET")
                .arg(key(&format!("gone:{id}")))
                .query_async(&mut conn)
                .await
                .map_err(|e| self.aio_failed(e))?;
            Ok(match room {
                Some(json) => Fetched::Room(parse_room(id, &json)?),
                None => Fetched::Gone(gone.as_deref().and_then(CloseReason::parse)),
            })
        })
    }

    fn beat<'a>(
        &'a self,
        room_id: &'a str,
        user_id: &'a str,
        nonce: Option<(&'a str, u64)>,
        heard: Heard,
    ) -> BoxFuture<'a, Result<Beat, StoreError>> {
        Box::pin(async move {
            let (nonce_key, expires) = match nonce {
                Some((nonce, expires)) => (format!("nonce:{user_id}\n{nonce}"), expires),
                None => (String::new(), 0),
            };
            let needle = serde_json::to_string(user_id)
                .map(|quoted| format!("\"userID\":{quoted}"))
                .map_err(|e| corrupt(&format!("room:{room_id}"), e))?;
            let mut conn = self.aio().await?;
            let outcome: String = self
                .beat
                .key(KEY_PREFIX)
                .arg(&nonce_key)
                .arg(expires)
                .arg(room_id)
                .arg(user_id)
                .arg(&needle)
                .arg(format!("{} {}", heard.unix_ms, heard.origin))
                .invoke_async(&mut conn)
                .await
                .map_err(|e| self.aio_failed(e))?;
            match outcome.as_str() {
                "heard" => Ok(Beat::Heard),
                "absent" => Ok(Beat::Absent),
                "replayed" => Ok(Beat::Replayed),
                other => Err(corrupt("beat", format!("unexpected answer {other:?}"))),
            }
        })
    }

    fn admit_creation(
        &self,
        user_id: &str,
        now_unix_ms: u64,
        tag: &str,
        max: usize,
        window: Duration,
    ) -> Result<Option<Duration>, StoreError> {
        let wait: i64 = self.run(|c| {
            self.creation
                .key(KEY_PREFIX)
                .arg(user_id)
                .arg(now_unix_ms)
                .arg(window.as_millis() as u64)
                .arg(max)
                .arg(tag)
                .invoke(c)
        })?;
        Ok(u64::try_from(wait).ok().map(Duration::from_millis))
    }

    fn restore_keys(&self) -> Result<bool, StoreError> {
        let Some(json) = lock(&self.keys).clone() else {
            return Ok(false);
        };
        let set: Option<String> = self.run(|c| {
            redis::cmd("SET")
                .arg(key("keys"))
                .arg(json)
                .arg("NX")
                .query(c)
        })?;
        Ok(set.is_some())
    }

    fn gone(&self, id: &str) -> Result<Option<CloseReason>, StoreError> {
        let reason: Option<String> =
            self.run(|c| redis::cmd("GET").arg(key(&format!("gone:{id}"))).query(c))?;
        Ok(reason.as_deref().and_then(CloseReason::parse))
    }

    fn notes_url(&self) -> &str {
        &self.url
    }
}
