//! A room in software for echo tests: a far-end talker that speaks once when told, and a
//! microphone that hears what the local speaker plays (through a room's impulse response) plus a
//! near-end talker, logging each part of what it captured.

use quartet_media::{AUDIO_SAMPLE_RATE, AudioChunk, AudioSource, MixTap, SourceError, unix_micros};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every source here delivers 10 ms chunks, paced like a sound card.
pub const CHUNK: usize = AUDIO_SAMPLE_RATE as usize / 100;
const CHUNK_TIME: Duration = Duration::from_millis(10);
/// Echo above this mean energy per sample counts as the far end being heard (−60 dBFS).
const HEARD: f64 = 1e-6;
/// The far end must have been heard this long before the near end speaks, so the canceller has
/// something to converge on and the test has far-end-only time to measure.
const FAR_HEARD_FIRST: Duration = Duration::from_secs(5);
/// Quiet this long after the far end means its echo has died away (the room's tail is shorter).
const FAR_QUIET: Duration = Duration::from_secs(1);
/// Played sound queued ahead of the microphone beyond this is dropped (bounded memory).
const MAX_PENDING: usize = AUDIO_SAMPLE_RATE as usize;

/// Sleeps until chunk `sent_chunks` is due; sources here never block longer than a chunk.
fn pace(start: Instant, sent_chunks: u32) {
    let due = start + CHUNK_TIME * sent_chunks;
    if let Some(wait) = due.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
}

/// When the first sample of a chunk that has just been completed was captured.
fn chunk_start_us() -> i64 {
    unix_micros() - CHUNK_TIME.as_micros() as i64
}

/// A far-end talker: silence until [`Talker::go`] is set, then its speech once, then silence.
pub struct Talker {
    speech: Vec<f32>,
    go: Arc<AtomicBool>,
    at: usize,
    start: Option<Instant>,
    chunks: u32,
}

impl Talker {
    /// A talker who will say `speech`; the flag starts it.
    pub fn new(speech: Vec<f32>) -> (Talker, Arc<AtomicBool>) {
        let go = Arc::new(AtomicBool::new(false));
        let talker = Talker {
            speech,
            go: Arc::clone(&go),
            at: 0,
            start: None,
            chunks: 0,
        };
        (talker, go)
    }
}

impl AudioSource for Talker {
    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, SourceError> {
        let start = *self.start.get_or_insert_with(Instant::now);
        self.chunks += 1;
        pace(start, self.chunks);
        let mut samples = vec![0.0; CHUNK];
        if self.go.load(Ordering::SeqCst) {
            let end = (self.at + CHUNK).min(self.speech.len());
            samples[..end - self.at].copy_from_slice(&self.speech[self.at..end]);
            self.at = end;
        }
        Ok(Some(AudioChunk {
            samples,
            capture_us: chunk_start_us(),
        }))
    }

    fn describe(&self) -> String {
        "far-end talker".to_owned()
    }
}

/// What the room microphone captured, part by part, sample by sample.
#[derive(Debug, Default)]
pub struct Captured {
    /// The speaker's sound as the microphone heard it.
    pub echo: Vec<f32>,
    /// The near-end talker.
    pub near: Vec<f32>,
    /// The near-end talker has finished.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    /// Waiting for the far end to have been heard for [`FAR_HEARD_FIRST`].
    Listening {
        heard: Duration,
    },
    /// The far end has been heard enough; waiting for it to stop.
    FarEnding {
        quiet: Duration,
    },
    /// The near end is talking, at this sample of its speech.
    Talking {
        at: usize,
    },
    Done,
}

/// A microphone in a room: it hears the local speaker (every block a [`MixTap`] gets) through
/// a sparse impulse response, and a near-end talker who speaks once the far end has spoken
/// and gone quiet — so there is far-end-only time and near-end-only time to measure.
pub struct RoomMic {
    played: MixTap,
    pending: VecDeque<f32>,
    /// (delay in samples, gain)
    room: Vec<(usize, f32)>,
    history: VecDeque<f32>,
    near: Vec<f32>,
    stage: Stage,
    log: Arc<Mutex<Captured>>,
    start: Option<Instant>,
    chunks: u32,
}

impl RoomMic {
    /// A microphone hearing `played` through `room`, with `near` to say; returns the log.
    pub fn new(
        played: MixTap,
        room: Vec<(usize, f32)>,
        near: Vec<f32>,
    ) -> (RoomMic, Arc<Mutex<Captured>>) {
        let log = Arc::new(Mutex::new(Captured::default()));
        let longest = room.iter().map(|t| t.0).max().unwrap_or(0) + 1;
        let mic = RoomMic {
            played,
            pending: VecDeque::new(),
            room,
            history: VecDeque::from(vec![0.0; longest]),
            near,
            stage: Stage::Listening {
                heard: Duration::ZERO,
            },
            log: Arc::clone(&log),
            start: None,
            chunks: 0,
        };
        (mic, log)
    }

    /// The next 10 ms of the speaker's sound as heard in the room.
    fn echo(&mut self) -> Vec<f32> {
        for block in self.played.drain() {
            self.pending.extend(block.samples);
        }
        while self.pending.len() > MAX_PENDING {
            self.pending.pop_front();
        }
        (0..CHUNK)
            .map(|_| {
                self.history.pop_front();
                self.history
                    .push_back(self.pending.pop_front().unwrap_or(0.0));
                let newest = self.history.len() - 1;
                self.room
                    .iter()
                    .map(|&(delay, gain)| self.history[newest - delay] * gain)
                    .sum()
            })
            .collect()
    }

    /// The next 10 ms of the near-end talker, moving through the stages.
    fn near(&mut self, echo_energy: f64) -> Vec<f32> {
        let mut out = vec![0.0; CHUNK];
        self.stage = match self.stage {
            Stage::Listening { heard } if heard >= FAR_HEARD_FIRST => Stage::FarEnding {
                quiet: Duration::ZERO,
            },
            Stage::Listening { heard } if echo_energy > HEARD => Stage::Listening {
                heard: heard + CHUNK_TIME,
            },
            Stage::FarEnding { quiet } if quiet >= FAR_QUIET => Stage::Talking { at: 0 },
            Stage::FarEnding { quiet } if echo_energy <= HEARD => Stage::FarEnding {
                quiet: quiet + CHUNK_TIME,
            },
            Stage::FarEnding { .. } => Stage::FarEnding {
                quiet: Duration::ZERO,
            },
            Stage::Talking { at } if at >= self.near.len() => Stage::Done,
            Stage::Talking { at } => {
                let end = (at + CHUNK).min(self.near.len());
                out[..end - at].copy_from_slice(&self.near[at..end]);
                Stage::Talking { at: end }
            }
            other => other,
        };
        out
    }
}

impl AudioSource for RoomMic {
    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, SourceError> {
        let start = *self.start.get_or_insert_with(Instant::now);
        self.chunks += 1;
        pace(start, self.chunks);
        let echo = self.echo();
        let energy = echo.iter().map(|&x| f64::from(x * x)).sum::<f64>() / CHUNK as f64;
        let near = self.near(energy);
        let samples = echo.iter().zip(&near).map(|(e, n)| e + n).collect();
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.echo.extend_from_slice(&echo);
        log.near.extend_from_slice(&near);
        log.done = self.stage == Stage::Done;
        Ok(Some(AudioChunk {
            samples,
            capture_us: chunk_start_us(),
        }))
    }

    fn describe(&self) -> String {
        "room microphone".to_owned()
    }
}
