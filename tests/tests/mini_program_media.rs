//! What a mini-program member gets from `quartet server` as the original client would use it
//! (no userSig, v1 polling): a `mixedPlayURL` in HTTP-FLV that FFmpeg plays while FFmpeg
//! publishes the creator's stream over RTMP, and default avatars that are PNGs.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use quartet_server::avatar::AVATAR_SIZE;
use quartet_testkit::{ffmpeg_probe, ffmpeg_publish};
use quartet_tests::{Host, init_tracing};
use serde_json::{Value, json};

/// Seconds of the mixed stream FFmpeg plays.
const PLAY_SECONDS: u32 = 2;
/// Longest a hostile avatar path may take to be refused.
const REFUSED_WITHIN: Duration = Duration::from_millis(500);

async fn post(host: &Host, endpoint: &str, body: Value) -> Result<Value> {
    let url = host.url.join(&format!("weapp/multi_room/{endpoint}"))?;
    let v: Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    ensure!(v["code"] == 0, "{endpoint}: {v}");
    Ok(v)
}

async fn login(host: &Host) -> Result<String> {
    let v = post(host, "get_im_login_info", json!({"userIDPrefix": "mp"})).await?;
    v["userID"].as_str().map(str::to_owned).context("no userID")
}

fn member(id: &str, name: &str) -> Value {
    json!({"userID": id, "userName": name, "userAvatar": "quartet:initials",
           "pushURL": "rtmp://client/said"})
}

async fn get_png(url: &str) -> Result<(reqwest::header::HeaderMap, image::RgbImage)> {
    let response = reqwest::get(url).await?;
    ensure!(response.status() == 200, "{url}: {}", response.status());
    let headers = response.headers().clone();
    let bytes = response.bytes().await?;
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)?.to_rgb8();
    Ok((headers, img))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mini_program_member_plays_the_room_over_http_flv_and_sees_avatars() -> Result<()> {
    init_tracing();
    let host = Host::with_relay(|c| c.allow_anonymous = true).await?;
    let (a, b) = (login(&host).await?, login(&host).await?);
    let mut create = member(&a, "小明 Ann");
    create["roomName"] = "flv".into();
    let room = post(&host, "create_room", create).await?["roomID"]
        .as_str()
        .context("no roomID")?
        .to_owned();
    let mut join = member(&b, "Bo Lee");
    join["roomID"] = room.clone().into();
    post(&host, "add_pusher", join).await?;
    let push = post(&host, "get_push_url", json!({"userID": a})).await?;
    let push = push["pushURL"].as_str().context("no pushURL")?.to_owned();
    let _publisher = ffmpeg_publish(&push, 320, 180, 15)?;
    let stream = format!("{}_{a}", host.server().config().bizid);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !host.relay().is_some_and(|r| r.is_live(&stream)) {
        ensure!(
            Instant::now() < deadline,
            "the creator's stream never went live"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let pushers = post(&host, "get_pushers", json!({"roomID": room})).await?;
    let mixed = pushers["mixedPlayURL"]
        .as_str()
        .context("no mixedPlayURL")?;
    ensure!(
        mixed.starts_with("http://127.0.0.1:") && mixed.contains(&format!("/live/{stream}.flv?")),
        "{mixed}"
    );
    let url = mixed.to_owned();
    let probe = tokio::task::spawn_blocking(move || ffmpeg_probe(&url, PLAY_SECONDS)).await??;
    ensure!(probe.video_codec.as_deref() == Some("h264"), "{probe:?}");
    ensure!(probe.audio_codec.as_deref() == Some("aac"), "{probe:?}");
    ensure!(probe.video_frames >= 20, "{probe:?}");

    // Every member's default avatar is a URL of a PNG of the right size, each its own.
    let list = pushers["pushers"].as_array().context("no pushers")?;
    ensure!(list.len() == 2, "{pushers}");
    let mut images = Vec::new();
    for p in list {
        let url = p["userAvatar"].as_str().context("no userAvatar")?;
        ensure!(
            url.starts_with(&format!("{}weapp/avatar/", host.url)) && url.ends_with(".png"),
            "{url}"
        );
        let (headers, img) = get_png(url).await?;
        ensure!(img.dimensions() == (AVATAR_SIZE, AVATAR_SIZE));
        let cache = headers.get("cache-control").context("no cache-control")?;
        ensure!(cache.to_str()?.contains("immutable"), "{cache:?}");
        images.push(img);
    }
    ensure!(images[0] != images[1], "two members, one image");

    // Hostile avatar paths are refused at once.
    let base = host.url.join("weapp/avatar/")?;
    for path in [
        "9-A.png".to_owned(),
        "0-ABC.png".to_owned(),
        "0-%E2%80%AEA.png".to_owned(),
        "0-..%2F..%2Fetc.png".to_owned(),
        format!("0-{}.png", "%E5%B0%8F".repeat(200)),
        format!("0-{}.png", "A".repeat(8_000)),
    ] {
        let started = Instant::now();
        let status = reqwest::get(base.join(&path)?).await?.status();
        ensure!(
            status == 404 || status == 400 || status == 431,
            "{path}: {status}"
        );
        ensure!(
            started.elapsed() < REFUSED_WITHIN,
            "{path}: {:?}",
            started.elapsed()
        );
    }
    host.stop().await
}
