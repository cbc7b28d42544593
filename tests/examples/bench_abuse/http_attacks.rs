//! Attacks on the room server's HTTP and event channel: slow and huge headers, socket floods,
//! room floods, oversized fields, impersonation, replays and a member that vanishes.

use crate::healthy::Healthy;
use crate::target::{Api, Target, User};
use crate::{Outcome, Verdict};
use anyhow::Result;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Slowloris connections (the measured attack held 2,000 open for minutes).
const SLOW_CONNECTIONS: usize = 2_000;
/// Time between two header bytes of a slowloris connection.
const SLOW_PERIOD: Duration = Duration::from_secs(5);
/// Longest the benchmark waits for the server to close slow connections.
const SLOW_WAIT: Duration = Duration::from_secs(40);
/// Size of the oversized request header (the measured attack used 200 KB).
const HUGE_HEADER_BYTES: usize = 200 * 1024;
/// Event sockets opened for one member (the measured attack opened 1,000).
const EVENT_SOCKETS: usize = 1_000;
/// How long the room flood creates rooms.
const FLOOD_TIME: Duration = Duration::from_secs(3);
/// Concurrent requests of the room flood.
const FLOOD_CONCURRENCY: usize = 8;
/// Size of the oversized nickname (the measured attack stored 55 KB).
const HUGE_NAME_BYTES: usize = 55 * 1024;

/// Connections that send a request header one byte every [`SLOW_PERIOD`].
pub async fn slowloris(target: &Target) -> Result<Outcome> {
    let closed = Arc::new(AtomicUsize::new(0));
    let opened = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..SLOW_CONNECTIONS {
        let (closed, opened, addr) = (closed.clone(), opened.clone(), target.http);
        tasks.push(tokio::spawn(async move {
            let Ok(mut socket) = TcpStream::connect(addr).await else {
                closed.fetch_add(1, Ordering::Relaxed);
                return;
            };
            opened.fetch_add(1, Ordering::Relaxed);
            let _ = socket
                .write_all(b"POST /weapp/multi_room/get_pushers HTTP/1.1\r\nHost: x\r\n")
                .await;
            let mut buf = [0u8; 512];
            loop {
                tokio::select! {
                    read = socket.read(&mut buf) => if matches!(read, Ok(0) | Err(_)) { break },
                    _ = tokio::time::sleep(SLOW_PERIOD) => {
                        if socket.write_all(b"X").await.is_err() { break }
                    }
                }
            }
            closed.fetch_add(1, Ordering::Relaxed);
        }));
        if tasks.len().is_multiple_of(100) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let wait = Instant::now();
    while closed.load(Ordering::Relaxed) < SLOW_CONNECTIONS && wait.elapsed() < SLOW_WAIT {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let closed_n = closed.load(Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
    let detail = format!(
        "{} connected; {closed_n} of {SLOW_CONNECTIONS} closed by the server within {:.1} s",
        opened.load(Ordering::Relaxed),
        wait.elapsed().as_secs_f64()
    );
    Ok(Outcome::held_if(closed_n >= SLOW_CONNECTIONS, detail))
}

/// One request whose header is [`HUGE_HEADER_BYTES`] long.
pub async fn huge_header(target: &Target) -> Result<Outcome> {
    let mut socket = TcpStream::connect(target.http).await?;
    let body = r#"{"roomID":"x"}"#;
    let head = format!(
        "POST /weapp/multi_room/get_pushers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Pad: {}\r\n\r\n{body}",
        body.len(),
        "a".repeat(HUGE_HEADER_BYTES)
    );
    let written = socket.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
    let status = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok(if status.contains(" 200 ") {
        Outcome::new(Verdict::Failed, "a 200 KB header was served")
    } else if status.is_empty() {
        Outcome::new(
            Verdict::Refused,
            format!("connection closed (write: {written:?})"),
        )
    } else {
        Outcome::new(Verdict::Refused, status)
    })
}

/// One member opens [`EVENT_SOCKETS`] event sockets.
pub async fn event_socket_flood(api: &Api) -> Result<Outcome> {
    let attacker = api.login("attacker").await?;
    let room = api.create(&attacker, "sockets").await?;
    let url = api.events_url(&room, &attacker);
    let mut sockets = Vec::new();
    let mut refused = 0;
    for _ in 0..EVENT_SOCKETS {
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((ws, _)) => sockets.push(ws),
            Err(_) => refused += 1,
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut open = 0;
    for ws in &mut sockets {
        // Each socket is either closed by now or silent: a short wait tells them apart.
        match tokio::time::timeout(Duration::from_millis(5), ws.next()).await {
            Err(_) => open += 1,
            Ok(Some(Ok(m))) if !m.is_close() => open += 1,
            _ => {}
        }
    }
    drop(sockets);
    leave(api, &attacker, &room).await;
    let detail =
        format!("{open} of {EVENT_SOCKETS} still open after 1 s ({refused} refused at upgrade)");
    Ok(Outcome::held_if(
        open <= quartet_server::MAX_SOCKETS_PER_MEMBER,
        detail,
    ))
}

async fn leave(api: &Api, user: &User, room: &str) {
    let _ = api
        .call(
            "delete_pusher",
            json!({"roomID": room, "userID": user.user_id}),
            Some(user),
        )
        .await;
}

/// One token creates rooms as fast as it can for [`FLOOD_TIME`].
pub async fn room_flood(api: &Api) -> Result<Outcome> {
    let attacker = api.login("attacker").await?;
    let created = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..FLOOD_CONCURRENCY {
        let (api, attacker, created) = (api.clone(), attacker.clone(), created.clone());
        workers.push(tokio::spawn(async move {
            let mut rooms = Vec::new();
            while started.elapsed() < FLOOD_TIME {
                if let Ok(room) = api.create(&attacker, "flood").await {
                    created.fetch_add(1, Ordering::Relaxed);
                    rooms.push(room);
                }
            }
            rooms
        }));
    }
    let mut rooms = Vec::new();
    for w in workers {
        rooms.extend(w.await?);
    }
    let n = created.load(Ordering::Relaxed);
    for room in &rooms {
        leave(api, &attacker, room).await;
    }
    let quota = quartet_server::MAX_ROOMS_PER_USER;
    let detail = format!(
        "{n} rooms created in {:.0} s (quota {quota} at once)",
        FLOOD_TIME.as_secs_f64()
    );
    Ok(Outcome::held_if(n <= quota, detail))
}

/// A tokenless `get_room_list` asking for a million rooms.
pub async fn unpaged_room_list(api: &Api) -> Result<Outcome> {
    let started = Instant::now();
    let reply = api
        .http
        .post(format!("{}/weapp/multi_room/get_room_list", api.base()))
        .json(&json!({"index": 0, "cnt": 1_000_000}))
        .send()
        .await?
        .bytes()
        .await?;
    let parsed: Value = serde_json::from_slice(&reply)?;
    let rooms = parsed["rooms"].as_array().map_or(0, Vec::len);
    let detail = format!(
        "{rooms} rooms, {} bytes in {:.0} ms",
        reply.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(Outcome::held_if(
        rooms <= quartet_proto::MAX_ROOM_LIST_CNT,
        detail,
    ))
}

/// Oversized and control-laden names.
pub async fn hostile_fields(api: &Api) -> Result<Outcome> {
    let attacker = api.login("attacker").await?;
    let mut accepted = Vec::new();
    let mut tries = 0;
    for (what, name, room_name) in [
        (
            "55 KB nickname",
            "n".repeat(HUGE_NAME_BYTES),
            "ok".to_owned(),
        ),
        (
            "NUL and RLO in the room name",
            "ok".to_owned(),
            "a\u{0}b\u{202E}gpj.exe".to_owned(),
        ),
        (
            "escape sequence in the nickname",
            "\u{1b}[2JAnn".to_owned(),
            "ok".to_owned(),
        ),
        ("45 KB room name", "ok".to_owned(), "r".repeat(45 * 1024)),
    ] {
        tries += 1;
        let mut body = api.profile(&attacker, json!({"roomName": room_name}));
        body["userName"] = json!(name);
        let (code, reply) = api.call("create_room", body, Some(&attacker)).await?;
        if code == 0 {
            accepted.push(what);
            if let Some(room) = reply["roomID"].as_str() {
                leave(api, &attacker, room).await;
            }
        }
    }
    Ok(if accepted.is_empty() {
        Outcome::new(
            Verdict::Refused,
            format!("{tries} of {tries} refused with a clear code"),
        )
    } else {
        Outcome::new(
            Verdict::Failed,
            format!("accepted: {}", accepted.join(", ")),
        )
    })
}

/// An attacker joins the healthy room and sends text under the creator's name; the healthy
/// member must see the attacker's own stored name.
pub async fn impersonation(api: &Api, healthy: &Healthy) -> Result<Outcome> {
    let attacker = api.login("attacker").await?;
    // A third member watches the room's events: a healthy member's socket closing afterwards
    // would rightly cost it its seat.
    let observer = api.login("observer").await?;
    api.join(&observer, &healthy.room_id).await?;
    let (mut events, _) =
        tokio_tungstenite::connect_async(api.events_url(&healthy.room_id, &observer)).await?;
    api.join(&attacker, &healthy.room_id).await?;
    let victim_name = format!("name of {}", healthy.creator.user_id);
    let body = json!({
        "roomID": healthy.room_id, "userID": attacker.user_id, "msg": "hello",
        "nickName": victim_name, "headPic": "https://example.invalid/a.png",
    });
    let (code, _) = api
        .call("send_room_text_msg", body, Some(&attacker))
        .await?;
    let shown = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = events.next().await {
            let Ok(text) = m.into_text() else { continue };
            let event: Value = serde_json::from_str(&text).unwrap_or_default();
            if event["cmd"] == "CustomTextMsg" {
                return event["data"]["nickName"].as_str().map(str::to_owned);
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    leave(api, &attacker, &healthy.room_id).await;
    leave(api, &observer, &healthy.room_id).await;
    Ok(match shown {
        Some(name) if name == victim_name => {
            Outcome::new(Verdict::Failed, "text shown under the victim's name")
        }
        Some(name) => Outcome::new(
            Verdict::Refused,
            format!("shown as {name:?} (the sender's stored name)"),
        ),
        None if code != 0 => {
            Outcome::new(Verdict::Refused, format!("text refused with code {code}"))
        }
        None => Outcome::new(Verdict::Failed, "no text event arrived"),
    })
}

/// A captured `delete_pusher` replayed after the member joined again.
pub async fn replayed_leave(api: &Api) -> Result<Outcome> {
    let host = api.login("host").await?;
    let member = api.login("member").await?;
    let room = api.create(&host, "replay").await?;
    api.join(&member, &room).await?;
    let mut captured = json!({"roomID": room, "userID": member.user_id});
    captured["nonce"] = json!(crate::target::nonce());
    api.ok("delete_pusher", captured.clone(), Some(&member))
        .await?;
    api.join(&member, &room).await?;
    let (code, _) = api.call("delete_pusher", captured, Some(&member)).await?;
    let still = api.is_listed(&room, &member.user_id).await?;
    leave(api, &host, &room).await;
    Ok(if code != 0 && still {
        Outcome::new(
            Verdict::Refused,
            format!("replay refused with code {code}; the member stayed"),
        )
    } else {
        Outcome::new(
            Verdict::Failed,
            format!("replay answered {code}; member still in: {still}"),
        )
    })
}

/// A member's event socket closes without a goodbye; it must be gone within `limit`.
pub async fn vanished_member(api: &Api, room: &str, limit: Duration) -> Result<Outcome> {
    let member = api.login("vanish").await?;
    api.join(&member, room).await?;
    let (socket, _) = tokio_tungstenite::connect_async(api.events_url(room, &member)).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(socket);
    let closed = Instant::now();
    while closed.elapsed() < limit + Duration::from_secs(15) {
        let present = api.is_listed(room, &member.user_id).await?;
        if !present {
            let after = closed.elapsed();
            return Ok(Outcome::held_if(
                after <= limit,
                format!("gone {:.2} s after its socket closed", after.as_secs_f64()),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Outcome::new(
        Verdict::Failed,
        "still a member long after its socket closed",
    ))
}
