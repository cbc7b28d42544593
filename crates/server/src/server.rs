//! The room server's shared state and the meaning of every endpoint, apart from HTTP.

use crate::config::ServerConfig;
use crate::keyframes::KeyframeRate;
use crate::liveness::StreamLiveness;
use crate::prejoin::{PreJoinRefusal, PreJoins};
use crate::presence::{self, Timeouts};
use crate::quota::{CreationRate, MAX_ROOMS_PER_USER, RateLimited};
use crate::replay::{NonceRefusal, SeenNonces};
use crate::rooms::{NewRoom, Now, Profile, Registry, Room, RoomChange, RoomError};
use crate::sockets::SocketSlots;
use crate::store::{NoStore, RoomStore};

mod admit;
mod channel;
mod im_link;
mod leave;
mod persist;

pub(crate) use admit::AuthError;
pub(crate) use channel::{PreJoinPass, Subscription};
use quartet_proto::event::{CloseReason, TextHead};
use quartet_proto::ids::IdGenerator;
use quartet_proto::sign::StreamSigner;
use quartet_proto::token::TokenKey;
use quartet_proto::{
    AddPusher, Code, CreateRoom, CreatedRoom, EXT_HAND_OVER, Endpoint, Fields, FieldsError,
    GetImLoginInfo, GetPushUrl, GetPushers, GetRoomList, LoginInfo, MAX_ROOM_LIST_CNT, MergeStream,
    PushUrl, Pusher, PusherHeartbeat, Pushers, Reply, RoomInfo, RoomKind, RoomList,
    SendRoomTextMsg, ServerEvent, TOKEN_HEADER,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
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
}

/// A std mutex's guard even if another holder panicked: every critical section here leaves its
/// data consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
    members: Vec<Profile>,
}

impl From<&Room> for RoomView {
    fn from(r: &Room) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            creator: r.creator.clone(),
            capacity: r.capacity,
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
                ids: IdGenerator::new(),
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
        let candidates = self.registry().candidates(now.at, t);
        if candidates.is_empty() {
            return 0;
        }
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

    /// Answers one call to `endpoint` of `kind`; `token` is the caller's `userSig`, if any.
    pub(crate) fn handle(
        &self,
        kind: RoomKind,
        endpoint: Endpoint,
        fields: &Fields,
        token: Option<&str>,
    ) -> Reply {
        let answer = match endpoint {
            Endpoint::GetImLoginInfo => self.accept(fields, token).map(|r| self.login(r)),
            Endpoint::GetPushUrl => self.accept(fields, token).map(|r| self.push_url(r)),
            Endpoint::CreateRoom => self
                .accept(fields, token)
                .and_then(|r| self.create_room(kind, r)),
            Endpoint::DestroyRoom => self
                .accept(fields, token)
                .and_then(|r| self.destroy_room(kind, r)),
            Endpoint::AddPusher => self
                .accept(fields, token)
                .and_then(|r| self.add_pusher(kind, r)),
            Endpoint::DeletePusher => self
                .accept(fields, token)
                .and_then(|r| self.delete_pusher(kind, r)),
            Endpoint::GetPushers => self
                .accept(fields, token)
                .and_then(|r| self.get_pushers(kind, r)),
            Endpoint::PusherHeartbeat => self
                .accept(fields, token)
                .and_then(|r| self.heartbeat(kind, r)),
            Endpoint::GetRoomList => self
                .accept(fields, token)
                .map(|r| self.get_room_list(kind, r)),
            Endpoint::MergeStream => self
                .accept::<MergeStream>(fields, token)
                .and(Err(Refusal::MergeNotSupported)),
            Endpoint::SendRoomTextMsg => self
                .accept(fields, token)
                .and_then(|r| self.send_text(kind, r)),
            Endpoint::HandOverRoom => self
                .accept(fields, token)
                .and_then(|r| self.hand_over_room(kind, r)),
        };
        answer.unwrap_or_else(|refusal| {
            tracing::debug!(%kind, %endpoint, code = refusal.code().as_i64(), %refusal, "request refused");
            refusal.into_reply()
        })
    }

    fn url_expiry(&self) -> u64 {
        unix_now()
            .saturating_add(self.inner.config.url_valid)
            .as_secs()
    }

    /// A play URL: signed under the play key, so it can never publish.
    fn play_url(&self, user_id: &str, expiry: u64) -> String {
        self.inner
            .signer
            .play_url(self.inner.config.play_base(), user_id, expiry)
    }

    fn mixed_play_url(&self, creator: &str, expiry: u64) -> String {
        let Some(base) = &self.inner.config.flv_base else {
            return self.play_url(creator, expiry);
        };
        let stream = self.inner.signer.stream_id(creator);
        let signed = self.inner.signer.signed_play_stream(&stream, expiry);
        let query = signed.split_once('?').map_or("", |(_, q)| q);
        format!("{}/{stream}.flv?{query}", base.trim_end_matches('/'))
    }

    fn pushers(&self, members: &[Profile], expiry: u64) -> Vec<Pusher> {
        members
            .iter()
            .map(|m| Pusher {
                user_id: m.user_id.clone(),
                user_name: m.user_name.clone(),
                user_avatar: m.user_avatar.clone(),
                accelerate_url: self.play_url(&m.user_id, expiry),
                small_accelerate_url: self.inner.config.small_streams.then(|| {
                    self.inner.signer.small_play_url(
                        self.inner.config.play_base(),
                        &m.user_id,
                        expiry,
                    )
                }),
                sharing_screen: m.sharing_screen,
            })
            .collect()
    }

    fn login(&self, _request: GetImLoginInfo) -> Reply {
        let now = unix_now();
        let user_id = self.inner.ids.user_id(self.id_millis());
        let expiry = now.saturating_add(self.inner.config.token_valid).as_secs();
        // With IM, the IM sig is the token too: clients hold one credential, as in v1.
        let im = self.im_login(&user_id, expiry);
        let user_sig = im
            .user_sig
            .unwrap_or_else(|| self.inner.tokens.issue(&user_id, expiry));
        tracing::debug!(user = %user_id, "user logged in");
        Reply::ok(&LoginInfo {
            user_id,
            sdk_app_id: im.sdk_app_id,
            acc_type: im.acc_type,
            user_sig,
            token_header: Some(TOKEN_HEADER.to_owned()),
            extensions: self
                .inner
                .config
                .hand_over
                .then(|| EXT_HAND_OVER.to_owned())
                .into_iter()
                .collect(),
        })
    }

    fn push_url(&self, request: GetPushUrl) -> Reply {
        let (base, expiry) = (&self.inner.config.rtmp_base, self.url_expiry());
        let signer = &self.inner.signer;
        Reply::ok(&PushUrl {
            push_url: signer.url(base, &request.user_id, expiry),
            small_push_url: self
                .inner
                .config
                .small_streams
                .then(|| signer.small_url(base, &request.user_id, expiry)),
        })
    }

    fn create_room(&self, kind: RoomKind, r: CreateRoom) -> Result<Reply, Refusal> {
        let room_id = self.inner.ids.room_id(self.id_millis());
        let creator = Profile {
            user_id: r.user_id,
            user_name: r.user_name,
            user_avatar: r.user_avatar,
            push_url: r.push_url,
            sharing_screen: false,
        };
        let room = NewRoom {
            kind,
            id: room_id.clone(),
            name: r.room_name,
            capacity: self.inner.config.capacity.get(kind),
        };
        let now = self.now();
        let mut registry = self.registry();
        Self::check_rooms_held(&registry, &creator.user_id)?;
        lock(&self.inner.creations).admit(&creator.user_id, now.at)?;
        registry.create(
            room,
            creator,
            self.inner.config.max_rooms,
            now,
            self.store(),
        )?;
        Ok(Reply::ok(&CreatedRoom { room_id }))
    }

    fn add_pusher(&self, kind: RoomKind, r: AddPusher) -> Result<Reply, Refusal> {
        let profile = Profile {
            user_id: r.user_id,
            user_name: r.user_name,
            user_avatar: r.user_avatar,
            push_url: r.push_url,
            sharing_screen: r.sharing_screen,
        };
        let mut registry = self.registry();
        if registry.member(kind, &r.room_id, &profile.user_id).is_err() {
            Self::check_rooms_held(&registry, &profile.user_id)?;
        }
        registry.add(kind, &r.room_id, profile, self.now(), self.store())?;
        Ok(Reply::ok_empty())
    }

    fn get_pushers(&self, kind: RoomKind, r: GetPushers) -> Result<Reply, Refusal> {
        let view = RoomView::from(self.registry().room(kind, &r.room_id)?);
        let expiry = self.url_expiry();
        Ok(Reply::ok(&Pushers {
            pushers: self.pushers(&view.members, expiry),
            mixed_play_url: Some(self.mixed_play_url(&view.creator, expiry)),
            room_id: Some(view.id),
            room_name: Some(view.name),
            room_creator: Some(view.creator),
        }))
    }

    fn heartbeat(
        &self,
        kind: RoomKind,
        PusherHeartbeat(r): PusherHeartbeat,
    ) -> Result<Reply, Refusal> {
        self.registry()
            .heartbeat(kind, &r.room_id, &r.user_id, Instant::now())
            .map_err(|e| e.for_membership(&r.user_id))?;
        Ok(Reply::ok_empty())
    }

    fn get_room_list(&self, kind: RoomKind, r: GetRoomList) -> Reply {
        let (views, total) = {
            let registry = self.registry();
            let views: Vec<RoomView> = registry
                .list(kind, r.index, r.cnt.min(MAX_ROOM_LIST_CNT))
                .into_iter()
                .map(RoomView::from)
                .collect();
            (views, registry.count(kind))
        };
        let expiry = self.url_expiry();
        let rooms = views
            .into_iter()
            .map(|v| RoomInfo {
                mixed_play_url: self.mixed_play_url(&v.creator, expiry),
                pushers: self.pushers(&v.members, expiry),
                max_members: Some(v.capacity),
                room_id: v.id,
                room_name: v.name,
                room_creator: v.creator,
            })
            .collect();
        Reply::ok(&RoomList {
            rooms,
            total: Some(total),
        })
    }

    fn send_text(&self, kind: RoomKind, r: SendRoomTextMsg) -> Result<Reply, Refusal> {
        if r.msg.len() > MAX_TEXT_BYTES {
            return Err(Refusal::TextTooLong { len: r.msg.len() });
        }
        let registry = self.registry();
        let sender = registry.member(kind, &r.room_id, &r.user_id)?;
        // The stored profile, never the request's nickName/headPic: one member could show
        // another's name.
        let head = TextHead {
            nick_name: sender.user_name.clone(),
            head_pic: sender.user_avatar.clone(),
        };
        let event = ServerEvent::Text {
            data: head.clone(),
            user_id: r.user_id.clone(),
            text: r.msg.clone(),
            time: millis(unix_now()),
        };
        registry.broadcast(kind, &r.room_id, event)?;
        registry.feed().tell(RoomChange::Text {
            room_id: r.room_id,
            user_id: r.user_id,
            head,
            text: r.msg,
        });
        Ok(Reply::ok_empty())
    }
}
