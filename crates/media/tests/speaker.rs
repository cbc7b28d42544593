//! A speaker that only runs at 44.1 kHz, 16-bit stereo (Windows' shared mode on a common laptop),
//! behind cpal's `custom` host: the real output code opens it in its own mode, converts the mix
//! to it and tells the mixer when what it mixes is heard.

use cpal::platform::CustomHost;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{
    Data, DeviceDescription, DeviceDescriptionBuilder, DeviceId, Error, ErrorKind,
    InputCallbackInfo, OutputCallbackInfo, OutputStreamTimestamp, Sample, SampleFormat,
    StreamConfig, StreamInstant, SupportedBufferSize, SupportedStreamConfig,
    SupportedStreamConfigRange,
};
use quartet_media::{AUDIO_SAMPLE_RATE, AudioMixer, AudioOutput};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The speaker's one rate.
const RATE: u32 = 44_100;
/// Frames per period: 10 ms.
const PERIOD: usize = 441;
/// How long after a callback the speaker plays what it was given (its own buffer).
const DEVICE_LATENCY: Duration = Duration::from_millis(25);
/// The tone played.
const HZ: f64 = 1_000.0;
const AMPLITUDE: f64 = 0.5;

/// Everything the speaker played (cpal's devices must be plain values, so it lives here).
static PLAYED: Mutex<Vec<i16>> = Mutex::new(Vec::new());

#[derive(Clone)]
struct FakeHost;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FakeSpeaker;

impl std::fmt::Display for FakeSpeaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fake 44.1 kHz speaker")
    }
}

struct FakeStream {
    exit: Arc<AtomicBool>,
    playing: Arc<AtomicBool>,
    start: Instant,
    thread: Option<JoinHandle<()>>,
}

impl HostTrait for FakeHost {
    type Device = FakeSpeaker;
    type Devices = std::vec::IntoIter<FakeSpeaker>;

    fn is_available() -> bool {
        true
    }

    fn devices(&self) -> Result<Self::Devices, Error> {
        Ok(vec![FakeSpeaker].into_iter())
    }

    fn default_input_device(&self) -> Option<FakeSpeaker> {
        None
    }

    fn default_output_device(&self) -> Option<FakeSpeaker> {
        Some(FakeSpeaker)
    }
}

fn range() -> SupportedStreamConfigRange {
    SupportedStreamConfigRange::new(
        2,
        RATE,
        RATE,
        SupportedBufferSize::Range {
            min: PERIOD as u32,
            max: PERIOD as u32,
        },
        SampleFormat::I16,
    )
}

fn instant(t: Duration) -> StreamInstant {
    StreamInstant::new(t.as_secs(), t.subsec_nanos())
}

impl DeviceTrait for FakeSpeaker {
    type SupportedInputConfigs = std::iter::Empty<SupportedStreamConfigRange>;
    type SupportedOutputConfigs = std::iter::Once<SupportedStreamConfigRange>;
    type Stream = FakeStream;

    fn description(&self) -> Result<DeviceDescription, Error> {
        Ok(DeviceDescriptionBuilder::new("Fake 44.1 kHz speaker").build())
    }

    fn id(&self) -> Result<DeviceId, Error> {
        Err(Error::new(ErrorKind::UnsupportedOperation))
    }

    fn supported_input_configs(&self) -> Result<Self::SupportedInputConfigs, Error> {
        Ok(std::iter::empty())
    }

    fn supported_output_configs(&self) -> Result<Self::SupportedOutputConfigs, Error> {
        Ok(std::iter::once(range()))
    }

    fn default_input_config(&self) -> Result<SupportedStreamConfig, Error> {
        Err(Error::new(ErrorKind::UnsupportedConfig))
    }

    fn default_output_config(&self) -> Result<SupportedStreamConfig, Error> {
        Ok(range().with_sample_rate(RATE))
    }

    fn build_input_stream_raw<D, E>(
        &self,
        _: StreamConfig,
        _: SampleFormat,
        _: D,
        _: E,
        _: Option<Duration>,
    ) -> Result<FakeStream, Error>
    where
        D: FnMut(&Data, &InputCallbackInfo) + Send + 'static,
        E: FnMut(Error) + Send + 'static,
    {
        Err(Error::new(ErrorKind::UnsupportedConfig))
    }

    fn build_output_stream_raw<D, E>(
        &self,
        config: StreamConfig,
        format: SampleFormat,
        mut data_callback: D,
        _: E,
        _: Option<Duration>,
    ) -> Result<FakeStream, Error>
    where
        D: FnMut(&mut Data, &OutputCallbackInfo) + Send + 'static,
        E: FnMut(Error) + Send + 'static,
    {
        // The real code must ask for the speaker's own mode.
        assert_eq!(
            (config.sample_rate, config.channels, format),
            (RATE, 2, SampleFormat::I16)
        );
        let exit = Arc::new(AtomicBool::new(false));
        let playing = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let (e, p) = (Arc::clone(&exit), Arc::clone(&playing));
        let thread = std::thread::spawn(move || {
            let mut buffer = vec![0i16; PERIOD * 2];
            let mut periods = 0u32;
            while !e.load(Ordering::Relaxed) {
                periods += 1;
                // Paced like real hardware: one period every 10 ms.
                let due = start + Duration::from_millis(10) * periods;
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                if !p.load(Ordering::Relaxed) {
                    continue;
                }
                #[allow(unsafe_code)]
                // SAFETY: `buffer` holds `PERIOD * 2` i16 samples and outlives `data`, which is
                // only lent to the callback for this call.
                let mut data = unsafe {
                    Data::from_parts(buffer.as_mut_ptr().cast(), buffer.len(), SampleFormat::I16)
                };
                let now = start.elapsed();
                data_callback(
                    &mut data,
                    &OutputCallbackInfo::new(OutputStreamTimestamp {
                        callback: instant(now),
                        playback: instant(now + DEVICE_LATENCY),
                    }),
                );
                PLAYED
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buffer);
            }
        });
        Ok(FakeStream {
            exit,
            playing,
            start,
            thread: Some(thread),
        })
    }
}

impl StreamTrait for FakeStream {
    fn play(&self) -> Result<(), Error> {
        self.playing.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn pause(&self) -> Result<(), Error> {
        self.playing.store(false, Ordering::Relaxed);
        Ok(())
    }

    fn buffer_size(&self) -> Result<cpal::FrameCount, Error> {
        Ok(PERIOD as u32)
    }

    fn now(&self) -> StreamInstant {
        instant(self.start.elapsed())
    }
}

impl Drop for FakeStream {
    fn drop(&mut self) {
        self.exit.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Rising zero crossings of `x`, interpolated between samples.
fn crossings(x: &[f64]) -> Vec<f64> {
    (1..x.len())
        .filter(|&i| x[i - 1] < 0.0 && x[i] >= 0.0)
        .map(|i| (i - 1) as f64 + x[i - 1] / (x[i - 1] - x[i]))
        .collect()
}

#[test]
fn a_44_1_khz_speaker_plays_the_mix_at_its_level_and_pitch() {
    let host = cpal::Host::from(CustomHost::from_host(FakeHost));
    let mixer = AudioMixer::new();
    let input = mixer.add_input();
    let out = AudioOutput::open_on(host, mixer.clone(), None).unwrap();
    assert!(!out.is_null());
    assert!(out.describe().contains("44100 Hz"), "{}", out.describe());

    // A second of tone, kept 100–140 ms ahead of the speaker.
    let mut n = 0u64;
    let tone = |n: &mut u64| {
        let t = *n as f64 / f64::from(AUDIO_SAMPLE_RATE);
        *n += 1;
        (AMPLITUDE * (std::f64::consts::TAU * HZ * t).sin()) as f32
    };
    let t0 = Instant::now();
    while n < u64::from(AUDIO_SAMPLE_RATE) {
        if input.queued() < AUDIO_SAMPLE_RATE as usize / 10 {
            let chunk: Vec<f32> = (0..AUDIO_SAMPLE_RATE / 25).map(|_| tone(&mut n)).collect();
            input.push(&chunk);
        }
        std::thread::sleep(Duration::from_millis(5));
        assert!(t0.elapsed() < Duration::from_secs(10));
    }
    while input.queued() > 0 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    // The speaker's own buffer, plus under a millisecond in the converter.
    let latency = mixer.output_latency();
    assert!(
        latency >= DEVICE_LATENCY && latency < DEVICE_LATENCY + Duration::from_millis(2),
        "{latency:?}"
    );
    out.stop();

    let played = PLAYED.lock().unwrap().clone();
    let left: Vec<f64> = played
        .chunks_exact(2)
        .map(|f| {
            assert_eq!(f[0], f[1], "both sides play the same");
            f64::from(f32::from_sample(f[0]))
        })
        .collect();
    // The middle half second: well clear of the prebuffer and the end.
    let first = left.iter().position(|s| s.abs() > 0.1).expect("sound");
    let middle = &left[first + RATE as usize / 4..first + RATE as usize * 3 / 4];
    let c = crossings(middle);
    let hz = (c.len() - 1) as f64 * f64::from(RATE) / (c[c.len() - 1] - c[0]);
    assert!((hz - HZ).abs() < 1.0, "{hz} Hz");
    let rms = (middle.iter().map(|s| s * s).sum::<f64>() / middle.len() as f64).sqrt();
    let level_db = 20.0 * (rms / (AMPLITUDE / 2f64.sqrt())).log10();
    assert!(level_db.abs() < 0.5, "{level_db} dB");
}
