//! The embedded relay wired to the room server, both ways: the relay checks the server's push
//! signatures and asks the server whether a member may still publish (its URLs are revoked once
//! it left); the server asks the relay whether a silent member's stream still advances, and has
//! it cut a member's stream the moment that member leaves. `quartet server` and [`crate::Host`]
//! both wire it here.

use crate::{Server, ServerConfig, StreamLiveness};
use quartet_proto::sign::StreamSigner;
use quartet_relay::{
    PublishGate, Relay, RelayConfig, RelayError, RelayHandle, StreamLabel, StreamNames,
};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The relay answers the room server's questions about streams and carries out its revocations.
struct RelayLiveness(RelayHandle);

impl StreamLiveness for RelayLiveness {
    fn is_live(&self, stream_id: &str) -> bool {
        self.0.is_live(stream_id)
    }

    fn media_age(&self, stream_id: &str) -> Option<Duration> {
        self.0.media_age(stream_id)
    }

    fn revoke(&self, stream_id: &str) {
        if self.0.revoke(stream_id) {
            tracing::info!(stream = stream_id, "stream of a member who left was cut");
        }
    }
}

/// The room server's word on every publish; set before the relay accepts anyone.
#[derive(Default)]
struct ServerGate(OnceLock<Server>);

impl PublishGate for ServerGate {
    fn admit(&self, stream_id: &str, expires_at_unix: u64) -> bool {
        self.0
            .get()
            .is_some_and(|server| server.stream_admitted(stream_id, expires_at_unix))
    }
}

impl StreamNames for ServerGate {
    fn label(&self, stream_id: &str) -> StreamLabel {
        self.0.get().map_or(StreamLabel::Unknown, |server| {
            server.stream_label(stream_id)
        })
    }
}

/// A relay configured for a room server, not yet serving: build the server with
/// [`EmbeddedRelay::liveness`], then [`EmbeddedRelay::run_for`] it.
pub struct EmbeddedRelay {
    relay: Relay,
    handle: RelayHandle,
    liveness: Arc<dyn StreamLiveness>,
    gate: Arc<ServerGate>,
}

impl EmbeddedRelay {
    /// A relay with `relay`'s settings that checks `config`'s push signatures.
    pub fn new(config: &ServerConfig, mut relay: RelayConfig) -> EmbeddedRelay {
        let gate = Arc::new(ServerGate::default());
        relay.signer = Some(StreamSigner::new(
            config.bizid.clone(),
            config.push_secret_key.clone(),
        ));
        relay.gate = Some(gate.clone());
        relay.names = Some(gate.clone());
        let (relay, handle) = Relay::new(relay);
        EmbeddedRelay {
            relay,
            liveness: Arc::new(RelayLiveness(handle.clone())),
            handle,
            gate,
        }
    }

    /// What the room server asks about streams: build it with this.
    pub fn liveness(&self) -> Arc<dyn StreamLiveness> {
        self.liveness.clone()
    }

    /// The relay's handle (live streams, stats).
    pub fn handle(&self) -> &RelayHandle {
        &self.handle
    }

    /// Serves RTMP on `listener` and, if given, HTTP-FLV on `flv`, with `server` deciding who
    /// may publish, until `shutdown`; returns once both have stopped.
    pub async fn run_for(
        self,
        server: Server,
        listener: TcpListener,
        flv: Option<TcpListener>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RelayError> {
        // Set before the first connection is accepted; a relay runs for one server only.
        let _ = self.gate.0.set(server);
        let stop = CancellationToken::new();
        let flv_task = flv.map(|flv| {
            let served = self.relay.http_flv();
            tokio::spawn(served.run(flv, stop.clone().cancelled_owned()))
        });
        let on_shutdown = stop.clone();
        let rtmp = self.relay.run(listener, async move {
            shutdown.await;
            on_shutdown.cancel();
        });
        let rtmp = rtmp.await;
        // Also when RTMP failed on its own: the two stop together.
        stop.cancel();
        if let Some(task) = flv_task {
            match task.await {
                Ok(served) => served?,
                Err(e) => tracing::error!(error = %e, "HTTP-FLV task failed"),
            }
        }
        rtmp
    }
}
