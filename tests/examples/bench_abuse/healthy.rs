//! The healthy call that must not notice the attacks: two members of one room heartbeating and
//! polling the member list, and the creator's stream published and played through the relay.
//! Each window of figures (one per attack) is taken with [`Healthy::take`].

use crate::target::{Api, User};
use anyhow::Result;
use quartet_testkit::rtmp::{RtmpClient, flv};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Time between two requests of the healthy room (two members at a brisk cadence, so a stall
/// of the server shows at once).
const REQUEST_PERIOD: Duration = Duration::from_millis(50);
/// Frames per second of the healthy stream.
const FPS: u32 = 15;
/// Frames per group of pictures of the healthy stream.
const GOP: u32 = 15;
/// Size of a keyframe and of an inter frame of the healthy stream.
const KEYFRAME_BYTES: usize = 12_000;
const INTER_BYTES: usize = 2_500;
/// Pause before a dropped publisher or player connects again.
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// Figures of one window.
#[derive(Debug, Default, Clone)]
pub struct Window {
    /// Latency of each healthy request, in ms.
    pub latencies: Vec<f64>,
    /// Requests that failed or answered a non-zero code.
    pub errors: u64,
    /// Longest time the healthy player went without a media message, in ms.
    pub max_gap_ms: f64,
    /// Media messages the healthy player received.
    pub received: u64,
}

#[derive(Default)]
struct Shared {
    window: Window,
    last_media: Option<Instant>,
}

/// The healthy call, running until dropped.
pub struct Healthy {
    pub room_id: String,
    pub creator: User,
    shared: Arc<Mutex<Shared>>,
    tasks: Vec<JoinHandle<()>>,
}

fn lock(s: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Healthy {
    /// Creates the room, joins the second member and starts traffic and the stream.
    pub async fn start(api: &Api, rtmp: SocketAddr) -> Result<Healthy> {
        let creator = api.login("healthy").await?;
        let member = api.login("healthy").await?;
        let room_id = api.create(&creator, "healthy call").await?;
        api.join(&member, &room_id).await?;
        let play = api.play_url(&room_id, &creator.user_id).await?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let tasks = vec![
            tokio::spawn(requests(
                api.clone(),
                room_id.clone(),
                [creator.clone(), member.clone()],
                shared.clone(),
            )),
            tokio::spawn(publish(rtmp, creator.push_stream().to_owned())),
            tokio::spawn(play_stream(
                rtmp,
                play.rsplit('/').next().unwrap_or_default().to_owned(),
                shared.clone(),
            )),
        ];
        let healthy = Healthy {
            room_id,
            creator,
            shared,
            tasks,
        };
        healthy.wait_for_media().await?;
        Ok(healthy)
    }

    async fn wait_for_media(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while lock(&self.shared).window.received == 0 {
            if Instant::now() > deadline {
                anyhow::bail!("the healthy stream never reached its player");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// The figures since the last call; starts a new window.
    pub fn take(&self) -> Window {
        let mut s = lock(&self.shared);
        if let Some(last) = s.last_media {
            let gap = last.elapsed().as_secs_f64() * 1e3;
            s.window.max_gap_ms = s.window.max_gap_ms.max(gap);
        }
        std::mem::take(&mut s.window)
    }
}

impl Drop for Healthy {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn requests(api: Api, room_id: String, members: [User; 2], shared: Arc<Mutex<Shared>>) {
    let mut tick = tokio::time::interval(REQUEST_PERIOD);
    for n in 0u64.. {
        tick.tick().await;
        let who = &members[(n % 2) as usize];
        let started = Instant::now();
        let body = json!({"roomID": room_id, "userID": who.user_id});
        let answer = if n % 4 < 2 {
            api.call("pusher_heartbeat", body, Some(who)).await
        } else {
            api.call("get_pushers", body, None).await
        };
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let mut s = lock(&shared);
        s.window.latencies.push(ms);
        if !matches!(answer, Ok((0, _))) {
            s.window.errors += 1;
        }
    }
}

/// Publishes synthetic frames in real time, reconnecting when dropped (a restart).
async fn publish(rtmp: SocketAddr, stream: String) {
    loop {
        let _ = publish_once(rtmp, &stream).await;
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
}

async fn publish_once(rtmp: SocketAddr, stream: &str) -> Result<()> {
    let mut client = RtmpClient::connect(rtmp, "live").await?;
    if let Some(code) = client.publish(stream).await? {
        anyhow::bail!("healthy publish refused: {code}");
    }
    client.video(0, flv::avc_header()).await?;
    client.audio(0, flv::aac_header()).await?;
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1) / FPS);
    for tag in 0u32.. {
        tick.tick().await;
        let ts = started.elapsed().as_millis() as u32;
        let frame = if tag.is_multiple_of(GOP) {
            flv::keyframe(tag, KEYFRAME_BYTES)
        } else {
            flv::inter(tag, INTER_BYTES)
        };
        client.video(ts, frame).await?;
        client.audio(ts, flv::aac(200)).await?;
    }
    Ok(())
}

/// Plays the healthy stream, noting when each message arrives; reconnects when dropped.
async fn play_stream(rtmp: SocketAddr, stream: String, shared: Arc<Mutex<Shared>>) {
    loop {
        let _ = play_once(rtmp, &stream, &shared).await;
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
}

async fn play_once(rtmp: SocketAddr, stream: &str, shared: &Mutex<Shared>) -> Result<()> {
    let mut client = RtmpClient::connect(rtmp, "live").await?;
    if let Some(code) = client.play(stream).await? {
        anyhow::bail!("healthy play refused: {code}");
    }
    loop {
        client.next_media().await?;
        let now = Instant::now();
        let mut s = lock(shared);
        if let Some(last) = s.last_media {
            let gap = now.duration_since(last).as_secs_f64() * 1e3;
            s.window.max_gap_ms = s.window.max_gap_ms.max(gap);
        }
        s.last_media = Some(now);
        s.window.received += 1;
    }
}
