//! The tokio shell around one [`Peer`]: reads, writes, timeouts and shutdown, nothing else.
//!
//! One task per connection reads and writes the same socket through readiness, so a player whose
//! socket is full still has its input read, and every wait is interruptible by shutdown, a
//! takeover or a timeout. A player with nothing left to write parks (see `queue`): the
//! publisher's task then writes the stream to its socket itself, and this task wakes only for
//! input, a full socket or a notice.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::ReadHalf;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::config::RelayConfig;
use crate::hub::{DirectSink, Player};
use crate::outbound::MAX_WRITE_SLICES;
use crate::peer::{Peer, PeerError};

/// Bytes read at once. The buffer is per worker thread, not per connection: input is handed
/// to the session (which keeps what it needs) before the next await.
const READ_BUFFER_SIZE: usize = 64 * 1024;
/// Output bytes queued for a player before its queue is left to absorb (and drop) the rest.
const OUT_HIGH_WATER: usize = 256 * 1024;
/// Loop rounds between explicit looks at the stop token.
const STOP_CHECK_ROUNDS: u32 = 64;
/// Time to deliver a last message (a refusal, say) before closing.
const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);
/// Kernel send buffer of a player's socket: bytes sitting there are latency the relay can no
/// longer drop, so it is kept small (Linux doubles it).
const PLAYER_SEND_BUFFER: usize = 64 * 1024;

thread_local! {
    static READ_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_BUFFER_SIZE]);
}

/// A player's socket, shared with the publisher's task while the player is parked.
#[derive(Debug)]
struct SocketSink(socket2::Socket);

impl DirectSink for SocketSink {
    fn try_send(&self, bytes: &[u8]) -> io::Result<usize> {
        self.0.send(bytes)
    }
}

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error("socket error: {0}")]
    Io(#[from] io::Error),
    #[error("no RTMP handshake within {0:?}")]
    HandshakeTimeout(Duration),
    #[error("no progress for {0:?}")]
    Idle(Duration),
}

/// Whether a socket error is only the peer leaving without a goodbye: players that quit
/// (FFmpeg among them) close with unread input, which resets the connection. Not worth a warning.
fn left_abruptly(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(e.kind(), ConnectionReset | ConnectionAborted | BrokenPipe)
}

/// How a connection ended without fault.
#[derive(Debug)]
enum End {
    PeerClosed,
    Shutdown,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Resolves once `stop` is cancelled. The token's wait future keeps the task's waker from its
/// first poll on, so later rounds read the flag alone: polling the future again would take the
/// token's lock once per message.
fn poll_stopped(
    stop: &CancellationToken,
    stopped: Pin<&mut WaitForCancellationFuture<'_>>,
    armed: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<()> {
    if stop.is_cancelled() {
        return Poll::Ready(());
    }
    if *armed {
        return Poll::Pending;
    }
    *armed = true;
    stopped.poll(cx)
}

async fn player_ready(player: Option<&Arc<Player>>) {
    match player {
        Some(p) => p.ready().await,
        None => std::future::pending().await,
    }
}

/// What one read did.
enum Read {
    Data,
    Closed,
}

/// Reads what is there and hands it to the peer. Reading through `AsyncRead` (not `try_read`)
/// lets tokio treat a short read as "drained", which saves a failing read per message.
fn poll_read_into(
    rd: &mut ReadHalf<'_>,
    peer: &mut Peer,
    cx: &mut Context<'_>,
) -> Poll<Result<Read, ConnError>> {
    READ_BUFFER.with_borrow_mut(|buf| {
        let mut filled = ReadBuf::new(buf);
        match Pin::new(rd).poll_read(cx, &mut filled) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e.into())),
            Poll::Ready(Ok(())) if filled.filled().is_empty() => Poll::Ready(Ok(Read::Closed)),
            Poll::Ready(Ok(())) => Poll::Ready(
                peer.on_input(filled.filled(), unix_now())
                    .map(|()| Read::Data)
                    .map_err(ConnError::from),
            ),
        }
    })
}

/// Writes what the socket takes; false when it took nothing.
fn write_from(socket: &TcpStream, peer: &mut Peer) -> Result<bool, ConnError> {
    let mut slices = [IoSlice::new(&[]); MAX_WRITE_SLICES];
    let out = peer.out();
    let n = out.slices(&mut slices);
    // A single buffer goes out with send(2), which skips the file layer writev(2) goes through.
    let result = if n == 1 {
        socket.try_write(&slices[0])
    } else {
        socket.try_write_vectored(&slices[..n])
    };
    match result {
        Ok(written) => {
            out.advance(written);
            Ok(written > 0)
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Serves one accepted connection until it ends, then leaves the hub (by dropping the peer).
pub(crate) async fn serve(
    socket: TcpStream,
    addr: SocketAddr,
    conn: u64,
    mut peer: Peer,
    config: Arc<RelayConfig>,
    relay_stop: CancellationToken,
) {
    let mut socket = socket;
    let result = drive(&mut socket, &mut peer, &config).await;
    if let Some(player) = peer.player() {
        player.detach();
    }
    match result {
        Ok(end) => tracing::debug!(conn, peer = %addr, ?end, "connection closed"),
        Err(ConnError::Peer(PeerError::Refused(refusal))) => {
            tracing::warn!(conn, peer = %addr, %refusal, "request refused, closing");
        }
        Err(ConnError::Peer(PeerError::TakenOver)) if relay_stop.is_cancelled() => {
            tracing::debug!(conn, peer = %addr, "connection closed for shutdown");
        }
        Err(ConnError::Io(e)) if left_abruptly(&e) => {
            tracing::info!(conn, peer = %addr, error = %e, "peer went away");
        }
        Err(e) => tracing::warn!(conn, peer = %addr, error = %e, "connection dropped"),
    }
    let rest = peer.out().take_all();
    if !rest.is_empty() {
        // Best effort: the peer may already be gone.
        let _ = timeout(CLOSE_FLUSH_TIMEOUT, socket.write_all(&rest)).await;
    }
}

async fn drive(
    socket: &mut TcpStream,
    peer: &mut Peer,
    config: &RelayConfig,
) -> Result<End, ConnError> {
    let (mut rd, wr) = socket.split();
    let socket: &TcpStream = wr.as_ref();
    let stop = peer.stop_token().clone();
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    let mut stop_armed = false;
    let handshake_deadline = Instant::now() + config.handshake_timeout;
    // One timer for the connection's life, moved only when it fires early: re-arming it on
    // every message would cost more than the message.
    let timer = sleep_until(handshake_deadline);
    tokio::pin!(timer);
    let mut last_input = Instant::now();
    let mut last_output = Instant::now();
    let mut was_pending = false;
    let mut player: Option<Arc<Player>> = None;
    let mut parked = false;
    let mut rounds = 0u32;
    loop {
        if parked && let Some(p) = &player {
            p.unpark();
            parked = false;
        }
        if player.is_none()
            && let Some(p) = peer.player()
        {
            let sock = SockRef::from(socket);
            sock.set_send_buffer_size(PLAYER_SEND_BUFFER)?;
            if peer.shares_wire() {
                p.attach(Box::new(SocketSink(sock.try_clone()?)));
            }
            player = Some(p);
        }
        if peer.out().len() < OUT_HIGH_WATER {
            peer.pull_media(OUT_HIGH_WATER)?;
        }
        // Write at once rather than after another round through `select!`: the socket is
        // almost always writable, and a full one answers from tokio's cached readiness.
        if !peer.out().is_empty() && write_from(socket, peer)? {
            last_output = Instant::now();
        }
        let pending = !peer.out().is_empty();
        if pending && !was_pending {
            // The stall clock starts when there is something to deliver.
            last_output = Instant::now();
        }
        was_pending = pending;
        if !pending && let Some(p) = &player {
            // Fails when something was queued meanwhile; its wake-up is already stored.
            parked = p.park();
        }
        rounds += 1;
        // The stop branch is polled last, so a peer that keeps the socket readable would never
        // reach it: look at the token itself now and then.
        if rounds.is_multiple_of(STOP_CHECK_ROUNDS) && stop.is_cancelled() {
            return stopped_result(peer);
        }
        tokio::select! {
            biased;
            read = poll_fn(|cx| poll_read_into(&mut rd, peer, cx)) => {
                match read? {
                    Read::Data => last_input = Instant::now(),
                    Read::Closed => return Ok(End::PeerClosed),
                }
            }
            ready = socket.writable(), if pending => {
                ready?;
                if write_from(socket, peer)? {
                    last_output = Instant::now();
                }
            }
            _ = player_ready(player.as_ref()), if !pending => {}
            _ = &mut timer => {
                let deadline = if !peer.handshaken() {
                    Some(handshake_deadline)
                } else if player.is_some() {
                    // A player waiting for a stream to start is not stuck; one not draining
                    // its output is.
                    pending.then(|| last_output + config.idle_timeout)
                } else {
                    Some(last_input + config.idle_timeout)
                };
                match deadline {
                    Some(d) if d <= Instant::now() => {
                        return Err(if peer.handshaken() {
                            ConnError::Idle(config.idle_timeout)
                        } else {
                            ConnError::HandshakeTimeout(config.handshake_timeout)
                        });
                    }
                    Some(d) => timer.as_mut().reset(d),
                    None => timer.as_mut().reset(Instant::now() + config.idle_timeout),
                }
            }
            () = poll_fn(|cx| poll_stopped(&stop, stopped.as_mut(), &mut stop_armed, cx)) => {
                return stopped_result(peer);
            }
        }
    }
}

/// How a connection whose stop token fired ends: only a publisher's token is cancelled by a
/// takeover (shutdown is told apart by the caller).
fn stopped_result(peer: &Peer) -> Result<End, ConnError> {
    if peer.is_publisher() {
        Err(PeerError::TakenOver.into())
    } else {
        Ok(End::Shutdown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_or_broken_pipe_is_a_peer_leaving_not_a_fault() {
        for kind in [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionAborted,
            io::ErrorKind::BrokenPipe,
        ] {
            assert!(left_abruptly(&kind.into()), "{kind:?}");
        }
        for kind in [
            io::ErrorKind::TimedOut,
            io::ErrorKind::InvalidData,
            io::ErrorKind::Other,
        ] {
            assert!(!left_abruptly(&kind.into()), "{kind:?}");
        }
    }
}
