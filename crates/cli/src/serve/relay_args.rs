//! The embedded relay's flags of `quartet server`, each also read from a `QUARTET_...` variable.

use quartet_proto::sign::StreamSigner;
use quartet_relay::{DEFAULT_APP, DEFAULT_MAX_CONNECTIONS, DEFAULT_RTMP_LISTEN, RelayConfig};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The relay's flags, flattened into `quartet server`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct RelayArgs {
    /// Address the embedded RTMP relay listens on.
    #[arg(long, env = "QUARTET_RTMP_LISTEN", default_value = DEFAULT_RTMP_LISTEN)]
    pub rtmp_listen: SocketAddr,

    /// Run no embedded relay: members publish to and play from --rtmp-base instead.
    #[arg(long, requires = "rtmp_base")]
    pub no_relay: bool,

    /// RTMP base URL put into members' URLs, e.g. rtmp://host:1935/live (required with
    /// --no-relay; defaults to the embedded relay's listen address).
    #[arg(long, env = "QUARTET_RTMP_BASE")]
    pub rtmp_base: Option<String>,

    /// Require signed play URLs as well as signed publish URLs.
    #[arg(long)]
    pub verify_play: bool,

    /// RTMP application name of the embedded relay.
    #[arg(long, default_value = DEFAULT_APP)]
    pub rtmp_app: String,

    /// Most simultaneous RTMP connections to the embedded relay.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub rtmp_max_connections: usize,

    /// Record every stream the embedded relay carries, one FLV file per publish, into DIR.
    #[arg(long, env = "QUARTET_RECORD_DIR", value_name = "DIR")]
    pub record: Option<PathBuf>,

    /// Address the embedded relay serves HTTP-FLV on [default: the RTMP listener's address,
    /// port 8081, or any free port when that one is taken].
    #[arg(long, env = "QUARTET_FLV_LISTEN")]
    pub flv_listen: Option<SocketAddr>,
}

impl RelayArgs {
    /// The relay's settings, with `signer` checking publishes (and plays with --verify-play).
    pub fn config(&self, signer: Option<StreamSigner>) -> RelayConfig {
        RelayConfig {
            app: self.rtmp_app.clone(),
            signer,
            verify_play: self.verify_play,
            max_connections: self.rtmp_max_connections,
            record_dir: self.record.clone(),
            ..RelayConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        relay: RelayArgs,
    }

    #[test]
    fn defaults_run_the_relay_on_loopback() {
        let cli = Cli::try_parse_from(["quartet"]).unwrap();
        assert!(!cli.relay.no_relay);
        assert_eq!(cli.relay.rtmp_listen, "127.0.0.1:1935".parse().unwrap());
        assert_eq!(cli.relay.rtmp_base, None);
        assert_eq!(cli.relay.flv_listen, None);
        let config = cli.relay.config(None);
        assert_eq!(config.app, "live");
        assert!(!config.verify_play);
    }

    #[test]
    fn no_relay_needs_an_external_base() {
        assert!(Cli::try_parse_from(["quartet", "--no-relay"]).is_err());
        let cli = Cli::try_parse_from([
            "quartet",
            "--no-relay",
            "--rtmp-base",
            "rtmp://cdn.example/live/",
            "--verify-play",
            "--flv-listen",
            "127.0.0.1:9000",
        ])
        .unwrap();
        assert!(cli.relay.no_relay && cli.relay.verify_play);
        assert_eq!(
            cli.relay.rtmp_base.as_deref(),
            Some("rtmp://cdn.example/live/")
        );
        assert_eq!(
            cli.relay.flv_listen,
            Some("127.0.0.1:9000".parse().unwrap())
        );
    }
}
