//! Tiles tell the truth with real media through the embedded relay: a member who joined and
//! sends nothing yet (as a mini-program member before it pushes) is waited for, never shown as
//! reconnecting; once it sends, its tile is live; when its pictures stop while its sound and the
//! connection go on, the tile is stalled well before the player's read timeout, and live again
//! when pictures come back.

use anyhow::{Result, ensure};
use quartet_call::{CallHandle, TileState};
use quartet_media::play::DEFAULT_READ_TIMEOUT;
use quartet_media::{
    Publisher, SourceError, SyntheticTone, SyntheticVideo, VideoFrame, VideoSource,
};
use quartet_proto::RoomKind;
use quartet_room::{JoinTarget, SessionConfig};
use quartet_tests::{
    DEADLINE, Host, TEST_HEIGHT, TEST_WIDTH, TestMember, init_tracing, member_config,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the test looks at the tile.
const POLL: Duration = Duration::from_millis(20);
/// Frame interval of the frozen source while it holds pictures back.
const FROZEN_TICK: Duration = Duration::from_millis(66);

/// The test pattern, until told to freeze: then no picture comes, as from a stuck camera.
struct Freezable {
    inner: SyntheticVideo,
    frozen: Arc<AtomicBool>,
}

impl VideoSource for Freezable {
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        if self.frozen.load(Ordering::SeqCst) {
            std::thread::sleep(FROZEN_TICK);
            return Ok(None);
        }
        self.inner.next_frame()
    }

    fn describe(&self) -> String {
        "freezable test pattern".into()
    }
}

fn tile_state(viewer: &CallHandle, user_id: &str) -> Option<TileState> {
    viewer
        .tiles()
        .into_iter()
        .find(|t| t.member.user_id == user_id)
        .map(|t| t.state())
}

/// Polls until `user_id`'s tile on `viewer` is `wanted`; every state seen on the way, and how
/// long it took.
async fn until_state(
    viewer: &CallHandle,
    user_id: &str,
    wanted: TileState,
    within: Duration,
) -> Result<(Vec<TileState>, Duration)> {
    let began = Instant::now();
    let mut seen = Vec::new();
    loop {
        let state = tile_state(viewer, user_id);
        if let Some(s) = state
            && seen.last() != Some(&s)
        {
            seen.push(s);
        }
        if state == Some(wanted) {
            return Ok((seen, began.elapsed()));
        }
        ensure!(
            began.elapsed() < within,
            "no {wanted:?} within {within:?}; seen {seen:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_wait_for_a_silent_member_and_show_its_stall_early() -> Result<()> {
    init_tracing();
    let host = Host::with_relay(|_| {}).await?;
    let ann = TestMember::start(member_config(
        &host.url,
        JoinTarget::Create {
            room_name: "tiles".into(),
        },
        "Ann",
    ))
    .await?;

    // Ben joins the room and pushes nothing.
    let session = SessionConfig::new(
        host.url.clone(),
        RoomKind::MultiRoom,
        JoinTarget::Join {
            room_id: ann.call.room_id(),
        },
        "Ben",
        "quartet:initials",
    );
    let (ben, mut ben_events) = quartet_room::connect(session).await?;
    tokio::spawn(async move { while ben_events.recv().await.is_some() {} });
    let ben_id = ben.user_id();
    let (seen, after) =
        until_state(&ann.call, &ben_id, TileState::WaitingForStream, DEADLINE).await?;
    println!("waiting for Ben after {} ms: {seen:?}", after.as_millis());
    // Well past several failed player attempts: still waiting, never reconnecting.
    let hold = Instant::now();
    while hold.elapsed() < DEFAULT_READ_TIMEOUT * 2 {
        let state = tile_state(&ann.call, &ben_id);
        ensure!(state == Some(TileState::WaitingForStream), "{state:?}");
        tokio::time::sleep(POLL).await;
    }

    // Ben starts sending: live.
    let frozen = Arc::new(AtomicBool::new(false));
    let media = member_config(
        &host.url,
        JoinTarget::Create {
            room_name: String::new(),
        },
        "Ben",
    )
    .media;
    let video = Freezable {
        inner: SyntheticVideo::new("Ben", TEST_WIDTH, TEST_HEIGHT, media.fps)?,
        frozen: Arc::clone(&frozen),
    };
    let (publisher, _publisher_events) = Publisher::start(
        media.publisher(&ben.push_url()),
        Some(Box::new(video)),
        Some(Box::new(SyntheticTone::new(440.0))),
    )?;
    let (seen, after) = until_state(&ann.call, &ben_id, TileState::Live, DEADLINE).await?;
    println!("Ben live after {} ms: {seen:?}", after.as_millis());
    ensure!(!seen.contains(&TileState::Reconnecting), "{seen:?}");

    // Ben's pictures stop, his sound goes on: stalled, long before the player would call the
    // connection dead.
    tokio::time::sleep(Duration::from_secs(2)).await;
    frozen.store(true, Ordering::SeqCst);
    let (seen, after) =
        until_state(&ann.call, &ben_id, TileState::Stalled, DEFAULT_READ_TIMEOUT).await?;
    println!("Ben stalled after {} ms: {seen:?}", after.as_millis());
    ensure!(seen.first() == Some(&TileState::Live), "{seen:?}");

    // Pictures again: live.
    frozen.store(false, Ordering::SeqCst);
    let (_, after) = until_state(&ann.call, &ben_id, TileState::Live, DEADLINE).await?;
    println!("Ben live again after {} ms", after.as_millis());

    publisher.stop_async().await;
    ben.leave(quartet_room::LeaveMode::Leave).await?;
    ann.leave().await?;
    host.stop().await
}
