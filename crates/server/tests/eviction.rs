//! Eviction by heartbeat timeout, by live stream, and by a closed event socket, on tokio's
//! paused clock, so on the embedded store whatever the suite runs on (see
//! `Harness::on_paused_clock`); `shared_rooms.rs` evicts through Redis on the real clock.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::{Harness, LiveStreams, config};
use futures_util::StreamExt;
use quartet_proto::RoomKind;
use quartet_server::{
    CHECK_SLACK, DEFAULT_SOCKET_GRACE, NeverLive, ServerConfig, StreamLiveness, run,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::time::{Instant, advance};

const TICK: Duration = Duration::from_millis(1);

#[tokio::test(start_paused = true)]
async fn silent_members_are_evicted_after_the_heartbeat_timeout() {
    for kind in RoomKind::ALL {
        let h = Harness::on_paused_clock(config(), Arc::new(NeverLive));
        let timeout = h.server.config().heartbeat_timeout;
        let (a, b, room) = h.room_of_two(kind, "r").await;

        advance(timeout).await;
        assert_eq!(h.heartbeat(kind, &room, &a).await, 0);
        assert_eq!(h.server.sweep(), 0, "silent for exactly the timeout: kept");

        advance(TICK).await;
        assert_eq!(h.server.sweep(), 1);
        assert_eq!(h.members(kind, &room).await, Ok(vec![a.id.clone()]));
        assert_eq!(h.heartbeat(kind, &room, &b).await, 5, "evicted means gone");
        assert_eq!(h.server.sweep(), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn heartbeats_keep_members() {
    let h = Harness::on_paused_clock(config(), Arc::new(NeverLive));
    let kind = RoomKind::MultiRoom;
    let (a, b, room) = h.room_of_two(kind, "r").await;
    // v1 clients beat every 7 s.
    for _ in 0..10 {
        advance(Duration::from_secs(7)).await;
        assert_eq!(h.heartbeat(kind, &room, &a).await, 0);
        assert_eq!(h.heartbeat(kind, &room, &b).await, 0);
        assert_eq!(h.server.sweep(), 0);
    }
    assert_eq!(h.members(kind, &room).await, Ok(vec![a.id, b.id]));
}

#[tokio::test(start_paused = true)]
async fn a_live_stream_keeps_a_silent_member_until_it_stops() {
    let live = Arc::new(LiveStreams::default());
    let h = Harness::on_paused_clock(config(), live.clone());
    let kind = RoomKind::LiveRoom;
    let (a, b, room) = h.room_of_two(kind, "r").await;
    live.set(&format!("8888_{}", b.id), true);

    advance(Duration::from_secs(60)).await;
    assert_eq!(h.heartbeat(kind, &room, &a).await, 0);
    assert_eq!(h.server.sweep(), 0);
    assert_eq!(
        h.members(kind, &room).await,
        Ok(vec![a.id.clone(), b.id.clone()])
    );

    live.set(&format!("8888_{}", b.id), false);
    assert_eq!(h.server.sweep(), 1);
    assert_eq!(h.members(kind, &room).await, Ok(vec![a.id]));
}

#[tokio::test(start_paused = true)]
async fn an_evicted_creator_closes_the_room() {
    for kind in RoomKind::ALL {
        let h = Harness::on_paused_clock(config(), Arc::new(NeverLive));
        let (_, b, room) = h.room_of_two(kind, "r").await;
        advance(Duration::from_secs(15)).await;
        assert_eq!(h.heartbeat(kind, &room, &b).await, 0);
        advance(Duration::from_secs(6)).await;
        assert_eq!(h.server.sweep(), 1);
        assert_eq!(h.members(kind, &room).await, Err(3));
        assert!(h.rooms(kind).await.is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn runs_ticker_sweeps_on_its_own() {
    let h = Harness::on_paused_clock(config(), Arc::new(NeverLive));
    let kind = RoomKind::MultiRoom;
    let a = h.login().await;
    let room = h.create_room(kind, &a, "r").await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(run(listener, h.server.clone(), async move {
        let _ = stopped.await;
    }));

    // Sleeping on the paused clock lets the sweeper's ticks run as time moves.
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(h.members(kind, &room).await, Ok(vec![a.id.clone()]));
    tokio::time::sleep(h.server.config().check_interval * 2).await;
    assert_eq!(h.members(kind, &room).await, Err(3));

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// A socket is opened and closed on the real clock; then the clock is paused to step through
/// the grace. Nothing sweeps periodically here (the period is a day): the server checks the
/// member by itself when its grace ends.
#[tokio::test]
async fn a_member_whose_socket_closed_and_stayed_away_is_evicted_when_the_grace_ends() {
    let day = Duration::from_secs(24 * 60 * 60);
    let h = Harness::on_paused_clock(
        ServerConfig {
            heartbeat_timeout: day,
            check_interval: day,
            // Long enough that a slow machine's real clock cannot run through it before the pause.
            socket_grace: Duration::from_secs(10),
            ..config()
        },
        Arc::new(NeverLive),
    );
    let grace = h.server.config().socket_grace;
    let kind = RoomKind::MultiRoom;
    let a = h.login().await;
    let b = h.login().await;
    let c = h.login().await;
    let room = h.create_room(kind, &a, "r").await;
    assert_eq!(h.join(kind, &room, &b).await, 0);
    assert_eq!(h.join(kind, &room, &c).await, 0);

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(run(listener, h.server.clone(), async move {
        let _ = stopped.await;
    }));
    let url = |u: &common::User| {
        format!(
            "ws://{addr}/weapp/{kind}/events?roomID={room}&userID={}&userSig={}",
            u.id, u.sig
        )
    };
    let (mut b_socket, _) = tokio_tungstenite::connect_async(url(&b)).await.unwrap();
    let (c_socket, _) = tokio_tungstenite::connect_async(url(&c)).await.unwrap();
    wait_for_sockets(&h, 2).await;
    b_socket.close(None).await.unwrap();
    while b_socket.next().await.is_some() {}
    drop(c_socket);
    wait_for_sockets(&h, 0).await;

    // c reconnects within the grace; b does not.
    let (c_socket, _) = tokio_tungstenite::connect_async(url(&c)).await.unwrap();
    wait_for_sockets(&h, 1).await;

    tokio::time::pause();
    let everyone = vec![a.id.clone(), b.id.clone(), c.id.clone()];
    assert_eq!(h.members(kind, &room).await, Ok(everyone.clone()));
    advance(grace - Duration::from_secs(1)).await;
    assert_eq!(
        h.members(kind, &room).await,
        Ok(everyone),
        "within the grace"
    );
    advance(Duration::from_secs(1) + TICK).await;
    let mut members = h.members(kind, &room).await;
    for _ in 0..100 {
        if members.as_ref().is_ok_and(|m| m.len() == 2) {
            break;
        }
        tokio::task::yield_now().await;
        members = h.members(kind, &room).await;
    }
    assert_eq!(members, Ok(vec![a.id.clone(), c.id.clone()]));
    assert_eq!(h.server.sweep(), 0, "nothing left for a sweep");
    tokio::time::resume();

    drop(c_socket);
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

#[test]
fn eviction_comes_within_three_seconds_of_a_socket_closing() {
    assert!(DEFAULT_SOCKET_GRACE + CHECK_SLACK < Duration::from_secs(3));
    assert!(
        DEFAULT_SOCKET_GRACE >= Duration::from_secs(1),
        "room for a reconnect under way"
    );
}

/// A stream source whose streams carry media until the test stops feeding them.
#[derive(Default)]
struct Feeds(Mutex<HashMap<String, Instant>>);

impl Feeds {
    fn media(&self, stream: &str) {
        self.0
            .lock()
            .unwrap()
            .insert(stream.to_owned(), Instant::now());
    }
}

impl StreamLiveness for Feeds {
    fn is_live(&self, stream_id: &str) -> bool {
        self.0.lock().unwrap().contains_key(stream_id)
    }

    fn media_age(&self, stream_id: &str) -> Option<Duration> {
        let last = *self.0.lock().unwrap().get(stream_id)?;
        Some(Instant::now().saturating_duration_since(last))
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_member_whose_live_stream_stalled_is_evicted() {
    let feeds = Arc::new(Feeds::default());
    let h = Harness::on_paused_clock(config(), feeds.clone());
    let timeout = h.server.config().heartbeat_timeout;
    let stall = h.server.config().media_stall;
    let kind = RoomKind::MultiRoom;
    let (a, b, room) = h.room_of_two(kind, "r").await;
    let stream = format!("8888_{}", b.id);

    // b's heartbeats are lost but its camera still reaches viewers: it stays.
    for _ in 0..30 {
        feeds.media(&stream);
        advance(Duration::from_secs(1)).await;
        assert_eq!(h.heartbeat(kind, &room, &a).await, 0);
        assert_eq!(h.server.sweep(), 0);
    }
    // Its client freezes after one last frame: the connection stays up, nothing arrives.
    feeds.media(&stream);
    advance(stall).await;
    assert_eq!(h.heartbeat(kind, &room, &a).await, 0);
    assert_eq!(
        h.server.sweep(),
        0,
        "stalled for no longer than the limit: kept"
    );
    advance(TICK).await;
    assert_eq!(h.server.sweep(), 1);
    assert_eq!(h.members(kind, &room).await, Ok(vec![a.id.clone()]));

    // A member that froze whole (heartbeats and media at once) goes at its heartbeat timeout.
    let c = h.login().await;
    assert_eq!(h.join(kind, &room, &c).await, 0);
    feeds.media(&format!("8888_{}", c.id));
    advance(timeout).await;
    assert_eq!(h.heartbeat(kind, &room, &a).await, 0);
    assert_eq!(h.server.sweep(), 0);
    advance(TICK).await;
    assert_eq!(h.server.sweep(), 1);
    assert_eq!(h.members(kind, &room).await, Ok(vec![a.id]));
}

/// Waits (on the real clock, bounded) until the server has seen `n` sockets open.
async fn wait_for_sockets(h: &Harness, n: usize) {
    let seen = async {
        while h.server.connected_sockets() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), seen)
        .await
        .unwrap_or_else(|_| panic!("server never saw {n} open sockets"));
}
