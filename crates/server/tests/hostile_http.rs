//! The HTTP transport against hostile clients, over real sockets on 127.0.0.1: oversized heads,
//! slow heads and bodies, idle connections, a flood of connections, a flood of event sockets.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::{Served, User, config};
use futures_util::StreamExt;
use quartet_proto::RoomKind;
use quartet_server::{HttpLimits, MAX_HEAD_BYTES, MAX_HEADERS, MAX_SOCKETS_PER_MEMBER};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Bounds every wait so a broken server fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(30);

/// Limits with short deadlines, so the tests need not wait the real ones out.
fn quick(limits: HttpLimits) -> HttpLimits {
    HttpLimits {
        head_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(500),
        ..limits
    }
}

/// Sends `request` on a new connection and reads until the server closes it or answers.
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    read_answer(&mut tcp).await
}

/// Reads one answer's head (or whatever arrives before the server closes the connection).
async fn read_answer(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            if got.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await
    .expect("the server neither answered nor closed");
    String::from_utf8_lossy(&got).into_owned()
}

/// Waits until the server closes `tcp`, failing after [`PATIENCE`].
async fn closed_by_server(tcp: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(PATIENCE, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server kept the connection open");
}

fn get_healthz(extra_headers: &str) -> Vec<u8> {
    format!("GET /healthz HTTP/1.1\r\nHost: t\r\n{extra_headers}\r\n").into_bytes()
}

#[tokio::test]
async fn a_request_head_over_the_size_limit_is_refused_and_one_within_it_served() {
    let s = Served::start(config(), HttpLimits::default()).await;
    let within = format!("X-Pad: {}\r\n", "a".repeat(MAX_HEAD_BYTES - 1024));
    assert!(
        exchange(s.addr, &get_healthz(&within))
            .await
            .starts_with("HTTP/1.1 200")
    );
    let over = format!("X-Pad: {}\r\n", "a".repeat(MAX_HEAD_BYTES));
    let answer = exchange(s.addr, &get_healthz(&over)).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let measured = format!("X-Pad: {}\r\n", "a".repeat(200 * 1024));
    let answer = exchange(s.addr, &get_healthz(&measured)).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    s.stop().await;
}

#[tokio::test]
async fn more_header_fields_than_the_limit_are_refused() {
    let s = Served::start(config(), HttpLimits::default()).await;
    let headers = |n: usize| (0..n).map(|i| format!("X-H{i}: v\r\n")).collect::<String>();
    // Host counts too.
    let answer = exchange(s.addr, &get_healthz(&headers(MAX_HEADERS - 1))).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answer = exchange(s.addr, &get_healthz(&headers(MAX_HEADERS))).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    s.stop().await;
}

#[tokio::test]
async fn a_head_trickled_slower_than_the_deadline_is_cut_off() {
    let s = Served::start(config(), quick(HttpLimits::default())).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let trickle = async {
        for i in 0.. {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if tcp
                .write_all(format!("X-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
    };
    tokio::time::timeout(PATIENCE, trickle)
        .await
        .expect("the server kept reading a head that never ends");
    s.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_and_a_busy_one_kept() {
    let s = Served::start(config(), quick(HttpLimits::default())).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    // Requests closer together than the deadline keep the connection.
    for _ in 0..4 {
        tcp.write_all(&get_healthz("")).await.unwrap();
        let answer = read_answer(&mut tcp).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    closed_by_server(&mut tcp).await;
    s.stop().await;
}

#[tokio::test]
async fn a_body_trickled_slower_than_the_request_deadline_is_answered_408() {
    let s = Served::start(config(), quick(HttpLimits::default())).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(
        b"POST /weapp/multi_room/get_pushers HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"roomID\":",
    )
    .await
    .unwrap();
    let answer = read_answer(&mut tcp).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    s.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once_and_the_held_ones_keep_working() {
    const CAP: usize = 8;
    let limits = HttpLimits {
        max_connections: CAP,
        ..HttpLimits::default()
    };
    let s = Served::start(config(), limits).await;
    let mut held = Vec::new();
    for _ in 0..CAP {
        let mut tcp = TcpStream::connect(s.addr).await.unwrap();
        tcp.write_all(&get_healthz("")).await.unwrap();
        assert!(read_answer(&mut tcp).await.starts_with("HTTP/1.1 200"));
        held.push(tcp);
    }
    let refused = exchange(s.addr, &get_healthz("")).await;
    assert_eq!(refused, "", "a connection over the cap was served");
    for tcp in &mut held {
        tcp.write_all(&get_healthz("")).await.unwrap();
        assert!(read_answer(tcp).await.starts_with("HTTP/1.1 200"));
    }
    drop(held.pop());
    // The slot frees once the server has seen the close.
    tokio::time::timeout(PATIENCE, async {
        while !exchange(s.addr, &get_healthz(""))
            .await
            .starts_with("HTTP/1.1 200")
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a freed slot was never reused");
    drop(held);
    s.stop().await;
}

#[tokio::test]
async fn at_the_cap_a_silent_connection_makes_room_for_a_member() {
    const CAP: usize = 8;
    let limits = HttpLimits {
        max_connections: CAP,
        ..HttpLimits::default()
    };
    let s = Served::start(config(), limits).await;
    let mut proven = TcpStream::connect(s.addr).await.unwrap();
    proven.write_all(&get_healthz("")).await.unwrap();
    assert!(read_answer(&mut proven).await.starts_with("HTTP/1.1 200"));
    let mut silent = Vec::new();
    for _ in 1..CAP {
        silent.push(TcpStream::connect(s.addr).await.unwrap());
    }
    // The cap is full of connections that said nothing: each member connecting now is served,
    // and costs the oldest silent connection its slot.
    let mut members = Vec::new();
    for _ in 1..CAP {
        let mut tcp = TcpStream::connect(s.addr).await.unwrap();
        tcp.write_all(&get_healthz("")).await.unwrap();
        let answer = read_answer(&mut tcp).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        members.push(tcp);
    }
    let mut buf = [0u8; 16];
    for tcp in &mut silent {
        let closed = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
    }
    // Now every slot is held by a connection that proved itself: a newcomer is refused, and no
    // member lost its connection.
    assert_eq!(exchange(s.addr, &get_healthz("")).await, "");
    for tcp in members.iter_mut().chain(std::iter::once(&mut proven)) {
        tcp.write_all(&get_healthz("")).await.unwrap();
        assert!(read_answer(tcp).await.contains("HTTP/1.1 200"));
    }
    s.stop().await;
}

fn events_url(addr: SocketAddr, kind: RoomKind, room: &str, user: &User) -> String {
    format!(
        "ws://{addr}/weapp/{kind}/events?roomID={room}&userID={}&userSig={}",
        user.id, user.sig
    )
}

#[tokio::test]
async fn a_member_beyond_its_socket_cap_loses_its_oldest_socket() {
    let s = Served::start(config(), HttpLimits::default()).await;
    let kind = RoomKind::MultiRoom;
    let (_a, b, room) = s.h.room_of_two(kind, "r").await;
    let url = events_url(s.addr, kind, &room, &b);
    let mut sockets = Vec::new();
    for n in 1..=MAX_SOCKETS_PER_MEMBER {
        let (socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        sockets.push(socket);
        wait_for_sockets(&s, n).await;
    }
    let (newest, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let oldest = &mut sockets[0];
    let close = tokio::time::timeout(PATIENCE, async {
        loop {
            match oldest.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("the oldest socket was not closed");
    assert_eq!(close.unwrap().code, CloseCode::Policy);
    drop(sockets.remove(0));
    sockets.push(newest);
    // The cap holds after the flood: exactly the cap stays open, the newest among them.
    wait_for_sockets(&s, MAX_SOCKETS_PER_MEMBER).await;
    let h = &s.h;
    assert_eq!(h.heartbeat(kind, &room, &b).await, 0);
    drop(sockets);
    s.stop().await;
}

async fn wait_for_sockets(s: &Served, n: usize) {
    tokio::time::timeout(PATIENCE, async {
        while s.h.server.connected_sockets() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "expected {n} sockets, have {}",
            s.h.server.connected_sockets()
        )
    });
}

#[tokio::test]
async fn a_flood_of_event_sockets_for_one_member_stays_at_the_cap() {
    let s = Served::start(config(), HttpLimits::default()).await;
    let kind = RoomKind::MultiRoom;
    let (_a, b, room) = s.h.room_of_two(kind, "r").await;
    let url = events_url(s.addr, kind, &room, &b);
    let mut flood = Vec::new();
    for _ in 0..50 {
        flood.push(tokio_tungstenite::connect_async(&url).await.unwrap().0);
    }
    wait_for_sockets(&s, MAX_SOCKETS_PER_MEMBER).await;
    drop(flood);
    s.stop().await;
}
