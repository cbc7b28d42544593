//! A crash and restart of `quartet server` under a real call: two `quartet bot` members (the
//! whole client: room session, publisher, players) must be back in their room, with their
//! streams flowing through the restarted relay, within the target.

use crate::healthy::Healthy;
use crate::target::{Api, Target};
use crate::{Outcome, Verdict};
use anyhow::{Context, Result, bail};
use quartet_testkit::ChildGuard;
use quartet_testkit::rtmp::RtmpClient;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every stream back and every member still in its room within this long of the crash.
pub const RESTART_TARGET: Duration = Duration::from_secs(3);
/// Longest the benchmark waits for the call to come back at all.
const RESTART_WAIT: Duration = Duration::from_secs(30);
/// Longest a bot may take to join.
const JOIN_WAIT: Duration = Duration::from_secs(30);
/// How long one check of a stream waits for a media message.
const STREAM_CHECK: Duration = Duration::from_millis(700);

/// Starts a bot in the call; returns it and the room it is in.
fn bot(bin: &Path, server: &str, room: Option<&str>, name: &str) -> Result<(ChildGuard, String)> {
    let mut cmd = Command::new(bin);
    cmd.args(["bot", "--server", server, "--name", name])
        .args(["--width", "320", "--height", "180", "--fps", "15"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match room {
        Some(room) => cmd.args(["--room", room]),
        None => cmd.args(["--create", "restart"]),
    };
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let guard = ChildGuard(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("joined room ").nth(1) {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
    });
    let room = rx.recv_timeout(JOIN_WAIT).context("the bot did not join")?;
    Ok((guard, room))
}

/// Whether `stream` delivers a media message to a fresh player within [`STREAM_CHECK`].
async fn flowing(rtmp: SocketAddr, stream: &str) -> bool {
    tokio::time::timeout(STREAM_CHECK, async {
        let mut player = RtmpClient::connect(rtmp, "live").await.ok()?;
        player.play(stream).await.ok()?.is_none().then_some(())?;
        player.next_media().await.ok()
    })
    .await
    .ok()
    .flatten()
    .is_some()
}

/// Whether everyone of `room` is listed and every stream of it flows.
async fn call_is_whole(api: &Api, rtmp: SocketAddr, room: &str, members: usize) -> bool {
    let Ok(pushers) = api.pushers(room).await else {
        return false;
    };
    if pushers.len() < members {
        return false;
    }
    for p in &pushers {
        let url = p["accelerateURL"].as_str().unwrap_or_default();
        if !flowing(rtmp, url.rsplit('/').next().unwrap_or_default()).await {
            return false;
        }
    }
    true
}

/// Crashes the server mid-call and times how long until the call is whole again.
pub async fn crash_restart(bin: &Path, target: &mut Target, healthy: &Healthy) -> Result<Outcome> {
    let api = Api::new(target);
    let (mut first, room) = bot(bin, api.base(), None, "bot-a")?;
    let (mut second, _) = bot(bin, api.base(), Some(&room), "bot-b")?;
    let ready = Instant::now();
    while !call_is_whole(&api, target.rtmp, &room, 2).await {
        if ready.elapsed() > JOIN_WAIT {
            bail!("the bots' call never became whole");
        }
    }
    let crashed = Instant::now();
    let down_for = target.crash_and_restart().await?;
    let mut back = None;
    while crashed.elapsed() < RESTART_WAIT {
        let healthy_room = api
            .pushers(&healthy.room_id)
            .await
            .map(|p| p.len())
            .unwrap_or(0);
        if healthy_room == 2 && call_is_whole(&api, target.rtmp, &room, 2).await {
            back = Some(crashed.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let alive = [&mut first, &mut second]
        .into_iter()
        .filter_map(|b| b.0.try_wait().ok())
        .filter(Option::is_none)
        .count();
    let detail = match back {
        Some(t) => format!(
            "server answering again {:.2} s after the crash; every member in its room and every stream flowing after {:.2} s; {alive} of 2 bots still in the call",
            down_for.as_secs_f64(),
            t.as_secs_f64()
        ),
        None => format!(
            "the call was not whole {RESTART_WAIT:?} after the crash; {alive} of 2 bots still running"
        ),
    };
    let verdict = match back {
        Some(t) if t <= RESTART_TARGET && alive == 2 => Verdict::Held,
        _ => Verdict::Failed,
    };
    Ok(Outcome::new(verdict, detail))
}
