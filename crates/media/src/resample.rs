//! Sound between the call's own form — mono f32 at [`AUDIO_SAMPLE_RATE`] — and whatever rate,
//! channel count and sample format a device runs at.
//!
//! The rate goes through FFmpeg's resampler (swresample: a windowed-sinc filter, so nothing
//! aliases, and an exact ratio, so nothing drifts), which carries its state from block to block.
//! Channels and sample formats are done here: swresample's matrix would play mono 3 dB down on
//! each side of a stereo device and sum a centred voice 3 dB up into mono, where a call wants the
//! same level everywhere; and cpal offers formats (24-bit, unsigned 16-bit) swresample lacks.

use crate::frame::AUDIO_SAMPLE_RATE;
use cpal::{FromSample, Sample, SampleFormat};
use ffmpeg_next::format::{Sample as AvSample, sample};
use ffmpeg_next::software::resampling;
use ffmpeg_next::{ChannelLayout, frame};
use std::collections::VecDeque;
use std::time::Duration;

/// Most input samples handed to the resampler at once; longer runs are cut into blocks this
/// long, so its frames are allocated once (≈ 85 ms at 48 kHz, more than any device period).
pub const RESAMPLE_BLOCK: usize = 4096;
/// Output room beyond the ratio: what the filter may release on top of a block's own share
/// (its delay is 16–32 samples at the default filter length).
const OUTPUT_SLACK: usize = 256;
/// Extra mix samples asked for beyond a device period's share, so one round of mixing fills a
/// period despite the filter's delay and rounding, instead of a second round of a sample or two
/// (≈ 0.7 ms; what is left over plays at the start of the next period).
pub const MIX_SLACK: usize = 32;
/// Rounds of mixing a device period may take before the rest is filled with silence (only the
/// very first period, while the filter primes, needs a second).
const FILL_ROUNDS: usize = 4;

/// Why sound cannot be converted.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// A rate or channel count of zero.
    #[error("cannot convert sound to or from {channels} channels at {rate} Hz")]
    Unsupported {
        /// The device's channels.
        channels: u16,
        /// The device's rate.
        rate: u32,
    },
    /// FFmpeg's resampler refused.
    #[error("resampler: {0}")]
    Ffmpeg(#[from] ffmpeg_next::Error),
}

/// Sample formats the converters read and write: every one cpal has but DSD.
pub fn convertible(format: SampleFormat) -> bool {
    use SampleFormat as F;
    matches!(
        format,
        F::F32
            | F::F64
            | F::I8
            | F::I16
            | F::I24
            | F::I32
            | F::I64
            | F::U8
            | F::U16
            | F::U24
            | F::U32
            | F::U64
    )
}

fn check(rate: u32, channels: u16) -> Result<(), ResampleError> {
    if rate == 0 || channels == 0 {
        return Err(ResampleError::Unsupported { channels, rate });
    }
    Ok(())
}

/// How long `samples` last at `rate`.
fn duration_of(samples: usize, rate: u32) -> Duration {
    Duration::from_nanos((samples as u64).saturating_mul(1_000_000_000) / u64::from(rate.max(1)))
}

/// A streaming mono f32 rate converter on swresample, with its frames allocated once.
struct MonoResampler {
    ctx: resampling::Context,
    input: frame::Audio,
    output: frame::Audio,
    output_capacity: usize,
}

impl MonoResampler {
    fn new(from_rate: u32, to_rate: u32) -> Result<MonoResampler, ResampleError> {
        crate::init();
        let f32_packed = AvSample::F32(sample::Type::Packed);
        let ctx = resampling::Context::get(
            f32_packed,
            ChannelLayout::MONO,
            from_rate,
            f32_packed,
            ChannelLayout::MONO,
            to_rate,
        )?;
        let mut input = frame::Audio::new(f32_packed, RESAMPLE_BLOCK, ChannelLayout::MONO);
        input.set_rate(from_rate);
        let output_capacity = (RESAMPLE_BLOCK as u64 * u64::from(to_rate))
            .div_ceil(u64::from(from_rate)) as usize
            + OUTPUT_SLACK;
        let mut output = frame::Audio::new(f32_packed, output_capacity, ChannelLayout::MONO);
        output.set_rate(to_rate);
        Ok(MonoResampler {
            ctx,
            input,
            output,
            output_capacity,
        })
    }

    /// Converts the next run of `input`, appending the result to `out`.
    fn process(&mut self, input: &[f32], out: &mut impl Extend<f32>) -> Result<(), ResampleError> {
        for block in input.chunks(RESAMPLE_BLOCK) {
            self.input.set_samples(block.len());
            self.input.plane_mut::<f32>(0).copy_from_slice(block);
            // The frame's buffer holds `output_capacity`; the resampler writes up to that and
            // says how many it wrote.
            self.output.set_samples(self.output_capacity);
            self.ctx.run(&self.input, &mut self.output)?;
            out.extend(self.output.plane::<f32>(0).iter().copied());
        }
        Ok(())
    }

    /// Output samples the filter holds back (its delay).
    fn delay(&self) -> usize {
        self.ctx
            .delay()
            .map_or(0, |d| usize::try_from(d.output).unwrap_or(0))
    }
}

/// Turns the call's mono mix at [`AUDIO_SAMPLE_RATE`] into a speaker's frames at its own rate,
/// channels and sample format.
pub struct OutputConverter {
    resampler: MonoResampler,
    device_rate: u32,
    channels: usize,
    /// Converted mono samples at the device rate, not yet handed to the device.
    fifo: VecDeque<f32>,
    /// The mix, before conversion.
    mix: Vec<f32>,
}

impl std::fmt::Debug for OutputConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputConverter")
            .field("device_rate", &self.device_rate)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl OutputConverter {
    /// A converter for a speaker playing `channels` channels at `device_rate`.
    pub fn new(device_rate: u32, channels: u16) -> Result<OutputConverter, ResampleError> {
        check(device_rate, channels)?;
        Ok(OutputConverter {
            resampler: MonoResampler::new(AUDIO_SAMPLE_RATE, device_rate)?,
            device_rate,
            channels: usize::from(channels),
            fifo: VecDeque::with_capacity(RESAMPLE_BLOCK + OUTPUT_SLACK),
            mix: Vec::with_capacity(RESAMPLE_BLOCK),
        })
    }

    /// Fills `data` (interleaved device frames) with the next sound, asking `mix` for as much
    /// mono sound at [`AUDIO_SAMPLE_RATE`] as that takes. `mix` also gets how long after the
    /// first frame of `data` the first sample it mixes will play.
    pub fn fill<T>(
        &mut self,
        data: &mut [T],
        mut mix: impl FnMut(&mut [f32], Duration),
    ) -> Result<(), ResampleError>
    where
        T: Sample + FromSample<f32>,
    {
        let frames = data.len() / self.channels;
        let mut result = Ok(());
        for _ in 0..FILL_ROUNDS {
            if self.fifo.len() >= frames {
                break;
            }
            let missing = (frames - self.fifo.len()) as u64;
            let wanted = (missing * u64::from(AUDIO_SAMPLE_RATE))
                .div_ceil(u64::from(self.device_rate)) as usize
                + MIX_SLACK;
            self.mix.clear();
            self.mix.resize(wanted, 0.0);
            let ahead = duration_of(self.fifo.len() + self.resampler.delay(), self.device_rate);
            mix(&mut self.mix, ahead);
            if let Err(e) = self.resampler.process(&self.mix, &mut self.fifo) {
                result = Err(e);
                break;
            }
        }
        let ready = frames.min(self.fifo.len());
        let mut out = data.chunks_exact_mut(self.channels);
        for (frame, s) in out.by_ref().zip(self.fifo.drain(..ready)) {
            frame.fill(T::from_sample_(s));
        }
        for frame in out {
            frame.fill(T::EQUILIBRIUM);
        }
        result
    }

    /// Sound converted but not yet handed to the device, plus what the filter holds back:
    /// how much later than the device's own latency a sample mixed now is heard.
    pub fn held(&self) -> Duration {
        duration_of(self.fifo.len() + self.resampler.delay(), self.device_rate)
    }
}

/// Turns a microphone's frames, at its own rate, channels and sample format, into mono f32 at
/// [`AUDIO_SAMPLE_RATE`].
pub struct InputConverter {
    resampler: MonoResampler,
    channels: usize,
    /// The device's frames folded to mono f32, before rate conversion.
    mono: Vec<f32>,
    /// The converted sound of the last call.
    out: Vec<f32>,
}

impl std::fmt::Debug for InputConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputConverter")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl InputConverter {
    /// A converter for a microphone capturing `channels` channels at `device_rate`.
    pub fn new(device_rate: u32, channels: u16) -> Result<InputConverter, ResampleError> {
        check(device_rate, channels)?;
        Ok(InputConverter {
            resampler: MonoResampler::new(device_rate, AUDIO_SAMPLE_RATE)?,
            channels: usize::from(channels),
            mono: Vec::with_capacity(RESAMPLE_BLOCK),
            out: Vec::with_capacity(RESAMPLE_BLOCK + OUTPUT_SLACK),
        })
    }

    /// Converts the next interleaved frames; channels are averaged, so a voice in the middle
    /// keeps its level.
    pub fn convert<T>(&mut self, data: &[T]) -> Result<&[f32], ResampleError>
    where
        T: Sample,
        f32: FromSample<T>,
    {
        let scale = 1.0 / self.channels as f32;
        self.mono.clear();
        self.mono.extend(
            data.chunks_exact(self.channels)
                .map(|f| f.iter().map(|&s| f32::from_sample_(s)).sum::<f32>() * scale),
        );
        self.out.clear();
        self.resampler.process(&self.mono, &mut self.out)?;
        Ok(&self.out)
    }
}

#[cfg(test)]
#[path = "resample_tests.rs"]
mod tests;
