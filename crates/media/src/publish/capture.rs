//! The capture threads: pull frames and sound from the sources and offer them to the send
//! thread without ever waiting for it.

use super::{
    CAMERA_OFF_INTERVAL, IDLE_TICK, Input, MAX_QUEUED_VIDEO, PublisherEvent, Shared, lock,
};
use crate::frame::VideoFrame;
use crate::source::{AudioSource, Interrupter, SourceError, SyntheticTone, VideoSource};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::Instant;

fn set_interrupter(slot: &Mutex<Option<Interrupter>>, i: Option<Interrupter>) {
    *lock(slot) = i;
}

fn offer_video(shared: &Shared, tx: &SyncSender<Input>, frame: VideoFrame) {
    if shared.queued_video.load(Ordering::SeqCst) >= MAX_QUEUED_VIDEO {
        shared.dropped.fetch_add(1, Ordering::Relaxed);
        return;
    }
    shared.queued_video.fetch_add(1, Ordering::SeqCst);
    if tx.try_send(Input::Video(frame)).is_err() {
        shared.queued_video.fetch_sub(1, Ordering::SeqCst);
        shared.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

pub(super) fn video_capture(
    shared: &Shared,
    mut source: Option<Box<dyn VideoSource>>,
    tx: &SyncSender<Input>,
) {
    set_interrupter(
        &shared.video_interrupter,
        source.as_ref().and_then(|s| s.interrupter()),
    );
    let mut next_off_frame = Instant::now();
    while !shared.stop.is_stopped() {
        if let Some(replacement) = lock(&shared.new_video).take() {
            source = replacement;
            set_interrupter(
                &shared.video_interrupter,
                source.as_ref().and_then(|s| s.interrupter()),
            );
        }
        let enabled = shared.video_enabled.load(Ordering::SeqCst);
        match source.as_mut() {
            Some(src) if enabled => match src.next_frame() {
                Ok(Some(frame)) => offer_video(shared, tx, frame),
                Ok(None) => {}
                Err(SourceError::Interrupted) => source = None,
                Err(e) => {
                    tracing::warn!("video source {} failed: {e}", src.describe());
                    shared.emit(PublisherEvent::VideoSourceFailed(e));
                    source = None;
                }
            },
            _ => {
                // Short sleeps so turning the camera back on takes effect quickly.
                let now = Instant::now();
                if now < next_off_frame {
                    shared.stop.sleep((next_off_frame - now).min(IDLE_TICK));
                    continue;
                }
                next_off_frame = now + CAMERA_OFF_INTERVAL;
                let mut frame = VideoFrame::black(shared.config.width, shared.config.height);
                frame.capture_us = None;
                offer_video(shared, tx, frame);
            }
        }
    }
}

pub(super) fn audio_capture(
    shared: &Shared,
    source: Option<Box<dyn AudioSource>>,
    tx: &SyncSender<Input>,
) {
    let silence = || Box::new(SyntheticTone::silence()) as Box<dyn AudioSource>;
    let mut source = source.unwrap_or_else(silence);
    set_interrupter(&shared.audio_interrupter, source.interrupter());
    while !shared.stop.is_stopped() {
        if let Some(replacement) = lock(&shared.new_audio).take() {
            source = replacement.unwrap_or_else(silence);
            set_interrupter(&shared.audio_interrupter, source.interrupter());
        }
        match source.next_chunk() {
            Ok(Some(mut chunk)) => {
                let level = chunk.rms();
                shared.mic_level.store(level.to_bits(), Ordering::Relaxed);
                if shared.audio_muted.load(Ordering::SeqCst) {
                    chunk.samples.fill(0.0);
                }
                // A full queue means the encoder stalled; audio is dropped rather than delayed.
                let _ = tx.try_send(Input::Audio(chunk));
            }
            Ok(None) => {}
            Err(SourceError::Interrupted) => {
                if lock(&shared.new_audio).is_none() {
                    source = silence();
                }
            }
            Err(e) => {
                tracing::warn!("audio source {} failed: {e}", source.describe());
                shared.emit(PublisherEvent::AudioSourceFailed(e));
                source = silence();
                set_interrupter(&shared.audio_interrupter, None);
            }
        }
    }
}
