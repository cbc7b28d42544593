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
use tokio::time::{Instant, Sleep, sleep_until, timeout};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

mod clocks;

use crate::config::RelayConfig;
use crate::hub::{DirectSink, Player};
use crate::ingest::Ingest;
use crate::outbound::{MAX_WRITE_SLICES, Outbound};
use crate::peer::{Peer, PeerError};
use crate::pending::Admission;
use crate::unsent::unsent_bytes;
use clocks::{Clocks, Timeout, next_deadline};

/// Bytes read at once. The buffer is per worker thread, not per connection: input is handed
/// to the session (which keeps what it needs) before the next await.
const READ_BUFFER_SIZE: usize = 64 * 1024;
/// Output bytes staged for a player before its queue is left to absorb (and drop) the rest.
/// Staged bytes can no longer be dropped, so this is kept to what one vectored write takes at
/// once on a slow link: 16 KiB is 0.4 s of a 300 kbit/s link, and a writev of up to
/// `MAX_WRITE_SLICES` messages on a fast one.
pub const OUT_HIGH_WATER: usize = 16 * 1024;
/// Loop rounds between explicit looks at the stop token.
const STOP_CHECK_ROUNDS: u32 = 64;
/// Time to deliver a last message (a refusal, say) before closing.
const CLOSE_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

thread_local! {
    static READ_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_BUFFER_SIZE]);
}

/// A player's socket, shared with the publisher's task while the player is parked.
#[derive(Debug)]
pub(crate) struct SocketSink(pub(crate) socket2::Socket);

impl DirectSink for SocketSink {
    fn try_send(&self, bytes: &[u8]) -> io::Result<usize> {
        self.0.send(bytes)
    }

    fn unsent(&self) -> io::Result<usize> {
        unsent_bytes(&self.0)
    }
}

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error("socket error: {0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Timeout(Timeout),
}

/// Whether a socket error is only the peer leaving without a goodbye: players that quit
/// (FFmpeg among them) close with unread input, which resets the connection. Not worth a warning.
pub(crate) fn left_abruptly(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(e.kind(), ConnectionReset | ConnectionAborted | BrokenPipe)
}

/// How a connection ended without fault.
#[derive(Debug)]
enum End {
    PeerClosed,
    Shutdown,
    /// Closed while starting, to make room for a newer connection.
    Evicted,
}

pub(crate) fn unix_now() -> u64 {
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
    /// This many bytes arrived and were handed on.
    Data(usize),
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
                    .map(|()| Read::Data(filled.filled().len()))
                    .map_err(ConnError::from),
            ),
        }
    })
}

/// Writes what the socket takes of `out`; false when it took nothing.
pub(crate) fn write_from(socket: &TcpStream, out: &mut Outbound) -> io::Result<bool> {
    let mut slices = [IoSlice::new(&[]); MAX_WRITE_SLICES];
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
        Err(e) => Err(e),
    }
}

/// Tells a player's budget what still waits after a write: the staged output and the kernel's
/// unsent bytes (one ioctl, on the path of players that are not keeping up by themselves).
fn report_waiting(player: Option<&Player>, socket: &TcpStream, peer: &mut Peer) {
    if let Some(p) = player {
        p.waiting(peer.out().len(), unsent_bytes(socket).ok());
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
    admission: Admission,
) {
    let mut socket = socket;
    let result = drive(&mut socket, &mut peer, &config, &admission).await;
    admission.set.remove(conn);
    if let Some(player) = peer.player() {
        player.detach();
    }
    match result {
        // A flood's connections end these ways by the thousand: not worth a line each at the
        // levels an operator reads.
        Ok(End::Evicted) => tracing::debug!(
            conn,
            peer = %addr,
            "starting connection closed to make room for a newer one"
        ),
        Err(ConnError::Timeout(
            t @ (Timeout::Handshake(_) | Timeout::Start(_) | Timeout::PendingIdle(_)),
        )) => tracing::debug!(conn, peer = %addr, error = %t, "connection dropped"),
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
    admission: &Admission,
) -> Result<End, ConnError> {
    let (mut rd, wr) = socket.split();
    let socket: &TcpStream = wr.as_ref();
    let stop = peer.stop_token().clone();
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    let mut stop_armed = false;
    let evicted = admission.evict.cancelled();
    tokio::pin!(evicted);
    let accepted = Instant::now();
    let mut clocks = Clocks::accepted(accepted, config);
    // One timer for the connection's life, moved only when it fires early (or a role ends):
    // re-arming it on every message would cost more than the message.
    let first = next_deadline(config, &clocks).map_or(accepted + config.idle_timeout, |d| d.0);
    let timer = sleep_until(first);
    tokio::pin!(timer);
    let mut was_pending = false;
    let mut ingest = Ingest::new(config.max_ingest_rate, config.ingest_burst, accepted);
    let mut player: Option<Arc<Player>> = None;
    let mut parked = false;
    let mut rounds = 0u32;
    loop {
        if parked && let Some(p) = &player {
            p.unpark();
            parked = false;
        }
        if player.is_none() {
            player = attach_player(socket, peer, config)?;
        }
        follow_role(peer, admission, config, &mut clocks, timer.as_mut());
        let pending = flush(socket, peer, player.as_deref(), &mut clocks, was_pending)?;
        was_pending = pending;
        // Entries left behind by a pull that stopped at the stage's limit: no wake-up will come
        // for them, so the loop goes round again instead of waiting for one.
        let mut more = false;
        if !pending && let Some(p) = &player {
            // Fails when something was queued meanwhile; its wake-up is already stored.
            parked = p.park();
            more = !parked && p.has_queued();
        }
        rounds += 1;
        // The stop branch is polled last, so a peer that keeps the socket readable would never
        // reach it: look at the token itself now and then.
        if rounds.is_multiple_of(STOP_CHECK_ROUNDS) && stop.is_cancelled() {
            return stopped_result(peer);
        }
        let throttled = ingest.resume_at(Instant::now());
        tokio::select! {
            biased;
            read = poll_fn(|cx| poll_read_into(&mut rd, peer, cx)), if throttled.is_none() => {
                match read? {
                    Read::Data(n) => {
                        let now = Instant::now();
                        clocks.last_input = now;
                        ingest.took(n, now);
                    }
                    Read::Closed => return Ok(End::PeerClosed),
                }
            }
            // Over its allowance: TCP holds the rest of its data back until this.
            () = async { if let Some(at) = throttled { sleep_until(at).await } }, if throttled.is_some() => {}
            ready = socket.writable(), if pending => {
                ready?;
                if write_from(socket, peer.out())? {
                    clocks.last_output = Instant::now();
                    report_waiting(player.as_deref(), socket, peer);
                }
            }
            _ = player_ready(player.as_ref()), if !pending && !more => {}
            () = std::future::ready(()), if more => {}
            _ = &mut timer => rearm(peer, config, &mut clocks, pending, timer.as_mut())?,
            () = poll_fn(|cx| poll_stopped(&stop, stopped.as_mut(), &mut stop_armed, cx)) => {
                return stopped_result(peer);
            }
            // Polled only while starting, so it costs a started connection nothing.
            () = evicted.as_mut(), if clocks.starting_since.is_some() => {
                if !peer.is_active() {
                    return Ok(End::Evicted);
                }
            }
        }
    }
}

/// The peer's player, attached to the socket, once it has one; the socket gets a player's send
/// buffer then, as a publisher's would only hold latency.
fn attach_player(
    socket: &TcpStream,
    peer: &mut Peer,
    config: &RelayConfig,
) -> Result<Option<Arc<Player>>, ConnError> {
    let Some(p) = peer.player() else {
        return Ok(None);
    };
    let sock = SockRef::from(socket);
    sock.set_send_buffer_size(config.player_send_buffer)?;
    p.attach(Box::new(SocketSink(sock.try_clone()?)), peer.shares_wire());
    Ok(Some(p))
}

/// Moves the starting clocks with the peer's role: a role begun leaves the admission set, a role
/// ended starts the clocks again.
fn follow_role(
    peer: &Peer,
    admission: &Admission,
    config: &RelayConfig,
    clocks: &mut Clocks,
    timer: Pin<&mut Sleep>,
) {
    match (peer.is_active(), clocks.starting_since) {
        (true, Some(_)) => {
            clocks.starting_since = None;
            admission.set.remove(admission.conn);
        }
        (false, None) => {
            // Its role ended: it starts again, under the starting clocks, which may be due
            // before the timer.
            clocks.starting_since = Some(Instant::now());
            clocks.playing = false;
            if let Some((at, _)) = next_deadline(config, clocks) {
                timer.reset(at);
            }
        }
        _ => {}
    }
}

/// Pulls media into the peer's output and writes what the socket takes; whether output is
/// still pending.
fn flush(
    socket: &TcpStream,
    peer: &mut Peer,
    player: Option<&Player>,
    clocks: &mut Clocks,
    was_pending: bool,
) -> Result<bool, ConnError> {
    if peer.out().len() < OUT_HIGH_WATER {
        peer.pull_media(OUT_HIGH_WATER)?;
    }
    // Write at once rather than after another round through `select!`: the socket is
    // almost always writable, and a full one answers from tokio's cached readiness.
    if !peer.out().is_empty() && write_from(socket, peer.out())? {
        clocks.last_output = Instant::now();
        report_waiting(player, socket, peer);
    }
    let pending = !peer.out().is_empty();
    if pending && !was_pending {
        // The stall clock starts when there is something to deliver.
        clocks.last_output = Instant::now();
    }
    Ok(pending)
}

/// The timer fired: cuts the connection if a clock ran out, else sets the timer to the next
/// deadline (or the idle timeout when no clock runs).
fn rearm(
    peer: &Peer,
    config: &RelayConfig,
    clocks: &mut Clocks,
    pending: bool,
    timer: Pin<&mut Sleep>,
) -> Result<(), ConnError> {
    clocks.handshaken = peer.handshaken();
    clocks.playing = peer.player().is_some();
    clocks.output_pending = pending;
    match next_deadline(config, clocks) {
        Some((d, why)) if d <= Instant::now() => return Err(ConnError::Timeout(why)),
        Some((d, _)) => timer.reset(d),
        None => timer.reset(Instant::now() + config.idle_timeout),
    }
    Ok(())
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
