//! Attacks through the relay: publishing with a play URL, a player that never reads, slots held
//! by trickling connections, and a member whose stream freezes.

use crate::healthy::Healthy;
use crate::target::{Api, Target, User};
use crate::{Outcome, Verdict};
use anyhow::{Context, Result};
use quartet_testkit::rtmp::{RtmpClient, flv, handshake};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Size of each frame the memory attack publishes (the measured attack used 1–2 MB frames).
const HUGE_FRAME_BYTES: usize = 1_500_000;
/// How long the memory attack publishes.
const MEMORY_ATTACK_TIME: Duration = Duration::from_secs(4);
/// Players of the memory attack that never read.
const STUCK_PLAYERS: usize = 4;
/// Connections of the slot attack (the relay's default cap is 2,048).
const TRICKLE_CONNECTIONS: usize = 2_100;
/// Time between two bytes of a trickling connection.
const TRICKLE_PERIOD: Duration = Duration::from_secs(10);
/// Longest the benchmark waits for the relay to close trickling connections.
const TRICKLE_WAIT: Duration = Duration::from_secs(40);

/// The stream name (with query) of an `rtmp://…/live/<name>` URL.
fn stream_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or_default()
}

/// Publishes the healthy creator's stream with its play URL, which `get_pushers` gives anyone.
pub async fn hijack_with_play_url(
    api: &Api,
    target: &Target,
    healthy: &Healthy,
) -> Result<Outcome> {
    let play = api
        .play_url(&healthy.room_id, &healthy.creator.user_id)
        .await?;
    let mut attacker = RtmpClient::connect(target.rtmp, "live").await?;
    Ok(match attacker.publish(stream_of(&play)).await {
        Ok(Some(code)) => Outcome::new(Verdict::Refused, format!("publish refused: {code}")),
        Err(e) => Outcome::new(Verdict::Refused, format!("connection ended: {e}")),
        Ok(None) => Outcome::new(Verdict::Failed, "a play URL was accepted for publishing"),
    })
}

/// A logged-in attacker asks for another member's push URL with its own token.
pub async fn push_url_of_another(api: &Api, healthy: &Healthy) -> Result<Outcome> {
    let attacker = api.login("attacker").await?;
    let body = json!({"userID": healthy.creator.user_id});
    let mut forged = attacker.clone();
    forged.user_id = healthy.creator.user_id.clone();
    let (code, _) = api.call("get_push_url", body, Some(&forged)).await?;
    Ok(if code == 0 {
        Outcome::new(Verdict::Failed, "got another member's push URL")
    } else {
        Outcome::new(Verdict::Refused, format!("code {code}"))
    })
}

/// One free login publishes huge frames to players that never read; the relay's growth must
/// stay within `bound_mib`.
pub async fn stuck_players(api: &Api, target: &Target, bound_mib: f64) -> Result<Outcome> {
    let attacker = api.login("attacker").await?;
    let before = target.current_rss().unwrap_or_default();
    let mut publisher = RtmpClient::connect(target.rtmp, "live").await?;
    if let Some(code) = publisher.publish(attacker.push_stream()).await? {
        return Ok(Outcome::new(
            Verdict::Failed,
            format!("own publish refused: {code}"),
        ));
    }
    publisher.video(0, flv::avc_header()).await?;
    publisher.video(0, flv::keyframe(0, 1_000)).await?;
    let stream_id = attacker
        .push_stream()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut stuck = Vec::new();
    for _ in 0..STUCK_PLAYERS {
        let mut player = RtmpClient::connect(target.rtmp, "live").await?;
        player.play(&stream_id).await?;
        stuck.push(player.into_socket());
    }
    let started = Instant::now();
    let mut tag = 1u32;
    let mut sent = 0usize;
    while started.elapsed() < MEMORY_ATTACK_TIME {
        let ts = started.elapsed().as_millis() as u32;
        let frame = if tag.is_multiple_of(4) {
            flv::keyframe(tag, HUGE_FRAME_BYTES)
        } else {
            flv::inter(tag, HUGE_FRAME_BYTES)
        };
        let Ok(Ok(())) =
            tokio::time::timeout(Duration::from_secs(2), publisher.video(ts, frame)).await
        else {
            break;
        };
        sent += HUGE_FRAME_BYTES;
        tag += 1;
    }
    let peak = target.take_peak_rss();
    drop(stuck);
    let growth = peak - before;
    let detail = format!(
        "sent {:.0} MB to {STUCK_PLAYERS} stuck players; RSS grew {growth:.0} MiB (bound {bound_mib:.0} MiB)",
        sent as f64 / 1e6
    );
    Ok(Outcome::held_if(growth <= bound_mib, detail))
}

/// Connections that finish the handshake, then send a byte every [`TRICKLE_PERIOD`]; meanwhile
/// a member must still publish and play.
pub async fn trickle_slots(api: &Api, target: &Target) -> Result<Outcome> {
    let closed = Arc::new(AtomicUsize::new(0));
    let opened = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..TRICKLE_CONNECTIONS {
        let (closed, opened, addr) = (closed.clone(), opened.clone(), target.rtmp);
        tasks.push(tokio::spawn(async move {
            if trickle(addr, &opened).await.is_ok() {
                closed.fetch_add(1, Ordering::Relaxed);
            }
        }));
        // Paced a little, so the flood does not also become a SYN flood against the backlog.
        if tasks.len().is_multiple_of(100) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let member = api.login("member").await?;
    let started = Instant::now();
    let valid = publish_and_play(target.rtmp, &member).await;
    let valid_ms = started.elapsed().as_secs_f64() * 1e3;
    let held = opened.load(Ordering::Relaxed);
    let wait = Instant::now();
    while closed.load(Ordering::Relaxed) < held && wait.elapsed() < TRICKLE_WAIT {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let closed_n = closed.load(Ordering::Relaxed);
    let closed_after = wait.elapsed().as_secs_f64() + 1.0;
    for t in tasks {
        t.abort();
    }
    let detail = format!(
        "{held} handshakes completed; valid publish+play {} in {valid_ms:.0} ms; {closed_n} closed by the relay within {closed_after:.1} s",
        if valid.is_ok() { "succeeded" } else { "FAILED" }
    );
    Ok(Outcome::held_if(valid.is_ok() && closed_n >= held, detail))
}

/// Handshakes, then trickles; returns Ok once the relay closed the connection.
async fn trickle(addr: SocketAddr, opened: &AtomicUsize) -> Result<()> {
    let mut socket = TcpStream::connect(addr).await?;
    handshake(&mut socket).await?;
    opened.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 1024];
    loop {
        tokio::select! {
            read = socket.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Ok(()),
                Ok(_) => {}
            },
            _ = tokio::time::sleep(TRICKLE_PERIOD) => {
                if socket.write_all(&[0x03]).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

/// Publishes `user`'s stream and plays it back until one frame arrives.
pub async fn publish_and_play(rtmp: SocketAddr, user: &User) -> Result<()> {
    let mut publisher = RtmpClient::connect(rtmp, "live").await?;
    if let Some(code) = publisher.publish(user.push_stream()).await? {
        anyhow::bail!("publish refused: {code}");
    }
    publisher.video(0, flv::avc_header()).await?;
    publisher.video(0, flv::keyframe(0, 1_000)).await?;
    let stream_id = user.push_stream().split('?').next().unwrap_or_default();
    let mut player = RtmpClient::connect(rtmp, "live").await?;
    if let Some(code) = player.play(stream_id).await? {
        anyhow::bail!("play refused: {code}");
    }
    player
        .next_media()
        .await
        .context("no media reached the player")?;
    Ok(())
}

/// A member stops heartbeating while its publisher stays connected but sends nothing more; it
/// must be evicted within `limit`.
pub async fn frozen_member(
    api: &Api,
    target: &Target,
    room: &str,
    limit: Duration,
) -> Result<Outcome> {
    let member = api.login("frozen").await?;
    api.join(&member, room).await?;
    let joined = Instant::now();
    let mut publisher = RtmpClient::connect(target.rtmp, "live").await?;
    publisher.publish(member.push_stream()).await?;
    publisher.video(0, flv::avc_header()).await?;
    for tag in 0..15u32 {
        publisher.video(tag * 66, flv::inter(tag, 500)).await?;
        tokio::time::sleep(Duration::from_millis(66)).await;
    }
    let deadline = joined + limit + Duration::from_secs(15);
    while Instant::now() < deadline {
        let present = api.is_listed(room, &member.user_id).await?;
        if !present {
            let after = joined.elapsed();
            drop(publisher);
            return Ok(Outcome::held_if(
                after <= limit,
                format!(
                    "evicted {:.1} s after its last heartbeat (limit {:.0} s)",
                    after.as_secs_f64(),
                    limit.as_secs_f64()
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Outcome::new(
        Verdict::Failed,
        "still a member after the limit",
    ))
}
