//! The HTTP transport: hyper's HTTP/1.1 connections over a bound listener, with the limits a
//! hostile client meets (head size and count, head and request deadlines, a connection cap),
//! WebSocket upgrades, and a graceful stop.
//!
//! At the cap, the oldest connection that has not yet sent a whole request head is closed to make
//! room for the new one; only when every connection has proved itself (the members' keep-alive
//! and event sockets) is the new one closed instead. So a flood of slow or silent connections can
//! neither push out the members nor lock out a member who connects during it, and a slow
//! client's hold on a slot ends with [`REQUEST_HEAD_TIMEOUT`] anyway.

use crate::answer::json_error;
use axum::Router;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use quartet_proto::Code;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Most connections open at once, event sockets included: a call of four members holds about
/// eight; the cap keeps the process under the common 1,024-descriptor limit with room for the
/// relay, the store and logs.
pub const MAX_CONNECTIONS: usize = 512;
/// Longest a request head may take to arrive, counted from when the server starts waiting for it,
/// so it also closes a keep-alive connection idle for that long (the room client speaks every
/// 7 s). Ends slowloris connections that trickle a header.
pub const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a request may take from its head to the end of its answer (the body included), so a
/// client trickling a body cannot hold a connection either.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head, in bytes: browsers send 1–2 KiB; nginx's default limit is 8 KiB lines.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header fields in a request: browsers send about 20.
pub const MAX_HEADERS: usize = 64;
/// Largest read buffer of a connection, in bytes (hyper's least is 8 KiB), bounding the memory a
/// connection can make the server hold while a body streams through.
pub const MAX_CONNECTION_BUFFER: usize = 64 * 1024;
/// Pause after a failed `accept` (such as running out of descriptors), so it cannot spin.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The limits of the HTTP transport; [`Default`] gives the named constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`REQUEST_HEAD_TIMEOUT`].
    pub head_timeout: Duration,
    /// See [`REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
    /// See [`MAX_HEAD_BYTES`].
    pub max_head_bytes: usize,
    /// See [`MAX_HEADERS`].
    pub max_headers: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: MAX_CONNECTIONS,
            head_timeout: REQUEST_HEAD_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            max_head_bytes: MAX_HEAD_BYTES,
            max_headers: MAX_HEADERS,
        }
    }
}

/// A connection's stream, holding its slot under the cap for as long as the stream lives (after
/// a WebSocket upgrade too, since the upgraded socket owns it).
struct Counted {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Connections that have not sent a whole request head yet, oldest first, each with the token
/// that closes it.
#[derive(Default)]
struct Unproven(Mutex<VecDeque<(u64, CancellationToken)>>);

impl Unproven {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, CancellationToken)>> {
        crate::lock(&self.0)
    }

    fn add(&self, id: u64, close: CancellationToken) {
        self.lock().push_back((id, close));
    }

    /// Connection `id` sent a request head (or ended): it no longer makes room for others.
    fn proven(&self, id: u64) {
        self.lock().retain(|(i, _)| *i != id);
    }

    /// Closes the oldest unproven connection; false when there is none.
    fn close_oldest(&self) -> bool {
        let oldest = self.lock().pop_front();
        oldest.map(|(_, close)| close.cancel()).is_some()
    }
}

/// A slot under the cap for a new connection: a free one, or one an unproven connection gives up.
async fn slot_for(slots: &Arc<Semaphore>, unproven: &Unproven) -> Option<OwnedSemaphorePermit> {
    if let Ok(slot) = Arc::clone(slots).try_acquire_owned() {
        return Some(slot);
    }
    if !unproven.close_oldest() {
        return None;
    }
    // The closed connection's task drops its slot as it ends, which is at once.
    tokio::time::timeout(ACCEPT_ERROR_PAUSE, Arc::clone(slots).acquire_owned())
        .await
        .ok()?
        .ok()
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, runs `closing` (which tells the event sockets), lets in-flight requests finish and
/// returns once every connection has ended.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
    closing: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let unproven = Arc::new(Unproven::default());
    let mut next_id = 0u64;
    let stop = CancellationToken::new();
    let connections = TaskTracker::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout)
        .max_buf_size(MAX_CONNECTION_BUFFER.max(limits.max_head_bytes))
        .max_header_size(limits.max_head_bytes)
        .max_headers(limits.max_headers);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let Some(slot) = slot_for(&slots, &unproven).await else {
            tracing::debug!(%peer, max = limits.max_connections, "connection refused: at the cap");
            drop(stream);
            continue;
        };
        next_id += 1;
        let id = next_id;
        let close = CancellationToken::new();
        unproven.add(id, close.clone());
        let io = TokioIo::new(Counted {
            stream,
            _slot: slot,
        });
        let service = RequestService {
            router: router.clone(),
            timeout: limits.request_timeout,
            proof: (Arc::clone(&unproven), id),
        };
        let conn = builder.serve_connection(io, service).with_upgrades();
        let stop = stop.clone();
        let unproven = Arc::clone(&unproven);
        connections.spawn(async move {
            tokio::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                () = close.cancelled() => {
                    tracing::debug!(%peer, "connection closed to make room: no request yet");
                    Ok(())
                }
                () = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            unproven.proven(id);
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    closing.await;
    stop.cancel();
    connections.close();
    connections.wait().await;
}

/// The router as a hyper service, each request bounded by the request timeout.
#[derive(Clone)]
struct RequestService {
    router: Router,
    timeout: Duration,
    /// The set this connection leaves with its first request head.
    proof: (Arc<Unproven>, u64),
}

impl hyper::service::Service<Request<Incoming>> for RequestService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let (unproven, id) = &self.proof;
        unproven.proven(*id);
        let router = self.router.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, router.oneshot(request)).await {
                Ok(answered) => answered,
                Err(_) => Ok(json_error(
                    StatusCode::REQUEST_TIMEOUT,
                    Code::BadParams,
                    format!(
                        "the request was not complete within {} s",
                        timeout.as_secs()
                    ),
                )),
            }
        })
    }
}
