//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod fake_audio;
pub mod room;

use quartet_media::{
    AudioSource, PlayerEvent, PlayerHandle, PublisherEvent, SyntheticTone, SyntheticVideo,
    VideoFrame, VideoSource,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

/// Generous: these are "it happens", not "it happens fast" checks.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Polls `f` until it is true or `deadline` passes.
pub fn wait_until(deadline: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Waits for a frame matching `pred` from `player`.
pub fn wait_frame(
    player: &PlayerHandle,
    deadline: Duration,
    pred: impl Fn(&VideoFrame) -> bool,
) -> Option<Arc<VideoFrame>> {
    let frames = player.frames();
    let mut found = None;
    wait_until(deadline, || {
        found = frames.borrow().clone().filter(|f| pred(f));
        found.is_some()
    });
    found
}

/// Waits for a publisher event matching `pred`.
pub fn wait_publisher_event(
    events: &mut UnboundedReceiver<PublisherEvent>,
    deadline: Duration,
    pred: impl Fn(&PublisherEvent) -> bool,
) -> bool {
    wait_until(deadline, || {
        while let Ok(e) = events.try_recv() {
            if pred(&e) {
                return true;
            }
        }
        false
    })
}

/// Waits for a player event matching `pred`.
pub fn wait_player_event(
    events: &mut UnboundedReceiver<PlayerEvent>,
    deadline: Duration,
    pred: impl Fn(&PlayerEvent) -> bool,
) -> bool {
    wait_until(deadline, || {
        while let Ok(e) = events.try_recv() {
            if pred(&e) {
                return true;
            }
        }
        false
    })
}

/// The two sources a publisher takes.
pub type Sources = (Option<Box<dyn VideoSource>>, Option<Box<dyn AudioSource>>);

/// A synthetic member: test pattern and tone.
pub fn member(name: &str, w: u32, h: u32) -> Sources {
    (
        Some(Box::new(
            SyntheticVideo::new(name, w, h, 15).expect("synthetic video"),
        )),
        Some(Box::new(SyntheticTone::new(440.0))),
    )
}
