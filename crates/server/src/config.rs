//! Server settings: v1's timings and limits by default, strict authentication.

use crate::im::ImConfig;
use quartet_proto::RoomKind;
use rand::Rng;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// v1's bizid, the prefix of every stream id.
pub const DEFAULT_BIZID: &str = "8888";
/// The embedded relay's address on this machine.
pub const DEFAULT_RTMP_BASE: &str = "rtmp://127.0.0.1:1935/live";
/// How long a signed stream URL stays valid (v1: seven days).
pub const DEFAULT_URL_VALID: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// How long a `userSig` stays valid.
pub const DEFAULT_TOKEN_VALID: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// A member silent for longer than this is gone (v1: 20 s).
pub const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(20);
/// How often silent members are looked for (v1: 5 s).
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// How long a member whose event socket closed has to reconnect before it is evicted: room
/// clients reopen a dropped socket after 250–500 ms, so a reconnect already under way lands
/// well within it, and eviction still comes within 3 s of the close.
pub const DEFAULT_SOCKET_GRACE: Duration = Duration::from_millis(1500);
/// How long an event socket of a token holder that is not a member may wait for its
/// `add_pusher` (v1 clients subscribe first, then join): a client joins within a second or two
/// of subscribing, so this covers a slow network many times over while keeping a listener that
/// never joins from hearing the room for long.
pub const DEFAULT_JOIN_GRACE: Duration = Duration::from_secs(30);
/// A silent member is kept by its stream only while the relay received media from it within
/// this: a publisher sends audio every ~23 ms and video at least every second, so a stream
/// quiet for this long has stalled (a frozen client whose connection is still open).
pub const DEFAULT_MEDIA_STALL: Duration = Duration::from_secs(5);
/// Largest request body accepted; v1 requests are a few hundred bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Most rooms held at once, so a flood of `create_room` cannot exhaust memory.
pub const DEFAULT_MAX_ROOMS: usize = 100_000;
/// Bytes of randomness in a per-process secret.
const RANDOM_SECRET_BYTES: usize = 32;

/// Member limits per room kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacities {
    multi_room: usize,
    double_room: usize,
    live_room: usize,
}

impl Capacities {
    /// Limits for `multi_room`, `double_room` and `live_room`, in that order.
    pub fn new(multi_room: usize, double_room: usize, live_room: usize) -> Self {
        Self {
            multi_room,
            double_room,
            live_room,
        }
    }

    /// The same limit for every kind.
    pub fn uniform(limit: usize) -> Self {
        Self::new(limit, limit, limit)
    }

    /// These limits with `kind`'s replaced by `limit`.
    pub fn with(mut self, kind: RoomKind, limit: usize) -> Self {
        *self.slot(kind) = limit;
        self
    }

    /// The member limit of a room of `kind`.
    pub fn get(&self, kind: RoomKind) -> usize {
        match kind {
            RoomKind::MultiRoom => self.multi_room,
            RoomKind::DoubleRoom => self.double_room,
            RoomKind::LiveRoom => self.live_room,
        }
    }

    fn slot(&mut self, kind: RoomKind) -> &mut usize {
        match kind {
            RoomKind::MultiRoom => &mut self.multi_room,
            RoomKind::DoubleRoom => &mut self.double_room,
            RoomKind::LiveRoom => &mut self.live_room,
        }
    }
}

impl Default for Capacities {
    /// v1's demo limits: 4, 2 and 4.
    fn default() -> Self {
        Self::new(
            RoomKind::MultiRoom.default_capacity(),
            RoomKind::DoubleRoom.default_capacity(),
            RoomKind::LiveRoom.default_capacity(),
        )
    }
}

/// Where the server keeps rooms, members and its signing keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Storage {
    /// Nowhere but memory: everything ends with the process (tests, demos, `--ephemeral`).
    #[default]
    Memory,
    /// A data directory holding the room store and the keys file; survives restarts.
    Dir(PathBuf),
    /// A Redis (`redis://HOST:PORT/DB`) holding rooms, heartbeats and keys, shared by every
    /// server given the same one.
    Redis(String),
}

/// Everything the room server can be told.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Prefix of stream ids (`{bizid}_{userID}`) and the `bizid` query parameter.
    pub bizid: String,
    /// Key of the `txSecret` stream signature, shared with the RTMP server.
    pub push_secret_key: String,
    /// Key of the `userSig` tokens.
    pub token_secret: Vec<u8>,
    /// RTMP base of push URLs, e.g. `rtmp://127.0.0.1:1935/live`.
    pub rtmp_base: String,
    /// RTMP base of play URLs when players reach the server at another address.
    pub play_base: Option<String>,
    /// HTTP-FLV base for `mixedPlayURL`; without it `mixedPlayURL` is the creator's RTMP play URL.
    pub flv_base: Option<String>,
    /// Lifetime of signed stream URLs.
    pub url_valid: Duration,
    /// Lifetime of `userSig` tokens.
    pub token_valid: Duration,
    /// Member limit per room kind.
    pub capacity: Capacities,
    /// A member silent for longer than this is evicted unless its stream is live.
    pub heartbeat_timeout: Duration,
    /// Period of the eviction sweep.
    pub check_interval: Duration,
    /// Time a member whose event socket closed has to reconnect before it is evicted.
    pub socket_grace: Duration,
    /// Time an event socket of a token holder that has not joined may wait for its join.
    pub join_grace: Duration,
    /// Longest time without media after which a live stream no longer keeps a silent member.
    pub media_stall: Duration,
    /// Where rooms and keys are kept; see [`crate::open_storage`].
    pub storage: Storage,
    /// Whether calls without a `userSig` are served (as an original v1 server would).
    pub allow_anonymous: bool,
    /// Whether the event channel exists at all; without it clients poll, as with v1.
    pub events: bool,
    /// Whether members are offered a small second stream (`smallPushURL`, `smallAccelerateURL`)
    /// for viewers whose downlink cannot carry the main one.
    pub small_streams: bool,
    /// Whether a creator may hand its room over (`hand_over_room`, listed in the login answer);
    /// without it a creator leaving closes the room, as with v1.
    pub hand_over: bool,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Most rooms held at once.
    pub max_rooms: usize,
    /// The Tencent Cloud IM application to speak for, as the original server did; without one,
    /// `get_im_login_info` answers `sdkAppID` 0 and no IM call is made.
    pub im: Option<ImConfig>,
}

impl ServerConfig {
    /// RTMP base of play URLs.
    pub fn play_base(&self) -> &str {
        self.play_base.as_deref().unwrap_or(&self.rtmp_base)
    }

    /// Whether the push secret is the per-process random one, so URLs die with the process.
    pub fn has_random_push_key(&self) -> bool {
        self.push_secret_key == process_push_key()
    }

    /// Whether the token secret is the per-process random one, so tokens die with the process.
    pub fn has_random_token_secret(&self) -> bool {
        self.token_secret == process_token_secret()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bizid: DEFAULT_BIZID.to_owned(),
            push_secret_key: process_push_key().to_owned(),
            token_secret: process_token_secret().to_vec(),
            rtmp_base: DEFAULT_RTMP_BASE.to_owned(),
            play_base: None,
            flv_base: None,
            url_valid: DEFAULT_URL_VALID,
            token_valid: DEFAULT_TOKEN_VALID,
            capacity: Capacities::default(),
            heartbeat_timeout: DEFAULT_HEARTBEAT_TIMEOUT,
            check_interval: DEFAULT_CHECK_INTERVAL,
            socket_grace: DEFAULT_SOCKET_GRACE,
            join_grace: DEFAULT_JOIN_GRACE,
            media_stall: DEFAULT_MEDIA_STALL,
            storage: Storage::Memory,
            allow_anonymous: false,
            events: true,
            small_streams: true,
            hand_over: true,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_rooms: DEFAULT_MAX_ROOMS,
            im: None,
        }
    }
}

/// One random push key per process, so every default config of a process signs alike.
fn process_push_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| hex::encode(random_bytes()))
}

/// One random token secret per process.
fn process_token_secret() -> &'static [u8] {
    static SECRET: OnceLock<Vec<u8>> = OnceLock::new();
    SECRET.get_or_init(|| random_bytes().to_vec())
}

fn random_bytes() -> [u8; RANDOM_SECRET_BYTES] {
    rand::rng().random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_v1() {
        let c = ServerConfig::default();
        assert_eq!(c.bizid, "8888");
        assert_eq!(c.heartbeat_timeout, Duration::from_secs(20));
        assert_eq!(c.check_interval, Duration::from_secs(5));
        assert_eq!(c.url_valid, Duration::from_secs(604_800));
        assert!(!c.allow_anonymous);
        assert!(c.events);
        assert_eq!(c.play_base(), DEFAULT_RTMP_BASE);
        assert_eq!(
            c.storage,
            Storage::Memory,
            "a default server keeps nothing on disk"
        );
        for kind in RoomKind::ALL {
            assert_eq!(c.capacity.get(kind), kind.default_capacity());
        }
    }

    #[test]
    fn random_secrets_are_stable_within_a_process_and_recognised() {
        let a = ServerConfig::default();
        let b = ServerConfig::default();
        assert_eq!(a.push_secret_key, b.push_secret_key);
        assert_eq!(a.token_secret, b.token_secret);
        assert_eq!(a.push_secret_key.len(), RANDOM_SECRET_BYTES * 2);
        assert!(a.has_random_push_key() && a.has_random_token_secret());
        let fixed = ServerConfig {
            push_secret_key: "k".into(),
            token_secret: b"t".to_vec(),
            ..ServerConfig::default()
        };
        assert!(!fixed.has_random_push_key() && !fixed.has_random_token_secret());
    }

    #[test]
    fn capacities_are_set_per_kind() {
        let c = Capacities::default().with(RoomKind::DoubleRoom, 3);
        assert_eq!(c.get(RoomKind::DoubleRoom), 3);
        assert_eq!(c.get(RoomKind::MultiRoom), 4);
        assert_eq!(Capacities::uniform(9).get(RoomKind::LiveRoom), 9);
        assert_eq!(Capacities::new(1, 2, 3).get(RoomKind::LiveRoom), 3);
    }
}
