//! `quartet server`: the room server and, unless `--no-relay`, the embedded RTMP relay (with its
//! HTTP-FLV listener), in one process, so one command hosts a whole call.

use anyhow::{Context, Result, bail};
use clap::Args;
use quartet_relay::{RelayArgs, flv_base};
use quartet_server::host::bind_flv;
use quartet_server::{EmbeddedRelay, NeverLive, Server, ServerArgs, Storage, StreamLiveness};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

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
    let mut config = args.server.config();
    let (stop, stopped) = watch::channel(false);
    let on_stop = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    // Bind both listeners before starting anything, so a taken port fails cleanly at once.
    let rtmp_listener = match args.relay.relay_enabled() {
        true => Some(
            TcpListener::bind(args.relay.rtmp_listen)
                .await
                .with_context(|| {
                    format!("could not listen for RTMP on {}", args.relay.rtmp_listen)
                })?,
        ),
        false => None,
    };
    // An address given must be had; the default port gives way to a free one if taken, as the
    // URLs handed out name whichever was bound.
    let flv_listener = match (args.relay.relay_enabled(), args.relay.flv_listen) {
        (false, _) => None,
        (true, Some(flv)) => Some(
            TcpListener::bind(flv)
                .await
                .with_context(|| format!("could not listen for HTTP-FLV on {flv}"))?,
        ),
        (true, None) => Some(bind_flv(args.relay.rtmp_listen).await?),
    };
    let listen = args.server.listen();
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("could not listen for HTTP on {listen}"))?;

    if let Some(rtmp) = &rtmp_listener {
        let bound = rtmp.local_addr()?;
        if bound.ip().is_unspecified() && args.relay.rtmp_base.is_none() {
            bail!(
                "--rtmp-listen {bound} listens on every interface, so members need to be told which \
                 address to push to: add --rtmp-base rtmp://<this machine's LAN address>:{}/{}",
                bound.port(),
                args.relay.rtmp_app
            );
        }
    }
    if let Some(dir) = &args.relay.record {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot record into {} (--record)", dir.display()))?;
        println!("recording: every stream into {}", dir.display());
    }
    // Before the relay starts, so it signs with the stored push key; after the flags are
    // known to make sense, so a mistake is reported as such even while another server holds
    // the data directory.
    let store =
        quartet_server::open_storage(&mut config).context("could not open the data directory")?;
    match &config.storage {
        Storage::Dir(dir) => println!(
            "data directory: {} (rooms, members and keys survive a restart)",
            dir.display()
        ),
        Storage::Memory => {
            println!("data directory: none (--ephemeral): rooms end with this process")
        }
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

    let embedded = match &rtmp_listener {
        Some(rtmp) => {
            let bound = rtmp.local_addr()?;
            config.rtmp_base = args.relay.rtmp_base(bound);
            println!(
                "RTMP relay:  rtmp://{bound}/{} (members' URLs: {})",
                args.relay.rtmp_app, config.rtmp_base
            );
            if let Some(flv) = &flv_listener {
                let flv_bound = flv.local_addr()?;
                let base = flv_base(&config.rtmp_base, flv_bound, &args.relay.rtmp_app);
                println!(
                    "HTTP-FLV:    http://{flv_bound}/{} (mixedPlayURL: {})",
                    args.relay.rtmp_app,
                    config.flv_base.as_deref().unwrap_or(&base)
                );
                config.flv_base.get_or_insert(base);
            }
            Some(EmbeddedRelay::new(&config, args.relay.config(None)))
        }
        None => {
            if let Some(base) = &args.relay.rtmp_base {
                config.rtmp_base = base.trim_end_matches('/').to_owned();
            }
            println!(
                "RTMP server: {} (external; it must check the same push secret key)",
                config.rtmp_base
            );
            None
        }
    };
    let liveness: Arc<dyn StreamLiveness> = match &embedded {
        Some(e) => e.liveness(),
        None => Arc::new(NeverLive),
    };

    let addr = listener.local_addr()?;
    let shown = if addr.ip().is_unspecified() {
        format!("http://<this machine's LAN address>:{}", addr.port())
    } else {
        format!("http://{addr}")
    };
    println!("room server: {shown}");
    println!("  list rooms:  quartet rooms --server {shown}");
    println!("  join a room: quartet join --server {shown} --create \"My room\" --name Me");
    let server = Server::restore(config, liveness, store).context("could not restore the rooms")?;
    let relay_task = match (rtmp_listener, embedded) {
        (Some(rtmp), Some(embedded)) => Some(tokio::spawn(embedded.run_for(
            server.clone(),
            rtmp,
            flv_listener,
            on_stop(stopped.clone()),
        ))),
        _ => None,
    };
    let mut room_server = tokio::spawn(quartet_server::run(
        listener,
        server,
        on_stop(stopped.clone()),
    ));

    // Either a signal or a server failing on its own ends the process; both stop everything.
    let early = tokio::select! {
        _ = crate::shutdown_signal() => None,
        ended = &mut room_server => Some(ended),
    };
    println!("shutting down");
    let _ = stop.send(true);
    let served = match early {
        Some(ended) => ended,
        None => room_server.await,
    };
    if let Some(relay) = relay_task {
        relay
            .await
            .context("relay task failed")?
            .context("RTMP relay failed")?;
    }
    served
        .context("room server task failed")?
        .context("room server failed")
}
