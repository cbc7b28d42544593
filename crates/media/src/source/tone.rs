//! A synthetic microphone: a sine tone (or silence), paced in real time.

use super::{AudioSource, SourceError, pace_until};
use crate::frame::{AUDIO_SAMPLE_RATE, AudioChunk, unix_micros};
use crate::sync_marks;
use std::time::{Duration, Instant};

/// Samples per chunk: 10 ms, like a typical audio device period.
pub const TONE_CHUNK: usize = (AUDIO_SAMPLE_RATE / 100) as usize;
/// Amplitude of the tone (quiet enough to mix four without clipping).
pub const TONE_AMPLITUDE: f32 = 0.2;

/// A sine tone at a fixed frequency, or silence, delivered in 10 ms chunks at real-time pace.
#[derive(Debug, Clone)]
pub struct SyntheticTone {
    frequency: f32,
    amplitude: f32,
    sent: u64,
    start: Option<Instant>,
    sync_marks: bool,
}

impl SyntheticTone {
    /// A tone of `frequency` Hz.
    pub fn new(frequency: f32) -> SyntheticTone {
        SyntheticTone {
            frequency,
            amplitude: TONE_AMPLITUDE,
            sent: 0,
            start: None,
            sync_marks: false,
        }
    }

    /// The same, with a click at the [`sync_marks`] instants (paired with
    /// [`SyntheticVideo::with_sync_marks`](super::SyntheticVideo::with_sync_marks)'s flashes
    /// to measure lip sync).
    pub fn with_sync_marks(mut self) -> SyntheticTone {
        self.sync_marks = true;
        self
    }

    /// Silence at real-time pace: what a member without a microphone sends.
    pub fn silence() -> SyntheticTone {
        SyntheticTone {
            amplitude: 0.0,
            ..SyntheticTone::new(0.0)
        }
    }

    /// Samples `from..from+len` of the tone (no pacing).
    pub fn render(&self, from: u64, len: usize) -> Vec<f32> {
        let w = std::f64::consts::TAU * f64::from(self.frequency) / f64::from(AUDIO_SAMPLE_RATE);
        (0..len as u64)
            .map(|i| (((from + i) as f64 * w).sin() as f32) * self.amplitude)
            .collect()
    }
}

impl SyntheticTone {
    /// `samples`, the first captured at `capture_us`, with any click that falls in them.
    fn marked(&self, mut samples: Vec<f32>, capture_us: i64) -> Vec<f32> {
        if self.sync_marks {
            sync_marks::add_clicks(&mut samples, capture_us);
        }
        samples
    }
}

impl AudioSource for SyntheticTone {
    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, SourceError> {
        let start = *self.start.get_or_insert_with(Instant::now);
        let due =
            start + Duration::from_micros(self.sent * 1_000_000 / u64::from(AUDIO_SAMPLE_RATE));
        if !pace_until(due) {
            return Ok(None);
        }
        let capture_us = unix_micros();
        let samples = self.marked(self.render(self.sent, TONE_CHUNK), capture_us);
        self.sent += TONE_CHUNK as u64;
        Ok(Some(AudioChunk {
            samples,
            capture_us,
        }))
    }

    fn describe(&self) -> String {
        let what = if self.amplitude == 0.0 {
            "silence".to_owned()
        } else {
            format!("{} Hz tone", self.frequency)
        };
        if self.sync_marks {
            format!("{what} with sync marks")
        } else {
            what
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::rms;

    #[test]
    fn tone_has_the_expected_level_and_silence_is_silent() {
        let t = SyntheticTone::new(440.0);
        let r = rms(&t.render(0, 4800));
        assert!((r - TONE_AMPLITUDE / 2f32.sqrt()).abs() < 0.01, "{r}");
        assert_eq!(rms(&SyntheticTone::silence().render(0, 480)), 0.0);
    }

    #[test]
    fn chunks_are_ten_milliseconds_and_continuous() {
        let mut t = SyntheticTone::new(1000.0);
        let a = t.next_chunk().unwrap().unwrap();
        let b = t.next_chunk().unwrap().unwrap();
        assert_eq!(a.samples.len(), TONE_CHUNK);
        assert_eq!(b.samples, t.render(TONE_CHUNK as u64, TONE_CHUNK));
        assert!(b.capture_us >= a.capture_us);
    }

    #[test]
    fn clicks_only_when_asked_and_only_at_marks() {
        let mark = 1_763_974_800_000_000;
        let plain = SyntheticTone::new(440.0);
        let marked = SyntheticTone::new(440.0).with_sync_marks();
        let tone = plain.render(0, 960);
        assert_eq!(plain.marked(tone.clone(), mark), tone);
        assert_eq!(
            marked.marked(tone.clone(), mark - 30_000),
            tone,
            "no mark in these 20 ms"
        );
        let clicked = marked.marked(tone.clone(), mark - 10_000);
        assert_eq!(clicked[..480], tone[..480]);
        assert!(
            clicked[480..]
                .iter()
                .any(|&x| x.abs() > sync_marks::CLICK_DETECT)
        );
        assert!(marked.describe().contains("sync marks"));
    }
}
