//! Cleaning our sound before it is sent: echo cancellation (AEC3), noise suppression and
//! automatic gain control (AGC2), with sonora, a Rust port of WebRTC's audio processing module.
//!
//! The echo canceller's far-end reference is exactly what our speaker plays: a [`MixTap`] on
//! the call's mixer, each block stamped with when it is heard. Everything mixed up to now is
//! analysed before each captured frame is processed, so the reference always precedes its echo,
//! and the stream delay handed to AEC3 is the speaker's lead plus the frame's age; AEC3's own
//! delay estimator refines it.

use crate::frame::{AUDIO_SAMPLE_RATE, AudioChunk, unix_micros};
use crate::mixer::{MixTap, PlayedBlock};
use sonora::config::{
    AdaptiveDigital, EchoCanceller, GainController2, HighPassFilter, MaxProcessingRate,
    NoiseSuppression, NoiseSuppressionLevel, Pipeline,
};
use sonora::{Config, StreamConfig};
use std::time::{Duration, Instant};

/// Samples in one processing frame: WebRTC's audio processing works on 10 ms frames.
pub const PROCESSING_FRAME: usize = (AUDIO_SAMPLE_RATE / 100) as usize;
/// The largest stream delay AEC3 accepts; longer ones are clamped by it.
pub const MAX_STREAM_DELAY: Duration = Duration::from_millis(500);
/// How hard noise is suppressed: `High` (about 18 dB) clears fans and babble that `Moderate`
/// leaves audible, and measured no worse on speech (docs/audio.md).
pub const NOISE_SUPPRESSION_LEVEL: NoiseSuppressionLevel = NoiseSuppressionLevel::High;

/// Which cleaning our sound gets before it is sent. Each can be switched on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioProcessing {
    /// Remove what the microphone hears of our own speaker (the others' voices).
    pub echo_cancellation: bool,
    /// Remove steady and babble noise around the speaker.
    pub noise_suppression: bool,
    /// Bring quiet and loud voices to one level.
    pub gain_control: bool,
}

impl AudioProcessing {
    /// Everything on: what a person at a microphone wants.
    pub const ALL: AudioProcessing = AudioProcessing {
        echo_cancellation: true,
        noise_suppression: true,
        gain_control: true,
    };
    /// Everything off: the sound is sent as captured (test tones, media files, bots).
    pub const OFF: AudioProcessing = AudioProcessing {
        echo_cancellation: false,
        noise_suppression: false,
        gain_control: false,
    };

    /// True when any cleaning is on.
    pub fn any(self) -> bool {
        self.echo_cancellation || self.noise_suppression || self.gain_control
    }

    /// sonora's configuration for these switches.
    fn config(self) -> Config {
        Config {
            high_pass_filter: self.any().then(HighPassFilter::default),
            echo_canceller: self.echo_cancellation.then(EchoCanceller::default),
            noise_suppression: self.noise_suppression.then(|| NoiseSuppression {
                level: NOISE_SUPPRESSION_LEVEL,
                ..NoiseSuppression::default()
            }),
            gain_controller2: self.gain_control.then(|| GainController2 {
                adaptive_digital: Some(AdaptiveDigital::default()),
                ..GainController2::default()
            }),
            // sonora defaults to 32 kHz inside, dropping everything above 16 kHz of a 48 kHz
            // microphone; WebRTC's own library runs at 48 kHz.
            pipeline: Pipeline {
                maximum_internal_processing_rate: MaxProcessingRate::Rate48kHz,
                ..Pipeline::default()
            },
            ..Config::default()
        }
    }
}

impl Default for AudioProcessing {
    fn default() -> Self {
        AudioProcessing::OFF
    }
}

/// The delay AEC3 is told: from a far-end sample being analysed to its echo being processed,
/// i.e. how far ahead of the speaker the reference was analysed plus how long ago the
/// captured frame was recorded, clamped to what AEC3 accepts.
pub fn stream_delay(speaker_lead: Duration, capture_age: Duration) -> Duration {
    (speaker_lead + capture_age).min(MAX_STREAM_DELAY)
}

/// A figure of the echo canceller, as WebRTC's statistics report it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessingStats {
    /// Echo return loss enhancement: how much quieter the echo leaves than it came in, dB.
    pub erle_db: Option<f64>,
    /// The echo path delay AEC3 found, ms.
    pub echo_delay_ms: Option<i32>,
}

/// Cleans captured sound in 10 ms frames. Owned by the capture thread.
pub struct Processor {
    settings: AudioProcessing,
    apm: Option<sonora::AudioProcessing>,
    far_end: Option<MixTap>,
    /// Captured samples waiting for a whole frame, and the capture time of the first.
    pending: Vec<f32>,
    pending_us: i64,
    /// Far-end samples waiting for a whole frame.
    far_pending: Vec<f32>,
    speaker_lead: Duration,
    output_used: bool,
    frame_out: Vec<f32>,
    render_out: Vec<f32>,
}

impl std::fmt::Debug for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor")
            .field("settings", &self.settings)
            .field("far_end", &self.far_end.is_some())
            .finish_non_exhaustive()
    }
}

impl Processor {
    /// A processor with `settings`, without a far-end reference yet.
    pub fn new(settings: AudioProcessing) -> Processor {
        let mut p = Processor {
            settings: AudioProcessing::OFF,
            apm: None,
            far_end: None,
            pending: Vec::with_capacity(PROCESSING_FRAME * 2),
            pending_us: 0,
            far_pending: Vec::with_capacity(PROCESSING_FRAME * 2),
            speaker_lead: Duration::ZERO,
            output_used: true,
            frame_out: vec![0.0; PROCESSING_FRAME],
            render_out: vec![0.0; PROCESSING_FRAME],
        };
        p.set_settings(settings);
        p
    }

    /// The switches in force.
    pub fn settings(&self) -> AudioProcessing {
        self.settings
    }

    /// Switches cleaning on or off; a canceller that stays on keeps what it has learnt.
    pub fn set_settings(&mut self, settings: AudioProcessing) {
        if settings == self.settings && (self.apm.is_some() == settings.any()) {
            return;
        }
        self.settings = settings;
        if !settings.any() {
            self.apm = None;
            return;
        }
        match self.apm.as_mut() {
            Some(apm) => apm.apply_config(settings.config()),
            None => {
                let stream = StreamConfig::new(AUDIO_SAMPLE_RATE, 1);
                let mut apm = sonora::AudioProcessing::builder()
                    .config(settings.config())
                    .capture_config(stream)
                    .render_config(stream)
                    .build();
                apm.set_capture_output_used(self.output_used);
                self.apm = Some(apm);
            }
        }
    }

    /// Uses `tap` (what our speaker plays) as the echo canceller's far-end reference.
    pub fn set_far_end(&mut self, tap: Option<MixTap>) {
        self.far_end = tap;
        self.far_pending.clear();
    }

    /// Tells the gain controller and canceller whether the output is sent (not while muted).
    pub fn set_output_used(&mut self, used: bool) {
        if used == self.output_used {
            return;
        }
        self.output_used = used;
        if let Some(apm) = self.apm.as_mut() {
            apm.set_capture_output_used(used);
        }
    }

    /// The echo canceller's figures, when it runs.
    pub fn stats(&self) -> ProcessingStats {
        match self.apm.as_ref() {
            Some(apm) if self.settings.echo_cancellation => {
                let s = apm.statistics();
                ProcessingStats {
                    erle_db: s.echo_return_loss_enhancement,
                    echo_delay_ms: s.delay_ms,
                }
            }
            _ => ProcessingStats::default(),
        }
    }

    /// Cleans `chunk`. With cleaning off it passes through untouched; with it on, sound comes
    /// out in whole 10 ms frames, so a chunk may come back empty or carry an earlier remainder.
    pub fn process(&mut self, chunk: AudioChunk) -> AudioChunk {
        if self.apm.is_none() {
            // Keeps the reference from piling up while nothing reads it.
            if let Some(tap) = self.far_end.as_ref() {
                tap.drain();
            }
            return chunk;
        }
        self.analyse_far_end();
        if self.pending.is_empty() {
            self.pending_us = chunk.capture_us;
        }
        self.pending.extend_from_slice(&chunk.samples);
        let whole = self.pending.len() / PROCESSING_FRAME * PROCESSING_FRAME;
        let mut out = AudioChunk {
            samples: Vec::with_capacity(whole),
            capture_us: self.pending_us,
        };
        let frame_us = (PROCESSING_FRAME as i64) * 1_000_000 / i64::from(AUDIO_SAMPLE_RATE);
        for (i, frame) in self.pending[..whole]
            .chunks_exact(PROCESSING_FRAME)
            .enumerate()
        {
            let captured = self.pending_us + i as i64 * frame_us;
            let age = Duration::from_micros((unix_micros() - captured).max(0) as u64);
            let Some(apm) = self.apm.as_mut() else { break };
            let delay = stream_delay(self.speaker_lead, age);
            // Out-of-range delays are clamped and the frame still processed.
            let _ = apm.set_stream_delay_ms(delay.as_millis() as i32);
            match apm.process_capture_f32(&[frame], &mut [&mut self.frame_out]) {
                Ok(()) => out.samples.extend_from_slice(&self.frame_out),
                Err(e) => {
                    tracing::warn!("audio processing refused a frame: {e}");
                    out.samples.extend_from_slice(frame);
                }
            }
        }
        self.pending.drain(..whole);
        self.pending_us += (whole as i64) * 1_000_000 / i64::from(AUDIO_SAMPLE_RATE);
        out
    }

    /// Feeds the canceller everything played since the last frame, in whole frames.
    fn analyse_far_end(&mut self) {
        let (Some(tap), Some(apm)) = (self.far_end.as_ref(), self.apm.as_mut()) else {
            return;
        };
        let blocks: Vec<PlayedBlock> = tap.drain();
        let Some(last) = blocks.last() else { return };
        self.speaker_lead = last.played_at.saturating_duration_since(Instant::now());
        if !self.settings.echo_cancellation {
            return;
        }
        for b in &blocks {
            self.far_pending.extend_from_slice(&b.samples);
        }
        let whole = self.far_pending.len() / PROCESSING_FRAME * PROCESSING_FRAME;
        for frame in self.far_pending[..whole].chunks_exact(PROCESSING_FRAME) {
            if let Err(e) = apm.process_render_f32(&[frame], &mut [&mut self.render_out]) {
                tracing::warn!("audio processing refused a far-end frame: {e}");
            }
        }
        self.far_pending.drain(..whole);
    }
}

#[cfg(test)]
mod tests;
