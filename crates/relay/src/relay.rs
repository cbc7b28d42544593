//! The relay actor: accepts connections on a bound listener until shut down, one task each.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::RelayConfig;
use crate::conn;
use crate::http_flv::{FlvLimits, HttpFlv};
use crate::hub::{Hub, RelayEvent, StreamStats};
use crate::peer::Peer;
use crate::pending::{Admission, PendingSet};
use crate::record;

/// Pause after an accept error that is not about one connection (out of file descriptors, say),
/// so the loop does not spin while the condition lasts.
pub(crate) const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// At most one log line per this interval about connections refused for being over the limit.
pub(crate) const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Why the relay stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The listener is unusable.
    #[error("RTMP listener failed: {0}")]
    Listener(#[from] io::Error),
    /// The recording directory cannot be made.
    #[error("cannot record into {}: {source}", dir.display())]
    RecordDir {
        /// The directory.
        dir: std::path::PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// The embedded RTMP relay; [`Relay::run`] serves until shutdown.
#[derive(Debug)]
pub struct Relay {
    config: Arc<RelayConfig>,
    hub: Arc<Hub>,
}

/// Queries and events of a relay, usable before, during and after [`Relay::run`].
#[derive(Clone, Debug)]
pub struct RelayHandle {
    hub: Arc<Hub>,
}

impl RelayHandle {
    /// Whether `stream_id` (without query, e.g. `8888_user_1`) has a publisher now.
    pub fn is_live(&self, stream_id: &str) -> bool {
        self.hub.is_live(stream_id)
    }

    /// Figures of every stream with a publisher or a player, sorted by stream id.
    pub fn stats(&self) -> Vec<StreamStats> {
        self.hub.stats()
    }

    /// Receives [`RelayEvent::Published`] and [`RelayEvent::Unpublished`] from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RelayEvent> {
        self.hub.subscribe()
    }

    /// Ends the current publish of `stream_id` now and closes its connection (a member who left
    /// the room, say); false when it was not live. Publishing again takes a URL the room
    /// server's [`PublishGate`](crate::PublishGate) admits.
    pub fn revoke(&self, stream_id: &str) -> bool {
        self.hub.revoke(stream_id)
    }

    /// Time since the live publisher of `stream_id` last sent audio or video (since it started,
    /// before any); `None` when not live. A stream whose age keeps growing has stalled.
    pub fn media_age(&self, stream_id: &str) -> Option<Duration> {
        self.hub.media_age(stream_id)
    }
}

/// Whether to pause after an accept error: errors about one connection need no pause.
pub(crate) fn accept_pause(e: &io::Error) -> Option<Duration> {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock => None,
        _ => Some(ACCEPT_ERROR_PAUSE),
    }
}

/// Counts refusals and says when a line about them is due.
#[derive(Debug)]
pub(crate) struct RefusalLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl RefusalLog {
    pub(crate) fn new() -> RefusalLog {
        RefusalLog {
            last: None,
            suppressed: 0,
        }
    }

    /// Records one refusal at `now`; returns how many to report if a line is due.
    pub(crate) fn refused(&mut self, now: Instant) -> Option<u64> {
        self.suppressed += 1;
        let due = self
            .last
            .is_none_or(|last| now.duration_since(last) >= REFUSAL_LOG_INTERVAL);
        if due {
            self.last = Some(now);
            Some(std::mem::take(&mut self.suppressed))
        } else {
            None
        }
    }
}

impl Relay {
    /// A relay with `config` and the handle to watch it.
    pub fn new(config: RelayConfig) -> (Relay, RelayHandle) {
        let hub = Arc::new(Hub::new(config.queue_limits()));
        let handle = RelayHandle { hub: hub.clone() };
        (
            Relay {
                config: Arc::new(config),
                hub,
            },
            handle,
        )
    }

    /// The HTTP-FLV listener of this relay (the same streams, players and settings); run it
    /// beside [`Relay::run`].
    pub fn http_flv(&self) -> HttpFlv {
        HttpFlv {
            hub: self.hub.clone(),
            config: self.config.clone(),
            limits: FlvLimits::default(),
        }
    }

    /// Serves RTMP on `listener` until `shutdown` resolves; every connection is closed and its
    /// task finished before this returns.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RelayError> {
        let local = listener.local_addr()?;
        if self.config.signer.is_none() {
            tracing::warn!(%local, "RTMP relay is open: publishes are not signature-checked");
        }
        tracing::info!(%local, app = %self.config.app, "RTMP relay listening");
        let recorder = self.start_recorder()?;
        let stop = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut refusals = RefusalLog::new();
        let mut evictions = RefusalLog::new();
        let pending = Arc::new(PendingSet::new(self.config.max_pending));
        let mut next_conn = 0u64;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = done
                        && e.is_panic()
                    {
                        tracing::error!("RTMP connection task panicked; other connections go on");
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((socket, addr)) => {
                        // At the limit, a connection still starting up makes room for this one.
                        if tasks.len() >= self.config.max_connections
                            && pending.evict_oldest().is_none()
                        {
                            if let Some(n) = refusals.refused(Instant::now()) {
                                tracing::warn!(
                                    peer = %addr,
                                    refused = n,
                                    limit = self.config.max_connections,
                                    "RTMP connection limit reached, closing new connections"
                                );
                            }
                            continue;
                        }
                        if let Err(e) = socket.set_nodelay(true) {
                            tracing::debug!(peer = %addr, error = %e, "TCP_NODELAY not set");
                        }
                        next_conn += 1;
                        let conn_stop = stop.child_token();
                        let evict = CancellationToken::new();
                        let evicted = pending.admit(next_conn, evict.clone()).len();
                        if evicted > 0
                            && let Some(n) = evictions.refused(Instant::now())
                        {
                            tracing::warn!(
                                peer = %addr,
                                evicted = n,
                                limit = self.config.max_pending,
                                "too many connections starting up, closing the oldest"
                            );
                        }
                        let peer = Peer::new(next_conn, addr, self.hub.clone(), self.config.clone(), conn_stop.clone());
                        tasks.spawn(conn::serve(
                            socket,
                            addr,
                            next_conn,
                            peer,
                            self.config.clone(),
                            stop.clone(),
                            Admission {
                                set: pending.clone(),
                                conn: next_conn,
                                evict,
                            },
                        ));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "RTMP accept failed");
                        if let Some(pause) = accept_pause(&e) {
                            tokio::time::sleep(pause).await;
                        }
                    }
                },
            }
        }
        tracing::info!(%local, connections = tasks.len(), "RTMP relay stopping");
        stop.cancel();
        while tasks.join_next().await.is_some() {}
        // After the publishers: each recording has taken its stream's last tag by now.
        if let Some((stop_recording, recording)) = recorder {
            stop_recording.cancel();
            if let Err(e) = recording.await {
                tracing::error!(error = %e, "recorder task failed");
            }
        }
        Ok(())
    }

    /// Starts recording when the config asks for it; fails when its directory cannot be made.
    fn start_recorder(
        &self,
    ) -> Result<Option<(CancellationToken, tokio::task::JoinHandle<()>)>, RelayError> {
        let Some(dir) = self.config.record_dir.clone() else {
            return Ok(None);
        };
        std::fs::create_dir_all(&dir).map_err(|source| RelayError::RecordDir {
            dir: dir.clone(),
            source,
        })?;
        let stop = CancellationToken::new();
        let setup = record::RecordSetup {
            dir,
            names: self.config.names.clone(),
        };
        let task = tokio::spawn(record::run(self.hub.clone(), setup, stop.clone()));
        Ok(Some((stop, task)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_connection_accept_errors_need_no_pause() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(accept_pause(&reset), None);
        let emfile = io::Error::from_raw_os_error(24);
        assert_eq!(accept_pause(&emfile), Some(ACCEPT_ERROR_PAUSE));
    }

    #[test]
    fn refusals_are_logged_at_most_once_per_interval_with_a_count() {
        let mut log = RefusalLog::new();
        let t0 = Instant::now();
        assert_eq!(log.refused(t0), Some(1));
        assert_eq!(log.refused(t0 + Duration::from_millis(10)), None);
        assert_eq!(log.refused(t0 + Duration::from_millis(20)), None);
        assert_eq!(log.refused(t0 + REFUSAL_LOG_INTERVAL), Some(3));
    }
}
