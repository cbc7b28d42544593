//! The relay's settings and the command-line flags that produce them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use quartet_proto::sign::StreamSigner;

use crate::auth::PublishGate;
use crate::queue::QueueLimits;
use crate::record::StreamNames;

/// RTMP application the relay serves (`rtmp://host/live/<stream>`).
pub const DEFAULT_APP: &str = "live";
/// Where `quartet server` runs the relay unless told otherwise.
pub const DEFAULT_RTMP_LISTEN: &str = "127.0.0.1:1935";
/// Port of the HTTP-FLV listener beside an RTMP listener on a fixed port (one on port 0 gets
/// port 0 too, so parallel hosts never collide); 8080 is the room server's.
pub const DEFAULT_FLV_PORT: u16 = 8081;
/// Most simultaneous connections; more are closed on accept.
pub const DEFAULT_MAX_CONNECTIONS: usize = 2_048;
/// Largest chunk size a peer may announce (encoders use 4 KiB to 64 KiB).
pub const DEFAULT_MAX_CHUNK_SIZE: u32 = 65_536;
/// Smallest chunk size a peer may announce: smaller ones are legal but only inflate header overhead.
pub const MIN_CHUNK_SIZE: u32 = 128;
/// Largest RTMP message a peer may send (a 1080p keyframe is a few hundred KiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;
/// Time a new connection has to complete the RTMP handshake.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a connection may go without progress: no input from a publisher or an idle peer,
/// or no output drained by a player.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages a player's queue holds before its backlog is dropped (about 15 s of 15 fps video
/// with AAC audio; room for a cached group of pictures at join).
pub const DEFAULT_PLAYER_QUEUE_LIMIT: usize = 1_024;
/// How far behind live a player may be when a keyframe arrives before its backlog is dropped.
pub const DEFAULT_PLAYER_MAX_LAG: Duration = Duration::from_millis(1_500);
/// Bytes a player's queue may keep alive (payload plus its chunked copy) before its backlog is
/// dropped: 4 s of a 1080p call at 4 Mbit/s (2 MB) and a 1 MB keyframe, both counted twice for
/// the copy, rounded up. A publisher sending huge frames to a player that never reads costs
/// this much per player and no more.
pub const DEFAULT_PLAYER_QUEUE_BYTES: usize = 8 * 1024 * 1024;
/// How far behind live a player may fall between keyframes before its queued video is dropped
/// until the next keyframe (audio is kept): twice the keyframe lag, so with usual keyframe
/// intervals (1-2 s) the keyframe rule acts first and this one only where keyframes are rare.
pub const DEFAULT_PLAYER_MAX_DELAY: Duration = Duration::from_secs(3);
/// Media time that may wait for a player in all (its queue, its connection's staged output and
/// the kernel's unsent bytes) before its video is dropped to the next keyframe that fits, audio
/// kept. 400 ms is where people start to notice delay (SRS's figure), so waiting at the relay
/// alone never makes a call feel late; a player that keeps up waits only milliseconds.
pub const DEFAULT_PLAYER_BUDGET: Duration = Duration::from_millis(400);
/// Kernel send buffer of a player's socket: bytes sitting there are latency and memory the
/// relay can no longer drop, so it is kept to a fraction of a second of a call (Linux doubles it).
pub const DEFAULT_PLAYER_SEND_BUFFER: usize = 64 * 1024;
/// Average bytes per second one connection may send (64 Mbit/s): a 1080p60 camera needs about
/// 12 Mbit/s and a 4K screen share 25–40; beyond it the relay reads more slowly, so a publisher
/// on a fast link cannot make the relay spend its CPU on one stream.
pub const DEFAULT_MAX_INGEST_RATE: u64 = 8_000_000;
/// Bytes one connection may send at once above that average: two of the largest messages, so
/// keyframes and a catch-up after a stall pass without delay.
pub const DEFAULT_INGEST_BURST: u64 = 2 * DEFAULT_MAX_MESSAGE_SIZE as u64;
/// Time from accept to a started publish or play: a real client needs a few round trips
/// (milliseconds); a connection that takes longer only holds a slot.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence of a connection that neither publishes nor plays yet: each step of a real
/// client's start (handshake, connect, createStream, publish or play) answers the relay's reply
/// within a round trip, so 3 s leaves room for TCP retransmissions and nothing for a trickle.
pub const DEFAULT_PENDING_IDLE_TIMEOUT: Duration = Duration::from_secs(3);
/// Most connections that neither publish nor play yet; a new one past this closes the oldest of
/// them, so a flood of slow starters cannot lock out a real client. A quarter of the default
/// connection limit: a whole relay's worth of members reconnecting at once stays well below it.
pub const DEFAULT_MAX_PENDING: usize = 512;

/// How the relay behaves.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// RTMP application name clients must connect to.
    pub app: String,
    /// Verifies `txSecret`/`txTime`; `None` accepts any publish (an open relay, for tests and trusted LANs).
    pub signer: Option<StreamSigner>,
    /// Whether play URLs must be signed too (with a play or a push signature).
    pub verify_play: bool,
    /// The room server's say on who may publish (see [`PublishGate`]); `None` admits every
    /// correctly signed publish.
    pub gate: Option<Arc<dyn PublishGate>>,
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Largest chunk size a peer may announce.
    pub max_chunk_size: u32,
    /// Largest message a peer may send.
    pub max_message_size: usize,
    /// Time allowed for the handshake.
    pub handshake_timeout: Duration,
    /// Time allowed without progress.
    pub idle_timeout: Duration,
    /// Messages queued per player before its backlog is dropped.
    pub player_queue_limit: usize,
    /// Lag behind live (at a keyframe) past which a player's backlog is dropped.
    pub player_max_lag: Duration,
    /// Bytes queued per player before its backlog is dropped.
    pub player_queue_bytes: usize,
    /// Lag behind live (between keyframes) past which a player's video is dropped to the next keyframe.
    pub player_max_delay: Duration,
    /// Media time that may wait for a player before its video is dropped to the next keyframe.
    pub player_budget: Duration,
    /// Kernel send buffer of player sockets.
    pub player_send_buffer: usize,
    /// Average bytes per second one connection may send.
    pub max_ingest_rate: u64,
    /// Bytes one connection may send at once above that average.
    pub ingest_burst: u64,
    /// Time from accept to a started publish or play.
    pub start_timeout: Duration,
    /// Longest silence of a connection not yet publishing or playing.
    pub pending_idle_timeout: Duration,
    /// Most connections not yet publishing or playing; the oldest goes to make room.
    pub max_pending: usize,
    /// Record every stream into this directory (one FLV file per publish); `None` records
    /// nothing.
    pub record_dir: Option<PathBuf>,
    /// Names recordings by room and member; without it they carry the stream id only.
    pub names: Option<Arc<dyn StreamNames>>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            app: DEFAULT_APP.to_owned(),
            signer: None,
            verify_play: false,
            gate: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_chunk_size: DEFAULT_MAX_CHUNK_SIZE,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            player_queue_limit: DEFAULT_PLAYER_QUEUE_LIMIT,
            player_max_lag: DEFAULT_PLAYER_MAX_LAG,
            player_queue_bytes: DEFAULT_PLAYER_QUEUE_BYTES,
            player_max_delay: DEFAULT_PLAYER_MAX_DELAY,
            player_budget: DEFAULT_PLAYER_BUDGET,
            player_send_buffer: DEFAULT_PLAYER_SEND_BUFFER,
            max_ingest_rate: DEFAULT_MAX_INGEST_RATE,
            ingest_burst: DEFAULT_INGEST_BURST,
            start_timeout: DEFAULT_START_TIMEOUT,
            pending_idle_timeout: DEFAULT_PENDING_IDLE_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING,
            record_dir: None,
            names: None,
        }
    }
}

impl RelayConfig {
    /// The default settings with `signer` checking publishes.
    pub fn signed(signer: StreamSigner) -> RelayConfig {
        RelayConfig {
            signer: Some(signer),
            ..RelayConfig::default()
        }
    }

    pub(crate) fn player_max_lag_ms(&self) -> u32 {
        millis(self.player_max_lag)
    }

    /// What each player's queue may hold.
    pub(crate) fn queue_limits(&self) -> QueueLimits {
        QueueLimits {
            messages: self.player_queue_limit,
            bytes: self.player_queue_bytes,
            max_lag_ms: self.player_max_lag_ms(),
            max_delay_ms: millis(self.player_max_delay),
            budget_ms: millis(self.player_budget),
        }
    }
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Where HTTP-FLV is served beside an RTMP listener on `rtmp`: the same address, on
/// [`DEFAULT_FLV_PORT`] (on port 0 when the RTMP listener asked for port 0).
pub fn default_flv_listen(rtmp: SocketAddr) -> SocketAddr {
    let port = if rtmp.port() == 0 {
        0
    } else {
        DEFAULT_FLV_PORT
    };
    SocketAddr::new(rtmp.ip(), port)
}

/// The HTTP-FLV base (`http://host:port/app`) of a relay whose HTTP-FLV listener is bound at
/// `flv` and whose members reach RTMP at `rtmp_base`: the bound address, or, when it listens on
/// every interface, the RTMP base's host (the address members already use).
pub fn flv_base(rtmp_base: &str, flv: SocketAddr, app: &str) -> String {
    let port = flv.port();
    if !flv.ip().is_unspecified() {
        return format!("http://{flv}/{app}");
    }
    let authority = rtmp_base
        .split_once("://")
        .map_or(rtmp_base, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or(authority, |(ip, _)| ip),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    match host.parse::<std::net::Ipv6Addr>() {
        Ok(_) => format!("http://[{host}]:{port}/{app}"),
        Err(_) => format!("http://{host}:{port}/{app}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_flv_sits_beside_rtmp_and_its_base_names_a_reachable_host() {
        let rtmp: SocketAddr = "127.0.0.1:1935".parse().unwrap();
        assert_eq!(default_flv_listen(rtmp), "127.0.0.1:8081".parse().unwrap());
        let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
        assert_eq!(default_flv_listen(any), any);

        let bound = "127.0.0.1:8081".parse().unwrap();
        assert_eq!(
            flv_base("rtmp://lan:1935/live", bound, "live"),
            "http://127.0.0.1:8081/live"
        );
        let any = "0.0.0.0:8081".parse().unwrap();
        for (rtmp, flv) in [
            (
                "rtmp://192.168.1.5:1935/live",
                "http://192.168.1.5:8081/live",
            ),
            ("rtmp://host.example/live", "http://host.example:8081/live"),
            ("rtmp://[fe80::1]:1935/live", "http://[fe80::1]:8081/live"),
        ] {
            assert_eq!(flv_base(rtmp, any, "live"), flv, "{rtmp}");
        }
    }

    #[test]
    fn player_lag_saturates_instead_of_wrapping() {
        let config = RelayConfig {
            player_max_lag: Duration::from_secs(u64::MAX / 2),
            ..RelayConfig::default()
        };
        assert_eq!(config.player_max_lag_ms(), u32::MAX);
        assert_eq!(RelayConfig::default().player_max_lag_ms(), 1_500);
    }
}
