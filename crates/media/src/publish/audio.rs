//! The one AAC encoder of a publisher, on the audio capture thread: its packets go to every
//! stream, so the small stream carries the same sound for no second encode.
//!
//! Packet times count samples from the publisher's start (plus the encoder's priming); each
//! connection rebases them to its own start.

use super::{AAC_PRIMING_SAMPLES, AudioSync, PublisherConfig, audio_sync};
use crate::frame::{AUDIO_SAMPLE_RATE, AudioChunk};
use ffmpeg_next::format::{Sample, sample};
use ffmpeg_next::{ChannelLayout, Packet, Rational, codec, encoder, frame};

/// Opens FFmpeg's AAC encoder for `config`.
pub(crate) fn open_audio_encoder(
    config: &PublisherConfig,
) -> Result<encoder::Audio, ffmpeg_next::Error> {
    let codec = encoder::find(codec::Id::AAC).ok_or(ffmpeg_next::Error::EncoderNotFound)?;
    let mut enc = codec::Context::new_with_codec(codec).encoder().audio()?;
    enc.set_rate(AUDIO_SAMPLE_RATE as i32);
    enc.set_channel_layout(ChannelLayout::MONO);
    enc.set_format(Sample::F32(sample::Type::Planar));
    enc.set_bit_rate(config.audio_kbps as usize * 1000);
    enc.set_time_base(Rational::new(1, AUDIO_SAMPLE_RATE as i32));
    // FLV carries the AudioSpecificConfig once, in its sequence header.
    enc.set_flags(codec::Flags::GLOBAL_HEADER);
    enc.open_as(codec)
}

/// Turns captured chunks into AAC packets on the publisher's audio timeline.
pub(super) struct AudioEncoder {
    encoder: encoder::Audio,
    /// Capture time (µs since the Unix epoch) of sample 0.
    epoch_us: i64,
    fifo: Vec<f32>,
    next: Option<i64>,
    frame: usize,
}

impl AudioEncoder {
    pub(super) fn new(encoder: encoder::Audio, epoch_us: i64) -> AudioEncoder {
        let frame = (encoder.frame_size() as usize).max(1);
        AudioEncoder {
            encoder,
            epoch_us,
            fifo: Vec::new(),
            next: None,
            frame,
        }
    }

    /// Encodes `chunk`, following its capture time; hands each packet out as it comes.
    pub(super) fn encode(
        &mut self,
        chunk: &AudioChunk,
        mut out: impl FnMut(Packet),
    ) -> Result<(), ffmpeg_next::Error> {
        let captured =
            ((chunk.capture_us - self.epoch_us).max(0)) * i64::from(AUDIO_SAMPLE_RATE) / 1_000_000;
        let expected = self.next.map_or(captured, |n| n + self.fifo.len() as i64);
        match audio_sync(expected, captured) {
            AudioSync::Append => {}
            AudioSync::Drop => return Ok(()),
            AudioSync::JumpTo(at) => {
                self.fifo.clear();
                self.next = Some(at.max(self.next.unwrap_or(0)));
            }
        }
        let next = *self.next.get_or_insert(captured);
        self.fifo.extend_from_slice(&chunk.samples);
        let mut pts = next;
        while self.fifo.len() >= self.frame {
            let n = self.frame;
            let mut f =
                frame::Audio::new(Sample::F32(sample::Type::Planar), n, ChannelLayout::MONO);
            f.set_rate(AUDIO_SAMPLE_RATE);
            f.plane_mut::<f32>(0).copy_from_slice(&self.fifo[..n]);
            self.fifo.drain(..n);
            f.set_pts(Some(pts + AAC_PRIMING_SAMPLES));
            pts += n as i64;
            self.next = Some(pts);
            self.encoder.send_frame(&f)?;
            let mut packet = Packet::empty();
            while self.encoder.receive_packet(&mut packet).is_ok() {
                out(std::mem::replace(&mut packet, Packet::empty()));
            }
        }
        self.next = Some(pts);
        Ok(())
    }
}
