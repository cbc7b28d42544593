//! Packets onto the connection: timestamps made monotonic, video encoded, audio passed on.

use std::sync::atomic::Ordering;
use std::time::Instant;

use ffmpeg_next::{Packet, Rational, picture};

use super::{Session, SessionError, Uplink, ctx};
use crate::adapt;
use crate::convert::to_av;
use crate::ffi;
use crate::frame::{AUDIO_SAMPLE_RATE, VideoFrame, unix_micros};
use crate::publish::stamps::video_dts;
use crate::publish::{AUDIO_PRIMING_US, Lane, Shared, keyframe_due, lock};

impl Session {
    pub(super) fn write(
        &mut self,
        lane: &Lane,
        packet: &mut Packet,
        index: usize,
        from: Rational,
        to: Rational,
    ) -> Result<(), SessionError> {
        packet.set_stream(index);
        packet.rescale_ts(from, to);
        // Pictures go out AUDIO_PRIMING_US late, so the first one can precede sound captured
        // just before it: that sound is dropped, and a picture is never held back.
        if let Some(dts) = packet.dts().or(packet.pts()) {
            let first = *self.first_ts.get_or_insert(dts);
            if dts < first && index == self.audio_index {
                return Ok(());
            }
            if index == self.video_index {
                let dts = video_dts(dts, first, self.last_video_dts);
                packet.set_dts(Some(dts));
                packet.set_pts(packet.pts().map(|p| p.max(dts)));
                self.last_video_dts = Some(dts);
            }
        }
        let size = packet.size() as u64;
        let began = Instant::now();
        packet.write(&mut self.output).map_err(ctx("sending"))?;
        self.tick.blocked += began.elapsed();
        self.tick.written += size;
        lock(&lane.counters).bytes.record(Instant::now(), size);
        Ok(())
    }

    pub(super) fn send_video(
        &mut self,
        shared: &Shared,
        lane: &Lane,
        uplink: Option<&Uplink>,
        frame: &VideoFrame,
        drop: bool,
    ) -> Result<(), SessionError> {
        let config = &shared.config;
        let capture = frame.capture_us.unwrap_or_else(unix_micros);
        if drop {
            // Queued video only adds delay on a congested link; audio keeps flowing.
            lane.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if shared.video_content() != self.content {
            // x264 cannot change preset or tune while open; the new encoder's IDR is the
            // keyframe the switch asked for.
            self.resize(shared, lane, uplink)?;
        }
        let (go, due) = adapt::pace(self.video_due_us, capture, self.rung.fps);
        self.video_due_us = due;
        if !go {
            return Ok(());
        }
        // Sound captured with this picture is heard AAC_PRIMING_SAMPLES after its capture time
        // (the decoder's first output is the encoder's priming), so the picture goes as late.
        let mut pts = ((capture - self.start_us + AUDIO_PRIMING_US) / 1000).max(0);
        if let Some(last) = self.last_video_pts {
            pts = pts.max(last + 1);
        }
        self.last_video_pts = Some(pts);
        let mut av = to_av(frame);
        let (width, height) = (self.rung.width, self.rung.height);
        if (frame.width(), frame.height()) != (width, height) {
            av = self
                .scaler
                .run(&av, width, height)
                .map_err(ctx("scaling"))?;
        }
        av.set_pts(Some(pts));
        let requested = lane.keyframe_requested.swap(false, Ordering::SeqCst);
        let key = keyframe_due(
            requested,
            self.last_keyframe.map(|t| t.elapsed()),
            shared
                .video_content()
                .keyframe_interval(config.keyframe_interval),
        );
        av.set_kind(if key {
            picture::Type::I
        } else {
            picture::Type::None
        });
        if key {
            // Counted from the request so a late IDR does not trigger another.
            self.last_keyframe = Some(Instant::now());
        }
        let began = Instant::now();
        self.video.send_frame(&av).map_err(ctx("encoding video"))?;
        let mut packet = Packet::empty();
        while self.video.receive_packet(&mut packet).is_ok() {
            let encode_ms = began.elapsed().as_secs_f64() * 1000.0;
            {
                let mut c = lock(&lane.counters);
                c.frames += 1;
                c.fps.record(Instant::now(), 1);
                c.encode_ms.push(encode_ms);
                if packet.is_key() {
                    c.keyframes += 1;
                }
            }
            if let Some(extradata) = self.new_extradata.take() {
                ffi::attach_new_extradata(&mut packet, &extradata);
            }
            let (index, tb) = (self.video_index, self.video_tb);
            self.write(lane, &mut packet, index, Rational::new(1, 1000), tb)?;
        }
        Ok(())
    }

    /// Writes one AAC packet, rebased from the publisher's audio timeline to this
    /// connection's; sound from before the connection began is not sent.
    pub(super) fn send_audio(
        &mut self,
        lane: &Lane,
        mut packet: Packet,
    ) -> Result<(), SessionError> {
        let Some(pts) = packet.pts().map(|p| p - self.audio_offset) else {
            return Ok(());
        };
        if pts < 0 {
            return Ok(());
        }
        packet.set_pts(Some(pts));
        packet.set_dts(Some(pts));
        let (index, tb) = (self.audio_index, self.audio_tb);
        let from = Rational::new(1, AUDIO_SAMPLE_RATE as i32);
        self.write(lane, &mut packet, index, from, tb)
    }

    /// Ends the stream cleanly (best effort: the server may already be gone).
    pub(super) fn finish(mut self) {
        let _ = self.output.write_trailer();
    }
}
