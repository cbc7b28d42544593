//! The RTCRoom-compatible room server: rooms, members, heartbeats, events, text, tokens.
//!
//! It speaks the v1 room API of `shared/spec/room-api.md` to v1 clients unchanged, adds the
//! event channel, text messages and `userSig` authentication, and evicts members that stop
//! heartbeating (unless their stream is still live) or whose event socket closed.
//!
//! [`router`] gives the routes for tests and embedding; [`run`] serves them on a bound listener
//! together with the periodic eviction sweep, until a shutdown future completes.

pub mod args;
mod config;
mod embed;
mod events;
pub mod host;
mod http;
mod liveness;
mod presence;
mod rooms;
mod server;
pub mod store;
mod sweep;

pub use args::ServerArgs;
pub use config::{
    Capacities, DEFAULT_BIZID, DEFAULT_CHECK_INTERVAL, DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ROOMS, DEFAULT_MEDIA_STALL, DEFAULT_RTMP_BASE,
    DEFAULT_SOCKET_GRACE, DEFAULT_TOKEN_VALID, DEFAULT_URL_VALID, ServerConfig, Storage,
};
pub use embed::EmbeddedRelay;
pub use events::{IDLE_TIMEOUT, PING_INTERVAL};
pub use host::{Host, HostError, RtmpSetup};
pub use http::router;
pub use liveness::{NeverLive, StreamLiveness};
pub use presence::CHECK_SLACK;
pub use rooms::EVENT_BUFFER;
pub use server::{ACC_TYPE, MAX_TEXT_BYTES, SDK_APP_ID, Server};
pub use store::{RoomStore, StoreError, open_storage};

use std::future::Future;
use std::time::Duration;
use sweep::Sweeper;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Shortest sweep period honoured, so a zero interval cannot spin.
pub const MIN_CHECK_INTERVAL: Duration = Duration::from_millis(10);

/// Why the server stopped other than by its shutdown future.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listener or the HTTP server failed.
    #[error("room server I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The eviction sweeper panicked.
    #[error("room server eviction sweeper failed: {0}")]
    Sweeper(#[from] tokio::task::JoinError),
}

/// Serves [`router`] on `listener` and sweeps for silent members every `check_interval`, until
/// `shutdown` completes; then closes every room (sockets are told `server_shutdown`), lets
/// in-flight requests finish and returns once every task it started has ended.
pub async fn run(
    listener: TcpListener,
    server: Server,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "room server listening");
    let (stop, stopped) = oneshot::channel();
    let sweeper = tokio::spawn(
        Sweeper {
            server: server.clone(),
            stop: stopped,
        }
        .run(),
    );
    let closing = server.clone();
    let served = axum::serve(listener, router(server.clone()))
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("room server shutting down");
            closing.shutdown_rooms().await;
        })
        .await;
    // The sweeper may already be gone if it panicked; the join below reports that.
    let _ = stop.send(());
    let swept = sweeper.await;
    // Covers a serve that ended without the shutdown future having run.
    server.shutdown_rooms().await;
    served?;
    swept?;
    tracing::info!(%addr, "room server stopped");
    Ok(())
}
