//! The handle that controls a running publisher: keyframes, mute, sources, stats, stop.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{PublisherStats, Shared, SmallStreamStats, StreamKind, VideoContent, lock};
use crate::mixer::{MixTap, SoundTaps};
use crate::processing::AudioProcessing;
use crate::signal::Workers;
use crate::source::{AudioSource, VideoSource};

pub(super) struct HandleInner {
    pub(super) shared: Arc<Shared>,
    pub(super) workers: Workers,
}

impl HandleInner {
    pub(super) fn shutdown(&self) {
        self.shared.stop.stop();
        self.shared.interrupt_sources();
        self.workers.join();
    }
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Controls a running publisher; clones share it. Dropping the last clone stops it (and waits
/// for its threads, like [`PublisherHandle::stop`]).
#[derive(Clone)]
pub struct PublisherHandle {
    pub(super) inner: Arc<HandleInner>,
}

impl PublisherHandle {
    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Makes the next encoded frame of every stream a keyframe (e.g. when someone joins: they
    /// may play either stream).
    pub fn request_keyframe(&self) {
        self.request_keyframe_of(StreamKind::Main);
        self.request_keyframe_of(StreamKind::Small);
    }

    /// Makes the next encoded frame of one stream a keyframe (e.g. a player switching to the
    /// small stream needs one there, and the main stream's viewers need no costly IDR for it).
    /// Asking for a small stream that is not sent does nothing.
    pub fn request_keyframe_of(&self, stream: StreamKind) {
        if let Some(lane) = self.shared().lane(stream) {
            lane.keyframe_requested.store(true, Ordering::SeqCst);
        }
    }

    /// Mutes or unmutes: muted audio is sent as silence.
    pub fn set_audio_muted(&self, muted: bool) {
        self.shared().audio_muted.store(muted, Ordering::SeqCst);
    }

    /// RMS level of the latest sound captured, cleaned and not yet muted (0.0 silence): cheap
    /// enough for a live meter.
    pub fn mic_level(&self) -> f32 {
        f32::from_bits(self.shared().mic_level.load(Ordering::Relaxed))
    }

    /// Switches the cleaning of our sound; an echo canceller that stays on keeps what it learnt.
    pub fn set_audio_processing(&self, processing: AudioProcessing) {
        self.shared().cleaning.ask_settings(processing);
    }

    /// Gives the echo canceller what our speaker plays (a tap on the call's mixer).
    pub fn set_echo_reference(&self, tap: MixTap) {
        self.shared().cleaning.ask_far_end(tap);
    }

    /// Hands our sound as it is sent (cleaned, silence while muted, stamped with its capture
    /// time) to `taps`, e.g. for a recording of the call.
    pub fn set_own_sound(&self, taps: SoundTaps) {
        *lock(&self.shared().own_sound) = taps;
    }

    /// Says what the pictures show (a shared screen keeps keyframes far apart: see
    /// [`VideoContent`]); takes effect at the next frame.
    pub fn set_video_content(&self, content: VideoContent) {
        let screen = content == VideoContent::Screen;
        if self.shared().screen.swap(screen, Ordering::SeqCst) != screen {
            // The new pictures start whole for everyone.
            self.request_keyframe();
        }
    }

    /// Turns the camera on or off: off sends a black frame every
    /// [`CAMERA_OFF_INTERVAL`](super::CAMERA_OFF_INTERVAL).
    pub fn set_video_enabled(&self, enabled: bool) {
        self.shared().video_enabled.store(enabled, Ordering::SeqCst);
        if enabled {
            // Players switch back to pictures without waiting for the next GOP.
            self.request_keyframe();
        }
    }

    /// Switches to another video source (`None`: camera-off frames). The old one is closed.
    pub fn replace_video_source(&self, source: Option<Box<dyn VideoSource>>) {
        *lock(&self.shared().new_video) = Some(source);
        if let Some(i) = lock(&self.shared().video_interrupter).as_ref() {
            i.interrupt();
        }
        self.request_keyframe();
    }

    /// Switches to another audio source (`None`: silence). The old one is closed.
    pub fn replace_audio_source(&self, source: Option<Box<dyn AudioSource>>) {
        *lock(&self.shared().new_audio) = Some(source);
        if let Some(i) = lock(&self.shared().audio_interrupter).as_ref() {
            i.interrupt();
        }
    }

    /// Current figures.
    pub fn stats(&self) -> PublisherStats {
        let s = self.shared();
        let now = Instant::now();
        let small = s.small.as_ref().map(|l| {
            let mut c = lock(&l.counters);
            SmallStreamStats {
                connected: c.connected,
                reconnects: c.reconnects,
                fps: c.fps.per_second(now),
                kbps: c.bytes.per_second(now) * 8.0 / 1000.0,
                frames_encoded: c.frames,
                keyframes: c.keyframes,
                dropped_frames: l.dropped.load(Ordering::Relaxed),
                rung: c.rung,
            }
        });
        let (processing, echo) = s.cleaning.state();
        let mut c = lock(&s.main.counters);
        PublisherStats {
            connected: c.connected,
            reconnects: c.reconnects,
            fps: c.fps.per_second(now),
            kbps: c.bytes.per_second(now) * 8.0 / 1000.0,
            frames_encoded: c.frames,
            keyframes: c.keyframes,
            dropped_frames: s.main.dropped.load(Ordering::Relaxed),
            small,
            encode_ms_mean: c.encode_ms.mean(),
            encode_ms_p95: c.encode_ms.percentile(95.0),
            audio_muted: s.audio_muted.load(Ordering::Relaxed),
            mic_level: f32::from_bits(s.mic_level.load(Ordering::Relaxed)),
            processing,
            echo,
            video_enabled: s.video_enabled.load(Ordering::Relaxed),
            rung: c.rung,
            target_kbps: c.target_kbps,
            adaptations: c.adaptations,
            uplink_limited: c.uplink_limited,
            uplink_queue_ms: c.uplink_queue_ms,
        }
    }

    /// Stops sending and joins every thread (blocks up to a few hundred ms; from async code
    /// prefer [`PublisherHandle::stop_async`]).
    pub fn stop(&self) {
        self.inner.shutdown();
    }

    /// [`PublisherHandle::stop`] without blocking the async runtime.
    pub async fn stop_async(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = tokio::task::spawn_blocking(move || inner.shutdown()).await;
    }
}
