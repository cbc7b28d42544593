//! Recording the call as we see and hear it: the four-up grid, and the speaker's mix with our own
//! cleaned microphone (silent while muted), into an MP4 file (see [`quartet_media::record`]). Everyone in the room is told, with a text message when
//! it starts and when it stops, as a recording mark every client shows.

use crate::call::{CallError, CallHandle};
use quartet_media::RecordSummary;
use quartet_media::record::{FileRecorder, RecordConfig, RecordSound, RgbaPicture};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// Recorded picture size: the grid at 720p, its four tiles at 640×360 each.
pub const RECORD_WIDTH: u32 = 1280;
/// See [`RECORD_WIDTH`].
pub const RECORD_HEIGHT: u32 = 720;
/// Recorded pictures per second: the calls' own rate.
pub const RECORD_FPS: u32 = 15;
/// Recorded video bitrate, kbit/s: four tiles' worth.
pub const RECORD_VIDEO_KBPS: u32 = 2_000;
/// Recorded audio bitrate, kbit/s.
pub const RECORD_AUDIO_KBPS: u32 = 96;
/// Text sent to the room when a recording starts (after the name).
pub const RECORDING_STARTED: &str = "⏺ is recording this call";
/// Text sent to the room when it stops.
pub const RECORDING_STOPPED: &str = "⏹ stopped recording";

/// The recording under way, shared by a call's handles.
#[derive(Clone, Default)]
pub(crate) struct Slot(Arc<Mutex<Option<FileRecorder>>>);

impl Slot {
    fn lock(&self) -> MutexGuard<'_, Option<FileRecorder>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The room's text announcing a recording by `name`.
pub fn started_text(name: &str) -> String {
    format!("{name} {RECORDING_STARTED}")
}

/// The room's text when `name` stops recording.
pub fn stopped_text(name: &str) -> String {
    format!("{name} {RECORDING_STOPPED}")
}

impl CallHandle {
    /// Starts writing the call as we see and hear it to `path` (an MP4 that must not exist) and
    /// tells the room. Recording again while recording is refused.
    pub async fn start_recording(&self, path: PathBuf) -> Result<(), CallError> {
        if self.is_recording() {
            return Err(CallError::InvalidConfig("already recording".into()));
        }
        // Every picture of every tile is recorded, so every one is decoded.
        let mut grid = self.grid_view().watching();
        let pictures = Box::new(move || {
            let image = grid.picture(RECORD_WIDTH, RECORD_HEIGHT);
            Some(RgbaPicture {
                width: image.width(),
                height: image.height(),
                data: image.into_raw(),
            })
        });
        let config = RecordConfig {
            path,
            width: RECORD_WIDTH,
            height: RECORD_HEIGHT,
            fps: RECORD_FPS,
            video_kbps: RECORD_VIDEO_KBPS,
            audio_kbps: RECORD_AUDIO_KBPS,
        };
        let sound = RecordSound {
            heard: Some(self.mixer().tap()),
            own: Some(self.own_sound().tap()),
        };
        let recorder =
            tokio::task::spawn_blocking(move || FileRecorder::start(config, pictures, sound))
                .await
                .map_err(|e| CallError::Task(e.to_string()))?
                .map_err(|e| CallError::InvalidConfig(e.to_string()))?;
        *self.recording.lock() = Some(recorder);
        self.announce(started_text(&self.own_name())).await;
        Ok(())
    }

    /// Finishes the recording, tells the room and says what the file holds; `None` when
    /// nothing was being recorded.
    pub async fn stop_recording(&self) -> Result<Option<RecordSummary>, CallError> {
        let Some(recorder) = self.recording.lock().take() else {
            return Ok(None);
        };
        let summary = tokio::task::spawn_blocking(move || recorder.stop())
            .await
            .map_err(|e| CallError::Task(e.to_string()))?
            .map_err(|e| CallError::InvalidConfig(e.to_string()))?;
        self.announce(stopped_text(&self.own_name())).await;
        Ok(Some(summary))
    }

    /// Whether a recording is under way.
    pub fn is_recording(&self) -> bool {
        self.recording.lock().is_some()
    }

    /// Tells the room; a room without text messages (a v1 server) still gets its recording.
    async fn announce(&self, text: String) {
        if let Err(e) = self.send_text(text).await {
            tracing::info!(error = %e, "could not tell the room about the recording");
        }
    }
}
