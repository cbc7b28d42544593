//! The RTCRoom-compatible room server: rooms, members, heartbeats, events, text, tokens.
//!
//! It speaks the v1 room API of `shared/spec/room-api.md` to v1 clients unchanged, adds the
//! event channel, text messages and `userSig` authentication, and evicts members that stop
//! heartbeating (unless their stream is still live) or whose event socket closed.
//!
//! [`router`] gives the routes for tests and embedding; [`run`] serves them on a bound listener
//! together with the periodic eviction sweep and, when an IM application is configured, the IM
//! bridge ([`im`]), until a shutdown future completes.
//!
//! Against hostile clients every resource is bounded by a named limit: the HTTP transport's
//! connections, head size and deadlines ([`HttpLimits`]), event sockets per member
//! ([`MAX_SOCKETS_PER_MEMBER`]) and per user not yet joined ([`MAX_PREJOIN_SOCKETS_PER_ROOM`]), rooms and room creations per user ([`MAX_ROOMS_PER_USER`],
//! [`MAX_CREATIONS_PER_WINDOW`]), the nonces remembered against replay ([`NONCE_WINDOW`],
//! [`MAX_NONCES_PER_USER`]), keyframe requests per member pair ([`KEYFRAME_REQUEST_INTERVAL`])
//! and events queued for one socket ([`DIRECT_QUEUE`]); field limits live in
//! `quartet_proto::limits`.

mod answer;
pub mod avatar;
mod config;
mod embed;
mod events;
pub mod host;
mod http;
pub mod im;
mod keyframes;
mod liveness;
mod notes;
mod prejoin;
mod presence;
mod quota;
mod replay;
mod rooms;
mod serve;
mod server;
mod sockets;
pub mod store;
mod sweep;

pub use answer::JSON_CONTENT_TYPE;
pub use config::{
    Capacities, DEFAULT_BIZID, DEFAULT_CHECK_INTERVAL, DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_JOIN_GRACE, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ROOMS, DEFAULT_MEDIA_STALL,
    DEFAULT_RTMP_BASE, DEFAULT_SOCKET_GRACE, DEFAULT_TOKEN_VALID, DEFAULT_URL_VALID, ServerConfig,
    Storage,
};
pub use embed::EmbeddedRelay;
pub use events::{IDLE_TIMEOUT, PING_INTERVAL};
pub use host::{Host, HostError, RtmpSetup};
pub use http::router;
pub use keyframes::KEYFRAME_REQUEST_INTERVAL;
pub use liveness::{NeverLive, StreamLiveness};
pub use prejoin::{MAX_PREJOIN_ROOMS_PER_USER, MAX_PREJOIN_SOCKETS_PER_ROOM, PreJoinRefusal};
pub use presence::CHECK_SLACK;
pub use quota::{
    CREATION_WINDOW, CreationRate, MAX_CREATIONS_PER_WINDOW, MAX_ROOMS_PER_USER, RateLimited,
};
pub use replay::{MAX_NONCES_PER_USER, NONCE_WINDOW, NonceRefusal, SeenNonces};
pub use rooms::EVENT_BUFFER;
pub use serve::{
    ACCEPT_ERROR_PAUSE, HttpLimits, MAX_CONNECTION_BUFFER, MAX_CONNECTIONS, MAX_HEAD_BYTES,
    MAX_HEADERS, REQUEST_HEAD_TIMEOUT, REQUEST_TIMEOUT,
};
pub use server::{ACC_TYPE, MAX_TEXT_BYTES, SDK_APP_ID, Server};
pub use sockets::{DIRECT_QUEUE, MAX_SOCKETS_PER_MEMBER};
pub use store::{RoomStore, StoreError, open_storage};

use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};
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
/// in-flight requests finish and returns once every task it started has ended. The HTTP limits
/// are [`HttpLimits::default`].
pub async fn run(
    listener: TcpListener,
    server: Server,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    run_with(listener, server, HttpLimits::default(), shutdown).await
}

/// [`run`] with other HTTP limits.
pub async fn run_with(
    listener: TcpListener,
    server: Server,
    limits: HttpLimits,
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
    // The IM bridge runs while the server serves, and past it just long enough to tell IM
    // of the rooms that shutdown closed.
    let im_stop = tokio_util::sync::CancellationToken::new();
    let im_bridge = server
        .take_im_actor()
        .map(|actor| tokio::spawn(actor.run(im_stop.clone())));
    let notes_stop = tokio_util::sync::CancellationToken::new();
    let notes = follow_notes(&server, &notes_stop).await;
    let closing = server.clone();
    serve::serve(
        listener,
        router(server.clone()),
        limits,
        async move {
            shutdown.await;
            tracing::info!("room server shutting down");
        },
        async move { closing.shutdown_rooms().await },
    )
    .await;
    // The sweeper may already be gone if it panicked; the join below reports that.
    let _ = stop.send(());
    im_stop.cancel();
    notes_stop.cancel();
    if let Some(notes) = notes
        && let Err(e) = notes.await
    {
        tracing::error!(error = %e, "shared store follower failed");
    }
    if let Some(bridge) = im_bridge
        && let Err(e) = bridge.await
    {
        tracing::error!(error = %e, "IM bridge failed");
    }
    let swept = sweeper.await;
    swept?;
    tracing::info!(%addr, "room server stopped");
    Ok(())
}

/// Starts following the notes of the store `server` shares with other servers, if it shares
/// one, and waits (at most [`store::CONNECT_TIMEOUT`]) until the subscription stands, so a
/// change another server makes once this one serves is never missed.
async fn follow_notes(
    server: &Server,
    stop: &tokio_util::sync::CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let url = server.notes_url()?;
    let (ready, subscribed) = oneshot::channel();
    let follower = tokio::spawn(
        notes::NoteFollower {
            server: server.clone(),
            url,
            stop: stop.clone(),
            ready: Some(ready),
        }
        .run(),
    );
    if tokio::time::timeout(store::CONNECT_TIMEOUT, subscribed)
        .await
        .is_err()
    {
        tracing::warn!("not yet subscribed to the shared store's notes; serving anyway");
    }
    Some(follower)
}

/// A std mutex's guard even if another holder panicked: every critical section in this crate
/// leaves its data consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
