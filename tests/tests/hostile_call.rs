//! A call against what the field throws at it: a restart of its host, a member whose URLs leak
//! after it left, play URLs in the hands of anyone who lists the room. Real room server, real
//! relay, real members with synthetic media.

use anyhow::{Context, Result, bail, ensure};
use quartet_call::CallEvent;
use quartet_server::Storage;
use quartet_testkit::rtmp::{RtmpClient, RtmpError, flv};
use quartet_tests::{
    Host, eventually, everyone_sees_and_hears_everyone, init_tracing, leave_all, start_call,
};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Far more than a restart takes (the benchmark measures it); only a call that never comes
/// back fails this.
const BACK_WITHIN: Duration = Duration::from_secs(20);

/// A fresh nonce for a mutating request.
fn nonce() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let unique = u64::from(std::process::id()) << 32 | COUNT.fetch_add(1, Ordering::Relaxed);
    quartet_proto::nonce::make(ms, unique)
}

/// Calls `endpoint` of multi_room with `body`, signed with `sig` when given.
async fn call(host: &Host, endpoint: &str, mut body: Value, sig: Option<&str>) -> Result<Value> {
    if let Some(sig) = sig {
        body["userSig"] = json!(sig);
        body["nonce"] = json!(nonce());
    }
    let url = host.url.join(&format!("weapp/multi_room/{endpoint}"))?;
    let reply: Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    ensure!(reply["code"] == 0, "{endpoint} answered {reply}");
    Ok(reply)
}

/// The stream name (and query) of an RTMP URL.
fn stream_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_survives_a_restart_of_its_host() -> Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let storage =
        |c: &mut quartet_server::ServerConfig| c.storage = Storage::Dir(dir.path().into());
    let host = Host::with_relay(storage).await?;
    let members = start_call(&host.url, &["Ann", "Ben"]).await?;
    everyone_sees_and_hears_everyone(&members).await?;
    let marks: Vec<usize> = members.iter().map(|m| m.mark()).collect();
    let room = members[0].call.room_id();
    let (http, rtmp) = host.addrs();
    host.stop().await?;

    let restarted = Instant::now();
    let host = Host::with_relay_at(http, rtmp.context("a relay")?, storage).await?;
    let pushers = call(&host, "get_pushers", json!({"roomID": room}), None).await?;
    ensure!(
        pushers["pushers"].as_array().map(Vec::len) == Some(2),
        "the restarted host lost members: {pushers}"
    );
    // Pictures flow again: each member decodes frames of the other made after the restart.
    for (i, m) in members.iter().enumerate() {
        let other = &members[1 - i];
        let other_id = other.user_id();
        let before = m.tile_of(&other_id).map_or(0, |t| t.stats().frames_decoded);
        let fresh = before + 15;
        tokio::time::timeout(
            BACK_WITHIN,
            eventually(&format!("{} to see {} again", m.name, other.name), || {
                m.tile_of(&other_id)
                    .is_some_and(|t| t.stats().frames_decoded >= fresh)
            }),
        )
        .await
        .context("the call did not come back")??;
    }
    eprintln!(
        "call whole again {:.1} s after the restart",
        restarted.elapsed().as_secs_f64()
    );
    for (m, mark) in members.iter().zip(marks) {
        let lost = m.events().into_iter().skip(mark).find(|e| {
            matches!(
                e,
                CallEvent::RoomClosed { .. } | CallEvent::MemberLeft { .. }
            )
        });
        ensure!(lost.is_none(), "{} was told {lost:?}", m.name);
    }
    leave_all(members).await?;
    host.stop().await
}

/// Publishes with `stream` and sends a keyframe; the outcome of the publish request.
async fn publish(host: &Host, stream: &str) -> Result<(RtmpClient, Option<String>)> {
    let (_, rtmp) = host.addrs();
    let mut client = RtmpClient::connect(rtmp.context("a relay")?, "live").await?;
    let refused = client.publish(stream).await?;
    if refused.is_none() {
        client.video(0, flv::avc_header()).await?;
        client.video(0, flv::keyframe(0, 500)).await?;
    }
    Ok((client, refused))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_urls_never_publish_and_a_member_who_left_is_cut_off() -> Result<()> {
    init_tracing();
    let host = Host::with_relay(|_| {}).await?;
    let login = call(
        &host,
        "get_im_login_info",
        json!({"userIDPrefix": "t"}),
        None,
    )
    .await?;
    let (user, sig) = (
        login["userID"].as_str().context("userID")?.to_owned(),
        login["userSig"].as_str().context("userSig")?.to_owned(),
    );
    let push = call(&host, "get_push_url", json!({"userID": user}), Some(&sig)).await?;
    let push = push["pushURL"].as_str().context("pushURL")?.to_owned();
    let mut profile = json!({"userID": user, "userName": "Ann", "userAvatar": "quartet:initials", "pushURL": push});
    profile["roomName"] = json!("r");
    let room = call(&host, "create_room", profile, Some(&sig)).await?;
    let room = room["roomID"].as_str().context("roomID")?.to_owned();

    let (mut member, refused) = publish(&host, stream_of(&push)).await?;
    ensure!(
        refused.is_none(),
        "the member's own publish was refused: {refused:?}"
    );
    // Anyone may list the room; its play URL must not take the stream over.
    let listed = call(&host, "get_pushers", json!({"roomID": room}), None).await?;
    let play = listed["pushers"][0]["accelerateURL"]
        .as_str()
        .context("play URL")?;
    let (_, refused) = publish(&host, stream_of(play)).await?;
    ensure!(
        refused.as_deref() == Some("NetStream.Publish.Unauthorized"),
        "a play URL published: {refused:?}"
    );

    // The member leaves (it is the creator, so the room closes): its publisher is cut at once,
    // and its push URL, leaked or kept, publishes no more. Revocation counts whole seconds (a
    // URL signed in the second its member left stays valid), so leave a second later.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    call(
        &host,
        "delete_pusher",
        json!({"roomID": room, "userID": user}),
        Some(&sig),
    )
    .await?;
    let cut = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match member.next_event().await {
                Err(RtmpError::Closed | RtmpError::Io(_)) => return Ok(()),
                Err(RtmpError::TimedOut) => bail!("still connected"),
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
        }
    })
    .await;
    ensure!(
        matches!(cut, Ok(Ok(()))),
        "the relay kept the publisher of a member who left: {cut:?}"
    );
    let (_, refused) = publish(&host, stream_of(&push)).await?;
    ensure!(
        refused.as_deref() == Some("NetStream.Publish.Unauthorized"),
        "a revoked push URL published: {refused:?}"
    );
    host.stop().await
}
