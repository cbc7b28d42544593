//! The room server's shared state and the meaning of every endpoint, apart from HTTP.

use crate::config::ServerConfig;
use crate::keyframes::KeyframeRate;
use crate::liveness::StreamLiveness;
use crate::lock;
use crate::prejoin::{PreJoinRefusal, PreJoins};
use crate::presence::{self, Timeouts};
use crate::quota::{CreationRate, MAX_ROOMS_PER_USER, RateLimited};
use crate::replay::{NonceRefusal, SeenNonces};
use crate::rooms::{Now, Profile, Registry, Room, RoomError};
use crate::sockets::SocketSlots;
use crate::store::{NoStore, RoomStore};

mod admit;
mod channel;
mod im_link;
mod leave;
mod persist;
mod requests;
mod shared;

pub(crate) use admit::AuthError;
pub(crate) use channel::{PreJoinPass, Subscription};
use quartet_proto::event::CloseReason;
use quartet_proto::ids::IdGenerator;
use quartet_proto::sign::StreamSigner;
use quartet_proto::token::TokenKey;
use quartet_proto::{Code, FieldsError, Reply};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

/// `sdkAppID` answered by `get_im_login_info` when no IM application is configured: there is no
/// IM service behind this server.
pub const SDK_APP_ID: u64 = 0;
/// `accType` answered by `get_im_login_info` without IM, for the same reason.
pub const ACC_TYPE: &str = "0";
/// Longest room text message, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 4 * 1024;

/// Why a request was refused; each maps onto a code, and none changes any state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// A required field was missing.
    #[error("{0}")]
    Params(#[from] FieldsError),
    /// The text message was too long.
    #[error("msg is {len} bytes; the limit is {MAX_TEXT_BYTES}")]
    TextTooLong {
        /// Its length.
        len: usize,
    },
    /// The token was absent, invalid or for someone else.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The room or the member was not as the request needs.
    #[error(transparent)]
    Room(#[from] RoomError),
    /// Stream mixing is not offered.
    #[error("merge_stream: this server does not mix streams")]
    MergeNotSupported,
    /// Hand-over is turned off on this server.
    #[error("hand_over_room: this server does not hand rooms over")]
    HandOverOff,
    /// The request's nonce was malformed, stale or replayed.
    #[error(transparent)]
    Nonce(#[from] NonceRefusal),
    /// The user created rooms too fast.
    #[error(transparent)]
    CreationRate(#[from] RateLimited),
    /// The user holds too many event sockets in rooms it has not joined.
    #[error(transparent)]
    PreJoin(#[from] PreJoinRefusal),
    /// The user is already in as many rooms as it may be.
    #[error("{user_id:?} is already in {held} rooms; the limit is {MAX_ROOMS_PER_USER}")]
    TooManyRoomsForUser {
        /// The user.
        user_id: String,
        /// Rooms it is in.
        held: usize,
    },
}

impl Refusal {
    pub(crate) fn code(&self) -> Code {
        match self {
            Refusal::Params(_) | Refusal::TextTooLong { .. } => Code::BadParams,
            Refusal::Auth(_) => Code::AuthFailed,
            Refusal::Room(e) => e.code(),
            Refusal::MergeNotSupported | Refusal::HandOverOff => Code::NotSupported,
            Refusal::Nonce(NonceRefusal::Malformed(_)) => Code::BadParams,
            Refusal::Nonce(NonceRefusal::TooMany) => Code::QuotaExceeded,
            Refusal::Nonce(_) => Code::AuthFailed,
            Refusal::CreationRate(_)
            | Refusal::TooManyRoomsForUser { .. }
            | Refusal::PreJoin(_) => Code::QuotaExceeded,
        }
    }

    pub(crate) fn into_reply(self) -> Reply {
        Reply::error_with(self.code(), self.to_string())
    }
}

struct Inner {
    config: ServerConfig,
    liveness: Arc<dyn StreamLiveness>,
    signer: StreamSigner,
    tokens: TokenKey,
    ids: IdGenerator,
    registry: Mutex<Registry>,
    sockets: TaskTracker,
    store: Arc<dyn RoomStore>,
    /// Told when a member's eviction check may have moved earlier (its last socket closed).
    wake: Notify,
    /// Set once shutdown began: nothing is evicted (or written) any more.
    closing: AtomicBool,
    /// IDs are made no older than this (unix ms), so none repeats one restored from the store.
    id_floor_ms: u64,
    slots: Mutex<SocketSlots>,
    /// Event sockets of users that have not joined the room yet.
    prejoins: Mutex<PreJoins>,
    creations: Mutex<CreationRate>,
    nonces: Mutex<SeenNonces>,
    keyframes: Mutex<KeyframeRate>,
    /// Keyframe requests passed on, for tests and figures.
    keyframes_passed: AtomicU64,
    /// The Tencent Cloud IM application, when one is configured.
    im: Option<im_link::ImLink>,
    /// This process among servers sharing a store, so it skips the events it published.
    origin: u64,
}

/// The room server: configuration and the registry of rooms, shared by every request.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A room as listed, copied out so URLs are signed after the registry is released.
struct RoomView {
    id: String,
    name: String,
    creator: String,
    capacity: usize,
    relay: Option<crate::store::RoomRelay>,
    members: Vec<Profile>,
}

impl From<&Room> for RoomView {
    fn from(r: &Room) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            creator: r.creator.clone(),
            capacity: r.capacity,
            relay: r.relay.clone(),
            members: r.members().iter().map(|m| m.profile.clone()).collect(),
        }
    }
}

impl Server {
    /// A server with no rooms that keeps nothing beyond the process, whatever
    /// `config.storage` says (see [`Server::open`]); `liveness` tells whether a silent
    /// member's stream is still live.
    pub fn new(config: ServerConfig, liveness: Arc<dyn StreamLiveness>) -> Server {
        Self::build(config, liveness, Arc::new(NoStore), Registry::new(), 0)
    }

    fn build(
        config: ServerConfig,
        liveness: Arc<dyn StreamLiveness>,
        store: Arc<dyn RoomStore>,
        mut registry: Registry,
        id_floor_ms: u64,
    ) -> Server {
        let (im, feed) = im_link::ImLink::new(&config);
        registry.set_feed(feed);
        Server {
            inner: Arc::new(Inner {
                signer: StreamSigner::new(config.bizid.clone(), config.push_secret_key.clone()),
                tokens: TokenKey::new(config.token_secret.clone()),
                config,
                liveness,
                // Servers sharing a store make IDs in the same milliseconds: each counts from
                // its own random start, so theirs never meet.
                ids: match store.shared() {
                    Some(_) => IdGenerator::starting_at(u64::from(rand::random::<u32>()) << 16),
                    None => IdGenerator::new(),
                },
                registry: Mutex::new(registry),
                sockets: TaskTracker::new(),
                store,
                wake: Notify::new(),
                closing: AtomicBool::new(false),
                id_floor_ms,
                slots: Mutex::new(SocketSlots::default()),
                prejoins: Mutex::new(PreJoins::default()),
                creations: Mutex::new(CreationRate::default()),
                nonces: Mutex::new(SeenNonces::default()),
                keyframes: Mutex::new(KeyframeRate::default()),
                keyframes_passed: AtomicU64::new(0),
                im,
                origin: rand::random(),
            }),
        }
    }

    fn now(&self) -> Now {
        Now {
            at: Instant::now(),
            unix_secs: unix_now().as_secs(),
        }
    }

    fn store(&self) -> &dyn RoomStore {
        &*self.inner.store
    }

    /// Unix ms for a new ID: now, but never before the newest restored ID.
    fn id_millis(&self) -> u64 {
        millis(unix_now()).max(self.inner.id_floor_ms)
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// Number of rooms of every kind.
    pub fn room_count(&self) -> usize {
        self.registry().len()
    }

    /// Number of event sockets open now.
    pub fn connected_sockets(&self) -> usize {
        self.registry().open_sockets()
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // Every critical section leaves the registry consistent, so a panic elsewhere while the
        // lock was held does not make the data unusable.
        lock(&self.inner.registry)
    }

    fn timeouts(&self) -> Timeouts {
        Timeouts {
            heartbeat: self.inner.config.heartbeat_timeout,
            socket_grace: self.inner.config.socket_grace,
            media_stall: self.inner.config.media_stall,
        }
    }

    /// Evicts members silent for longer than the heartbeat timeout (unless their stream is
    /// live and advancing) and members whose event socket closed and did not come back within
    /// the grace, as of `tokio::time::Instant::now()`. An evicted creator closes its room.
    /// Returns how many members were evicted; none once shutdown has begun.
    pub fn sweep(&self) -> usize {
        if self.inner.closing.load(Ordering::Acquire) {
            return 0;
        }
        let now = self.now();
        lock(&self.inner.creations).forget_expired(now.at);
        lock(&self.inner.nonces).forget_expired(millis(unix_now()));
        lock(&self.inner.keyframes).forget_expired(now.at);
        let t = self.timeouts();
        let mut candidates = self.registry().candidates(now.at, t);
        if candidates.is_empty() {
            return 0;
        }
        self.heard_elsewhere(&candidates);
        candidates = self.registry().candidates(now.at, t);
        // Asked with the registry released: the liveness source may take its own locks.
        let keep: Vec<bool> = candidates
            .iter()
            .map(|c| {
                let stream = self.inner.signer.stream_id(&c.user_id);
                presence::stream_keeps(self.inner.liveness.media_age(&stream), t)
            })
            .collect();
        let evicted = {
            let mut registry = self.registry();
            candidates
                .iter()
                .zip(keep)
                .filter(|(c, keep)| registry.evict(c, *keep, now, t, self.store()))
                .count()
        };
        self.cut_revoked();
        evicted
    }

    /// Ends the live streams of users who left their last room: their URLs are revoked, and a
    /// publisher already connected must not outlive its membership.
    fn cut_revoked(&self) {
        let users = self.registry().take_revoked();
        // Told with the registry released: the RTMP side takes its own locks.
        for user in users {
            let signer = &self.inner.signer;
            for stream in [signer.stream_id(&user), signer.small_stream_id(&user)] {
                self.inner.liveness.revoke(&stream);
            }
        }
    }

    /// When the next member may stop being present, for the sweeper to check then.
    pub(crate) fn next_check(&self) -> Option<Instant> {
        self.registry().next_check(Instant::now(), self.timeouts())
    }

    /// Completes when a member's check may have moved earlier than the sweeper planned.
    pub(crate) async fn check_moved(&self) {
        self.inner.wake.notified().await;
    }

    /// Ends every event socket and waits until each has ended. A server that keeps its rooms
    /// keeps them (sockets just close, and members come back to the restarted server);
    /// otherwise every room closes and its sockets are told `roomClosed{server_shutdown}`.
    pub async fn shutdown_rooms(&self) {
        self.inner.closing.store(true, Ordering::Release);
        if self.inner.store.is_durable() {
            let kept = self.registry().release_sockets();
            if kept > 0 {
                tracing::info!(rooms = kept, "rooms kept in the store for the next start");
            }
        } else {
            let closed = self
                .registry()
                .close_all(CloseReason::ServerShutdown, self.now().unix_secs);
            if closed > 0 {
                tracing::info!(rooms = closed, "rooms closed for shutdown");
            }
        }
        self.inner.sockets.close();
        self.inner.sockets.wait().await;
    }
}
