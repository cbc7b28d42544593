//! An event-channel client against a server run on 127.0.0.1:0.

use super::{Harness, User};
use futures_util::StreamExt;
use quartet_proto::{RoomKind, ServerEvent};
use quartet_server::ServerConfig;
use quartet_server::run;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Bounds every wait so a broken server fails the test instead of hanging it.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct Running {
    pub h: Harness,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), quartet_server::ServerError>>,
}

impl Running {
    pub async fn start(config: ServerConfig) -> Self {
        Self::serve(Harness::new(config)).await
    }

    /// [`Running::start`] with a server that keeps nothing (see [`Harness::in_memory`]).
    pub async fn start_in_memory(config: ServerConfig) -> Self {
        Self::serve(Harness::in_memory(config)).await
    }

    /// Serves `server` (e.g. one opened on a shared store).
    pub async fn with_server(server: quartet_server::Server) -> Self {
        Self::serve(Harness::of(server, None)).await
    }

    async fn serve(h: Harness) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, h.server.clone(), async move {
            let _ = stopped.await;
        }));
        Self {
            h,
            addr,
            stop: Some(stop),
            task,
        }
    }

    pub fn url(&self, kind: RoomKind, room: &str, user: &User) -> String {
        format!(
            "ws://{}/weapp/{kind}/events?roomID={room}&userID={}&userSig={}",
            self.addr, user.id, user.sig
        )
    }

    pub async fn connect(&self, kind: RoomKind, room: &str, user: &User) -> Socket {
        let (socket, _) = tokio_tungstenite::connect_async(self.url(kind, room, user))
            .await
            .unwrap();
        socket
    }

    /// Connects and waits until the server has registered the socket, so no event is missed.
    pub async fn connect_registered(&self, kind: RoomKind, room: &str, user: &User) -> Socket {
        let before = self.h.server.connected_sockets();
        let socket = self.connect(kind, room, user).await;
        tokio::time::timeout(PATIENCE, async {
            while self.h.server.connected_sockets() == before {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("socket never registered");
        socket
    }

    /// Ends the server at once, as a killed process ends: no shutdown, sockets just drop.
    pub fn kill(self) {
        self.task.abort();
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("run did not return")
            .unwrap()
            .unwrap();
    }
}

/// The next event, skipping pings.
pub async fn next_event(socket: &mut Socket) -> ServerEvent {
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("no event arrived")
            .expect("socket ended")
            .expect("socket failed");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Expects a close frame (after any pings) and returns its code and reason.
pub async fn next_close(socket: &mut Socket) -> (CloseCode, String) {
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("no close arrived")
            .expect("socket ended without a close frame")
            .expect("socket failed");
        match message {
            Message::Close(Some(frame)) => return (frame.code, frame.reason.to_string()),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Opens the event channel with the token in an `Authorization: Bearer` header.
pub async fn connect_with_header(
    addr: SocketAddr,
    kind: RoomKind,
    room: &str,
    user: &User,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let url = format!(
        "ws://{addr}/weapp/{kind}/events?roomID={room}&userID={}",
        user.id
    );
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {}", user.sig)).unwrap(),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

/// Status and `{code,message}` body of a refused upgrade.
pub async fn refusal(url: String) -> (u16, serde_json::Value) {
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response.body().clone().unwrap_or_default();
            let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            (status, json)
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("upgrade was accepted"),
    }
}
