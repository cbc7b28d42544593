//! The pre-join check: the chosen camera's picture and the chosen microphone's level, before
//! anything is sent. Sources are the call's own (`quartet_call::devices`), read on named
//! threads that are interrupted and joined when the preview stops.

use crate::error::AppError;
use quartet_call::SourceError;
use quartet_call::devices::{error_kind, open_audio, open_video};
use quartet_call::{AudioInput, DeviceKind, MediaSettings, VideoInput};
use quartet_call::{AudioSource, Interrupter, VideoFrame, VideoSource};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use tokio::sync::{Mutex, watch};
#[cfg(test)]
use ts_rs::TS;

/// Why a device of the preview could not be used, for the page to explain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
pub struct DeviceProblem {
    /// `camera`, `microphone` or `speaker`.
    #[cfg_attr(test, ts(type = "\"camera\" | \"microphone\" | \"speaker\""))]
    pub device: &'static str,
    /// `noDevice`, `notFound`, `permissionDenied`, `unavailable` or `failed`.
    #[cfg_attr(
        test,
        ts(
            type = "\"noDevice\" | \"notFound\" | \"permissionDenied\" | \"unavailable\" | \"failed\""
        )
    )]
    pub reason: &'static str,
    /// The system's words.
    pub message: String,
}

impl DeviceProblem {
    /// Describes `error` about a device of kind `fallback` (or the kind the error names).
    pub fn new(error: &SourceError, fallback: DeviceKind) -> DeviceProblem {
        DeviceProblem {
            device: device_word(error_kind(error, fallback)),
            reason: match error {
                SourceError::NoDevice(_) => "noDevice",
                SourceError::NotFound { .. } => "notFound",
                SourceError::PermissionDenied { .. } => "permissionDenied",
                SourceError::Unavailable { .. } => "unavailable",
                _ => "failed",
            },
            message: error.to_string(),
        }
    }
}

/// The word the page uses for a kind of device.
pub fn device_word(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Camera => "camera",
        DeviceKind::Microphone => "microphone",
        DeviceKind::Speaker => "speaker",
        DeviceKind::Screen => "screen",
    }
}

/// What the preview could open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
pub struct PreviewStatus {
    /// Problems with the camera or microphone (empty when both work or none was asked for).
    pub problems: Vec<DeviceProblem>,
    /// Whether pictures are coming.
    pub has_video: bool,
    /// Whether sound is coming.
    pub has_audio: bool,
}

struct Running {
    stop: Arc<AtomicBool>,
    interrupters: Vec<Interrupter>,
    threads: Vec<JoinHandle<()>>,
}

impl Running {
    fn shutdown(self) {
        self.stop.store(true, Ordering::SeqCst);
        for i in &self.interrupters {
            i.interrupt();
        }
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// The preview: at most one at a time.
pub struct PreviewService {
    running: Mutex<Option<Running>>,
    frames: watch::Sender<Option<Arc<VideoFrame>>>,
    level: Arc<AtomicU32>,
}

impl Default for PreviewService {
    fn default() -> Self {
        PreviewService {
            running: Mutex::new(None),
            frames: watch::Sender::new(None),
            level: Arc::new(AtomicU32::new(0)),
        }
    }
}

impl PreviewService {
    /// Shows `video` and measures `audio`, replacing what was previewed.
    pub async fn start(
        &self,
        video: VideoInput,
        audio: AudioInput,
        media: MediaSettings,
    ) -> Result<PreviewStatus, AppError> {
        let mut running = self.running.lock().await;
        if let Some(old) = running.take() {
            join_blocking(old).await;
        }
        self.frames.send_replace(None);
        self.level.store(0, Ordering::Relaxed);
        let opened =
            tokio::task::spawn_blocking(move || (open_video(&video, &media), open_audio(&audio)))
                .await
                .map_err(|e| AppError::Media(e.to_string()))?;
        let mut status = PreviewStatus::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut next = Running {
            stop: Arc::clone(&stop),
            interrupters: Vec::new(),
            threads: Vec::new(),
        };
        let (video, audio) = opened;
        if let Err(e) = self.spawn_readers(video, audio, &stop, &mut next, &mut status) {
            // Whatever did start is stopped and joined before reporting.
            join_blocking(next).await;
            return Err(e);
        }
        *running = Some(next);
        Ok(status)
    }

    fn spawn_readers(
        &self,
        video: Result<Option<Box<dyn VideoSource>>, SourceError>,
        audio: Result<Option<Box<dyn AudioSource>>, SourceError>,
        stop: &Arc<AtomicBool>,
        next: &mut Running,
        status: &mut PreviewStatus,
    ) -> Result<(), AppError> {
        match video {
            Ok(Some(source)) => {
                status.has_video = true;
                next.interrupters.extend(source.interrupter());
                let (stop, tx) = (Arc::clone(stop), self.frames.clone());
                next.threads.push(
                    std::thread::Builder::new()
                        .name("app-preview-video".into())
                        .spawn(move || read_video(source, &stop, &tx))?,
                );
            }
            Ok(None) => {}
            Err(e) => status
                .problems
                .push(DeviceProblem::new(&e, DeviceKind::Camera)),
        }
        match audio {
            Ok(Some(source)) => {
                status.has_audio = true;
                next.interrupters.extend(source.interrupter());
                let (stop, level) = (Arc::clone(stop), Arc::clone(&self.level));
                next.threads.push(
                    std::thread::Builder::new()
                        .name("app-preview-audio".into())
                        .spawn(move || read_audio(source, &stop, &level))?,
                );
            }
            Ok(None) => {}
            Err(e) => status
                .problems
                .push(DeviceProblem::new(&e, DeviceKind::Microphone)),
        }
        Ok(())
    }

    /// Stops previewing and releases the devices (before a call opens them).
    pub async fn stop(&self) {
        if let Some(old) = self.running.lock().await.take() {
            join_blocking(old).await;
        }
        self.frames.send_replace(None);
        self.level.store(0, Ordering::Relaxed);
    }

    /// The previewed pictures.
    pub fn frames(&self) -> watch::Receiver<Option<Arc<VideoFrame>>> {
        self.frames.subscribe()
    }

    /// The microphone's latest RMS level, 0.0 for silence.
    pub fn level(&self) -> f32 {
        f32::from_bits(self.level.load(Ordering::Relaxed))
    }
}

async fn join_blocking(running: Running) {
    let _ = tokio::task::spawn_blocking(move || running.shutdown()).await;
}

fn read_video(
    mut source: Box<dyn VideoSource>,
    stop: &AtomicBool,
    frames: &watch::Sender<Option<Arc<VideoFrame>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        match source.next_frame() {
            Ok(Some(frame)) => {
                frames.send_replace(Some(Arc::new(frame)));
            }
            Ok(None) => {}
            Err(SourceError::Interrupted) => break,
            Err(e) => {
                log::warn!("preview camera stopped: {e}");
                break;
            }
        }
    }
}

fn read_audio(mut source: Box<dyn AudioSource>, stop: &AtomicBool, level: &AtomicU32) {
    while !stop.load(Ordering::SeqCst) {
        match source.next_chunk() {
            Ok(Some(chunk)) => level.store(chunk.rms().to_bits(), Ordering::Relaxed),
            Ok(None) => {}
            Err(SourceError::Interrupted) => break,
            Err(e) => {
                log::warn!("preview microphone stopped: {e}");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn small() -> MediaSettings {
        MediaSettings {
            width: 160,
            height: 90,
            ..MediaSettings::default()
        }
    }

    #[tokio::test]
    async fn previews_synthetic_sources_and_stops() {
        let preview = PreviewService::default();
        let mut frames = preview.frames();
        let status = preview
            .start(
                VideoInput::Synthetic { name: "Ann".into() },
                AudioInput::Tone,
                small(),
            )
            .await
            .unwrap();
        assert!(status.has_video && status.has_audio);
        assert!(status.problems.is_empty());
        let frame = tokio::time::timeout(Duration::from_secs(10), frames.wait_for(Option::is_some))
            .await
            .unwrap()
            .unwrap()
            .clone()
            .unwrap();
        assert_eq!((frame.width(), frame.height()), (160, 90));
        tokio::time::timeout(Duration::from_secs(10), async {
            while preview.level() == 0.0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap();
        preview.stop().await;
        assert!(frames.borrow().is_none());
        assert_eq!(preview.level(), 0.0);
    }

    #[tokio::test]
    async fn a_missing_camera_is_a_problem_not_a_failure() {
        let preview = PreviewService::default();
        let status = preview
            .start(
                VideoInput::Camera(Some("/dev/quartet-no-such-camera".into())),
                AudioInput::None,
                small(),
            )
            .await
            .unwrap();
        assert!(!status.has_video && !status.has_audio);
        assert_eq!(status.problems.len(), 1);
        assert_eq!(status.problems[0].device, "camera");
        preview.stop().await;
    }
}
