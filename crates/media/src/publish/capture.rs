//! The capture threads: pull frames and sound from the sources and offer them to the send
//! threads without ever waiting for them. Sound is encoded here, once for every stream.

use super::audio::AudioEncoder;
use super::{CAMERA_OFF_INTERVAL, IDLE_TICK, Input, Lane, PublisherEvent, Shared, lock};
use crate::frame::{VideoFrame, unix_micros};
use crate::processing::Processor;
use crate::source::{AudioSource, Interrupter, SourceError, SyntheticTone, VideoSource};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

/// The send threads' queues: the main stream's, and the small stream's when there is one.
#[derive(Clone)]
pub(super) struct Outputs {
    pub(super) main: SyncSender<Input>,
    pub(super) small: Option<SyncSender<Input>>,
}

/// The instant of a capture time in µs since the Unix epoch (now, for one in the future).
fn instant_of(capture_us: i64) -> Instant {
    let ago = u64::try_from(unix_micros() - capture_us).unwrap_or(0);
    let now = Instant::now();
    now.checked_sub(Duration::from_micros(ago)).unwrap_or(now)
}

fn set_interrupter(slot: &Mutex<Option<Interrupter>>, i: Option<Interrupter>) {
    *lock(slot) = i;
}

/// Queues `frame` for one stream unless its queue is full (then it is dropped and counted).
fn offer_to(lane: &Lane, tx: &SyncSender<Input>, frame: impl FnOnce() -> VideoFrame) {
    if lane.queued_video.load(Ordering::SeqCst) >= lane.max_queued {
        lane.dropped.fetch_add(1, Ordering::Relaxed);
        return;
    }
    lane.queued_video.fetch_add(1, Ordering::SeqCst);
    if tx.try_send(Input::Video(frame())).is_err() {
        lane.queued_video.fetch_sub(1, Ordering::SeqCst);
        lane.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Offers one captured frame to every stream: each scales it to its own size on its own thread.
fn offer_video(shared: &Shared, outputs: &Outputs, frame: VideoFrame) {
    if let (Some(lane), Some(tx)) = (shared.small.as_ref(), outputs.small.as_ref()) {
        // Copied only when that stream's queue has room.
        offer_to(lane, tx, || frame.clone());
    }
    offer_to(&shared.main, &outputs.main, || frame);
}

/// Offers one AAC packet to every stream; a full queue loses it (audio is dropped, not delayed).
fn offer_audio(outputs: &Outputs, packet: ffmpeg_next::Packet) {
    if let Some(tx) = outputs.small.as_ref() {
        let _ = tx.try_send(Input::Audio(packet.clone()));
    }
    let _ = outputs.main.try_send(Input::Audio(packet));
}

pub(super) fn video_capture(
    shared: &Shared,
    mut source: Option<Box<dyn VideoSource>>,
    tx: &Outputs,
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
    mut aac: AudioEncoder,
    tx: &Outputs,
) {
    let silence = || Box::new(SyntheticTone::silence()) as Box<dyn AudioSource>;
    let mut source = source.unwrap_or_else(silence);
    let mut processor = Processor::new(shared.config.processing);
    set_interrupter(&shared.audio_interrupter, source.interrupter());
    while !shared.stop.is_stopped() {
        if let Some(replacement) = lock(&shared.new_audio).take() {
            source = replacement.unwrap_or_else(silence);
            set_interrupter(&shared.audio_interrupter, source.interrupter());
        }
        shared.cleaning.apply(&mut processor);
        match source.next_chunk() {
            Ok(Some(chunk)) => {
                let muted = shared.audio_muted.load(Ordering::SeqCst);
                processor.set_output_used(!muted);
                let mut chunk = processor.process(chunk);
                shared.cleaning.report(&processor);
                if chunk.samples.is_empty() {
                    continue;
                }
                let level = chunk.rms();
                shared.mic_level.store(level.to_bits(), Ordering::Relaxed);
                if muted {
                    chunk.samples.fill(0.0);
                }
                lock(&shared.own_sound).push(&chunk.samples, instant_of(chunk.capture_us));
                if let Err(e) = aac.encode(&chunk, |p| offer_audio(tx, p)) {
                    // The next chunk is tried afresh: a lost chunk is a click, not an outage.
                    tracing::warn!("encoding audio failed: {e}");
                }
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
