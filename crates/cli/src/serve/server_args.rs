//! Command-line flags of the room server, each also read from a `QUARTET_...` variable.

use clap::builder::FalseyValueParser;
use quartet_proto::RoomKind;
use quartet_server::im::{DEFAULT_IM_ACC_TYPE, DEFAULT_IM_API_BASE, ImConfig};
use quartet_server::{
    Capacities, DEFAULT_BIZID, DEFAULT_CHECK_INTERVAL, DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ROOMS, DEFAULT_TOKEN_VALID, DEFAULT_URL_VALID,
    ServerConfig, Storage,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Address the room server listens on unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Smallest body limit accepted, so that every v1 request still fits.
const MIN_BODY_BYTES: u64 = 1024;
/// Folder of the data directory under the user's local data directory.
pub const DATA_DIR_NAME: &str = "quartet/server";

/// The data directory used unless `--data-dir` or `--ephemeral` says otherwise: the user's local
/// data directory (`~/.local/share/quartet/server` on Linux, `~/Library/Application
/// Support/quartet/server` on macOS, `%LOCALAPPDATA%\quartet\server` on Windows), or
/// `./quartet-server-data` where the system names none.
pub fn default_data_dir() -> PathBuf {
    dirs::data_local_dir().map_or_else(
        || PathBuf::from("quartet-server-data"),
        |dir| dir.join(DATA_DIR_NAME),
    )
}

/// [`quartet_server::DEFAULT_SOCKET_GRACE`] as `--socket-grace-secs` spells it.
const DEFAULT_SOCKET_GRACE_TEXT: &str = "1.5";

/// Seconds, fractions allowed (`1.5`), as a duration.
fn seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|e| format!("{s:?} is not a number of seconds: {e}"))?;
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?} seconds: {e}"))
}

/// The room server's flags.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "QUARTET_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// bizid: prefix of stream ids and the `bizid` query parameter of stream URLs.
    #[arg(long, env = "QUARTET_BIZID", default_value = DEFAULT_BIZID)]
    pub bizid: String,
    /// Key of the stream URL signature, shared with the RTMP server (random if absent: URLs
    /// then die with the process).
    #[arg(long, env = "QUARTET_PUSH_SECRET_KEY", hide_env_values = true)]
    pub push_secret_key: Option<String>,
    /// Key of the userSig tokens (random if absent: tokens then die with the process).
    #[arg(long, env = "QUARTET_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<String>,
    /// RTMP base of play URLs, when players reach the RTMP server at another address.
    #[arg(long, env = "QUARTET_PLAY_BASE")]
    pub play_base: Option<String>,
    /// HTTP-FLV base for mixedPlayURL, e.g. http://cdn.example/live [default: the embedded
    /// relay's HTTP-FLV listener; with --no-relay, the creator's RTMP play URL].
    #[arg(long, env = "QUARTET_FLV_BASE")]
    pub flv_base: Option<String>,
    /// Lifetime of signed stream URLs, in seconds.
    #[arg(long, env = "QUARTET_URL_VALID_SECS", default_value_t = DEFAULT_URL_VALID.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub url_valid_secs: u64,
    /// Lifetime of userSig tokens, in seconds.
    #[arg(long, env = "QUARTET_TOKEN_VALID_SECS", default_value_t = DEFAULT_TOKEN_VALID.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub token_valid_secs: u64,
    /// Member limit of multi_room rooms.
    #[arg(long, env = "QUARTET_CAPACITY_MULTI", default_value_t = RoomKind::MultiRoom.default_capacity() as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub capacity_multi: u64,
    /// Member limit of double_room rooms.
    #[arg(long, env = "QUARTET_CAPACITY_DOUBLE", default_value_t = RoomKind::DoubleRoom.default_capacity() as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub capacity_double: u64,
    /// Member limit of live_room rooms.
    #[arg(long, env = "QUARTET_CAPACITY_LIVE", default_value_t = RoomKind::LiveRoom.default_capacity() as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub capacity_live: u64,
    /// Seconds of silence after which a member is evicted (unless its stream is live).
    #[arg(long, env = "QUARTET_HEARTBEAT_TIMEOUT_SECS", default_value_t = DEFAULT_HEARTBEAT_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub heartbeat_timeout_secs: u64,
    /// Seconds between eviction sweeps.
    #[arg(long, env = "QUARTET_CHECK_INTERVAL_SECS", default_value_t = DEFAULT_CHECK_INTERVAL.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub check_interval_secs: u64,
    /// Seconds (fractions allowed) a member whose event socket closed has to reconnect before
    /// it is evicted.
    #[arg(long, env = "QUARTET_SOCKET_GRACE_SECS", value_parser = seconds,
          default_value = DEFAULT_SOCKET_GRACE_TEXT)]
    pub socket_grace_secs: Duration,
    /// Directory of the room store and the signing keys, so rooms, members, tokens and stream
    /// URLs survive a restart [default: the user's local data directory, quartet/server].
    #[arg(long, env = "QUARTET_DATA_DIR", conflicts_with_all = ["ephemeral", "redis"])]
    pub data_dir: Option<PathBuf>,
    /// Keep rooms, members, heartbeats, events and the signing keys in this Redis
    /// (redis://HOST:PORT/DB), so every server given the same one serves the same rooms, behind
    /// any HTTP load balancer. Replaces the data directory.
    #[arg(long, env = "QUARTET_REDIS", conflicts_with = "ephemeral")]
    pub redis: Option<String>,
    /// Keep nothing on disk: rooms, tokens and stream URLs (with random keys, unless given)
    /// end with the process. For tests and throwaway demos.
    #[arg(long, env = "QUARTET_EPHEMERAL", value_parser = FalseyValueParser::new())]
    pub ephemeral: bool,
    /// Serve calls that carry no userSig (original v1 clients).
    #[arg(long, env = "QUARTET_ALLOW_ANONYMOUS", value_parser = FalseyValueParser::new())]
    pub allow_anonymous: bool,
    /// Offer no event channel (clients poll get_pushers, as with a v1 server).
    #[arg(long, env = "QUARTET_NO_EVENTS", value_parser = FalseyValueParser::new())]
    pub no_events: bool,
    /// Offer no small second streams: every member sends and plays the main stream only.
    #[arg(long, env = "QUARTET_NO_SMALL_STREAMS", value_parser = FalseyValueParser::new())]
    pub no_small_streams: bool,
    /// Let no creator hand its room over: a creator leaving closes the room, as with v1.
    #[arg(long, env = "QUARTET_NO_HAND_OVER", value_parser = FalseyValueParser::new())]
    pub no_hand_over: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "QUARTET_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES as u64,
          value_parser = clap::value_parser!(u64).range(MIN_BODY_BYTES..))]
    pub max_body_bytes: u64,
    /// Most rooms held at once.
    #[arg(long, env = "QUARTET_MAX_ROOMS", default_value_t = DEFAULT_MAX_ROOMS as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_rooms: u64,
    /// Tencent Cloud IM SDKAppID: speak for this IM application as the original server did
    /// (a group per room, member-change notices, real userSigs).
    #[arg(long, env = "QUARTET_IM_SDKAPPID", requires_all = ["im_admin", "im_secret"])]
    pub im_sdkappid: Option<u64>,
    /// The IM application's administrator account, in whose name REST calls are made.
    #[arg(long, env = "QUARTET_IM_ADMIN", requires = "im_sdkappid")]
    pub im_admin: Option<String>,
    /// The IM application's secret key (TLSSigAPIv2), which signs every userSig.
    #[arg(
        long,
        env = "QUARTET_IM_SECRET",
        hide_env_values = true,
        requires = "im_sdkappid"
    )]
    pub im_secret: Option<String>,
    /// Base URL of the IM REST API.
    #[arg(long, env = "QUARTET_IM_API_BASE", default_value = DEFAULT_IM_API_BASE)]
    pub im_api_base: String,
    /// accType answered by get_im_login_info with IM.
    #[arg(long, env = "QUARTET_IM_ACC_TYPE", default_value = DEFAULT_IM_ACC_TYPE)]
    pub im_acc_type: String,
}

fn size(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl ServerArgs {
    /// The server configuration these flags describe.
    pub fn config(&self) -> ServerConfig {
        let defaults = ServerConfig::default();
        ServerConfig {
            bizid: self.bizid.clone(),
            push_secret_key: self
                .push_secret_key
                .clone()
                .unwrap_or(defaults.push_secret_key),
            token_secret: self
                .token_secret
                .as_ref()
                .map_or(defaults.token_secret, |s| s.as_bytes().to_vec()),
            // The RTMP base depends on where the relay binds (or on --rtmp-base with --no-relay),
            // so whoever starts the relay sets it; see `quartet server`.
            rtmp_base: defaults.rtmp_base,
            play_base: self.play_base.clone(),
            flv_base: self.flv_base.clone(),
            url_valid: Duration::from_secs(self.url_valid_secs),
            token_valid: Duration::from_secs(self.token_valid_secs),
            capacity: Capacities::new(
                size(self.capacity_multi),
                size(self.capacity_double),
                size(self.capacity_live),
            ),
            heartbeat_timeout: Duration::from_secs(self.heartbeat_timeout_secs),
            check_interval: Duration::from_secs(self.check_interval_secs),
            socket_grace: self.socket_grace_secs,
            join_grace: defaults.join_grace,
            media_stall: defaults.media_stall,
            storage: self.storage(),
            allow_anonymous: self.allow_anonymous,
            events: !self.no_events,
            small_streams: !self.no_small_streams,
            hand_over: !self.no_hand_over,
            max_body_bytes: size(self.max_body_bytes),
            max_rooms: size(self.max_rooms),
            im: self.im(),
        }
    }

    /// The IM application the flags name, if any.
    pub fn im(&self) -> Option<ImConfig> {
        let (Some(sdk_app_id), Some(admin), Some(secret)) =
            (self.im_sdkappid, &self.im_admin, &self.im_secret)
        else {
            return None;
        };
        Some(ImConfig {
            sdk_app_id,
            admin: admin.clone(),
            secret: secret.clone(),
            acc_type: self.im_acc_type.clone(),
            api_base: self.im_api_base.clone(),
        })
    }

    /// The address to listen on.
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// Where rooms and keys are kept: memory with `--ephemeral`, Redis with `--redis`, else
    /// the data directory.
    pub fn storage(&self) -> Storage {
        match (self.ephemeral, &self.redis, &self.data_dir) {
            (true, _, _) => Storage::Memory,
            (false, Some(url), _) => Storage::Redis(url.clone()),
            (false, None, Some(dir)) => Storage::Dir(dir.clone()),
            (false, None, None) => Storage::Dir(default_data_dir()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use quartet_server::DEFAULT_SOCKET_GRACE;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        server: ServerArgs,
    }

    fn parse(args: &[&str]) -> Result<ServerArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("quartet").chain(args.iter().copied()))
            .map(|c| c.server)
    }

    #[test]
    fn no_flags_give_the_default_config() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.listen().to_string(), DEFAULT_LISTEN);
        let c = args.config();
        let d = ServerConfig::default();
        assert_eq!(c.bizid, d.bizid);
        assert_eq!(c.push_secret_key, d.push_secret_key);
        assert_eq!(c.token_secret, d.token_secret);
        assert_eq!(c.url_valid, d.url_valid);
        assert_eq!(c.capacity, d.capacity);
        assert_eq!(c.heartbeat_timeout, d.heartbeat_timeout);
        assert_eq!(c.check_interval, d.check_interval);
        assert_eq!(c.socket_grace, d.socket_grace);
        assert_eq!(c.allow_anonymous, d.allow_anonymous);
        assert_eq!(c.events, d.events);
        assert_eq!(c.max_body_bytes, d.max_body_bytes);
        assert_eq!(c.max_rooms, d.max_rooms);
        assert_eq!(c.im, None, "no IM unless asked");
        assert_eq!(c.socket_grace, DEFAULT_SOCKET_GRACE);
        assert_eq!(
            c.storage,
            Storage::Dir(default_data_dir()),
            "a standing server keeps state"
        );
    }

    #[test]
    fn storage_is_a_data_directory_unless_ephemeral() {
        let c = parse(&["--data-dir=/srv/quartet"]).unwrap().config();
        assert_eq!(c.storage, Storage::Dir("/srv/quartet".into()));
        let c = parse(&["--ephemeral"]).unwrap().config();
        assert_eq!(c.storage, Storage::Memory);
        assert!(
            parse(&["--ephemeral", "--data-dir=/srv/quartet"]).is_err(),
            "both at once is a contradiction"
        );
        let c = parse(&["--redis=redis://127.0.0.1:6379/2"])
            .unwrap()
            .config();
        assert_eq!(c.storage, Storage::Redis("redis://127.0.0.1:6379/2".into()));
        for contradiction in [
            &["--redis=redis://r/0", "--data-dir=/srv/quartet"][..],
            &["--redis=redis://r/0", "--ephemeral"][..],
        ] {
            assert!(parse(contradiction).is_err(), "{contradiction:?}");
        }
        assert!(default_data_dir().ends_with(DATA_DIR_NAME));
    }

    #[test]
    fn flags_reach_the_config() {
        let args = parse(&[
            "--listen=0.0.0.0:9000",
            "--bizid=1234",
            "--push-secret-key=k",
            "--token-secret=t",
            "--play-base=rtmp://p/live",
            "--flv-base=http://f/live",
            "--url-valid-secs=60",
            "--token-valid-secs=70",
            "--capacity-multi=6",
            "--capacity-double=3",
            "--capacity-live=8",
            "--heartbeat-timeout-secs=30",
            "--check-interval-secs=2",
            "--socket-grace-secs=0.25",
            "--allow-anonymous",
            "--no-events",
            "--max-body-bytes=2048",
            "--max-rooms=10",
        ])
        .unwrap();
        assert_eq!(args.listen().port(), 9000);
        let c = args.config();
        assert_eq!(c.bizid, "1234");
        assert_eq!(c.push_secret_key, "k");
        assert_eq!(c.token_secret, b"t");
        assert_eq!(c.play_base(), "rtmp://p/live");
        assert_eq!(c.flv_base.as_deref(), Some("http://f/live"));
        assert_eq!(c.url_valid, Duration::from_secs(60));
        assert_eq!(c.token_valid, Duration::from_secs(70));
        assert_eq!(c.capacity, Capacities::new(6, 3, 8));
        assert_eq!(c.heartbeat_timeout, Duration::from_secs(30));
        assert_eq!(c.check_interval, Duration::from_secs(2));
        assert_eq!(c.socket_grace, Duration::from_millis(250));
        assert!(c.allow_anonymous);
        assert!(!c.events);
        assert_eq!(c.max_body_bytes, 2048);
        assert_eq!(c.max_rooms, 10);
    }

    #[test]
    fn im_flags_name_an_application_and_need_one_another() {
        let c = parse(&[
            "--im-sdkappid=1400000000",
            "--im-admin=administrator",
            "--im-secret=k",
        ])
        .unwrap()
        .config();
        let im = c.im.unwrap();
        assert_eq!(
            (im.sdk_app_id, im.admin.as_str(), im.secret.as_str()),
            (1_400_000_000, "administrator", "k")
        );
        assert_eq!(im.api_base, "https://console.tim.qq.com");
        assert_eq!(im.acc_type, "0");
        let im = parse(&[
            "--im-sdkappid=1",
            "--im-admin=a",
            "--im-secret=k",
            "--im-api-base=http://127.0.0.1:9/",
            "--im-acc-type=36862",
        ])
        .unwrap()
        .im()
        .unwrap();
        assert_eq!(
            (im.api_base.as_str(), im.acc_type.as_str()),
            ("http://127.0.0.1:9/", "36862")
        );
        for partial in [
            &["--im-sdkappid=1"][..],
            &["--im-sdkappid=1", "--im-admin=a"],
            &["--im-secret=k"],
            &["--im-admin=a", "--im-secret=k"],
        ] {
            assert!(parse(partial).is_err(), "{partial:?} accepted");
        }
    }

    #[test]
    fn nonsense_limits_are_refused() {
        for bad in [
            "--capacity-double=0",
            "--check-interval-secs=0",
            "--max-body-bytes=10",
            "--listen=nowhere",
            "--socket-grace-secs=-1",
            "--socket-grace-secs=soon",
        ] {
            assert!(parse(&[bad]).is_err(), "{bad} accepted");
        }
    }
}
