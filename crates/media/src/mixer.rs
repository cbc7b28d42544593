//! Summing every remote member's sound into one stream for the speaker, and handing a copy of
//! exactly what is played to whoever needs it (the echo canceller's far-end reference, the
//! lip-sync measurement).

use crate::frame::rms;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Most sound held per input; older samples are dropped so delay stays bounded.
pub const MIXER_MAX_QUEUE: Duration = Duration::from_millis(200);
/// Most played sound a [`MixTap`] holds for a reader that has fallen behind; older blocks are
/// dropped.
pub const MIX_TAP_MAX: Duration = Duration::from_secs(1);
/// Sound an input gathers before it starts playing (and again after running dry), to ride out
/// network jitter without crackles.
pub const MIXER_PREBUFFER: Duration = Duration::from_millis(40);
pub(crate) use crate::frame::samples_in as samples;

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
    output_latency: Duration,
}

/// A block of sound as the speaker plays it (or, from [`SoundTaps`] fed by a microphone, as it
/// was spoken).
#[derive(Debug, Clone, PartialEq)]
pub struct PlayedBlock {
    /// Mono samples at [`crate::AUDIO_SAMPLE_RATE`].
    pub samples: Vec<f32>,
    /// When the first sample leaves the speaker: mixing time plus the output's latency (for
    /// a microphone: when it was captured).
    pub played_at: Instant,
}

#[derive(Debug, Default)]
struct TapQueue {
    blocks: VecDeque<PlayedBlock>,
    held: usize,
    dropped: u64,
}

impl TapQueue {
    fn push(&mut self, block: PlayedBlock) {
        self.held += block.samples.len();
        self.blocks.push_back(block);
        while self.held > samples(MIX_TAP_MAX) {
            let Some(old) = self.blocks.pop_front() else {
                break;
            };
            self.held -= old.samples.len();
            self.dropped += old.samples.len() as u64;
        }
    }
}

type TapList = Mutex<Vec<Arc<Mutex<TapQueue>>>>;

/// Hands copies of a stream of sound blocks to any number of [`MixTap`]s. Clones share the
/// taps: a mixer's played sound, or our own cleaned microphone across publisher restarts.
#[derive(Debug, Clone, Default)]
pub struct SoundTaps {
    taps: Arc<TapList>,
}

impl SoundTaps {
    /// No taps yet.
    pub fn new() -> SoundTaps {
        SoundTaps::default()
    }

    /// A new tap on every block pushed from now on.
    pub fn tap(&self) -> MixTap {
        let queue = Arc::new(Mutex::new(TapQueue::default()));
        lock(&self.taps).push(Arc::clone(&queue));
        MixTap {
            queue,
            taps: Arc::downgrade(&self.taps),
        }
    }

    /// Whether any tap would get a pushed block (so a caller can skip copying the samples).
    pub fn is_tapped(&self) -> bool {
        !lock(&self.taps).is_empty()
    }

    /// Gives every tap a copy of `samples`, first heard (or spoken) at `at`.
    pub fn push(&self, samples: &[f32], at: Instant) {
        let taps = lock(&self.taps);
        if taps.is_empty() {
            return;
        }
        let block = PlayedBlock {
            samples: samples.to_vec(),
            played_at: at,
        };
        for t in taps.iter() {
            lock(t).push(block.clone());
        }
    }
}

/// A copy of everything the mixer plays (or a [`SoundTaps`] is given), for a reader on another
/// thread. Removed when dropped.
#[derive(Debug)]
pub struct MixTap {
    queue: Arc<Mutex<TapQueue>>,
    taps: Weak<TapList>,
}

impl MixTap {
    /// The blocks played since the last call, oldest first.
    pub fn drain(&self) -> Vec<PlayedBlock> {
        let mut q = lock(&self.queue);
        q.held = 0;
        q.blocks.drain(..).collect()
    }

    /// Samples dropped because the reader fell more than [`MIX_TAP_MAX`] behind.
    pub fn dropped(&self) -> u64 {
        lock(&self.queue).dropped
    }
}

impl Drop for MixTap {
    fn drop(&mut self) {
        if let Some(taps) = self.taps.upgrade() {
            lock(&taps).retain(|q| !Arc::ptr_eq(q, &self.queue));
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sums the sound of several streams, each through its own bounded queue. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct AudioMixer {
    state: Arc<Mutex<MixerState>>,
    taps: SoundTaps,
}

/// One stream feeding an [`AudioMixer`]; removed from the mix when dropped.
#[derive(Debug)]
pub struct MixerInput {
    queue: Arc<Mutex<Queue>>,
    mixer: Weak<Mutex<MixerState>>,
}

impl MixerInput {
    /// Queues mono samples at [`crate::AUDIO_SAMPLE_RATE`].
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
        self.taps.push(out, Instant::now() + state.output_latency);
    }

    /// A new tap on what this mixer plays.
    pub fn tap(&self) -> MixTap {
        self.taps.tap()
    }

    /// Records how long the output takes from mixing a sample to playing it (its buffer and
    /// the device's own latency), so taps know when their blocks are heard.
    pub fn set_output_latency(&self, latency: Duration) {
        lock(&self.state).output_latency = latency;
    }

    /// The output's latency last recorded with [`AudioMixer::set_output_latency`].
    pub fn output_latency(&self) -> Duration {
        lock(&self.state).output_latency
    }

    /// RMS level of the last mixed block (0.0 for silence).
    pub fn level(&self) -> f32 {
        lock(&self.state).level
    }
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
    fn taps_get_what_is_played_when_it_is_heard() {
        let m = AudioMixer::new();
        let a = m.add_input();
        let tap = m.tap();
        m.set_output_latency(Duration::from_millis(30));
        a.push(&vec![0.5; samples(MIXER_PREBUFFER)]);
        let before = Instant::now();
        let mut out = vec![0.0; 480];
        m.mix(&mut out);
        m.mix(&mut out);
        let blocks = tap.drain();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].samples, vec![0.5; 480]);
        assert!(blocks[0].played_at >= before + Duration::from_millis(30));
        assert!(tap.drain().is_empty());
        let n = samples(MIX_TAP_MAX) / 480 + 3;
        for _ in 0..n {
            m.mix(&mut out);
        }
        assert_eq!(tap.drain().len(), samples(MIX_TAP_MAX) / 480);
        assert_eq!(tap.dropped(), 3 * 480);
        drop(tap);
        assert!(!m.taps.is_tapped());
    }

    #[test]
    fn queues_are_bounded() {
        let m = AudioMixer::new();
        let a = m.add_input();
        a.push(&vec![0.1; samples(MIXER_MAX_QUEUE) + 480]);
        assert_eq!(a.queued(), samples(MIXER_MAX_QUEUE));
        assert_eq!(a.dropped(), 480);
    }
}
