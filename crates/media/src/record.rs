//! Recording what a member sees and hears into an MP4 file: pictures pulled from a source at a
//! steady rate (the call's grid), sound from a tap on the speaker's mix and one on our own
//! cleaned microphone, mixed on one clock ([`mix`]), H.264 and AAC as the publisher encodes them.
//!
//! The file is fragmented MP4 (an empty `moov`, then a fragment per keyframe): a recording cut
//! short by a crash or a full disk still plays up to its last fragment, where a plain MP4 without
//! its index plays nothing. Pictures are timed by the clock since the start, and so is sound: a
//! block of the speaker's mix at when it is heard, a block of our microphone at when it was
//! spoken, so what we said in answer lands after what we answered. Where neither has sound (no
//! speaker, nobody talking yet) the track holds silence, so sound and pictures stay together.

pub mod mix;

use crate::convert::Scaler;
use crate::ffi;
use crate::frame::AUDIO_SAMPLE_RATE;
use crate::mixer::{MixTap, PlayedBlock};
use crate::publish::{PublisherConfig, VideoContent, open_aac_encoder, open_video_encoder};
use crate::signal::StopSignal;
use ffmpeg_next::format::{Pixel, Sample, sample};
use ffmpeg_next::{ChannelLayout, Dictionary, Packet, Rational, codec, encoder, frame};
use mix::{Track, mix_voices};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Sound is written this far behind the clock, so blocks of both voices (the mix arrives in
/// device periods, tens of milliseconds apart) are in before their time is written; what
/// arrives later still is lost, and silence stands in for it.
pub const RECORD_AUDIO_SLACK: Duration = Duration::from_millis(200);
/// Keyframes, and so fragments, this far apart: what a crash can lose at most.
pub const RECORD_KEYFRAME_INTERVAL: Duration = Duration::from_secs(2);

/// A picture to record: packed RGBA, row after row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbaPicture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes.
    pub data: Vec<u8>,
}

/// Where the recorded sound comes from.
#[derive(Debug, Default)]
pub struct RecordSound {
    /// What we hear: a tap on the speaker's mix.
    pub heard: Option<MixTap>,
    /// What we say: a tap on our cleaned microphone as sent (silence while muted).
    pub own: Option<MixTap>,
}

/// Where pictures come from: called once per recorded frame; `None` repeats nothing (the frame
/// is skipped).
pub type PictureSource = Box<dyn FnMut() -> Option<RgbaPicture> + Send>;

/// What to record and how.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordConfig {
    /// The MP4 file to write (it must not exist).
    pub path: PathBuf,
    /// Recorded width (even).
    pub width: u32,
    /// Recorded height (even).
    pub height: u32,
    /// Pictures per second.
    pub fps: u32,
    /// Video bitrate, kbit/s.
    pub video_kbps: u32,
    /// Audio bitrate, kbit/s.
    pub audio_kbps: u32,
}

/// Why a recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be written.
    #[error("cannot record to {path}: {reason}")]
    Output {
        /// The file.
        path: PathBuf,
        /// FFmpeg's or the system's reason.
        reason: String,
    },
    /// An encoder failed.
    #[error("recording failed while {0}")]
    Encoding(String),
    /// The recording thread could not start or ended abnormally.
    #[error("the recording thread failed: {0}")]
    Thread(String),
}

/// What a finished recording holds.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSummary {
    /// The file.
    pub path: PathBuf,
    /// Pictures written.
    pub frames: u64,
    /// Seconds of sound written.
    pub audio_seconds: f64,
}

/// A recording under way; [`FileRecorder::stop`] finishes the file.
pub struct FileRecorder {
    stop: StopSignal,
    /// Interrupts the file's writes: only when the recorder is dropped unfinished, since a
    /// stop must still write what is buffered and the index.
    abort: StopSignal,
    thread: Option<JoinHandle<Result<RecordSummary, RecordError>>>,
}

impl FileRecorder {
    /// Starts recording pictures from `pictures` and sound from `sound` into `config.path`.
    pub fn start(
        config: RecordConfig,
        pictures: PictureSource,
        sound: RecordSound,
    ) -> Result<FileRecorder, RecordError> {
        crate::init();
        let (stop, abort) = (StopSignal::new(), StopSignal::new());
        let mut writer = Writer::open(&config, &abort)?;
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("media-record".into())
            .spawn(move || writer.run(pictures, sound, &signal))
            .map_err(|e| RecordError::Thread(e.to_string()))?;
        Ok(FileRecorder {
            stop,
            abort,
            thread: Some(thread),
        })
    }

    /// Stops, finishes the file and says what it holds.
    pub fn stop(mut self) -> Result<RecordSummary, RecordError> {
        self.stop.stop();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(RecordError::Thread("panicked".into())),
            None => Err(RecordError::Thread("already stopped".into())),
        }
    }
}

impl Drop for FileRecorder {
    fn drop(&mut self) {
        self.stop.stop();
        if self.thread.is_some() {
            self.abort.stop();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Writer {
    config: RecordConfig,
    output: ffi::InterruptibleOutput,
    video: encoder::Video,
    audio: encoder::Audio,
    video_tb: Rational,
    audio_tb: Rational,
    scaler: Scaler,
    samples: Vec<f32>,
    audio_pts: i64,
    /// Position up to which the voices were mixed into `samples`.
    mixed: i64,
    heard: Track,
    own: Track,
    frames: u64,
}

impl Writer {
    fn open(config: &RecordConfig, abort: &StopSignal) -> Result<Writer, RecordError> {
        let failed = |reason: String| RecordError::Output {
            path: config.path.clone(),
            reason,
        };
        if config.path.exists() {
            return Err(failed("the file exists".into()));
        }
        let encoding = PublisherConfig {
            width: config.width,
            height: config.height,
            fps: config.fps,
            video_kbps: config.video_kbps,
            audio_kbps: config.audio_kbps,
            keyframe_interval: RECORD_KEYFRAME_INTERVAL,
            ..PublisherConfig::new("rtmp://recording.invalid/")
        };
        let path = config.path.to_string_lossy().into_owned();
        let mut output = ffi::open_output(&path, "mp4", Dictionary::new(), abort.checker())
            .map_err(|e| failed(e.to_string()))?;
        let video = open_video_encoder(&encoding, VideoContent::Camera)
            .map_err(|e| failed(format!("H.264: {e}")))?;
        let audio = open_aac_encoder(&encoding).map_err(|e| failed(format!("AAC: {e}")))?;
        let video_index = {
            let mut st = output
                .add_stream(encoder::find_by_name("libx264"))
                .map_err(|e| failed(e.to_string()))?;
            st.set_parameters(&video);
            st.set_time_base(Rational::new(1, 1000));
            st.index()
        };
        let audio_index = {
            let mut st = output
                .add_stream(encoder::find(codec::Id::AAC))
                .map_err(|e| failed(e.to_string()))?;
            st.set_parameters(&audio);
            st.set_time_base(Rational::new(1, AUDIO_SAMPLE_RATE as i32));
            st.index()
        };
        let mut mux = Dictionary::new();
        mux.set("movflags", "frag_keyframe+empty_moov+default_base_moof");
        output
            .write_header_with(mux)
            .map_err(|e| failed(e.to_string()))?;
        let tb = |i: usize| {
            output
                .stream(i)
                .map_or(Rational::new(1, 1000), |s| s.time_base())
        };
        let (video_tb, audio_tb) = (tb(video_index), tb(audio_index));
        Ok(Writer {
            config: config.clone(),
            output,
            video,
            audio,
            video_tb,
            audio_tb,
            scaler: Scaler::default(),
            samples: Vec::new(),
            audio_pts: 0,
            mixed: 0,
            heard: Track::default(),
            own: Track::default(),
            frames: 0,
        })
    }

    fn run(
        &mut self,
        mut pictures: PictureSource,
        sound: RecordSound,
        stop: &StopSignal,
    ) -> Result<RecordSummary, RecordError> {
        let started = Instant::now();
        let drain = |tap: &Option<MixTap>| tap.as_ref().map(MixTap::drain).unwrap_or_default();
        let period = Duration::from_secs(1) / self.config.fps.max(1);
        let mut next = started;
        while !stop.is_stopped() {
            let elapsed = started.elapsed();
            // Pictures are stamped on the frame grid, not when the thread woke: a late wake-up
            // must not put two pictures within one frame's time (players and converters that
            // read the file at its frame rate then see two frames at the same instant).
            if let Some(picture) = pictures() {
                self.picture(&picture, next.duration_since(started))?;
            }
            place(&mut self.heard, drain(&sound.heard), started);
            place(&mut self.own, drain(&sound.own), started);
            let due = samples_at(elapsed.saturating_sub(RECORD_AUDIO_SLACK));
            self.sound(due)?;
            next += period;
            stop.sleep(next.saturating_duration_since(Instant::now()));
        }
        // What is already in is written, up to the later voice's end (the mix runs ahead of
        // the clock by the speaker's latency), and silence up to the clock.
        place(&mut self.heard, drain(&sound.heard), started);
        place(&mut self.own, drain(&sound.own), started);
        let end = [self.heard.end(), self.own.end()]
            .into_iter()
            .flatten()
            .fold(samples_at(started.elapsed()), i64::max);
        self.sound(end.max(self.mixed))?;
        self.finish()
    }

    fn picture(&mut self, p: &RgbaPicture, at: Duration) -> Result<(), RecordError> {
        let mut rgba = frame::Video::new(Pixel::RGBA, p.width, p.height);
        let stride = rgba.stride(0);
        let row = p.width as usize * 4;
        if p.data.len() < row * p.height as usize {
            return Ok(());
        }
        for (y, line) in p.data.chunks_exact(row).take(p.height as usize).enumerate() {
            rgba.data_mut(0)[y * stride..y * stride + row].copy_from_slice(line);
        }
        let mut yuv = self
            .scaler
            .run(&rgba, self.config.width, self.config.height)
            .map_err(|e| RecordError::Encoding(format!("scaling: {e}")))?;
        let pts = i64::try_from(at.as_millis()).unwrap_or(i64::MAX);
        yuv.set_pts(Some(pts));
        self.video
            .send_frame(&yuv)
            .map_err(|e| RecordError::Encoding(format!("encoding video: {e}")))?;
        self.frames += 1;
        self.write_video()
    }

    /// Mixes both voices up to position `due` and encodes every whole AAC frame.
    fn sound(&mut self, due: i64) -> Result<(), RecordError> {
        if due > self.mixed {
            let heard = self.heard.take(self.mixed, due);
            let own = self.own.take(self.mixed, due);
            self.samples.extend(mix_voices(&heard, &own));
            self.mixed = due;
        }
        let n = (self.audio.frame_size() as usize).max(1);
        while self.samples.len() >= n {
            let mut f =
                frame::Audio::new(Sample::F32(sample::Type::Planar), n, ChannelLayout::MONO);
            f.set_rate(AUDIO_SAMPLE_RATE);
            f.plane_mut::<f32>(0).copy_from_slice(&self.samples[..n]);
            self.samples.drain(..n);
            f.set_pts(Some(self.audio_pts));
            self.audio_pts += n as i64;
            self.audio
                .send_frame(&f)
                .map_err(|e| RecordError::Encoding(format!("encoding audio: {e}")))?;
            self.write_audio()?;
        }
        Ok(())
    }

    fn write_video(&mut self) -> Result<(), RecordError> {
        let mut packet = Packet::empty();
        while self.video.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            packet.rescale_ts(Rational::new(1, 1000), self.video_tb);
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| RecordError::Encoding(format!("writing video: {e}")))?;
        }
        Ok(())
    }

    fn write_audio(&mut self) -> Result<(), RecordError> {
        let mut packet = Packet::empty();
        while self.audio.receive_packet(&mut packet).is_ok() {
            packet.set_stream(1);
            packet.rescale_ts(Rational::new(1, AUDIO_SAMPLE_RATE as i32), self.audio_tb);
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| RecordError::Encoding(format!("writing audio: {e}")))?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordSummary, RecordError> {
        let flush = |e: ffmpeg_next::Error| RecordError::Encoding(format!("finishing: {e}"));
        self.video.send_eof().map_err(flush)?;
        self.write_video()?;
        self.audio.send_eof().map_err(flush)?;
        self.write_audio()?;
        self.output.write_trailer().map_err(flush)?;
        Ok(RecordSummary {
            path: self.config.path.clone(),
            frames: self.frames,
            audio_seconds: self.audio_pts as f64 / f64::from(AUDIO_SAMPLE_RATE),
        })
    }
}

/// Samples of the recording's timeline in `d`.
fn samples_at(d: Duration) -> i64 {
    i64::try_from(d.as_micros() * u128::from(AUDIO_SAMPLE_RATE) / 1_000_000).unwrap_or(i64::MAX)
}

/// Places each block on `track` at the time it was heard or spoken, counted from `started`.
fn place(track: &mut Track, blocks: Vec<PlayedBlock>, started: Instant) {
    for block in blocks {
        let at = match block.played_at.checked_duration_since(started) {
            Some(after) => samples_at(after),
            None => -samples_at(started.duration_since(block.played_at)),
        };
        track.place(at, &block.samples);
    }
}
