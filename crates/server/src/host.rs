//! Hosting a whole call in one process: the room server and, unless an external RTMP server is
//! named, the embedded relay, with the room server's URLs signed for that relay and its
//! liveness answered by it. `quartet server`, `quartet demo` and the desktop app's host mode
//! all start the same [`Host`]. The embedded relay also serves HTTP-FLV beside its RTMP listener
//! (see [`bind_flv`]), and `mixedPlayURL` names it unless the configuration names another base.
//!
//! With a data directory (`config.storage`), the rooms and keys a previous host left there are
//! taken up again, and both listeners rebind at once (tokio sets `SO_REUSEADDR` on Unix, so
//! connections of the previous process lingering in `TIME_WAIT` do not hold the ports): a
//! restarted host serves the same rooms, tokens and stream URLs on the same ports.

use crate::store::{self, StoreError};
use crate::{EmbeddedRelay, NeverLive, Server, ServerConfig, ServerError, StreamLiveness};
use quartet_relay::{RelayConfig, RelayError, RelayHandle, default_flv_listen, flv_base};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where members' streams go.
#[derive(Debug, Clone)]
pub enum RtmpSetup {
    /// Run the embedded relay on `listen`; members' URLs use `base`, or the bound address.
    Embedded {
        /// Address to bind (port 0 for any).
        listen: SocketAddr,
        /// Relay settings; its signer is set from the server's bizid and push key (boxed: the
        /// settings are many, and the other variant is one string).
        relay: Box<RelayConfig>,
        /// Base put into members' URLs when they reach the relay at another address (LAN).
        base: Option<String>,
        /// Where to serve HTTP-FLV; beside the RTMP listener when `None` (see [`bind_flv`]).
        flv_listen: Option<SocketAddr>,
    },
    /// Members push to and play from an RTMP server elsewhere, at `base`.
    External {
        /// e.g. `rtmp://nginx.example/live`.
        base: String,
    },
}

/// Why a host could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A listener could not be bound.
    #[error("could not listen for {what} on {addr}: {source}")]
    Bind {
        /// "HTTP", "RTMP" or "HTTP-FLV".
        what: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The relay listens on every interface but no address was given for members to use.
    #[error(
        "the RTMP relay listens on every interface ({0}), so members must be told which address to \
         push to: give an RTMP base such as rtmp://<this machine's LAN address>:{port}/live",
        port = .0.port()
    )]
    NoRtmpBase(SocketAddr),
    /// The room server failed.
    #[error("room server failed: {0}")]
    Server(#[from] ServerError),
    /// The relay failed.
    #[error("RTMP relay failed: {0}")]
    Relay(#[from] RelayError),
    /// A task panicked.
    #[error("host task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Reading a bound address failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The data directory could not be opened or read.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Binds the HTTP-FLV listener beside an RTMP listener asked for at `rtmp`: on
/// [`default_flv_listen`], or on any free port when that one is taken (a host must start, and
/// `mixedPlayURL` names whichever port it got).
pub async fn bind_flv(rtmp: SocketAddr) -> Result<TcpListener, HostError> {
    let listen = default_flv_listen(rtmp);
    match TcpListener::bind(listen).await {
        Ok(listener) => Ok(listener),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && listen.port() != 0 => {
            let any = SocketAddr::new(listen.ip(), 0);
            tracing::info!(%listen, "HTTP-FLV port taken, serving on another");
            TcpListener::bind(any)
                .await
                .map_err(|source| HostError::Bind {
                    what: "HTTP-FLV",
                    addr: any,
                    source,
                })
        }
        Err(source) => Err(HostError::Bind {
            what: "HTTP-FLV",
            addr: listen,
            source,
        }),
    }
}

/// A running room server (and relay); stop it with [`Host::stop`].
pub struct Host {
    http_addr: SocketAddr,
    rtmp_addr: Option<SocketAddr>,
    flv_addr: Option<SocketAddr>,
    rtmp_base: String,
    server: Server,
    relay: Option<RelayHandle>,
    stop: watch::Sender<bool>,
    server_task: JoinHandle<Result<(), ServerError>>,
    server_joined: bool,
    relay_task: Option<JoinHandle<Result<(), RelayError>>>,
}

impl Host {
    /// Opens the storage `config.storage` names, binds both listeners (so a taken port fails
    /// before anything starts), then serves.
    pub async fn start(
        mut config: ServerConfig,
        http_listen: SocketAddr,
        rtmp: RtmpSetup,
    ) -> Result<Host, HostError> {
        // First, so a data directory held by another server fails before any port is taken,
        // and so the relay signs with the stored push key.
        let store = store::open_storage(&mut config)?;
        let bind = |what, addr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| HostError::Bind { what, addr, source })
        };
        let (rtmp_listener, flv_listener, relay_config) = match rtmp {
            RtmpSetup::Embedded {
                listen,
                relay,
                base,
                flv_listen,
            } => {
                let listener = bind("RTMP", listen).await?;
                let bound = listener.local_addr()?;
                config.rtmp_base = match base {
                    Some(base) => base.trim_end_matches('/').to_owned(),
                    None if bound.ip().is_unspecified() => {
                        return Err(HostError::NoRtmpBase(bound));
                    }
                    None => format!("rtmp://{bound}/{}", relay.app),
                };
                let flv = match flv_listen {
                    Some(addr) => bind("HTTP-FLV", addr).await?,
                    None => bind_flv(listen).await?,
                };
                if config.flv_base.is_none() {
                    let flv_bound = flv.local_addr()?;
                    config.flv_base = Some(flv_base(&config.rtmp_base, flv_bound, &relay.app));
                }
                (Some(listener), Some(flv), Some(relay))
            }
            RtmpSetup::External { base } => {
                config.rtmp_base = base.trim_end_matches('/').to_owned();
                (None, None, None)
            }
        };
        let flv_addr = flv_listener
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()?;
        let http = bind("HTTP", http_listen).await?;
        let http_addr = http.local_addr()?;

        let (stop, stopped) = watch::channel(false);
        let on_stop = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let (mut relay, mut relay_task, mut rtmp_addr) = (None, None, None);
        let embedded = relay_config.map(|r| EmbeddedRelay::new(&config, *r));
        let liveness: Arc<dyn StreamLiveness> = match &embedded {
            Some(e) => e.liveness(),
            None => Arc::new(NeverLive),
        };
        let rtmp_base = config.rtmp_base.clone();
        let server = Server::restore(config, liveness, store)?;
        if let (Some(listener), Some(embedded)) = (rtmp_listener, embedded) {
            rtmp_addr = Some(listener.local_addr()?);
            relay = Some(embedded.handle().clone());
            let run = embedded.run_for(
                server.clone(),
                listener,
                flv_listener,
                on_stop(stopped.clone()),
            );
            relay_task = Some(tokio::spawn(run));
        }
        let server_task = tokio::spawn(crate::run(http, server.clone(), on_stop(stopped)));
        Ok(Host {
            http_addr,
            rtmp_addr,
            flv_addr,
            rtmp_base,
            server,
            relay,
            stop,
            server_task,
            server_joined: false,
            relay_task,
        })
    }

    /// The room server's bound address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The room server's base URL (`http://addr`), for members on this machine.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// The embedded relay's bound address, if it runs.
    pub fn rtmp_addr(&self) -> Option<SocketAddr> {
        self.rtmp_addr
    }

    /// The embedded relay's HTTP-FLV address, if it runs.
    pub fn flv_addr(&self) -> Option<SocketAddr> {
        self.flv_addr
    }

    /// The RTMP base members' URLs are signed for.
    pub fn rtmp_base(&self) -> &str {
        &self.rtmp_base
    }

    /// The room server's state (room counts, sweeping).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The embedded relay's handle (live streams, stats), if it runs.
    pub fn relay(&self) -> Option<&RelayHandle> {
        self.relay.as_ref()
    }

    /// Completes when the room server ends on its own (it only does on failure); call
    /// [`Host::stop`] afterwards to stop the rest.
    pub async fn failed(&mut self) -> Result<(), HostError> {
        if self.server_joined {
            return std::future::pending().await;
        }
        let outcome = (&mut self.server_task).await;
        self.server_joined = true;
        outcome??;
        Ok(())
    }

    /// Closes every room (members are told), stops both servers and waits for all their tasks.
    pub async fn stop(self) -> Result<(), HostError> {
        let _ = self.stop.send(true);
        // failed() may already have taken the outcome; a finished task cannot be awaited twice.
        let served = match self.server_joined {
            true => Ok(()),
            false => self.server_task.await?.map_err(HostError::from),
        };
        if let Some(relay) = self.relay_task {
            relay.await??;
        }
        served
    }
}
