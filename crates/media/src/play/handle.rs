//! The handle a player is controlled through.

use super::{EncodedVideo, PlayError, PlayerStats, Shared, check_url, lock, pack_tile};
use crate::frame::VideoFrame;
use crate::signal::Workers;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

pub(super) struct HandleInner {
    pub(super) shared: Arc<Shared>,
    pub(super) workers: Workers,
}

impl HandleInner {
    pub(super) fn shutdown(&self) {
        self.shared.stop.stop();
        self.shared.sync.wake();
        self.workers.join();
        lock(&self.shared.mixer_input).take();
    }
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Controls a running player; clones share it. Dropping the last clone stops it (and waits for
/// its threads, like [`PlayerHandle::stop`]).
#[derive(Clone)]
pub struct PlayerHandle {
    inner: Arc<HandleInner>,
}

impl PlayerHandle {
    pub(super) fn new(inner: Arc<HandleInner>) -> PlayerHandle {
        PlayerHandle { inner }
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The latest decoded frame at tile size (`None` before the first). Only the newest is
    /// kept: a slow reader skips frames, it never queues them. While a receiver lives, a
    /// player decoding on demand decodes every picture.
    pub fn frames(&self) -> watch::Receiver<Option<Arc<VideoFrame>>> {
        self.shared().frames.subscribe()
    }

    /// The latest decoded frame at tile size, read without asking for more: decoding on
    /// demand, it is the latest keyframe's picture unless someone watches [`Self::frames`].
    pub fn latest_frame(&self) -> Option<Arc<VideoFrame>> {
        self.shared().frames.borrow().clone()
    }

    /// The next picture decoded at the stream's own size, however large the tile's frames
    /// are (a snapshot wants every pixel the sender sent). Waits at most `wait` for it: `None`
    /// when no picture was shown in that time (a stalled stream, or before the first).
    pub async fn full_size_frame(&self, wait: Duration) -> Option<Arc<VideoFrame>> {
        let mut full = self.shared().full.subscribe();
        full.mark_unchanged();
        self.shared().full_wanted.store(true, Ordering::SeqCst);
        let got = tokio::time::timeout(wait, full.changed()).await;
        if !matches!(got, Ok(Ok(()))) {
            return None;
        }
        full.borrow_and_update().clone()
    }

    /// The H.264 access units as they arrive, each with its avcC record.
    pub fn packets(&self) -> broadcast::Receiver<EncodedVideo> {
        self.shared().packets.subscribe()
    }

    /// Changes the size of decoded frames (e.g. when the window is resized).
    pub fn set_tile_size(&self, width: u32, height: u32) {
        self.shared()
            .tile
            .store(pack_tile(width.max(2), height.max(2)), Ordering::Relaxed);
    }

    /// Plays `url` from the next connection on; the current one goes on undisturbed (a fresh
    /// signature for the same stream needs no new connection).
    pub fn set_url(&self, url: impl Into<String>) -> Result<(), PlayError> {
        let url = url.into();
        check_url(&url)?;
        *lock(&self.shared().url) = url;
        Ok(())
    }

    /// Drops the current connection and connects again at once.
    pub fn reconnect(&self) {
        self.shared().reconnect_now.store(true, Ordering::SeqCst);
    }

    /// Current figures.
    pub fn stats(&self) -> PlayerStats {
        let now = Instant::now();
        let mut c = lock(&self.shared().counters);
        PlayerStats {
            connected: c.connected,
            reconnects: c.reconnects,
            fps: c.fps.per_second(now),
            kbps: c.bytes.per_second(now) * 8.0 / 1000.0,
            frames_decoded: c.decoded,
            units_received: c.units,
            frames_shown: c.shown,
            frames_skipped: c.skipped,
            latency_ms_p50: c.latency.percentile(50.0),
            latency_ms_p95: c.latency.percentile(95.0),
            latency_ms_now: c.latency_now.percentile(now, 50.0),
            audio_max_gap_ms: c.audio_gaps.longest(now).map(|d| d.as_secs_f64() * 1000.0),
            first_frame_ms: c.first_frame_ms,
            source_size: c.source_size,
            audio_level: c.audio_level,
            stream_info: c.stream_info.clone(),
            keyframe_interval_ms: c.keyframe_interval_ms,
        }
    }

    /// Forgets collected latency samples (e.g. after a warm-up).
    pub fn reset_latency(&self) {
        let mut c = lock(&self.shared().counters);
        c.latency.clear();
        c.latency_now.clear();
    }

    /// Stops playing and joins its threads (blocks briefly; from async code prefer
    /// [`PlayerHandle::stop_async`]).
    pub fn stop(&self) {
        self.inner.shutdown();
    }

    /// [`PlayerHandle::stop`] without blocking the async runtime.
    pub async fn stop_async(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = tokio::task::spawn_blocking(move || inner.shutdown()).await;
    }
}
