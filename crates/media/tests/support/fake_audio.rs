//! Paced fake sound devices behind cpal's `custom` host, so the real capture and playback code
//! runs in tests on machines without a sound card: a microphone (48 kHz mono f32 hearing a
//! 440 Hz tone) and a speaker that only runs at 44.1 kHz, 16-bit stereo (Windows' shared mode on
//! a common laptop), recording what it plays.

use cpal::platform::CustomHost;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{
    Data, DeviceDescription, DeviceDescriptionBuilder, DeviceId, Error, ErrorKind,
    InputCallbackInfo, InputStreamTimestamp, OutputCallbackInfo, OutputStreamTimestamp,
    SampleFormat, StreamConfig, StreamInstant, SupportedBufferSize, SupportedStreamConfig,
    SupportedStreamConfigRange,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The microphone's rate.
pub const RATE: u32 = 48_000;
/// The microphone's period: 10 ms.
pub const PERIOD: usize = 480;
/// The microphone's tone amplitude.
pub const AMPLITUDE: f32 = 0.3;
/// The speaker's one rate.
pub const SPEAKER_RATE: u32 = 44_100;
/// The speaker's period: 10 ms.
pub const SPEAKER_PERIOD: usize = 441;
/// How long after a callback the speaker plays what it was given (its own buffer).
pub const SPEAKER_LATENCY: Duration = Duration::from_millis(25);
/// Every device calls back once per this, like real hardware.
const TICK: Duration = Duration::from_millis(10);

/// Everything [`FakeDevice::Speaker`] played, interleaved stereo (cpal's devices must be plain values,
/// so it lives here).
pub static PLAYED: Mutex<Vec<i16>> = Mutex::new(Vec::new());

/// One fake device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FakeDevice {
    /// A 48 kHz mono f32 microphone hearing a 440 Hz tone.
    Mic,
    /// A 44.1 kHz 16-bit stereo speaker.
    Speaker,
    /// The same speaker, unplugged after [`DYING_AFTER`] periods: it reports the loss and plays
    /// no more.
    DyingSpeaker,
}

/// Periods a [`FakeDevice::DyingSpeaker`] plays before it is unplugged.
pub const DYING_AFTER: u32 = 20;

#[derive(Clone)]
struct FakeHost {
    devices: Vec<FakeDevice>,
}

/// A host with one fake microphone (`mic`), or with no device at all.
pub fn host(mic: bool) -> cpal::Host {
    with_devices(if mic { &[FakeDevice::Mic] } else { &[] })
}

/// A host with `devices`, the first of each direction the default.
pub fn with_devices(devices: &[FakeDevice]) -> cpal::Host {
    cpal::Host::from(CustomHost::from_host(FakeHost {
        devices: devices.to_vec(),
    }))
}

impl std::fmt::Display for FakeDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FakeDevice {
    fn name(self) -> &'static str {
        match self {
            FakeDevice::Mic => "Fake microphone",
            FakeDevice::Speaker => "Fake 44.1 kHz speaker",
            FakeDevice::DyingSpeaker => "Fake speaker on a loose cable",
        }
    }

    fn range(self) -> SupportedStreamConfigRange {
        let (channels, rate, period, format) = match self {
            FakeDevice::Mic => (1, RATE, PERIOD, SampleFormat::F32),
            FakeDevice::Speaker | FakeDevice::DyingSpeaker => {
                (2, SPEAKER_RATE, SPEAKER_PERIOD, SampleFormat::I16)
            }
        };
        let buffer = SupportedBufferSize::Range {
            min: period as u32,
            max: period as u32,
        };
        SupportedStreamConfigRange::new(channels, rate, rate, buffer, format)
    }

    fn is_input(self) -> bool {
        self == FakeDevice::Mic
    }
}

impl HostTrait for FakeHost {
    type Device = FakeDevice;
    type Devices = std::vec::IntoIter<FakeDevice>;

    fn is_available() -> bool {
        true
    }

    fn devices(&self) -> Result<Self::Devices, Error> {
        Ok(self.devices.clone().into_iter())
    }

    fn default_input_device(&self) -> Option<FakeDevice> {
        self.devices.iter().copied().find(|d| d.is_input())
    }

    fn default_output_device(&self) -> Option<FakeDevice> {
        self.devices.iter().copied().find(|d| !d.is_input())
    }
}

fn instant(t: Duration) -> StreamInstant {
    StreamInstant::new(t.as_secs(), t.subsec_nanos())
}

impl DeviceTrait for FakeDevice {
    type SupportedInputConfigs = std::option::IntoIter<SupportedStreamConfigRange>;
    type SupportedOutputConfigs = std::option::IntoIter<SupportedStreamConfigRange>;
    type Stream = FakeStream;

    fn description(&self) -> Result<DeviceDescription, Error> {
        Ok(DeviceDescriptionBuilder::new(self.name()).build())
    }

    fn id(&self) -> Result<DeviceId, Error> {
        Err(Error::new(ErrorKind::UnsupportedOperation))
    }

    fn supported_input_configs(&self) -> Result<Self::SupportedInputConfigs, Error> {
        Ok(self.is_input().then(|| self.range()).into_iter())
    }

    fn supported_output_configs(&self) -> Result<Self::SupportedOutputConfigs, Error> {
        Ok((!self.is_input()).then(|| self.range()).into_iter())
    }

    fn default_input_config(&self) -> Result<SupportedStreamConfig, Error> {
        let range = self.range();
        let rate = range.max_sample_rate();
        self.is_input()
            .then(|| range.with_sample_rate(rate))
            .ok_or(Error::new(ErrorKind::UnsupportedConfig))
    }

    fn default_output_config(&self) -> Result<SupportedStreamConfig, Error> {
        let range = self.range();
        let rate = range.max_sample_rate();
        (!self.is_input())
            .then(|| range.with_sample_rate(rate))
            .ok_or(Error::new(ErrorKind::UnsupportedConfig))
    }

    fn build_input_stream_raw<D, E>(
        &self,
        _: StreamConfig,
        _: SampleFormat,
        mut data_callback: D,
        _: E,
        _: Option<Duration>,
    ) -> Result<FakeStream, Error>
    where
        D: FnMut(&Data, &InputCallbackInfo) + Send + 'static,
        E: FnMut(Error) + Send + 'static,
    {
        if !self.is_input() {
            return Err(Error::new(ErrorKind::UnsupportedConfig));
        }
        let mut buffer = vec![0f32; PERIOD];
        let mut n: u64 = 0;
        Ok(FakeStream::paced(move |elapsed| {
            for s in buffer.iter_mut() {
                *s = (n as f32 * 440.0 * std::f32::consts::TAU / RATE as f32).sin() * AMPLITUDE;
                n += 1;
            }
            #[allow(unsafe_code)]
            // SAFETY: `buffer` holds `PERIOD` f32 samples and outlives `data`, which is only lent
            // to the callback for this call.
            let data = unsafe {
                Data::from_parts(buffer.as_mut_ptr().cast(), buffer.len(), SampleFormat::F32)
            };
            let at = instant(elapsed);
            let timestamp = InputStreamTimestamp {
                callback: at,
                capture: at,
            };
            data_callback(&data, &InputCallbackInfo::new(timestamp));
        }))
    }

    fn build_output_stream_raw<D, E>(
        &self,
        config: StreamConfig,
        format: SampleFormat,
        mut data_callback: D,
        mut error_callback: E,
        _: Option<Duration>,
    ) -> Result<FakeStream, Error>
    where
        D: FnMut(&mut Data, &OutputCallbackInfo) + Send + 'static,
        E: FnMut(Error) + Send + 'static,
    {
        // The real code must ask for the speaker's own mode.
        if self.is_input()
            || (config.sample_rate, config.channels, format) != (SPEAKER_RATE, 2, SampleFormat::I16)
        {
            return Err(Error::new(ErrorKind::UnsupportedConfig));
        }
        let mut buffer = vec![0i16; SPEAKER_PERIOD * 2];
        let mut periods_left = (*self == FakeDevice::DyingSpeaker).then_some(DYING_AFTER);
        // Only the healthy speaker records, so tests of the two can run side by side.
        let records = *self == FakeDevice::Speaker;
        Ok(FakeStream::paced(move |elapsed| {
            match periods_left.as_mut() {
                Some(0) => return,
                Some(1) => {
                    periods_left = Some(0);
                    error_callback(Error::new(ErrorKind::DeviceNotAvailable));
                    return;
                }
                Some(n) => *n -= 1,
                None => {}
            }
            #[allow(unsafe_code)]
            // SAFETY: `buffer` holds `SPEAKER_PERIOD * 2` i16 samples and outlives `data`, which
            // is only lent to the callback for this call.
            let mut data = unsafe {
                Data::from_parts(buffer.as_mut_ptr().cast(), buffer.len(), SampleFormat::I16)
            };
            let timestamp = OutputStreamTimestamp {
                callback: instant(elapsed),
                playback: instant(elapsed + SPEAKER_LATENCY),
            };
            data_callback(&mut data, &OutputCallbackInfo::new(timestamp));
            if records {
                PLAYED
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&buffer);
            }
        }))
    }
}

/// A running fake stream: a thread calling back once per [`TICK`] while playing.
pub struct FakeStream {
    exit: Arc<AtomicBool>,
    playing: Arc<AtomicBool>,
    start: Instant,
    thread: Option<JoinHandle<()>>,
}

impl FakeStream {
    fn paced(mut period: impl FnMut(Duration) + Send + 'static) -> FakeStream {
        let exit = Arc::new(AtomicBool::new(false));
        let playing = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let (e, p) = (Arc::clone(&exit), Arc::clone(&playing));
        let thread = std::thread::spawn(move || {
            let mut periods = 0u32;
            while !e.load(Ordering::Relaxed) {
                periods += 1;
                if let Some(wait) = (start + TICK * periods).checked_duration_since(Instant::now())
                {
                    std::thread::sleep(wait);
                }
                if p.load(Ordering::Relaxed) {
                    period(start.elapsed());
                }
            }
        });
        FakeStream {
            exit,
            playing,
            start,
            thread: Some(thread),
        }
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
