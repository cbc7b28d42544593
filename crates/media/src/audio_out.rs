//! Playing the mix of every remote member's sound: through cpal, or through a null sink that
//! consumes at real-time pace when there is no output device (servers, CI, bots).

use crate::frame::AUDIO_SAMPLE_RATE;
use crate::mixer::{AudioMixer, samples};
use crate::signal::StopSignal;
use crate::source::{AudioDeviceInfo, DeviceKind};
use crate::stream_thread::{OPEN_TIMEOUT, StartError, StreamThread};
use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
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
    /// The device exists but cannot play (busy, no hardware behind it, no 48 kHz mode).
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

/// The speakers of the default audio host.
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
}

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
        let stream = StreamThread::start("media-audio-out", device, move |d| open_stream(d, mixer))
            .map_err(|e| match e {
                StartError::Thread(e) => AudioOutError::Thread(e),
                StartError::Device(reason) => AudioOutError::Unavailable {
                    name: name.clone(),
                    reason,
                },
            })?;
        Ok(AudioOutput {
            description: format!("speaker {name}"),
            stop: StopSignal::new(),
            device: Some(stream),
            thread: None,
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
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let channels = usize::from(config.channels.max(1));
    let mut mono = Vec::new();
    device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], _| {
            let frames = data.len() / channels;
            mono.resize(frames, 0.0);
            mixer.mix(&mut mono);
            for (frame, &s) in data.chunks_exact_mut(channels).zip(&mono) {
                frame.fill(T::from_sample_(s));
            }
        },
        |e| tracing::warn!("sound output error: {e}"),
        Some(OPEN_TIMEOUT),
    )
}

/// Builds a stream playing `mixer` on `device` at [`AUDIO_SAMPLE_RATE`].
fn open_stream(device: &cpal::Device, mixer: AudioMixer) -> Result<cpal::Stream, String> {
    let range = device
        .supported_output_configs()
        .map_err(|e| e.to_string())?
        .filter(|r| r.contains_rate(AUDIO_SAMPLE_RATE))
        .max_by_key(|r| (r.sample_format() == SampleFormat::F32, r.channels() <= 2))
        .ok_or_else(|| format!("no {AUDIO_SAMPLE_RATE} Hz output mode"))?;
    let supported = range.with_sample_rate(AUDIO_SAMPLE_RATE);
    let config = supported.config();
    match supported.sample_format() {
        SampleFormat::F32 => build::<f32>(device, config, mixer),
        SampleFormat::I16 => build::<i16>(device, config, mixer),
        SampleFormat::U16 => build::<u16>(device, config, mixer),
        SampleFormat::I32 => build::<i32>(device, config, mixer),
        other => return Err(format!("unsupported sample format {other}")),
    }
    .map_err(|e| e.to_string())
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
        out.stop();
    }
}
