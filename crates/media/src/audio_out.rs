//! Playing the mix of every remote member's sound: through cpal, or through a null sink that
//! consumes at real-time pace when there is no output device (servers, CI, bots).
//!
//! A speaker runs in its own mode (48 kHz when it offers it, else its default rate and format:
//! Windows' shared mode takes only the system mixer's rate) and the mix is converted to it. The
//! mixer is told how long after mixing a sample is heard, so what it hands its taps lines up
//! with the sound in the room.

use crate::frame::AUDIO_SAMPLE_RATE;
use crate::mixer::{AudioMixer, samples};
use crate::resample::{OutputConverter, convertible};
use crate::signal::StopSignal;
use crate::source::{AudioDeviceInfo, DeviceKind};
use crate::stream_thread::{OPEN_TIMEOUT, StartError, StreamThread};
use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{
    FromSample, I24, OutputCallbackInfo, SampleFormat, SizedSample, SupportedStreamConfig,
    SupportedStreamConfigRange, U24,
};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The null sink consumes this much at a time.
pub const NULL_SINK_PERIOD: Duration = Duration::from_millis(10);

/// Why sound cannot be played.
#[derive(Debug, thiserror::Error)]
pub enum AudioOutError {
    /// No output device at all.
    #[error("no {0} found")]
    NoDevice(DeviceKind),
    /// The named device is not there.
    #[error("speaker \"{0}\" not found")]
    NotFound(String),
    /// The device exists but cannot play (busy, no hardware behind it, no mode we can feed).
    #[error("speaker \"{name}\" cannot be opened: {reason}")]
    Unavailable {
        /// The device.
        name: String,
        /// What the system said.
        reason: String,
    },
    /// A thread could not be started.
    #[error("cannot start audio output thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// The speakers of the default audio host, less the null device.
pub fn list_speakers() -> Result<Vec<AudioDeviceInfo>, AudioOutError> {
    let host = cpal::default_host();
    let name = |d: &cpal::Device| {
        d.description()
            .map(|x| x.name().to_owned())
            .unwrap_or_default()
    };
    let default = host.default_output_device().map(|d| name(&d));
    let devices = host
        .output_devices()
        .map_err(|e| AudioOutError::Unavailable {
            name: "default".to_owned(),
            reason: e.to_string(),
        })?;
    Ok(devices
        .filter(|d| !crate::source::is_null_device(d))
        .map(|d| {
            let n = name(&d);
            AudioDeviceInfo {
                is_default: default.as_deref() == Some(n.as_str()),
                name: n,
            }
        })
        .collect())
}

/// Plays an [`AudioMixer`] until stopped or dropped.
pub struct AudioOutput {
    description: String,
    /// Stops the null sink.
    stop: StopSignal,
    /// The speaker's stream; `None` for the null sink.
    device: Option<StreamThread>,
    /// The null sink's thread.
    thread: Option<JoinHandle<()>>,
    /// Why the speaker stopped playing, once it has (unplugged, taken by another program).
    failure: Failure,
}

/// The first error a speaker's stream reported, shared with its callback.
type Failure = Arc<Mutex<Option<String>>>;

impl std::fmt::Debug for AudioOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioOutput")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

impl AudioOutput {
    /// Plays through speaker `name` (the default one when `None`) of the default host.
    pub fn open(mixer: AudioMixer, name: Option<&str>) -> Result<AudioOutput, AudioOutError> {
        AudioOutput::open_on(cpal::default_host(), mixer, name)
    }

    /// Plays through a speaker of `host`.
    pub fn open_on(
        host: cpal::Host,
        mixer: AudioMixer,
        name: Option<&str>,
    ) -> Result<AudioOutput, AudioOutError> {
        let dev_name = |d: &cpal::Device| {
            d.description()
                .map(|x| x.name().to_owned())
                .unwrap_or_default()
        };
        let device = match name {
            None => host
                .default_output_device()
                .ok_or(AudioOutError::NoDevice(DeviceKind::Speaker))?,
            Some(n) => host
                .output_devices()
                .map_err(|e| AudioOutError::Unavailable {
                    name: n.to_owned(),
                    reason: e.to_string(),
                })?
                .find(|d| dev_name(d) == n)
                .ok_or_else(|| AudioOutError::NotFound(n.to_owned()))?,
        };
        let name = dev_name(&device);
        let mode = output_mode(&device).map_err(|reason| AudioOutError::Unavailable {
            name: name.clone(),
            reason,
        })?;
        let description = format!(
            "speaker {name} ({} Hz, {} ch, {})",
            mode.sample_rate(),
            mode.channels(),
            mode.sample_format()
        );
        let failure = Failure::default();
        let failed = Arc::clone(&failure);
        let stream = StreamThread::start("media-audio-out", device, move |d| {
            open_stream(d, &mode, mixer, failed)
        })
        .map_err(|e| match e {
            StartError::Thread(e) => AudioOutError::Thread(e),
            StartError::Device(reason) => AudioOutError::Unavailable {
                name: name.clone(),
                reason,
            },
        })?;
        tracing::info!("playing through {description}");
        Ok(AudioOutput {
            description,
            stop: StopSignal::new(),
            device: Some(stream),
            thread: None,
            failure,
        })
    }

    /// Consumes the mix at real-time pace and discards it: for machines with no sound output.
    pub fn null(mixer: AudioMixer) -> Result<AudioOutput, AudioOutError> {
        let stop = StopSignal::new();
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("media-null-sink".to_owned())
            .spawn(move || run_null(&mixer, &s))?;
        Ok(AudioOutput {
            description: "null sink".to_owned(),
            stop,
            device: None,
            thread: Some(thread),
            failure: Failure::default(),
        })
    }

    /// The default speaker, or the null sink when there is none (the reason is logged).
    pub fn open_or_null(mixer: AudioMixer) -> Result<AudioOutput, AudioOutError> {
        match AudioOutput::open(mixer.clone(), None) {
            Ok(out) => Ok(out),
            Err(e) => {
                tracing::info!("no sound output ({e}); playing into a null sink");
                AudioOutput::null(mixer)
            }
        }
    }

    /// Why the speaker stopped playing mid-call (unplugged, or taken by another program), once
    /// its stream has reported an error; the caller decides what stands in.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// True for the null sink.
    pub fn is_null(&self) -> bool {
        self.device.is_none()
    }

    /// What is playing: the device name or "null sink".
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Stops playing and joins the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.stop();
        if let Some(mut device) = self.device.take() {
            device.stop();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for AudioOutput {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run_null(mixer: &AudioMixer, stop: &StopSignal) {
    // What is mixed now would be "played" by the next period.
    mixer.set_output_latency(NULL_SINK_PERIOD);
    let mut block = vec![0f32; samples(NULL_SINK_PERIOD)];
    let start = Instant::now();
    let mut periods = 0u32;
    loop {
        periods += 1;
        let due = start + NULL_SINK_PERIOD * periods;
        let now = Instant::now();
        if due > now && stop.sleep(due - now) {
            return;
        }
        if stop.is_stopped() {
            return;
        }
        mixer.mix(&mut block);
    }
}

fn build<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mixer: AudioMixer,
    failure: Failure,
) -> Result<cpal::Stream, String>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let mut converter =
        OutputConverter::new(config.sample_rate, config.channels).map_err(|e| e.to_string())?;
    let mut warned = false;
    device
        .build_output_stream::<T, _, _>(
            config,
            move |data: &mut [T], info: &OutputCallbackInfo| {
                let t = info.timestamp();
                // What the device holds before `data` plays, then what the converter holds.
                let device_latency = t.playback.duration_since(t.callback);
                let filled = converter.fill(data, |block, ahead| {
                    mixer.set_output_latency(device_latency + ahead);
                    mixer.mix(block);
                });
                if let Err(e) = filled
                    && !warned
                {
                    warned = true;
                    tracing::warn!("sound output conversion failed: {e}");
                }
            },
            move |e| {
                tracing::warn!("sound output error: {e}");
                failure
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert_with(|| e.to_string());
            },
            Some(OPEN_TIMEOUT),
        )
        .map_err(|e| e.to_string())
}

/// The mode to open a speaker in: [`AUDIO_SAMPLE_RATE`] when it offers it (f32 and at most
/// two channels preferred), so nothing is resampled; otherwise its own default mode (on
/// Windows' shared mode the only rate it takes); otherwise any mode we can feed. `None` when
/// it offers nothing we can feed.
pub fn pick_output_config(
    ranges: &[SupportedStreamConfigRange],
    default: Option<&SupportedStreamConfig>,
) -> Option<SupportedStreamConfig> {
    let at_our_rate = ranges
        .iter()
        .filter(|r| convertible(r.sample_format()) && r.contains_rate(AUDIO_SAMPLE_RATE))
        .max_by_key(|r| (r.channels() <= 2, r.sample_format() == SampleFormat::F32))
        .map(|r| r.with_sample_rate(AUDIO_SAMPLE_RATE));
    let own = || {
        default
            .filter(|d| convertible(d.sample_format()) && d.channels() > 0)
            .cloned()
    };
    let any = || {
        ranges
            .iter()
            .filter(|r| convertible(r.sample_format()) && r.channels() > 0)
            .max_by_key(|r| (r.channels() <= 2, r.sample_format() == SampleFormat::F32))
            .map(|r| r.with_max_sample_rate())
    };
    at_our_rate.or_else(own).or_else(any)
}

/// The mode [`pick_output_config`] picks for `device`.
fn output_mode(device: &cpal::Device) -> Result<SupportedStreamConfig, String> {
    let ranges: Vec<_> = device
        .supported_output_configs()
        .map_err(|e| e.to_string())?
        .collect();
    let default = device.default_output_config().ok();
    pick_output_config(&ranges, default.as_ref())
        .ok_or_else(|| "it offers no output mode we can play in".to_owned())
}

/// Builds a stream playing `mixer` on `device` in mode `supported`.
fn open_stream(
    device: &cpal::Device,
    supported: &SupportedStreamConfig,
    mixer: AudioMixer,
    failure: Failure,
) -> Result<cpal::Stream, String> {
    let config = supported.config();
    match supported.sample_format() {
        SampleFormat::F32 => build::<f32>(device, config, mixer, failure),
        SampleFormat::F64 => build::<f64>(device, config, mixer, failure),
        SampleFormat::I8 => build::<i8>(device, config, mixer, failure),
        SampleFormat::I16 => build::<i16>(device, config, mixer, failure),
        SampleFormat::I24 => build::<I24>(device, config, mixer, failure),
        SampleFormat::I32 => build::<i32>(device, config, mixer, failure),
        SampleFormat::I64 => build::<i64>(device, config, mixer, failure),
        SampleFormat::U8 => build::<u8>(device, config, mixer, failure),
        SampleFormat::U16 => build::<u16>(device, config, mixer, failure),
        SampleFormat::U24 => build::<U24>(device, config, mixer, failure),
        SampleFormat::U32 => build::<u32>(device, config, mixer, failure),
        SampleFormat::U64 => build::<u64>(device, config, mixer, failure),
        other => Err(format!("unsupported sample format {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mixer::MIXER_MAX_QUEUE;

    #[test]
    fn the_null_sink_consumes_in_real_time() {
        let m = AudioMixer::new();
        let a = m.add_input();
        a.push(&vec![0.3; crate::mixer::samples(MIXER_MAX_QUEUE)]);
        let out = AudioOutput::null(m.clone()).unwrap();
        assert!(out.is_null());
        let t0 = Instant::now();
        while a.queued() > 0 && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        // 200 ms of sound cannot be consumed faster than real time.
        assert!(t0.elapsed() >= Duration::from_millis(150));
        assert_eq!(a.queued(), 0);
        assert_eq!(m.output_latency(), NULL_SINK_PERIOD);
        out.stop();
    }

    fn range(
        channels: u16,
        min: u32,
        max: u32,
        format: SampleFormat,
    ) -> SupportedStreamConfigRange {
        SupportedStreamConfigRange::new(
            channels,
            min,
            max,
            cpal::SupportedBufferSize::Unknown,
            format,
        )
    }

    fn mode(c: &SupportedStreamConfig) -> (u16, u32, SampleFormat) {
        (c.channels(), c.sample_rate(), c.sample_format())
    }

    #[test]
    fn a_speaker_runs_at_48_khz_when_it_can() {
        let ranges = [
            range(2, 8_000, 192_000, SampleFormat::I16),
            range(2, 8_000, 192_000, SampleFormat::F32),
            range(6, 8_000, 192_000, SampleFormat::F32),
        ];
        let default = range(2, 44_100, 44_100, SampleFormat::I16).with_sample_rate(44_100);
        let picked = pick_output_config(&ranges, Some(&default)).unwrap();
        assert_eq!(mode(&picked), (2, 48_000, SampleFormat::F32));
    }

    #[test]
    fn a_speaker_without_48_khz_runs_at_its_own_rate() {
        // Windows' shared mode: one rate, the system mixer's.
        let ranges = [range(2, 44_100, 44_100, SampleFormat::F32)];
        let default = ranges[0].with_sample_rate(44_100);
        let picked = pick_output_config(&ranges, Some(&default)).unwrap();
        assert_eq!(mode(&picked), (2, 44_100, SampleFormat::F32));
        // A default in a format we cannot feed: a mode of its own we can.
        let ranges = [
            range(2, 96_000, 96_000, SampleFormat::DsdU8),
            range(2, 96_000, 96_000, SampleFormat::I24),
        ];
        let default = ranges[0].with_sample_rate(96_000);
        let picked = pick_output_config(&ranges, Some(&default)).unwrap();
        assert_eq!(mode(&picked), (2, 96_000, SampleFormat::I24));
        assert!(pick_output_config(&ranges[..1], Some(&default)).is_none());
        assert!(pick_output_config(&[], None).is_none());
    }
}
