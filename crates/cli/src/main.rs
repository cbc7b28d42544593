//! The `quartet` command line: host a call (room server + RTMP relay), list rooms, and be a
//! member from a terminal — against our server or any RTCRoom v1 server.

mod bot;
mod check;
mod demo;
mod join;
mod member;
mod probe;
mod rooms;
mod serve;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// On Linux, glibc's allocator spent about 6 % of the relay's CPU under load freeing media
/// buffers; mimalloc takes half of that. Elsewhere the system allocator stays.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "quartet",
    version,
    about = "Multi-party calls over RTMP, RTCRoom v1 compatible"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the room server (and the embedded RTMP relay) until Ctrl-C.
    // Boxed: its flags outweigh every other command's together.
    Server(Box<serve::ServeArgs>),
    /// List the rooms of a room server.
    Rooms(rooms::RoomsArgs),
    /// Be a member without media: print room events, send each line typed as a text message.
    Join(join::JoinArgs),
    /// Be a headless member with synthetic media: publish, play the others, print figures.
    Bot(bot::BotArgs),
    /// Host a room server and relay with three bots in a call, for a person to join.
    Demo(demo::DemoArgs),
    /// Walk a room server through the v1 lifecycle and report every answer that differs from
    /// the original v1 server's.
    Check(check::CheckArgs),
    /// Read an RTMP or HTTP-FLV stream for a few seconds and print what it carries.
    Probe(probe::ProbeArgs),
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Server(args) => serve::run(*args).await,
            Command::Rooms(args) => rooms::run(args).await,
            Command::Join(args) => join::run(args).await,
            Command::Bot(args) => bot::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Check(args) => check::run(args).await,
            Command::Probe(args) => probe::run(args).await,
        }
    });
    // Every command awaits its own tasks before returning; what may remain is tokio's stdin
    // reader, blocked in read(2) on a terminal that cannot be interrupted, so don't wait for it.
    runtime.shutdown_background();
    outcome
}

/// Completes on Ctrl-C (or SIGTERM on Unix), so every command shuts down the same way.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
