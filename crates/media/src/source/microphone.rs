//! Microphones through cpal, converted to mono at [`AUDIO_SAMPLE_RATE`] by FFmpeg's resampler
//! ([`crate::resample`]) from whatever rate, channels and format the device runs at.
//!
//! cpal streams may not move between threads on every platform, so each microphone runs its
//! stream on a named thread of its own and hands chunks over a bounded channel.

use super::{AudioSource, DeviceKind, Interrupter, SOURCE_READ_TIMEOUT, SourceError, null_device};
use crate::frame::{AUDIO_SAMPLE_RATE, AudioChunk, unix_micros};
use crate::resample::{InputConverter, convertible};
use crate::stream_thread::{OPEN_TIMEOUT, StartError, StreamThread};
use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{FromSample, I24, SampleFormat, SizedSample, U24};
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

/// The microphones of `host`, less the null device.
pub fn list_microphones_on(host: &cpal::Host) -> Result<Vec<AudioDeviceInfo>, SourceError> {
    let default = host.default_input_device().map(|d| device_name(&d));
    let devices = host.input_devices().map_err(|e| SourceError::Failed {
        kind: DeviceKind::Microphone,
        reason: format!("cannot list microphones: {e}"),
    })?;
    Ok(devices
        .filter(|d| !is_null(d))
        .map(|d| {
            let name = device_name(&d);
            AudioDeviceInfo {
                is_default: default.as_deref() == Some(name.as_str()),
                name,
            }
        })
        .collect())
}

/// Whether `device` is the system's null device, which no list offers.
pub(crate) fn is_null(device: &cpal::Device) -> bool {
    device
        .description()
        .is_ok_and(|d| null_device::is_null_description(&d))
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
        .filter(|r| convertible(r.sample_format()) && r.contains_rate(AUDIO_SAMPLE_RATE))
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
) -> Result<cpal::Stream, String>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let mut converter =
        InputConverter::new(config.sample_rate, config.channels).map_err(|e| e.to_string())?;
    let err_tx = tx.clone();
    device
        .build_input_stream::<T, _, _>(
            config,
            move |data: &[T], _| {
                let samples = match converter.convert(data) {
                    Ok([]) => return,
                    Ok(s) => s.to_vec(),
                    Err(e) => {
                        let _ = tx.try_send(MicMessage::Error(e.to_string()));
                        return;
                    }
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
        .map_err(|e| e.to_string())
}

/// Builds a stream capturing `device` into `tx`.
fn open_stream(device: &cpal::Device, tx: SyncSender<MicMessage>) -> Result<cpal::Stream, String> {
    let supported = pick_config(device)?;
    let config = supported.config();
    match supported.sample_format() {
        SampleFormat::F32 => build::<f32>(device, config, tx),
        SampleFormat::F64 => build::<f64>(device, config, tx),
        SampleFormat::I8 => build::<i8>(device, config, tx),
        SampleFormat::I16 => build::<i16>(device, config, tx),
        SampleFormat::I24 => build::<I24>(device, config, tx),
        SampleFormat::I32 => build::<i32>(device, config, tx),
        SampleFormat::I64 => build::<i64>(device, config, tx),
        SampleFormat::U8 => build::<u8>(device, config, tx),
        SampleFormat::U16 => build::<u16>(device, config, tx),
        SampleFormat::U24 => build::<U24>(device, config, tx),
        SampleFormat::U32 => build::<u32>(device, config, tx),
        SampleFormat::U64 => build::<u64>(device, config, tx),
        other => Err(format!("unsupported sample format {other}")),
    }
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
