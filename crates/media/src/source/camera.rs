//! Cameras through FFmpeg's input devices: v4l2 on Linux, dshow on Windows, avfoundation on
//! macOS.

use super::{DeviceKind, Interrupter, SourceError, VideoSource};
use crate::convert::Scaler;
use crate::ffi;
use crate::frame::{VideoFrame, even, unix_micros};
use ffmpeg_next::format::context::Input;
use ffmpeg_next::util::error::EAGAIN;
use ffmpeg_next::{Dictionary, Error, Packet, codec, decoder, frame, media};

/// FFmpeg's camera input device on this platform.
#[cfg(target_os = "windows")]
pub const CAMERA_DEVICE_FORMAT: &str = "dshow";
/// FFmpeg's camera input device on this platform.
#[cfg(target_os = "macos")]
pub const CAMERA_DEVICE_FORMAT: &str = "avfoundation";
/// FFmpeg's camera input device on this platform.
#[cfg(not(any(target_os = "windows", target_os = "macos")))]
pub const CAMERA_DEVICE_FORMAT: &str = "v4l2";

/// A camera the system offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    /// What to pass to [`CameraSource::open`] (a device path, name or index).
    pub id: String,
    /// A human name for menus.
    pub name: String,
}

/// What to ask the camera for; it may deliver something close instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CameraSettings {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

impl Default for CameraSettings {
    fn default() -> Self {
        CameraSettings {
            width: 640,
            height: 360,
            fps: 15,
        }
    }
}

/// The URL FFmpeg's device expects for a camera id.
fn device_url(id: &str) -> String {
    if cfg!(target_os = "windows") {
        format!("video={id}")
    } else {
        id.to_owned()
    }
}

/// The cameras on this machine; empty when there are none.
pub fn list_cameras() -> Result<Vec<CameraInfo>, SourceError> {
    crate::init();
    match ffi::list_input_sources(CAMERA_DEVICE_FORMAT) {
        Ok(list) => Ok(list
            .into_iter()
            .map(|(id, description)| CameraInfo {
                name: if description.is_empty() {
                    id.clone()
                } else {
                    description
                },
                id,
            })
            .collect()),
        // FFmpeg built without this input device: no camera can be used.
        Err(Error::DemuxerNotFound) => Ok(Vec::new()),
        // avfoundation cannot enumerate through this API; its default camera is index 0 and
        // opening it tells whether there is one.
        Err(_) if cfg!(target_os = "macos") => Ok(vec![CameraInfo {
            id: "0".to_owned(),
            name: "Default camera".to_owned(),
        }]),
        Err(e) => Err(SourceError::Failed {
            kind: DeviceKind::Camera,
            reason: format!("cannot list cameras: {e}"),
        }),
    }
}

/// A live camera, decoded to I420 at the size it delivers.
pub struct CameraSource {
    name: String,
    input: Input,
    stream: usize,
    decoder: decoder::Video,
    scaler: Scaler,
    decoded: frame::Video,
    interrupter: Interrupter,
}

impl CameraSource {
    /// Opens camera `id` (or the first camera when `None`) with the wanted settings.
    ///
    /// Fails with [`SourceError::NoDevice`] when the machine has no camera, so a call can go on
    /// with audio only.
    pub fn open(id: Option<&str>, settings: CameraSettings) -> Result<CameraSource, SourceError> {
        crate::init();
        let cameras = list_cameras()?;
        let id = match id {
            Some(id) => {
                if !cameras.is_empty() && !cameras.iter().any(|c| c.id == id || c.name == id) {
                    return Err(SourceError::NotFound {
                        kind: DeviceKind::Camera,
                        name: id.to_owned(),
                    });
                }
                cameras
                    .iter()
                    .find(|c| c.name == id)
                    .map_or_else(|| id.to_owned(), |c| c.id.clone())
            }
            None => match cameras.first() {
                Some(c) => c.id.clone(),
                None => return Err(SourceError::NoDevice(DeviceKind::Camera)),
            },
        };
        let unavailable = |reason: String| SourceError::Unavailable {
            kind: DeviceKind::Camera,
            name: id.clone(),
            reason,
        };
        let mut options = Dictionary::new();
        options.set(
            "video_size",
            &format!("{}x{}", settings.width, settings.height),
        );
        options.set("framerate", &settings.fps.to_string());
        let interrupter = Interrupter::new();
        let input = ffi::open_input(
            &device_url(&id),
            Some(CAMERA_DEVICE_FORMAT),
            options,
            interrupter.checker(),
            true,
        )
        .map_err(|e| unavailable(e.to_string()))?;
        let stream = input
            .streams()
            .best(media::Type::Video)
            .ok_or_else(|| unavailable("no video stream".to_owned()))?;
        let index = stream.index();
        let decoder = codec::Context::from_parameters(stream.parameters())
            .and_then(|c| c.decoder().video())
            .map_err(|e| unavailable(format!("no decoder: {e}")))?;
        Ok(CameraSource {
            name: id,
            input,
            stream: index,
            decoder,
            scaler: Scaler::default(),
            decoded: frame::Video::empty(),
            interrupter,
        })
    }

    fn failed(e: Error) -> SourceError {
        match e {
            Error::Exit => SourceError::Interrupted,
            e => SourceError::Failed {
                kind: DeviceKind::Camera,
                reason: e.to_string(),
            },
        }
    }
}

impl VideoSource for CameraSource {
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        loop {
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {
                    let (w, h) = (even(self.decoded.width()), even(self.decoded.height()));
                    let mut f = self.scaler.frame_at(&self.decoded, w, h)?;
                    f.capture_us = Some(unix_micros());
                    return Ok(Some(f));
                }
                Err(Error::Other { errno: EAGAIN }) => {}
                Err(e) => return Err(Self::failed(e)),
            }
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.stream => {
                    self.decoder.send_packet(&packet).map_err(Self::failed)?;
                }
                Ok(()) => {}
                // Non-blocking devices report "nothing yet".
                Err(Error::Other { errno: EAGAIN }) => return Ok(None),
                Err(e) => return Err(Self::failed(e)),
            }
        }
    }

    fn describe(&self) -> String {
        format!("camera {}", self.name)
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(self.interrupter.clone())
    }
}
