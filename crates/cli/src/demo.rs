//! `quartet demo`: a room server and the embedded relay on loopback, and three bots in one
//! room, so a call is running after one command; a person joins it with the app or with
//! `quartet join`.

use crate::bot::{Bot, BotOptions, bot_config};
use anyhow::{Context, Result};
use clap::Args;
use quartet_call::config::{DEFAULT_FPS, DEFAULT_HEIGHT, DEFAULT_WIDTH};
use quartet_proto::RoomKind;
use quartet_room::{JoinTarget, SessionConfig};
use quartet_server::{Host, RtmpSetup, ServerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;
use url::Url;

/// The demo members, in order of arrival: the first creates the room.
pub const DEMO_BOTS: [&str; 3] = ["Demo Ann", "Demo Ben", "Demo Cho"];
/// Avatar of the demo members.
const DEMO_AVATAR: &str = quartet_proto::limits::INITIALS_AVATAR;
/// How often each demo member prints its figures.
const DEMO_STATS_EVERY: Duration = Duration::from_secs(10);

/// Flags of `quartet demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Address the room server listens on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Address the RTMP relay listens on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    rtmp_listen: SocketAddr,
    /// Name of the demo room.
    #[arg(long, default_value = "Demo")]
    room_name: String,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<u64>,
    /// Write each member's grid to DIR/<name>.png every second.
    #[arg(long, value_name = "DIR")]
    snapshot: Option<PathBuf>,
    /// Width of the pictures the members send.
    #[arg(long, default_value_t = DEFAULT_WIDTH)]
    width: u32,
    /// Height of the pictures the members send.
    #[arg(long, default_value_t = DEFAULT_HEIGHT)]
    height: u32,
    /// Frames per second the members send.
    #[arg(long, default_value_t = DEFAULT_FPS)]
    fps: u32,
}

/// The file a member's grid goes to: its name in lower case, spaces as dashes.
fn snapshot_file(dir: &std::path::Path, name: &str) -> PathBuf {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    dir.join(format!("{stem}.png"))
}

/// Hosts, starts the bots, and runs until Ctrl-C or `--duration`.
pub async fn run(args: DemoArgs) -> Result<()> {
    if args.listen.ip().is_unspecified() || args.rtmp_listen.ip().is_unspecified() {
        anyhow::bail!(
            "the demo serves one machine: give loopback or LAN addresses, not {} / {}",
            args.listen,
            args.rtmp_listen
        );
    }
    let host = Host::start(
        ServerConfig::default(),
        args.listen,
        RtmpSetup::Embedded {
            listen: args.rtmp_listen,
            relay: Box::default(),
            base: None,
            flv_listen: None,
        },
    )
    .await?;
    let url = host.http_url();
    println!("RTMP relay:  {}", host.rtmp_base());
    println!("room server: {url}");
    if let Some(dir) = &args.snapshot {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }

    let outcome = run_bots(&args, &url).await;
    println!("shutting down");
    let stopped = host.stop().await.context("stopping the servers");
    outcome.and(stopped)
}

async fn run_bots(args: &DemoArgs, url: &str) -> Result<()> {
    let server = Url::parse(url)?;
    let options = |name: &str, target: JoinTarget| {
        let session = SessionConfig::new(
            server.clone(),
            RoomKind::MultiRoom,
            target,
            name,
            DEMO_AVATAR,
        );
        BotOptions {
            config: bot_config(session, args.width, args.height, args.fps),
            prefix: format!("[{name}] "),
            duration: None,
            stats_every: Some(DEMO_STATS_EVERY),
            snapshot: args.snapshot.as_deref().map(|d| snapshot_file(d, name)),
            stats_json: None,
        }
    };
    let [first, others @ ..] = DEMO_BOTS;
    let creator = Bot::start(options(
        first,
        JoinTarget::Create {
            room_name: args.room_name.clone(),
        },
    ))
    .await
    .with_context(|| format!("{first} could not create the room"))?;
    let room_id = creator.room_id();
    let mut bots = vec![creator];
    for name in others {
        let target = JoinTarget::Join {
            room_id: room_id.clone(),
        };
        bots.push(
            Bot::start(options(name, target))
                .await
                .with_context(|| format!("{name} could not join"))?,
        );
    }
    println!("demo room:   {room_id} ({} members)", bots.len());
    println!("  join it:   quartet join --server {url} --room {room_id} --name Me");
    println!("  or a bot:  quartet bot --server {url} --room {room_id} --name Me");

    let until = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let (stop_joiners, joiners_stop) = watch::channel(false);
    let (stop_creator, creator_stops) = watch::channel(false);
    let mut bots = bots.into_iter();
    let mut creator = match bots.next() {
        Some(bot) => tokio::spawn(bot.run(until(creator_stops))),
        None => anyhow::bail!("no demo members"),
    };
    let mut joiners = tokio::task::JoinSet::new();
    for bot in bots {
        joiners.spawn(bot.run(until(joiners_stop.clone())));
    }
    let duration = args.duration.map(Duration::from_secs);
    let mut outcome = Ok(());
    let mut creator_done = false;
    tokio::select! {
        _ = crate::shutdown_signal() => {}
        _ = tokio::time::sleep(duration.unwrap_or_default()), if duration.is_some() => {}
        // A member ending by itself means trouble (e.g. the room server went away).
        Some(ended) = joiners.join_next() => outcome = ended.context("a demo member failed")?,
        ended = &mut creator => {
            creator_done = true;
            outcome = ended.context("a demo member failed")?;
        }
    }
    // The creator leaving closes the room, so it leaves last.
    let _ = stop_joiners.send(true);
    while let Some(ended) = joiners.join_next().await {
        outcome = outcome.and(ended.context("a demo member failed")?);
    }
    let _ = stop_creator.send(true);
    if !creator_done {
        outcome = outcome.and(creator.await.context("a demo member failed")?);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_files_are_named_after_members() {
        let dir = std::path::Path::new("/tmp/x");
        assert_eq!(
            snapshot_file(dir, "Demo Ann"),
            PathBuf::from("/tmp/x/demo-ann.png")
        );
    }
}
