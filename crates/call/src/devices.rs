//! Opening what a call captures from, and the local preview.
//!
//! Opening a camera or microphone blocks (device probing, up to a few seconds), so callers run
//! these on a blocking thread.

use crate::config::{AudioInput, MediaSettings, TONE_HZ, VideoInput};
use quartet_media::source::{DEFAULT_SCREEN_FPS, DeviceKind, SourceError};
use quartet_media::{
    AudioSource, CameraSource, FileAudioSource, FileVideoSource, Interrupter, Microphone,
    PictureInPicture, ScreenSource, SyntheticTone, SyntheticVideo, VideoFrame, VideoSource,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;

/// The latest picture we send (`None` while there is none), for the self tile.
pub type FrameSlot = watch::Receiver<Option<Arc<VideoFrame>>>;

/// Opens `input`; `Ok(None)` for [`VideoInput::None`].
pub fn open_video(
    input: &VideoInput,
    media: &MediaSettings,
) -> Result<Option<Box<dyn VideoSource>>, SourceError> {
    Ok(match input {
        VideoInput::Camera(id) => {
            Some(Box::new(CameraSource::open(id.as_deref(), media.camera())?))
        }
        VideoInput::Synthetic { name } => Some(Box::new(SyntheticVideo::new(
            name,
            media.width,
            media.height,
            media.fps,
        )?)),
        VideoInput::File(path) => Some(Box::new(FileVideoSource::open(path)?)),
        VideoInput::Screen(screen) => Some(Box::new(ScreenSource::open(
            screen.as_deref(),
            DEFAULT_SCREEN_FPS.min(media.fps),
        )?)),
        VideoInput::ScreenWithCorner { screen, corner } => {
            let screen = Box::new(ScreenSource::open(
                screen.as_deref(),
                DEFAULT_SCREEN_FPS.min(media.fps),
            )?);
            match open_video(corner, media)? {
                Some(camera) => Some(Box::new(PictureInPicture::new(screen, camera)?)),
                None => Some(screen),
            }
        }
        VideoInput::None => None,
    })
}

/// Opens `input`; `Ok(None)` for [`AudioInput::None`].
pub fn open_audio(input: &AudioInput) -> Result<Option<Box<dyn AudioSource>>, SourceError> {
    Ok(match input {
        AudioInput::Microphone(name) => Some(Box::new(Microphone::open(name.as_deref())?)),
        AudioInput::Tone => Some(Box::new(SyntheticTone::new(TONE_HZ))),
        AudioInput::File(path) => Some(Box::new(FileAudioSource::open(path)?)),
        AudioInput::None => None,
    })
}

/// The kind of device an error is about (files and synthetic sources count as the device
/// they stand in for).
pub fn error_kind(error: &SourceError, fallback: DeviceKind) -> DeviceKind {
    match error {
        SourceError::NoDevice(kind)
        | SourceError::NotFound { kind, .. }
        | SourceError::Unavailable { kind, .. }
        | SourceError::Failed { kind, .. } => *kind,
        _ => fallback,
    }
}

/// A video source that also puts each picture it delivers into a preview slot, while
/// `showing` is set.
pub struct Previewed {
    inner: Box<dyn VideoSource>,
    slot: watch::Sender<Option<Arc<VideoFrame>>>,
    showing: Arc<AtomicBool>,
}

impl Previewed {
    /// Wraps `inner`, publishing its pictures to `slot` while `showing` is set. Whoever clears
    /// `showing` then empties `slot`.
    pub fn new(
        inner: Box<dyn VideoSource>,
        slot: watch::Sender<Option<Arc<VideoFrame>>>,
        showing: Arc<AtomicBool>,
    ) -> Previewed {
        Previewed {
            inner,
            slot,
            showing,
        }
    }
}

impl VideoSource for Previewed {
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        let frame = self.inner.next_frame()?;
        if let Some(f) = frame
            .as_ref()
            .filter(|_| self.showing.load(Ordering::SeqCst))
        {
            self.slot.send_replace(Some(Arc::new(f.clone())));
            // Hidden meanwhile: the hider may have emptied the slot before we filled it.
            if !self.showing.load(Ordering::SeqCst) {
                self.slot.send_replace(None);
            }
        }
        Ok(frame)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn interrupter(&self) -> Option<Interrupter> {
        self.inner.interrupter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_inputs_open_and_preview() {
        let media = MediaSettings {
            width: 160,
            height: 90,
            fps: 30,
            ..MediaSettings::default()
        };
        let video = open_video(&VideoInput::Synthetic { name: "x".into() }, &media)
            .unwrap()
            .unwrap();
        let (tx, rx) = watch::channel(None);
        let showing = Arc::new(AtomicBool::new(true));
        let mut p = Previewed::new(video, tx, Arc::clone(&showing));
        assert!(p.describe().contains("\"x\""));
        let mut next = || loop {
            if let Some(f) = p.next_frame().unwrap() {
                break f;
            }
        };
        let frame = next();
        let shown = rx.borrow().clone().unwrap();
        assert_eq!(*shown, frame);
        showing.store(false, Ordering::SeqCst);
        let hidden = next();
        assert_ne!(hidden, frame, "the source keeps delivering");
        assert_eq!(
            *rx.borrow().clone().unwrap(),
            frame,
            "the preview stays as it was"
        );
        assert!(open_video(&VideoInput::None, &media).unwrap().is_none());
        assert!(open_audio(&AudioInput::None).unwrap().is_none());
        assert!(open_audio(&AudioInput::Tone).unwrap().is_some());
    }

    #[test]
    fn missing_devices_are_typed_errors() {
        let media = MediaSettings::default();
        let Err(e) = open_video(&VideoInput::Camera(Some("/dev/video9".into())), &media) else {
            panic!("a camera that is not there opened");
        };
        assert_eq!(error_kind(&e, DeviceKind::Speaker), DeviceKind::Camera);
        let Err(e) = open_audio(&AudioInput::Microphone(Some("no such microphone".into()))) else {
            panic!("a microphone that is not there opened");
        };
        assert_eq!(error_kind(&e, DeviceKind::Speaker), DeviceKind::Microphone);
        let Err(e) = open_video(&VideoInput::File("/nonexistent.mp4".into()), &media) else {
            panic!("a missing file opened");
        };
        assert_eq!(error_kind(&e, DeviceKind::Camera), DeviceKind::Camera);
    }
}
