//! `quartet server`: the room server and, unless `--no-relay`, the embedded RTMP relay (with its
//! HTTP-FLV listener), in one process, so one command hosts a whole call. It runs the same
//! [`Host`] as `quartet demo` and the desktop app; only the flags and what is printed are its own.

mod relay_args;
mod server_args;

use anyhow::{Context, Result, bail};
use clap::Args;
use quartet_server::{Host, HostError, RtmpSetup, ServerConfig, Storage};
use relay_args::RelayArgs;
use server_args::ServerArgs;

/// Flags of `quartet server`.
#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    relay: RelayArgs,
}

/// Serves until Ctrl-C or SIGTERM, then stops both servers and waits for them.
pub async fn run(args: ServeArgs) -> Result<()> {
    let config = args.server.config();
    if let Some(dir) = &args.relay.record {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot record into {} (--record)", dir.display()))?;
        println!("recording: every stream into {}", dir.display());
    }
    let rtmp = rtmp_setup(&args.relay, &config);
    let mut host = match Host::start(config, args.server.listen(), rtmp).await {
        // Said in the flags' words: the library does not know them.
        Err(HostError::NoRtmpBase(bound)) => bail!(
            "--rtmp-listen {bound} listens on every interface, so members need to be told which \
             address to push to: add --rtmp-base rtmp://<this machine's LAN address>:{}/{}",
            bound.port(),
            args.relay.rtmp_app
        ),
        started => started.context("could not start the room server")?,
    };
    announce(&host, &args.relay);

    // Either a signal or a server failing on its own ends the process; both stop everything.
    let failed = tokio::select! {
        _ = crate::shutdown_signal() => None,
        failed = host.failed() => Some(failed),
    };
    println!("shutting down");
    let stopped = host.stop().await;
    if let Some(failed) = failed {
        failed.context("room server failed")?;
    }
    stopped.context("stopping the room server")
}

/// Where members' streams go, as the flags say.
fn rtmp_setup(relay: &RelayArgs, config: &ServerConfig) -> RtmpSetup {
    if relay.no_relay {
        let base = relay.rtmp_base.as_deref().unwrap_or(&config.rtmp_base);
        return RtmpSetup::External {
            base: base.to_owned(),
        };
    }
    RtmpSetup::Embedded {
        listen: relay.rtmp_listen,
        relay: Box::new(relay.config(None)),
        base: relay.rtmp_base.clone(),
        flv_listen: relay.flv_listen,
    }
}

/// Prints where everything listens and how to use it.
fn announce(host: &Host, relay: &RelayArgs) {
    let config = host.server().config();
    match &config.storage {
        Storage::Dir(dir) => println!(
            "data directory: {} (rooms, members and keys survive a restart)",
            dir.display()
        ),
        Storage::Memory => {
            println!("data directory: none (--ephemeral): rooms end with this process")
        }
        Storage::Redis(url) => println!(
            "rooms shared through Redis at {}: every server given it serves the same rooms",
            redact(url)
        ),
    }
    // Only a standing server needs keys that outlive it; the app's host lives and dies with
    // its rooms, so it does not warn.
    if config.has_random_push_key() {
        tracing::warn!(
            "no push secret key configured: using a random one, so every signed stream URL dies with this process"
        );
    }
    if config.has_random_token_secret() {
        tracing::warn!(
            "no token secret configured: using a random one, so every userSig dies with this process"
        );
    }
    match host.rtmp_addr() {
        Some(bound) => {
            println!(
                "RTMP relay:  rtmp://{bound}/{} (members' URLs: {})",
                relay.rtmp_app,
                host.rtmp_base()
            );
            if let Some(flv) = host.flv_addr() {
                println!(
                    "HTTP-FLV:    http://{flv}/{} (mixedPlayURL: {})",
                    relay.rtmp_app,
                    config.flv_base.as_deref().unwrap_or_default()
                );
            }
        }
        None => println!(
            "RTMP server: {} (external; it must check the same push secret key)",
            host.rtmp_base()
        ),
    }
    let addr = host.http_addr();
    let shown = if addr.ip().is_unspecified() {
        format!("http://<this machine's LAN address>:{}", addr.port())
    } else {
        format!("http://{addr}")
    };
    println!("room server: {shown}");
    println!("  list rooms:  quartet rooms --server {shown}");
    println!("  join a room: quartet join --server {shown} --create \"My room\" --name Me");
}

/// `url` without its password, to print.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://…@{host}"),
        _ => url.to_owned(),
    }
}
