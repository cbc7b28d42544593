//! A real room server on a loopback port and members driven through `quartet-room`.

use anyhow::{Context, Result, bail};
use quartet_proto::RoomKind;
use quartet_room::{
    Backoff, EventMode, JoinTarget, Member, SessionConfig, SessionEvent, SessionHandle,
    SessionTiming, connect,
};
use quartet_server::{NeverLive, Server, ServerConfig, ServerError, run};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use url::Url;

/// Overall bound on waiting for one expected event; generous, as it only catches hangs.
pub const EVENT_WAIT: Duration = Duration::from_secs(15);
/// Overall bound on the server's graceful stop.
pub const STOP_WAIT: Duration = Duration::from_secs(10);

pub const KIND: RoomKind = RoomKind::MultiRoom;

/// Server timings short enough that evictions happen within a test, long enough that members
/// heartbeating every 200 ms are never evicted by accident.
pub fn fast_server(events: bool) -> ServerConfig {
    ServerConfig {
        heartbeat_timeout: Duration::from_secs(1),
        check_interval: Duration::from_millis(200),
        socket_grace: Duration::from_millis(300),
        events,
        ..ServerConfig::default()
    }
}

pub fn fast_timing() -> SessionTiming {
    SessionTiming {
        first_heartbeat: Duration::from_millis(100),
        heartbeat_interval: Duration::from_millis(200),
        poll_interval: Duration::from_millis(150),
        retry: Backoff::new(Duration::from_millis(50), Duration::from_millis(400)),
        event_reconnect: Backoff::new(Duration::from_millis(50), Duration::from_millis(400)),
        rejoin_grace: Duration::from_secs(1),
        rejoin_retry: Backoff::new(Duration::from_millis(50), Duration::from_millis(200)),
    }
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ServerError>>,
}

/// A room server that can be stopped and started again on the same port with the same state.
pub struct TestServer {
    server: Option<Server>,
    config: ServerConfig,
    addr: SocketAddr,
    running: Option<Running>,
}

/// Logs to the test's output, filtered by `RUST_LOG` (silent by default).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

impl TestServer {
    /// A server as `config` says, its storage included (memory unless it names a directory).
    pub async fn start(config: ServerConfig) -> Result<Self> {
        init_tracing();
        let server = Server::open(config.clone(), Arc::new(NeverLive))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut this = Self {
            server: Some(server),
            config,
            addr,
            running: None,
        };
        this.serve(listener)?;
        Ok(this)
    }

    fn serve(&mut self, listener: TcpListener) -> Result<()> {
        let server = self.server.clone().context("no server to serve")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, server, async move {
            let _ = stopped.await;
        }));
        self.running = Some(Running { stop, task });
        Ok(())
    }

    pub fn url(&self) -> Url {
        url_of(self.addr)
    }

    pub async fn stop(&mut self) -> Result<()> {
        let Some(running) = self.running.take() else {
            return Ok(());
        };
        let _ = running.stop.send(());
        tokio::time::timeout(STOP_WAIT, running.task)
            .await
            .context("the room server did not stop")???;
        Ok(())
    }

    pub async fn restart(&mut self) -> Result<()> {
        self.stop().await?;
        let listener = TcpListener::bind(self.addr)
            .await
            .with_context(|| format!("rebinding {}", self.addr))?;
        self.serve(listener)
    }

    /// What a restart of the server's process does: stops it, lets go of everything it held
    /// (its data directory included), and starts a new server from the same configuration on
    /// the same port. Returns once the new one listens.
    pub async fn restart_process(&mut self) -> Result<()> {
        self.stop().await?;
        drop(self.server.take());
        self.server = Some(Server::open(self.config.clone(), Arc::new(NeverLive))?);
        self.restart().await
    }
}

/// A TCP forwarder in front of a server: the members' only way to it, so cutting it is the
/// server going away for them while its rooms stay exactly as they were.
pub struct Link {
    addr: SocketAddr,
    target: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Link {
    pub async fn to(server: &TestServer) -> Result<Link> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut link = Link {
            addr: listener.local_addr()?,
            target: server.addr,
            task: None,
        };
        link.forward(listener);
        Ok(link)
    }

    fn forward(&mut self, listener: TcpListener) {
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            // Dropping the set (when this task is aborted) drops every forwarded connection.
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                while connections.try_join_next().is_some() {}
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    pub fn url(&self) -> Url {
        url_of(self.addr)
    }

    /// Refuses new connections and drops every open one.
    pub async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Serves the same port again.
    pub async fn restore(&mut self) -> Result<()> {
        let listener = TcpListener::bind(self.addr)
            .await
            .with_context(|| format!("rebinding {}", self.addr))?;
        self.forward(listener);
        Ok(())
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub fn url_of(addr: SocketAddr) -> Url {
    Url::parse(&format!("http://{addr}/")).expect("a socket address makes a URL")
}

pub fn config(url: &Url, target: JoinTarget, name: &str, events: EventMode) -> SessionConfig {
    let mut config = SessionConfig::new(
        url.clone(),
        KIND,
        target,
        name,
        format!("https://avatars.example/{name}.png"),
    );
    config.timing = fast_timing();
    config.events = events;
    config
}

/// One member: its handle and its events.
pub struct Peer {
    pub name: String,
    pub handle: SessionHandle,
    pub events: mpsc::Receiver<SessionEvent>,
}

impl Peer {
    pub async fn start(config: SessionConfig) -> Result<Peer> {
        let name = config.user_name.clone();
        let (handle, mut events) = connect(config).await?;
        match events.try_recv() {
            Ok(SessionEvent::Joined {
                room_id, user_id, ..
            }) => {
                assert_eq!(room_id, handle.room_id());
                assert_eq!(user_id, handle.user_id());
            }
            other => bail!("{name}: first event should be Joined, got {other:?}"),
        }
        Ok(Peer {
            name,
            handle,
            events,
        })
    }

    pub async fn create(url: &Url, name: &str, events: EventMode) -> Result<Peer> {
        let target = JoinTarget::Create {
            room_name: format!("{name}'s room"),
        };
        Peer::start(config(url, target, name, events)).await
    }

    pub async fn join(url: &Url, room_id: &str, name: &str, events: EventMode) -> Result<Peer> {
        let target = JoinTarget::Join {
            room_id: room_id.to_owned(),
        };
        Peer::start(config(url, target, name, events)).await
    }

    pub fn id(&self) -> String {
        self.handle.user_id()
    }

    /// Waits for the first event matching `wanted`, skipping membership and text events; a
    /// connection or closing event that is not the one awaited fails at once.
    pub async fn expect(
        &mut self,
        what: &str,
        mut wanted: impl FnMut(&SessionEvent) -> bool,
    ) -> Result<SessionEvent> {
        let mut skipped = Vec::new();
        let waiting = async {
            while let Some(event) = self.events.recv().await {
                if wanted(&event) {
                    return Ok(event);
                }
                if matches!(
                    event,
                    SessionEvent::RoomClosed { .. }
                        | SessionEvent::ConnectionLost
                        | SessionEvent::ConnectionRestored
                        | SessionEvent::Rejoined { .. }
                ) {
                    bail!("{}: {event:?} while waiting for {what}", self.name);
                }
                skipped.push(event);
            }
            bail!("{}: session ended while waiting for {what}", self.name)
        };
        match tokio::time::timeout(EVENT_WAIT, waiting).await {
            Ok(result) => result,
            Err(_) => bail!(
                "{}: no {what} within {EVENT_WAIT:?}; skipped {skipped:?}",
                self.name
            ),
        }
    }

    pub async fn expect_joined(&mut self, other: &Peer) -> Result<Member> {
        let id = other.id();
        match self
            .expect(
                &format!("{} joining", other.name),
                |e| matches!(e, SessionEvent::MemberJoined(m) if m.user_id == id),
            )
            .await?
        {
            SessionEvent::MemberJoined(m) => Ok(m),
            _ => unreachable!("matched MemberJoined"),
        }
    }

    pub async fn expect_left(&mut self, id: &str, name: &str) -> Result<Member> {
        match self
            .expect(
                &format!("{name} leaving"),
                |e| matches!(e, SessionEvent::MemberLeft(m) if m.user_id == id),
            )
            .await?
        {
            SessionEvent::MemberLeft(m) => Ok(m),
            _ => unreachable!("matched MemberLeft"),
        }
    }

    /// Waits until the session's event stream ends (the actor stopped).
    pub async fn expect_end(&mut self) -> Result<()> {
        let draining = async { while self.events.recv().await.is_some() {} };
        tokio::time::timeout(EVENT_WAIT, draining)
            .await
            .with_context(|| format!("{}: the session did not end", self.name))
    }
}

pub fn ids(members: &[Member]) -> Vec<String> {
    members.iter().map(|m| m.user_id.clone()).collect()
}
