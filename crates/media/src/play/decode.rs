//! Decoding: pictures scaled to the tile and offered to the scheduler, sound into the mixer;
//! catching up with live when decoding lags the network.

use super::{
    CatchUp, Demand, Shared, ToDecoder, VideoDecoding, catch_up, demand, lock, ms, schedule,
};
use crate::clock;
use crate::convert::{Scaler, to_mono_48k};
use crate::frame::{AUDIO_SAMPLE_RATE, rms};
use ffmpeg_next::{Packet, Rational, codec, decoder, frame, media, threading};
use quartet_proto::redact::Redacted;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

struct VideoTrack {
    index: usize,
    decoder: decoder::Video,
    time_base: Rational,
    waiting_for_key: bool,
    /// Units after the latest keyframe, not decoded while nobody wanted pictures.
    held: Vec<Packet>,
}

struct AudioTrack {
    index: usize,
    decoder: decoder::Audio,
    time_base: Rational,
}

struct Decoder<'a> {
    shared: &'a Shared,
    video: Option<VideoTrack>,
    audio: Option<AudioTrack>,
    scaler: Scaler,
    /// Converts pictures asked for at their own size, apart from the tile's scaler so
    /// neither rebuilds its context for the other.
    full_scaler: Scaler,
    resampler: Option<(
        ffmpeg_next::software::resampling::Context,
        (ffmpeg_next::format::Sample, u64, u32),
    )>,
    decoded: frame::Video,
    decoded_audio: frame::Audio,
}

/// The `media-play-decode` thread: decodes what the reader sends until the reader is gone.
pub(super) fn run(shared: &Shared, rx: &Receiver<ToDecoder>) {
    let mut d = Decoder {
        shared,
        video: None,
        audio: None,
        scaler: Scaler::default(),
        full_scaler: Scaler::default(),
        resampler: None,
        decoded: frame::Video::empty(),
        decoded_audio: frame::Audio::empty(),
    };
    while let Ok(msg) = rx.recv() {
        if shared.stop.is_stopped() {
            break;
        }
        match msg {
            ToDecoder::Connected { began } => {
                d.video = None;
                d.audio = None;
                schedule::connected(shared, began);
            }
            ToDecoder::Stream {
                index,
                kind,
                ctx,
                time_base,
            } => d.open(index, kind, ctx, time_base),
            ToDecoder::Packet(packet) => {
                let index = packet.stream();
                if d.video.as_ref().is_some_and(|v| v.index == index) {
                    d.video_packet(packet);
                } else if d.audio.as_ref().is_some_and(|a| a.index == index) {
                    d.audio_packet(&packet);
                }
            }
        }
    }
}

impl Decoder<'_> {
    fn open(&mut self, index: usize, kind: media::Type, mut ctx: codec::Context, tb: Rational) {
        let url = self.shared.url();
        let url = Redacted(&url);
        // One thread and low_delay: frame threads would hold pictures back.
        ctx.set_threading(threading::Config::count(1));
        ctx.set_flags(codec::Flags::LOW_DELAY);
        match kind {
            media::Type::Video => match ctx.decoder().video() {
                Ok(decoder) => {
                    self.video = Some(VideoTrack {
                        index,
                        decoder,
                        time_base: tb,
                        waiting_for_key: true,
                        held: Vec::new(),
                    })
                }
                Err(e) => tracing::warn!("no video decoder for {url}: {e}"),
            },
            media::Type::Audio => match ctx.decoder().audio() {
                Ok(decoder) => {
                    self.audio = Some(AudioTrack {
                        index,
                        decoder,
                        time_base: tb,
                    })
                }
                Err(e) => tracing::warn!("no audio decoder for {url}: {e}"),
            },
            _ => {}
        }
    }

    fn video_packet(&mut self, packet: Packet) {
        let shared = self.shared;
        let Some(v) = self.video.as_mut() else { return };
        // Waiting for a keyframe, there is nothing yet to hold units against.
        let in_step = packet.is_key() || !v.waiting_for_key;
        let packet = if shared.video == VideoDecoding::OnDemand && in_step {
            on_demand(v, &mut self.decoded, shared, packet)
        } else {
            Some(packet)
        };
        if let Some(packet) = packet {
            self.show_video(&packet);
        }
    }

    fn show_video(&mut self, packet: &Packet) {
        let shared = self.shared;
        let Some(v) = self.video.as_mut() else { return };
        let dts = ms(packet.dts().or(packet.pts()), v.time_base);
        let backlog = shared.latest_video_dts.load(Ordering::SeqCst) - dts;
        let action = catch_up(Duration::from_millis(backlog.max(0) as u64));
        if action == CatchUp::SkipToKeyframe {
            v.waiting_for_key = true;
        }
        if v.waiting_for_key {
            if !packet.is_key() {
                lock(&shared.counters).skipped += 1;
                return;
            }
            v.waiting_for_key = false;
        }
        if let Err(e) = v.decoder.send_packet(packet) {
            tracing::debug!("video decode error on {}: {e}", Redacted(&shared.url()));
            return;
        }
        while v.decoder.receive_frame(&mut self.decoded).is_ok() {
            lock(&shared.counters).decoded += 1;
            if action != CatchUp::Show {
                lock(&shared.counters).skipped += 1;
                continue;
            }
            let (w, h) = (self.decoded.width(), self.decoded.height());
            let capture = clock::read(self.decoded.data(0), self.decoded.stride(0), w, h);
            let pts_ms = ms(self.decoded.timestamp().or(self.decoded.pts()), v.time_base);
            let (tw, th) = shared.tile();
            let mut frame = match self.scaler.frame_at(&self.decoded, tw, th) {
                Ok(f) => f,
                Err(e) => {
                    tracing::debug!("scaling failed on {}: {e}", Redacted(&shared.url()));
                    continue;
                }
            };
            frame.capture_us = capture;
            if shared.full_wanted.swap(false, Ordering::SeqCst) {
                match self.full_scaler.frame_at(&self.decoded, w, h) {
                    Ok(mut full) => {
                        full.capture_us = capture;
                        shared.full.send_replace(Some(Arc::new(full)));
                    }
                    Err(e) => tracing::debug!("full-size copy failed: {e}"),
                }
            }
            lock(&shared.counters).source_size = Some((w, h));
            schedule::offer_frame(shared, frame, pts_ms);
        }
    }

    fn audio_packet(&mut self, packet: &Packet) {
        let shared = self.shared;
        let Some(a) = self.audio.as_mut() else { return };
        if a.decoder.send_packet(packet).is_err() {
            return;
        }
        while a.decoder.receive_frame(&mut self.decoded_audio).is_ok() {
            let pts_ms = ms(
                self.decoded_audio.timestamp().or(self.decoded_audio.pts()),
                a.time_base,
            );
            match to_mono_48k(&mut self.resampler, &self.decoded_audio) {
                Ok(samples) => {
                    {
                        let mut c = lock(&shared.counters);
                        c.audio_level = rms(&samples);
                        c.audio_gaps.record(Instant::now());
                    }
                    let pushed = lock(&shared.mixer_input)
                        .as_ref()
                        .map(|input| input.push(&samples))
                        .is_some();
                    if pushed {
                        let len_ms = samples.len() as f64 * 1000.0 / f64::from(AUDIO_SAMPLE_RATE);
                        schedule::audio_pushed(shared, pts_ms as f64 + len_ms);
                    }
                }
                Err(e) => tracing::debug!(
                    "audio conversion failed on {}: {e}",
                    Redacted(&shared.url())
                ),
            }
        }
    }
}

/// Applies [`demand`] to `packet`: what is left to decode and show, if anything.
fn on_demand(
    v: &mut VideoTrack,
    decoded: &mut frame::Video,
    shared: &Shared,
    packet: Packet,
) -> Option<Packet> {
    match demand(shared.pictures_wanted(), packet.is_key(), v.held.len()) {
        Demand::Hold => {
            v.held.push(packet);
            return None;
        }
        Demand::Forget => {
            v.held.clear();
            v.waiting_for_key = true;
            return None;
        }
        Demand::CatchUpThenDecode => {
            for held in std::mem::take(&mut v.held) {
                decode_unseen(v, decoded, shared, &held);
            }
        }
        Demand::Decode => v.held.clear(),
    }
    Some(packet)
}

/// Decodes `packet` for the pictures after it, showing nothing: catching up on units held
/// while nobody wanted pictures.
fn decode_unseen(v: &mut VideoTrack, decoded: &mut frame::Video, shared: &Shared, packet: &Packet) {
    if v.decoder.send_packet(packet).is_err() {
        return;
    }
    while v.decoder.receive_frame(decoded).is_ok() {
        lock(&shared.counters).decoded += 1;
    }
}
