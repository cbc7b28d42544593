//! Mixing every remote member's sound and playing it: through cpal, or through a null sink that
//! consumes at real-time pace when there is no output device (servers, CI, bots).

use crate::frame::{AUDIO_SAMPLE_RATE, rms};
use crate::signal::StopSignal;
use crate::source::{AudioDeviceInfo, DeviceKind};
use crate::stream_thread::{OPEN_TIMEOUT, StartError, StreamThread};
use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Most sound held per input; older samples are dropped so delay stays bounded.
pub const MIXER_MAX_QUEUE: Duration = Duration::from_millis(200);
/// Sound an input gathers before it starts playing (and again after running dry), to ride out
/// network jitter without crackles.
pub const MIXER_PREBUFFER: Duration = Duration::from_millis(40);
/// The null sink consumes this much at a time.
pub const NULL_SINK_PERIOD: Duration = Duration::from_millis(10);

const fn samples(d: Duration) -> usize {
    (d.as_millis() as usize) * (AUDIO_SAMPLE_RATE as usize) / 1000
}

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

#[derive(Debug, Default)]
struct Queue {
    samples: VecDeque<f32>,
    playing: bool,
    dropped: u64,
}

impl Queue {
    fn push(&mut self, input: &[f32]) {
        self.samples.extend(input);
        let max = samples(MIXER_MAX_QUEUE);
        if self.samples.len() > max {
            let excess = self.samples.len() - max;
            self.samples.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// Adds up to `out.len()` samples into `out`, honouring the prebuffer.
    fn mix_into(&mut self, out: &mut [f32]) {
        if !self.playing {
            if self.samples.len() < samples(MIXER_PREBUFFER) {
                return;
            }
            self.playing = true;
        }
        let n = out.len().min(self.samples.len());
        for (o, s) in out.iter_mut().zip(self.samples.drain(..n)) {
            *o += s;
        }
        if self.samples.is_empty() {
            self.playing = false;
        }
    }
}

#[derive(Debug, Default)]
struct MixerState {
    inputs: Vec<Arc<Mutex<Queue>>>,
    level: f32,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sums the sound of several streams, each through its own bounded queue. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct AudioMixer {
    state: Arc<Mutex<MixerState>>,
}

/// One stream feeding an [`AudioMixer`]; removed from the mix when dropped.
#[derive(Debug)]
pub struct MixerInput {
    queue: Arc<Mutex<Queue>>,
    mixer: Weak<Mutex<MixerState>>,
}

impl MixerInput {
    /// Queues mono samples at [`AUDIO_SAMPLE_RATE`].
    pub fn push(&self, samples: &[f32]) {
        lock(&self.queue).push(samples);
    }

    /// Samples dropped because this input ran more than [`MIXER_MAX_QUEUE`] ahead.
    pub fn dropped(&self) -> u64 {
        lock(&self.queue).dropped
    }

    /// Samples waiting to play.
    pub fn queued(&self) -> usize {
        lock(&self.queue).samples.len()
    }
}

impl Drop for MixerInput {
    fn drop(&mut self) {
        if let Some(state) = self.mixer.upgrade() {
            lock(&state).inputs.retain(|q| !Arc::ptr_eq(q, &self.queue));
        }
    }
}

impl AudioMixer {
    /// An empty mixer.
    pub fn new() -> AudioMixer {
        AudioMixer::default()
    }

    /// A new input stream.
    pub fn add_input(&self) -> MixerInput {
        let queue = Arc::new(Mutex::new(Queue::default()));
        lock(&self.state).inputs.push(Arc::clone(&queue));
        MixerInput {
            queue,
            mixer: Arc::downgrade(&self.state),
        }
    }

    /// How many inputs are mixed.
    pub fn inputs(&self) -> usize {
        lock(&self.state).inputs.len()
    }

    /// Fills `out` with the next mono samples: the sum of all inputs, clipped to ±1.
    pub fn mix(&self, out: &mut [f32]) {
        out.fill(0.0);
        let mut state = lock(&self.state);
        for q in &state.inputs {
            lock(q).mix_into(out);
        }
        for s in out.iter_mut() {
            *s = s.clamp(-1.0, 1.0);
        }
        state.level = rms(out);
    }

    /// RMS level of the last mixed block (0.0 for silence).
    pub fn level(&self) -> f32 {
        lock(&self.state).level
    }
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

    #[test]
    fn mixes_inputs_and_clips() {
        let m = AudioMixer::new();
        let a = m.add_input();
        let b = m.add_input();
        let n = samples(MIXER_PREBUFFER);
        a.push(&vec![0.25; n]);
        b.push(&vec![0.9; n]);
        let mut out = vec![0.0; 4];
        m.mix(&mut out);
        assert_eq!(out, vec![1.0; 4]);
        drop(b);
        assert_eq!(m.inputs(), 1);
        m.mix(&mut out);
        assert_eq!(out, vec![0.25; 4]);
    }

    #[test]
    fn waits_for_the_prebuffer_and_again_after_running_dry() {
        let m = AudioMixer::new();
        let a = m.add_input();
        a.push(&[0.5; 10]);
        let mut out = vec![0.0; 10];
        m.mix(&mut out);
        assert_eq!(out, vec![0.0; 10], "below the prebuffer nothing plays");
        a.push(&vec![0.5; samples(MIXER_PREBUFFER)]);
        let mut all = vec![0.0; samples(MIXER_PREBUFFER) + 20];
        m.mix(&mut all);
        assert_eq!(
            all.iter().filter(|&&s| s == 0.5).count(),
            samples(MIXER_PREBUFFER) + 10
        );
        assert_eq!(a.queued(), 0);
        a.push(&[0.5; 10]);
        m.mix(&mut out);
        assert_eq!(out, vec![0.0; 10], "a drained input buffers again");
    }

    #[test]
    fn queues_are_bounded() {
        let m = AudioMixer::new();
        let a = m.add_input();
        a.push(&vec![0.1; samples(MIXER_MAX_QUEUE) + 480]);
        assert_eq!(a.queued(), samples(MIXER_MAX_QUEUE));
        assert_eq!(a.dropped(), 480);
    }

    #[test]
    fn the_null_sink_consumes_in_real_time() {
        let m = AudioMixer::new();
        let a = m.add_input();
        a.push(&vec![0.3; samples(MIXER_MAX_QUEUE)]);
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
