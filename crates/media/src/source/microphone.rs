//! Microphones through cpal, converted to mono at [`AUDIO_SAMPLE_RATE`].
//!
//! cpal streams may not move between threads on every platform, so each microphone runs its
//! stream on a named thread of its own and hands chunks over a bounded channel.

use super::{AudioSource, DeviceKind, Interrupter, SOURCE_READ_TIMEOUT, SourceError};
use crate::frame::{AUDIO_SAMPLE_RATE, AudioChunk, unix_micros};
use crate::stream_thread::{OPEN_TIMEOUT, StartError, StreamThread};
use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};

/// Chunks held between the device callback and the reader (≈ 1 s at 10 ms periods); beyond
/// this the newest chunk is dropped rather than adding delay.
const MIC_QUEUE: usize = 100;

/// An audio device the system offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioDeviceInfo {
    /// The device name, to pass to [`Microphone::open`].
    pub name: String,
    /// True for the system's default device.
    pub is_default: bool,
}

fn device_name(device: &cpal::Device) -> String {
    device
        .description()
        .map(|d| d.name().to_owned())
        .unwrap_or_else(|_| "unknown device".to_owned())
}

/// The microphones of the default audio host.
pub fn list_microphones() -> Result<Vec<AudioDeviceInfo>, SourceError> {
    list_microphones_on(&cpal::default_host())
}

/// The microphones of `host`.
pub fn list_microphones_on(host: &cpal::Host) -> Result<Vec<AudioDeviceInfo>, SourceError> {
    let default = host.default_input_device().map(|d| device_name(&d));
    let devices = host.input_devices().map_err(|e| SourceError::Failed {
        kind: DeviceKind::Microphone,
        reason: format!("cannot list microphones: {e}"),
    })?;
    Ok(devices
        .map(|d| {
            let name = device_name(&d);
            AudioDeviceInfo {
                is_default: default.as_deref() == Some(name.as_str()),
                name,
            }
        })
        .collect())
}

/// Folds interleaved frames of `channels` channels into mono by averaging.
pub(crate) fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels <= 1 {
        return interleaved.to_vec();
    }
    interleaved
        .chunks_exact(channels)
        .map(|f| f.iter().sum::<f32>() / channels as f32)
        .collect()
}

/// Linear-interpolating rate converter, for devices that cannot run at 48 kHz.
#[derive(Debug, Clone)]
pub(crate) struct LinearResampler {
    step: f64,
    pos: f64,
    last: f32,
}

impl LinearResampler {
    pub(crate) fn new(from_rate: u32, to_rate: u32) -> LinearResampler {
        LinearResampler {
            step: f64::from(from_rate) / f64::from(to_rate.max(1)),
            pos: 0.0,
            last: 0.0,
        }
    }

    /// Converts the next run of input; state carries over between calls.
    pub(crate) fn process(&mut self, input: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity((input.len() as f64 / self.step) as usize + 1);
        // `pos` counts from the last sample of the previous run (index -1 here).
        while self.pos < input.len() as f64 {
            let i = self.pos.floor();
            let frac = (self.pos - i) as f32;
            let a = if i < 1.0 {
                self.last
            } else {
                input[i as usize - 1]
            };
            let b = input[i as usize];
            out.push(a + (b - a) * frac);
            self.pos += self.step;
        }
        self.pos -= input.len() as f64;
        if let Some(&l) = input.last() {
            self.last = l;
        }
        out
    }
}

enum MicMessage {
    Chunk(AudioChunk),
    Error(String),
}

/// A live microphone.
pub struct Microphone {
    name: String,
    chunks: Receiver<MicMessage>,
    /// Stops (and joins) the device's thread when the microphone is dropped.
    _stream: StreamThread,
    interrupter: Interrupter,
}

impl std::fmt::Debug for Microphone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Microphone")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Microphone {
    /// Opens microphone `name` (the default one when `None`) of the default audio host.
    ///
    /// Fails with [`SourceError::NoDevice`] or [`SourceError::Unavailable`] when there is no
    /// usable microphone, so a call can go on without one.
    pub fn open(name: Option<&str>) -> Result<Microphone, SourceError> {
        Microphone::open_on(cpal::default_host(), name)
    }

    /// Opens a microphone of `host` (e.g. a custom host).
    pub fn open_on(host: cpal::Host, name: Option<&str>) -> Result<Microphone, SourceError> {
        let device = match name {
            None => host
                .default_input_device()
                .ok_or(SourceError::NoDevice(DeviceKind::Microphone))?,
            Some(name) => host
                .input_devices()
                .map_err(|e| SourceError::Failed {
                    kind: DeviceKind::Microphone,
                    reason: e.to_string(),
                })?
                .find(|d| device_name(d) == name)
                .ok_or_else(|| SourceError::NotFound {
                    kind: DeviceKind::Microphone,
                    name: name.to_owned(),
                })?,
        };
        let name = device_name(&device);
        let (chunk_tx, chunks) = mpsc::sync_channel(MIC_QUEUE);
        let stream = StreamThread::start("media-mic", device, move |d| open_stream(d, chunk_tx))
            .map_err(|e| match e {
                StartError::Thread(e) => SourceError::Failed {
                    kind: DeviceKind::Microphone,
                    reason: e.to_string(),
                },
                StartError::Device(reason) => SourceError::Unavailable {
                    kind: DeviceKind::Microphone,
                    name: name.clone(),
                    reason,
                },
            })?;
        Ok(Microphone {
            name,
            chunks,
            _stream: stream,
            interrupter: Interrupter::new(),
        })
    }
}

fn pick_config(device: &cpal::Device) -> Result<cpal::SupportedStreamConfig, String> {
    let ranges: Vec<_> = device
        .supported_input_configs()
        .map_err(|e| e.to_string())?
        .collect();
    // 48 kHz avoids resampling; f32 avoids conversion.
    let preferred = ranges
        .iter()
        .filter(|r| r.contains_rate(AUDIO_SAMPLE_RATE))
        .max_by_key(|r| (r.sample_format() == SampleFormat::F32, r.channels() == 1))
        .cloned()
        .map(|r| r.with_sample_rate(AUDIO_SAMPLE_RATE));
    match preferred {
        Some(c) => Ok(c),
        None => device.default_input_config().map_err(|e| e.to_string()),
    }
}

fn build<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    tx: SyncSender<MicMessage>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let rate = config.sample_rate;
    let mut resampler =
        (rate != AUDIO_SAMPLE_RATE).then(|| LinearResampler::new(rate, AUDIO_SAMPLE_RATE));
    let err_tx = tx.clone();
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _| {
            let as_f32: Vec<f32> = data.iter().map(|&s| f32::from_sample_(s)).collect();
            let mono = downmix(&as_f32, channels);
            let samples = match resampler.as_mut() {
                Some(r) => r.process(&mono),
                None => mono,
            };
            let duration = samples.len() as i64 * 1_000_000 / i64::from(AUDIO_SAMPLE_RATE);
            // A full queue means the reader stalled: dropping keeps the delay bounded.
            let _ = tx.try_send(MicMessage::Chunk(AudioChunk {
                samples,
                capture_us: unix_micros() - duration,
            }));
        },
        move |e| {
            let _ = err_tx.try_send(MicMessage::Error(e.to_string()));
        },
        Some(OPEN_TIMEOUT),
    )
}

/// Builds a stream capturing `device` into `tx`.
fn open_stream(device: &cpal::Device, tx: SyncSender<MicMessage>) -> Result<cpal::Stream, String> {
    let supported = pick_config(device)?;
    let config = supported.config();
    match supported.sample_format() {
        SampleFormat::F32 => build::<f32>(device, config, tx),
        SampleFormat::I16 => build::<i16>(device, config, tx),
        SampleFormat::U16 => build::<u16>(device, config, tx),
        SampleFormat::I32 => build::<i32>(device, config, tx),
        SampleFormat::U8 => build::<u8>(device, config, tx),
        SampleFormat::F64 => build::<f64>(device, config, tx),
        other => return Err(format!("unsupported sample format {other}")),
    }
    .map_err(|e| e.to_string())
}

impl AudioSource for Microphone {
    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, SourceError> {
        if self.interrupter.is_interrupted() {
            return Err(SourceError::Interrupted);
        }
        match self.chunks.recv_timeout(SOURCE_READ_TIMEOUT) {
            Ok(MicMessage::Chunk(c)) => Ok(Some(c)),
            Ok(MicMessage::Error(reason)) => Err(SourceError::Failed {
                kind: DeviceKind::Microphone,
                reason,
            }),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(SourceError::Failed {
                kind: DeviceKind::Microphone,
                reason: "the device stopped".to_owned(),
            }),
        }
    }

    fn describe(&self) -> String {
        format!("microphone {}", self.name)
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(self.interrupter.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_channels() {
        assert_eq!(downmix(&[1.0, 0.0, 0.5, 0.5], 2), vec![0.5, 0.5]);
        assert_eq!(downmix(&[0.25, 0.5], 1), vec![0.25, 0.5]);
    }

    #[test]
    fn resampler_keeps_duration_and_continuity() {
        let mut r = LinearResampler::new(44_100, 48_000);
        let mut total = 0;
        for _ in 0..100 {
            total += r.process(&vec![0.5; 441]).len();
        }
        // One second in, one second out (±1 sample).
        assert!((47_999..=48_001).contains(&total), "{total}");
        let mut same = LinearResampler::new(48_000, 48_000);
        assert_eq!(same.process(&[0.1, 0.2, 0.3]), vec![0.0, 0.1, 0.2]);
        assert_eq!(same.process(&[0.4]), vec![0.3]);
    }
}
