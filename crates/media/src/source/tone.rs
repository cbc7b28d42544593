//! A synthetic microphone: a sine tone (or silence), paced in real time.

use super::{AudioSource, SourceError, pace_until};
use crate::frame::{AUDIO_SAMPLE_RATE, AudioChunk, unix_micros};
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
}

impl SyntheticTone {
    /// A tone of `frequency` Hz.
    pub fn new(frequency: f32) -> SyntheticTone {
        SyntheticTone {
            frequency,
            amplitude: TONE_AMPLITUDE,
            sent: 0,
            start: None,
        }
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

impl AudioSource for SyntheticTone {
    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, SourceError> {
        let start = *self.start.get_or_insert_with(Instant::now);
        let due =
            start + Duration::from_micros(self.sent * 1_000_000 / u64::from(AUDIO_SAMPLE_RATE));
        if !pace_until(due) {
            return Ok(None);
        }
        let samples = self.render(self.sent, TONE_CHUNK);
        self.sent += TONE_CHUNK as u64;
        Ok(Some(AudioChunk {
            samples,
            capture_us: unix_micros(),
        }))
    }

    fn describe(&self) -> String {
        if self.amplitude == 0.0 {
            "silence".to_owned()
        } else {
            format!("{} Hz tone", self.frequency)
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
}
