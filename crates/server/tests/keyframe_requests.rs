//! Keyframe requests (ext) over real event sockets: passed to the target member alone, from
//! members of the same room only, and a flood gets no more through than the rate limit.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::{Served, User, config};
use futures_util::{SinkExt, StreamExt};
use quartet_proto::{ClientEvent, RoomKind, ServerEvent};
use quartet_server::{HttpLimits, KEYFRAME_REQUEST_INTERVAL};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Bounds every wait so a broken server fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(30);
/// How long a socket is watched for an event that must not come.
const QUIET: Duration = Duration::from_millis(300);
const KIND: RoomKind = RoomKind::MultiRoom;

async fn connect(s: &Served, room: &str, user: &User) -> Socket {
    let before = s.h.server.connected_sockets();
    let url = format!(
        "ws://{}/weapp/{KIND}/events?roomID={room}&userID={}&userSig={}",
        s.addr, user.id, user.sig
    );
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    tokio::time::timeout(PATIENCE, async {
        while s.h.server.connected_sockets() == before {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("socket never registered");
    socket
}

async fn ask(socket: &mut Socket, target: &str) {
    let ask = ClientEvent::RequestKeyframe {
        user_id: target.to_owned(),
    };
    let text = serde_json::to_string(&ask).unwrap();
    socket.send(Message::text(text)).await.unwrap();
}

/// The next keyframe request on `socket` within `wait`, skipping other frames.
async fn keyframe_request(socket: &mut Socket, wait: Duration) -> Option<String> {
    let end = Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(end, socket.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(text) = message
            && let Ok(ServerEvent::KeyframeRequest { user_id }) = serde_json::from_str(&text)
        {
            return Some(user_id);
        }
    }
}

/// Waits until the server has passed on `n` requests in all.
async fn passed(s: &Served, n: u64) {
    tokio::time::timeout(PATIENCE, async {
        while s.h.server.keyframe_requests_passed() < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the request was not passed on");
}

#[tokio::test]
async fn a_request_reaches_the_target_alone_and_only_from_its_room() {
    let s = Served::start(config(), HttpLimits::default()).await;
    let h = &s.h;
    let (ann, ben, cho, dan) = (
        h.login().await,
        h.login().await,
        h.login().await,
        h.login().await,
    );
    let room = h.create_room(KIND, &ann, "r").await;
    assert_eq!(h.join(KIND, &room, &ben).await, 0);
    assert_eq!(h.join(KIND, &room, &cho).await, 0);
    let other_room = h.create_room(KIND, &dan, "elsewhere").await;
    let mut ann_socket = connect(&s, &room, &ann).await;
    let mut ben_socket = connect(&s, &room, &ben).await;
    let mut cho_socket = connect(&s, &room, &cho).await;
    let mut dan_socket = connect(&s, &other_room, &dan).await;

    ask(&mut ann_socket, &ben.id).await;
    assert_eq!(
        keyframe_request(&mut ben_socket, PATIENCE).await,
        Some(ann.id.clone())
    );
    passed(&s, 1).await;

    // Dan is in another room: neither his request for Ben nor Ann's for him goes anywhere;
    // nor does a request for oneself or for nobody.
    ask(&mut dan_socket, &ben.id).await;
    ask(&mut ann_socket, &dan.id).await;
    ask(&mut cho_socket, &cho.id).await;
    ask(&mut cho_socket, "user_nobody").await;
    // Unreadable messages are ignored; the socket stays open.
    cho_socket
        .send(Message::text("{\"cmd\":\"requestKeyframe\"}"))
        .await
        .unwrap();
    cho_socket.send(Message::text("not json")).await.unwrap();
    // A request that passes, behind the others on Cho's socket, tells us they were all read.
    ask(&mut cho_socket, &ann.id).await;
    assert_eq!(
        keyframe_request(&mut ann_socket, PATIENCE).await,
        Some(cho.id.clone())
    );
    assert_eq!(h.server.keyframe_requests_passed(), 2);
    assert_eq!(keyframe_request(&mut ben_socket, QUIET).await, None);
    assert_eq!(keyframe_request(&mut cho_socket, QUIET).await, None);
    assert_eq!(keyframe_request(&mut dan_socket, QUIET).await, None);
    s.stop().await;
}

#[tokio::test]
async fn a_flood_of_requests_gets_one_through_per_interval() {
    let s = Served::start(config(), HttpLimits::default()).await;
    let h = &s.h;
    let (ann, ben) = (h.login().await, h.login().await);
    let room = h.create_room(KIND, &ann, "r").await;
    assert_eq!(h.join(KIND, &room, &ben).await, 0);
    let mut ann_socket = connect(&s, &room, &ann).await;
    let mut ben_socket = connect(&s, &room, &ben).await;

    // One over the limit: two at once, one passes.
    ask(&mut ben_socket, &ann.id).await;
    ask(&mut ben_socket, &ann.id).await;
    assert_eq!(
        keyframe_request(&mut ann_socket, PATIENCE).await,
        Some(ben.id.clone())
    );
    assert_eq!(keyframe_request(&mut ann_socket, QUIET).await, None);
    assert_eq!(h.server.keyframe_requests_passed(), 1);

    // Within the limit: after the interval, the next passes.
    tokio::time::sleep(KEYFRAME_REQUEST_INTERVAL).await;
    ask(&mut ben_socket, &ann.id).await;
    assert_eq!(
        keyframe_request(&mut ann_socket, PATIENCE).await,
        Some(ben.id.clone())
    );

    // A flood: as fast as the socket takes them, for a while.
    let began = Instant::now();
    let mut sent = 0u64;
    while began.elapsed() < 3 * KEYFRAME_REQUEST_INTERVAL {
        ask(&mut ben_socket, &ann.id).await;
        sent += 1;
    }
    // A last marker from someone else's pair shows the flood has been read.
    ask(&mut ann_socket, &ben.id).await;
    assert_eq!(
        keyframe_request(&mut ben_socket, PATIENCE).await,
        Some(ann.id.clone())
    );
    let elapsed = began.elapsed();
    let mut got = 0u64;
    while keyframe_request(&mut ann_socket, QUIET).await.is_some() {
        got += 1;
    }
    let allowed = 1 + elapsed.as_millis() as u64 / KEYFRAME_REQUEST_INTERVAL.as_millis() as u64;
    assert!(
        sent > 10 * allowed,
        "the flood was too thin to test: {sent}"
    );
    assert!(
        (1..=allowed).contains(&got),
        "{got} of {sent} flooded requests passed in {elapsed:?}; at most {allowed} may"
    );
    s.stop().await;
}
