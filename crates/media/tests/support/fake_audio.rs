//! A paced fake microphone behind cpal's `custom` host, so the real capture code runs in tests
//! on machines without a sound card.

use cpal::platform::CustomHost;
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{
    Data, DeviceDescription, DeviceDescriptionBuilder, DeviceId, Error, ErrorKind,
    InputCallbackInfo, InputStreamTimestamp, OutputCallbackInfo, SampleFormat, StreamConfig,
    StreamInstant, SupportedBufferSize, SupportedStreamConfig, SupportedStreamConfigRange,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const RATE: u32 = 48_000;
pub const PERIOD: usize = 480;
pub const AMPLITUDE: f32 = 0.3;

#[derive(Clone)]
struct FakeHost {
    mic: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FakeMic;

impl std::fmt::Display for FakeMic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fake microphone")
    }
}

struct FakeStream {
    exit: Arc<AtomicBool>,
    playing: Arc<AtomicBool>,
    start: Instant,
    thread: Option<JoinHandle<()>>,
}

/// A host with one fake microphone (`mic`), or with no device at all.
pub fn host(mic: bool) -> cpal::Host {
    cpal::Host::from(CustomHost::from_host(FakeHost { mic }))
}

impl HostTrait for FakeHost {
    type Device = FakeMic;
    type Devices = std::vec::IntoIter<FakeMic>;

    fn is_available() -> bool {
        true
    }

    fn devices(&self) -> Result<Self::Devices, Error> {
        Ok(if self.mic { vec![FakeMic] } else { vec![] }.into_iter())
    }

    fn default_input_device(&self) -> Option<FakeMic> {
        self.mic.then_some(FakeMic)
    }

    fn default_output_device(&self) -> Option<FakeMic> {
        None
    }
}

fn range() -> SupportedStreamConfigRange {
    SupportedStreamConfigRange::new(
        1,
        RATE,
        RATE,
        SupportedBufferSize::Range {
            min: PERIOD as u32,
            max: PERIOD as u32,
        },
        SampleFormat::F32,
    )
}

impl DeviceTrait for FakeMic {
    type SupportedInputConfigs = std::iter::Once<SupportedStreamConfigRange>;
    type SupportedOutputConfigs = std::iter::Empty<SupportedStreamConfigRange>;
    type Stream = FakeStream;

    fn description(&self) -> Result<DeviceDescription, Error> {
        Ok(DeviceDescriptionBuilder::new("Fake microphone").build())
    }

    fn id(&self) -> Result<DeviceId, Error> {
        Err(Error::new(ErrorKind::UnsupportedOperation))
    }

    fn supported_input_configs(&self) -> Result<Self::SupportedInputConfigs, Error> {
        Ok(std::iter::once(range()))
    }

    fn supported_output_configs(&self) -> Result<Self::SupportedOutputConfigs, Error> {
        Ok(std::iter::empty())
    }

    fn default_input_config(&self) -> Result<SupportedStreamConfig, Error> {
        Ok(range().with_sample_rate(RATE))
    }

    fn default_output_config(&self) -> Result<SupportedStreamConfig, Error> {
        Err(Error::new(ErrorKind::UnsupportedConfig))
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
        let exit = Arc::new(AtomicBool::new(false));
        let playing = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let (e, p) = (Arc::clone(&exit), Arc::clone(&playing));
        let thread = std::thread::spawn(move || {
            let mut buffer = vec![0f32; PERIOD];
            let mut n: u64 = 0;
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
                for s in buffer.iter_mut() {
                    *s = (n as f32 * 440.0 * std::f32::consts::TAU / RATE as f32).sin() * AMPLITUDE;
                    n += 1;
                }
                #[allow(unsafe_code)]
                // SAFETY: `buffer` holds `PERIOD` f32 samples and outlives `data`, which is
                // only lent to the callback for this call.
                let data = unsafe {
                    Data::from_parts(buffer.as_mut_ptr().cast(), buffer.len(), SampleFormat::F32)
                };
                let t = start.elapsed();
                let instant = StreamInstant::new(t.as_secs(), t.subsec_nanos());
                data_callback(
                    &data,
                    &InputCallbackInfo::new(InputStreamTimestamp {
                        callback: instant,
                        capture: instant,
                    }),
                );
            }
        });
        Ok(FakeStream {
            exit,
            playing,
            start,
            thread: Some(thread),
        })
    }

    fn build_output_stream_raw<D, E>(
        &self,
        _: StreamConfig,
        _: SampleFormat,
        _: D,
        _: E,
        _: Option<Duration>,
    ) -> Result<FakeStream, Error>
    where
        D: FnMut(&mut Data, &OutputCallbackInfo) + Send + 'static,
        E: FnMut(Error) + Send + 'static,
    {
        Err(Error::new(ErrorKind::UnsupportedConfig))
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
        let t = self.start.elapsed();
        StreamInstant::new(t.as_secs(), t.subsec_nanos())
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
