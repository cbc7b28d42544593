//! The audio–video offset in a two-member call through the embedded relay: one member sends a
//! test pattern and a tone with sync marks (a flash and a click at the same capture instants),
//! the other plays that stream as a call does (player with lip sync, mixer, null sink) and
//! pairs the flashes it shows with the clicks it plays.
//!
//! Both members are room sessions of `quartet-room` against a real room server with signed
//! publishes, sending with the call's own media settings: the call itself offers neither sync
//! marks nor a tap on its mixer, and the media path measured (publisher → relay → player →
//! mixer → output) is the one the call uses.

use anyhow::{Context, Result, bail, ensure};
use quartet_call::MediaSettings;
use quartet_call::config::TONE_HZ;
use quartet_media::{
    AudioMixer, AudioOutput, AvOffsets, Player, PlayerConfig, Publisher, SyncMeter, SyntheticTone,
    SyntheticVideo,
};
use quartet_proto::RoomKind;
use quartet_room::{JoinTarget, SessionConfig, SessionHandle, connect};
use quartet_tests::Host;
use std::time::{Duration, Instant};
use url::Url;

/// How long the members may take to join, connect and show a first picture.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a start-up wait looks again.
const POLL: Duration = Duration::from_millis(50);
/// Avatar of the members: v1 servers refuse an empty one.
const AVATAR: &str = quartet_proto::limits::INITIALS_AVATAR;
/// Time given to the stream to settle (first keyframe, mixer prebuffer) before measuring.
const WARM_UP: Duration = Duration::from_secs(2);

/// Runs the call for `duration` of measurement and returns the offsets (ms, positive when sound
/// leads). Builds its own runtime: call it from synchronous code, not from inside a Tokio
/// runtime.
pub fn measure(duration: Duration) -> Result<AvOffsets> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting a runtime")?;
    runtime.block_on(run(duration))
}

async fn join(server: &Url, target: JoinTarget, name: &str) -> Result<SessionHandle> {
    let config = SessionConfig::new(server.clone(), RoomKind::MultiRoom, target, name, AVATAR);
    let (session, _events) = connect(config)
        .await
        .with_context(|| format!("{name} joining"))?;
    Ok(session)
}

async fn run(duration: Duration) -> Result<AvOffsets> {
    let host = Host::with_relay(|_| {}).await?;
    let media = MediaSettings::default();
    let sender = join(
        &host.url,
        JoinTarget::Create {
            room_name: "lip sync".to_owned(),
        },
        "Marks",
    )
    .await?;
    let video =
        SyntheticVideo::new("Marks", media.width, media.height, media.fps)?.with_sync_marks();
    let audio = SyntheticTone::new(TONE_HZ).with_sync_marks();
    let (publisher, _publisher_events) = Publisher::start(
        media.publisher(&sender.push_url()),
        Some(Box::new(video)),
        Some(Box::new(audio)),
    )?;
    let viewer = join(
        &host.url,
        JoinTarget::Join {
            room_id: sender.room_id(),
        },
        "Viewer",
    )
    .await?;
    let sender_id = sender.user_id();
    let started = Instant::now();
    let play_url = loop {
        if let Some(m) = viewer
            .members()
            .into_iter()
            .find(|m| m.user_id == sender_id)
        {
            break m.play_url;
        }
        if started.elapsed() > START_TIMEOUT {
            bail!("the viewer never saw the sender in the room");
        }
        tokio::time::sleep(POLL).await;
    };

    let mixer = AudioMixer::new();
    let output = AudioOutput::null(mixer.clone())?;
    let config =
        PlayerConfig::new(play_url, media.tile_width, media.tile_height).with_mixer(mixer.clone());
    let (player, _player_events) = Player::start(config)?;
    let meter = tokio::task::spawn_blocking({
        let player = player.clone();
        move || -> Result<SyncMeter> {
            let mut frames = player.frames();
            let started = Instant::now();
            while frames
                .borrow()
                .as_ref()
                .is_none_or(|f| f.capture_us.is_none())
            {
                ensure!(
                    started.elapsed() < START_TIMEOUT,
                    "no picture from the sender"
                );
                std::thread::sleep(POLL);
            }
            std::thread::sleep(WARM_UP);
            let tap = mixer.tap();
            let mut meter = SyncMeter::new();
            meter.watch(&mut frames, &tap, duration);
            Ok(meter)
        }
    })
    .await??;

    player.stop_async().await;
    let _ = tokio::task::spawn_blocking(move || {
        publisher.stop();
        output.stop();
    })
    .await;
    let _ = viewer.leave(quartet_room::LeaveMode::Leave).await;
    let _ = sender.leave(quartet_room::LeaveMode::Leave).await;
    host.stop().await?;
    meter.offsets().with_context(|| {
        format!(
            "no flash–click pairs ({} flashes, {} clicks)",
            meter.flashes(),
            meter.clicks()
        )
    })
}
