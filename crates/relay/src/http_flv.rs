//! The relay's streams over HTTP-FLV: `http://host:port/{app}/{stream}.flv?{play query}`.
//!
//! An HTTP player is one more subscriber of the [`Hub`]: it joins like an RTMP player (the
//! metadata, codec headers and cached group of pictures first), through the same bounded queue
//! and slow-player policy, and only the framing differs (FLV tags in HTTP chunks instead of
//! RTMP chunks). So it never takes the shared RTMP chunking or the publisher's direct writes; its
//! own task writes everything, and its socket's unsent bytes still count in its budget.
//!
//! Play is authorised as an RTMP play is (`auth::may_play`): a refused signature is 403, a
//! stream that is not live 404. The answer to a player ends when its publisher leaves.
//!
//! # Limits
//!
//! - At most [`FLV_MAX_CONNECTIONS`] connections; past it a new one is told 503 and closed.
//! - A request head of at most [`FLV_MAX_HEAD_BYTES`] and [`FLV_MAX_HEADERS`] fields, whole within
//!   [`FLV_HEAD_TIMEOUT`] of accept (then 431, 400 or a plain close).
//! - A player sends nothing after its head: past [`FLV_MAX_TRAILING_INPUT`] bytes it is closed.
//! - A slow reader costs the same as a slow RTMP player: its queue's byte bound
//!   ([`RelayConfig::player_queue_bytes`]), [`OUT_HIGH_WATER`] staged and a kernel send buffer of
//!   [`RelayConfig::player_send_buffer`]; one that drains nothing for
//!   [`RelayConfig::idle_timeout`] is closed.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use socket2::SockRef;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use crate::auth::{self, Refusal};
use crate::config::RelayConfig;
use crate::conn::{OUT_HIGH_WATER, SocketSink, left_abruptly, unix_now, write_from};
use crate::flv::{self, FLV_MAX_HEAD_BYTES, FLV_MAX_HEADERS, Route, Status};
use crate::hub::{Hub, Player, Stream};
use crate::outbound::Outbound;
use crate::queue::{Entry, Notice};
use crate::relay::{RefusalLog, RelayError, accept_pause};
use crate::unsent::unsent_bytes;

/// Most HTTP-FLV connections at once (each a player, or a request on its way).
pub const FLV_MAX_CONNECTIONS: usize = 1_024;
/// Time from accept to a whole request head: a player sends it at once.
pub const FLV_HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes a player may send after its head (pipelined requests, a stray body) before it is closed.
pub const FLV_MAX_TRAILING_INPUT: usize = 16 * 1024;
/// Connection numbers of HTTP players start here, apart from the RTMP connections' (which count
/// from 1), since both kinds of player are told apart by number in a stream's list.
const HTTP_CONN_BASE: u64 = 1 << 63;
/// Time to deliver a refusal before closing.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);
/// Input read and thrown away after a refusal, so the close does not reset the connection
/// under the answer: twice the largest head.
const LINGER_BYTES: usize = 2 * FLV_MAX_HEAD_BYTES;

/// The limits of the HTTP-FLV listener; [`Default`] gives the named constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlvLimits {
    /// See [`FLV_MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`FLV_HEAD_TIMEOUT`].
    pub head_timeout: Duration,
    /// See [`FLV_MAX_HEAD_BYTES`].
    pub max_head_bytes: usize,
    /// See [`FLV_MAX_HEADERS`].
    pub max_headers: usize,
}

impl Default for FlvLimits {
    fn default() -> Self {
        FlvLimits {
            max_connections: FLV_MAX_CONNECTIONS,
            head_timeout: FLV_HEAD_TIMEOUT,
            max_head_bytes: FLV_MAX_HEAD_BYTES,
            max_headers: FLV_MAX_HEADERS,
        }
    }
}

/// The relay's HTTP-FLV listener (from [`crate::Relay::http_flv`]); [`HttpFlv::run`] serves.
#[derive(Debug)]
pub struct HttpFlv {
    pub(crate) hub: Arc<Hub>,
    pub(crate) config: Arc<RelayConfig>,
    pub(crate) limits: FlvLimits,
}

/// Why one HTTP-FLV connection ended badly.
#[derive(Debug, thiserror::Error)]
enum FlvError {
    #[error("socket error: {0}")]
    Io(#[from] io::Error),
    #[error("no whole request head within {0:?}")]
    HeadTimeout(Duration),
    #[error("request head over {0} bytes")]
    HeadTooLarge(usize),
    #[error("refused: {0}")]
    Refused(Refusal),
    #[error("sent {0} bytes after the request head")]
    TrailingInput(usize),
    #[error("drained nothing for {0:?}")]
    Stalled(Duration),
}

/// How a connection ended without fault.
#[derive(Debug)]
enum End {
    /// Answered with a status and closed.
    Answered(Status),
    /// The publisher left; the stream was ended.
    Unpublished,
    PeerClosed,
    Shutdown,
}

impl HttpFlv {
    /// The same listener within other `limits`.
    pub fn with_limits(self, limits: FlvLimits) -> HttpFlv {
        HttpFlv { limits, ..self }
    }

    /// Serves HTTP-FLV on `listener` until `shutdown` resolves; every connection is closed and
    /// its task finished before this returns.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RelayError> {
        let local = listener.local_addr()?;
        tracing::info!(%local, app = %self.config.app, "HTTP-FLV listening");
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut refusals = RefusalLog::new();
        let mut next_conn = HTTP_CONN_BASE;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = done && e.is_panic() {
                        tracing::error!("HTTP-FLV connection task panicked; others go on");
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((socket, addr)) => {
                        if tasks.len() >= self.limits.max_connections {
                            // Best effort and without waiting: the answer fits any socket buffer.
                            let _ = socket.try_write(&flv::answer(Status::Unavailable));
                            if let Some(n) = refusals.refused(Instant::now()) {
                                tracing::warn!(peer = %addr, refused = n, limit = self.limits.max_connections,
                                    "HTTP-FLV connection limit reached, closing new connections");
                            }
                            continue;
                        }
                        if let Err(e) = socket.set_nodelay(true) {
                            tracing::debug!(peer = %addr, error = %e, "TCP_NODELAY not set");
                        }
                        next_conn += 1;
                        let conn = Conn {
                            id: next_conn,
                            addr,
                            hub: self.hub.clone(),
                            config: self.config.clone(),
                            limits: self.limits,
                            stop: stop.child_token(),
                        };
                        tasks.spawn(conn.serve(socket));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "HTTP-FLV accept failed");
                        if let Some(pause) = accept_pause(&e) {
                            tokio::time::sleep(pause).await;
                        }
                    }
                },
            }
        }
        tracing::info!(%local, connections = tasks.len(), "HTTP-FLV stopping");
        stop.cancel();
        while tasks.join_next().await.is_some() {}
        Ok(())
    }
}

/// One accepted connection.
struct Conn {
    id: u64,
    addr: SocketAddr,
    hub: Arc<Hub>,
    config: Arc<RelayConfig>,
    limits: FlvLimits,
    stop: CancellationToken,
}

/// A player's place in its stream, given back however the connection ends.
struct Attached<'a> {
    hub: &'a Hub,
    stream: Arc<Stream>,
    player: Arc<Player>,
    conn: u64,
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        self.player.detach();
        self.hub.stop_play(&self.stream, self.conn);
    }
}

impl Conn {
    async fn serve(self, mut socket: TcpStream) {
        let (id, addr) = (self.id, self.addr);
        let result = tokio::select! {
            result = self.drive(&mut socket) => result,
            () = self.stop.cancelled() => Ok(End::Shutdown),
        };
        match result {
            Ok(End::Answered(status)) => {
                tracing::debug!(conn = id, peer = %addr, ?status, "HTTP-FLV request answered");
            }
            Ok(end) => tracing::debug!(conn = id, peer = %addr, ?end, "HTTP-FLV player closed"),
            Err(FlvError::Io(e)) if left_abruptly(&e) => {
                tracing::debug!(conn = id, peer = %addr, error = %e, "HTTP-FLV player went away");
            }
            Err(e @ (FlvError::HeadTimeout(_) | FlvError::HeadTooLarge(_))) => {
                tracing::debug!(conn = id, peer = %addr, error = %e, "HTTP-FLV connection dropped");
            }
            Err(e) => {
                tracing::info!(conn = id, peer = %addr, error = %e, "HTTP-FLV connection dropped")
            }
        }
    }

    async fn drive(&self, socket: &mut TcpStream) -> Result<End, FlvError> {
        let mut buf = Vec::with_capacity(1024);
        let head = match timeout(self.limits.head_timeout, self.read_head(socket, &mut buf)).await {
            Ok(Ok(len)) => len,
            Ok(Err(FlvError::HeadTooLarge(n))) => {
                answer(socket, Status::HeadTooLarge).await;
                return Err(FlvError::HeadTooLarge(n));
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(FlvError::HeadTimeout(self.limits.head_timeout)),
        };
        let request = match flv::parse_head(&buf[..head], self.limits.max_headers) {
            Ok(request) => request,
            Err(e) => return Ok(answer(socket, e.into()).await),
        };
        let chunked = request.http11;
        let raw = match flv::route(&request, &self.config.app) {
            Route::Play { raw } => raw,
            Route::Preflight => return Ok(answer(socket, Status::NoContent).await),
            Route::NotFound => return Ok(answer(socket, Status::NotFound).await),
            Route::MethodNotAllowed => return Ok(answer(socket, Status::MethodNotAllowed).await),
        };
        let trailing = buf.len() - head;
        let key = match auth::parse_key(&raw).and_then(|key| {
            let signer = self.config.signer.as_ref();
            auth::may_play(signer, self.config.verify_play, &key, unix_now()).map(|()| key)
        }) {
            Ok(key) => key,
            Err(Refusal::BadName(_)) => return Ok(answer(socket, Status::NotFound).await),
            Err(refusal) => {
                answer(socket, Status::Forbidden).await;
                return Err(FlvError::Refused(refusal));
            }
        };
        let (stream, player, live) = self.hub.start_play(&key.stream_id, self.id);
        let attached = Attached {
            hub: &self.hub,
            stream,
            player,
            conn: self.id,
        };
        if !live {
            drop(attached);
            return Ok(answer(socket, Status::NotFound).await);
        }
        tracing::debug!(conn = self.id, peer = %self.addr, stream = key.stream_id, "HTTP-FLV playing");
        let sock = SockRef::from(&*socket);
        sock.set_send_buffer_size(self.config.player_send_buffer)?;
        // Not direct: the publisher's shared copy is RTMP chunks, not FLV tags.
        attached
            .player
            .attach(Box::new(SocketSink(sock.try_clone()?)), false);
        let mut out = Outbound::default();
        out.push_vec(flv::stream_head(chunked));
        flv::push_body(&mut out, Bytes::from_static(&flv::FLV_FILE_HEADER), chunked);
        self.stream(socket, &attached.player, out, chunked, trailing)
            .await
    }

    /// Reads until the request head is whole; returns its length (`buf` may hold more).
    async fn read_head(&self, socket: &TcpStream, buf: &mut Vec<u8>) -> Result<usize, FlvError> {
        let max = self.limits.max_head_bytes;
        let mut chunk = [0u8; 2048];
        loop {
            socket.readable().await?;
            let n = match socket.try_read(&mut chunk) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e.into()),
            };
            // Look again only where the end may have arrived: the last 3 bytes and the new ones.
            let from = buf.len().saturating_sub(3);
            buf.extend_from_slice(&chunk[..n]);
            if let Some(len) = flv::head_len(&buf[from..]).map(|l| l + from)
                && len <= max
            {
                return Ok(len);
            }
            if buf.len() > max {
                return Err(FlvError::HeadTooLarge(max));
            }
        }
    }

    /// Sends the player's queue as FLV until the publisher leaves, the player goes or stalls,
    /// or the relay stops.
    async fn stream(
        &self,
        socket: &TcpStream,
        player: &Player,
        mut out: Outbound,
        chunked: bool,
        mut trailing: usize,
    ) -> Result<End, FlvError> {
        let idle = self.config.idle_timeout;
        let mut last_output = Instant::now();
        let mut was_pending = false;
        let mut ended = false;
        let mut scratch = [0u8; 1024];
        loop {
            if !ended && out.len() < OUT_HIGH_WATER {
                ended = pull(player, &mut out, chunked, OUT_HIGH_WATER);
            }
            if !out.is_empty() && write_from(socket, &mut out)? {
                last_output = Instant::now();
                player.waiting(out.len(), unsent_bytes(socket).ok());
            }
            if ended && out.is_empty() {
                return Ok(End::Unpublished);
            }
            let pending = !out.is_empty();
            if pending && !was_pending {
                // The stall clock starts when there is something to deliver.
                last_output = Instant::now();
            }
            was_pending = pending;
            let more = !pending && !ended && player.has_queued();
            tokio::select! {
                biased;
                ready = socket.readable() => {
                    ready?;
                    match socket.try_read(&mut scratch) {
                        Ok(0) => return Ok(End::PeerClosed),
                        Ok(n) => trailing += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e.into()),
                    }
                    if trailing > FLV_MAX_TRAILING_INPUT {
                        return Err(FlvError::TrailingInput(trailing));
                    }
                }
                ready = socket.writable(), if pending => {
                    ready?;
                    if write_from(socket, &mut out)? {
                        last_output = Instant::now();
                        player.waiting(out.len(), unsent_bytes(socket).ok());
                    }
                }
                () = player.ready(), if !pending && !more && !ended => {}
                () = std::future::ready(()), if more => {}
                () = sleep_until(last_output + idle), if pending => {
                    return Err(FlvError::Stalled(idle));
                }
            }
        }
    }
}

/// Moves queued entries into `out` as FLV until it holds `budget` bytes or the queue is empty;
/// true once the publisher has left (the body is then closed).
fn pull(player: &Player, out: &mut Outbound, chunked: bool, budget: usize) -> bool {
    while out.len() < budget {
        let before = out.len();
        let timestamp = match player.pop() {
            Some(Entry::Media(media)) => {
                if !flv::push_tag(out, &media, chunked) {
                    tracing::debug!(
                        len = media.payload.len(),
                        "message too large for FLV, skipped"
                    );
                }
                Some(media.timestamp)
            }
            Some(Entry::Notice(Notice::Unpublished)) => {
                if chunked {
                    out.push(Bytes::from_static(flv::LAST_CHUNK));
                }
                return true;
            }
            Some(Entry::Notice(Notice::Published)) => None,
            // Only players sharing the RTMP chunking leave a rest behind; this one never does.
            Some(Entry::Rest(_, timestamp)) => Some(timestamp),
            None => break,
        };
        player.handed(out.len() - before, timestamp);
    }
    false
}

/// Writes a whole answer, giving up after [`ANSWER_TIMEOUT`], and says which it was.
///
/// Then it reads what the client still sends, for as long and as much as a refused head may
/// bring: closing with unread input resets the connection, and a reset can destroy the answer
/// before the client reads it.
async fn answer(socket: &mut TcpStream, status: Status) -> End {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let bytes = flv::answer(status);
    // Best effort: the client may already be gone.
    let _ = timeout(ANSWER_TIMEOUT, async {
        socket.write_all(&bytes).await?;
        socket.shutdown().await?;
        let mut sink = [0u8; 2048];
        let mut drained = 0;
        while drained <= LINGER_BYTES {
            match socket.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        io::Result::Ok(())
    })
    .await;
    End::Answered(status)
}
