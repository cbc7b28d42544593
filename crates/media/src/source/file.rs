//! Media files as sources, looped forever and paced in real time.

use super::{AudioSource, Interrupter, SourceError, VideoSource, pace_until};
use crate::convert::{Scaler, to_mono_48k};
use crate::ffi;
use crate::frame::{AUDIO_SAMPLE_RATE, AudioChunk, VideoFrame, even, unix_micros};
use ffmpeg_next::format::Sample;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::software::resampling;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{Dictionary, Error, Frame, Packet, codec, decoder, frame, media};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Frame duration assumed when a file does not say (25 fps).
const DEFAULT_FRAME_DURATION: Duration = Duration::from_millis(40);

/// Demuxes and decodes one stream of a file, starting over at the end.
struct LoopingDecoder {
    path: PathBuf,
    input: Input,
    stream: usize,
    time_base: f64,
    decoder: decoder::Opened,
    eof_sent: bool,
    interrupter: Interrupter,
    /// Seconds of media played in earlier loops.
    loop_offset: f64,
    /// The end of the last decoded frame in this loop, in seconds.
    loop_end: f64,
}

impl LoopingDecoder {
    fn open(path: &Path, kind: media::Type) -> Result<LoopingDecoder, SourceError> {
        crate::init();
        let bad = |reason: String| SourceError::File {
            path: path.display().to_string(),
            reason,
        };
        let interrupter = Interrupter::new();
        let url = path
            .to_str()
            .ok_or_else(|| bad("path is not UTF-8".to_owned()))?;
        let input = ffi::open_input(url, None, Dictionary::new(), interrupter.checker(), true)
            .map_err(|e| bad(e.to_string()))?;
        let stream = input
            .streams()
            .best(kind)
            .ok_or_else(|| bad(format!("no {kind:?} stream")))?;
        let index = stream.index();
        let time_base = f64::from(stream.time_base());
        let decoder = codec::Context::from_parameters(stream.parameters())
            .and_then(|c| {
                let id = c.id();
                c.decoder().open_as(ffmpeg_next::decoder::find(id))
            })
            .map_err(|e| bad(format!("no decoder: {e}")))?;
        Ok(LoopingDecoder {
            path: path.to_owned(),
            input,
            stream: index,
            time_base,
            decoder,
            eof_sent: false,
            interrupter,
            loop_offset: 0.0,
            loop_end: 0.0,
        })
    }

    fn error(&self, e: Error) -> SourceError {
        match e {
            Error::Exit => SourceError::Interrupted,
            e => SourceError::File {
                path: self.path.display().to_string(),
                reason: e.to_string(),
            },
        }
    }

    /// Decodes the next frame into `frame`, rewinding at the end of the file.
    fn next(&mut self, frame: &mut Frame) -> Result<(), SourceError> {
        let mut rewinds = 0;
        loop {
            match self.decoder.receive_frame(frame) {
                Ok(()) => return Ok(()),
                Err(Error::Other { errno: EAGAIN }) => {}
                Err(Error::Eof) => {
                    // A file with nothing decodable would otherwise spin forever.
                    rewinds += 1;
                    if rewinds > 1 {
                        return Err(self.error(Error::InvalidData));
                    }
                    self.input.seek(0, ..).map_err(|e| self.error(e))?;
                    self.decoder.flush();
                    self.eof_sent = false;
                    self.loop_offset += self.loop_end;
                    self.loop_end = 0.0;
                    continue;
                }
                Err(e) => return Err(self.error(e)),
            }
            if self.eof_sent {
                continue;
            }
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.stream => {
                    self.decoder
                        .send_packet(&packet)
                        .map_err(|e| self.error(e))?;
                }
                Ok(()) => {}
                Err(Error::Eof) => {
                    self.decoder.send_eof().map_err(|e| self.error(e))?;
                    self.eof_sent = true;
                }
                Err(e) => return Err(self.error(e)),
            }
        }
    }

    /// Where `pts` lies on the endless timeline of all loops, in seconds.
    fn timeline(&mut self, pts: Option<i64>, duration: f64) -> f64 {
        let t = pts.map_or(self.loop_end, |p| p as f64 * self.time_base);
        self.loop_end = self.loop_end.max(t + duration);
        self.loop_offset + t
    }
}

/// A video file, looped and paced by its timestamps.
pub struct FileVideoSource {
    inner: LoopingDecoder,
    decoded: frame::Video,
    scaler: Scaler,
    start: Option<Instant>,
    frame_duration: f64,
}

impl FileVideoSource {
    /// Opens the first video stream of `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<FileVideoSource, SourceError> {
        let inner = LoopingDecoder::open(path.as_ref(), media::Type::Video)?;
        let rate = inner
            .input
            .stream(inner.stream)
            .map(|s| f64::from(s.avg_frame_rate()))
            .unwrap_or(0.0);
        let frame_duration = if rate > 0.0 {
            1.0 / rate
        } else {
            DEFAULT_FRAME_DURATION.as_secs_f64()
        };
        Ok(FileVideoSource {
            inner,
            decoded: frame::Video::empty(),
            scaler: Scaler::default(),
            start: None,
            frame_duration,
        })
    }
}

impl VideoSource for FileVideoSource {
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        self.inner.next(&mut self.decoded)?;
        let at = self.inner.timeline(self.decoded.pts(), self.frame_duration);
        let start = *self.start.get_or_insert_with(Instant::now);
        let due = start + Duration::from_secs_f64(at.max(0.0));
        while !pace_until(due) {
            if self.inner.interrupter.is_interrupted() {
                return Err(SourceError::Interrupted);
            }
        }
        let (w, h) = (even(self.decoded.width()), even(self.decoded.height()));
        let mut f = self.scaler.frame_at(&self.decoded, w, h)?;
        f.capture_us = Some(unix_micros());
        Ok(Some(f))
    }

    fn describe(&self) -> String {
        format!("video file {}", self.inner.path.display())
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(self.inner.interrupter.clone())
    }
}

/// An audio file, looped, converted to mono at [`AUDIO_SAMPLE_RATE`] and paced in real time.
pub struct FileAudioSource {
    inner: LoopingDecoder,
    decoded: frame::Audio,
    resampler: Option<(resampling::Context, (Sample, u64, u32))>,
    start: Option<Instant>,
    sent: u64,
}

impl FileAudioSource {
    /// Opens the first audio stream of `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<FileAudioSource, SourceError> {
        Ok(FileAudioSource {
            inner: LoopingDecoder::open(path.as_ref(), media::Type::Audio)?,
            decoded: frame::Audio::empty(),
            resampler: None,
            start: None,
            sent: 0,
        })
    }
}

impl AudioSource for FileAudioSource {
    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, SourceError> {
        let start = *self.start.get_or_insert_with(Instant::now);
        let due =
            start + Duration::from_micros(self.sent * 1_000_000 / u64::from(AUDIO_SAMPLE_RATE));
        if !pace_until(due) {
            return Ok(None);
        }
        self.inner.next(&mut self.decoded)?;
        let samples = to_mono_48k(&mut self.resampler, &self.decoded)?;
        self.sent += samples.len() as u64;
        Ok(Some(AudioChunk {
            samples,
            capture_us: unix_micros(),
        }))
    }

    fn describe(&self) -> String {
        format!("audio file {}", self.inner.path.display())
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(self.inner.interrupter.clone())
    }
}
