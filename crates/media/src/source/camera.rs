//! Cameras through FFmpeg's input devices: v4l2 on Linux, dshow on Windows, avfoundation on
//! macOS.
//!
//! A camera the system's privacy settings keep from us fails to open like a busy one: FFmpeg's
//! dshow and avfoundation devices return a plain `EIO` for both (dshow logs "Could not run
//! graph" whether `IMediaControl::Run` met `E_ACCESSDENIED` or another app holding the
//! camera). So a failed open is only called [`SourceError::PermissionDenied`] when the system
//! itself says camera access is off ([`camera_access`]) or the open failed with `EACCES`/`EPERM`
//! (a device node we may not read).

use super::device::DeviceVideo;
use super::{DeviceKind, Interrupter, SourceError, VideoSource};
use crate::ffi;
use crate::frame::{VideoFrame, even};
use ffmpeg_next::util::error::{EACCES, EIO, EPERM};
use ffmpeg_next::{Dictionary, Error};

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
    // FFmpeg's avfoundation cannot list its devices through the device API; AVFoundation can,
    // and its names are what avfoundation opens a camera by.
    #[cfg(target_os = "macos")]
    return Ok(crate::ffi::camera_authorization::cameras()
        .into_iter()
        .map(|name| CameraInfo {
            id: name.clone(),
            name,
        })
        .collect());
    #[cfg(not(target_os = "macos"))]
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
        Err(e) => Err(SourceError::Failed {
            kind: DeviceKind::Camera,
            reason: format!("cannot list cameras: {e}"),
        }),
    }
}

/// Whether the system lets this app use cameras, as far as it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraAccess {
    /// Camera access is on for this app.
    Allowed,
    /// A privacy setting (or the person, when asked) keeps cameras from this app.
    Denied,
    /// The system does not say (Linux; a setting that cannot be read; not asked yet).
    Unknown,
}

/// What the system says about this app using cameras: the camera privacy settings on Windows
/// (device-wide, for the user's apps, for desktop apps), the camera authorization on macOS;
/// [`CameraAccess::Unknown`] elsewhere. Never prompts.
pub fn camera_access() -> CameraAccess {
    system::access()
}

/// What the system says before a camera is opened: on macOS it asks the person first when they
/// have not decided yet (the system's own prompt, waited for at most [`CAMERA_PROMPT_TIMEOUT`]);
/// elsewhere [`CameraAccess::Unknown`], the open itself being the test.
fn prepare_camera_access() -> CameraAccess {
    system::prepare()
}

/// Why a camera is refused when the system says camera access is off.
const PRIVACY_OFF: &str = "camera access is turned off in the system's privacy settings";

/// How long opening a camera waits for the person to answer the system's camera prompt.
pub const CAMERA_PROMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The error for camera `name` failing to open with FFmpeg's `error`, given what the system
/// says about camera access.
///
/// Conservative: `EIO` (dshow's and avfoundation's answer to every failure, a refusal included)
/// is a permission problem only when the system reports camera access as denied; `EACCES` and
/// `EPERM` always are. Everything else stays [`SourceError::Unavailable`].
pub fn classify_open_error(name: &str, error: Error, access: CameraAccess) -> SourceError {
    let refused = match error {
        Error::Other { errno } if errno == EACCES || errno == EPERM => true,
        Error::Other { errno: EIO } => access == CameraAccess::Denied,
        _ => false,
    };
    if refused {
        let reason = if access == CameraAccess::Denied {
            format!("{PRIVACY_OFF} ({error})")
        } else {
            error.to_string()
        };
        SourceError::PermissionDenied {
            kind: DeviceKind::Camera,
            name: name.to_owned(),
            reason,
        }
    } else {
        SourceError::Unavailable {
            kind: DeviceKind::Camera,
            name: name.to_owned(),
            reason: error.to_string(),
        }
    }
}

/// Reads Windows' camera privacy switches from the consent store: `Value` is `Allow` or `Deny`.
#[cfg(target_os = "windows")]
mod system {
    use super::CameraAccess;
    use winreg::RegKey;
    use winreg::enums::{HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE};

    /// Where Windows keeps the camera switches (the same path under both hives).
    const WEBCAM_STORE: &str =
        r"Software\Microsoft\Windows\CurrentVersion\CapabilityAccessManager\ConsentStore\webcam";
    /// The switch for desktop (unpackaged) apps like this one, under the user's store.
    const DESKTOP_APPS: &str = "NonPackaged";

    fn read(hive: winreg::HKEY, path: &str) -> Option<String> {
        RegKey::predef(hive)
            .open_subkey(path)
            .and_then(|key| key.get_value::<String, _>("Value"))
            .ok()
    }

    pub(super) fn access() -> CameraAccess {
        let desktop = format!(r"{WEBCAM_STORE}\{DESKTOP_APPS}");
        let switches = [
            read(HKEY_LOCAL_MACHINE, WEBCAM_STORE),
            read(HKEY_CURRENT_USER, WEBCAM_STORE),
            read(HKEY_CURRENT_USER, &desktop),
        ];
        super::access_from_switches(switches.iter().map(Option::as_deref))
    }

    /// The switches are read after a failed open only: a stale value never blocks a camera
    /// that works.
    pub(super) fn prepare() -> CameraAccess {
        CameraAccess::Unknown
    }
}

/// Asks AVFoundation, which also shows the system's camera prompt the first time.
#[cfg(target_os = "macos")]
mod system {
    use super::{CAMERA_PROMPT_TIMEOUT, CameraAccess};
    use crate::ffi::camera_authorization as auth;

    pub(super) fn access() -> CameraAccess {
        super::access_from_authorization(auth::status())
    }

    pub(super) fn prepare() -> CameraAccess {
        match access() {
            CameraAccess::Unknown => match auth::request(CAMERA_PROMPT_TIMEOUT) {
                Some(true) => CameraAccess::Allowed,
                Some(false) => CameraAccess::Denied,
                None => CameraAccess::Unknown,
            },
            known => known,
        }
    }
}

/// Linux has no camera privacy switch; device-node permissions show up as `EACCES`.
#[cfg(not(any(target_os = "windows", target_os = "macos")))]
mod system {
    use super::CameraAccess;

    pub(super) fn access() -> CameraAccess {
        CameraAccess::Unknown
    }

    pub(super) fn prepare() -> CameraAccess {
        CameraAccess::Unknown
    }
}

/// Folds Windows' camera switches (device, user's apps, desktop apps; `None` where unset or
/// unreadable) into one answer: any `Deny` keeps the camera from us.
#[cfg_attr(not(target_os = "windows"), allow(dead_code))]
fn access_from_switches<'a>(switches: impl IntoIterator<Item = Option<&'a str>>) -> CameraAccess {
    let mut access = CameraAccess::Unknown;
    for value in switches.into_iter().flatten() {
        if value.eq_ignore_ascii_case("deny") {
            return CameraAccess::Denied;
        }
        if value.eq_ignore_ascii_case("allow") {
            access = CameraAccess::Allowed;
        }
    }
    access
}

/// AVFoundation's `AVAuthorizationStatus`: 0 not determined, 1 restricted (parental or device
/// management), 2 denied, 3 authorized.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
fn access_from_authorization(status: isize) -> CameraAccess {
    match status {
        1 | 2 => CameraAccess::Denied,
        3 => CameraAccess::Allowed,
        _ => CameraAccess::Unknown,
    }
}

/// A live camera, decoded to I420 at the size it delivers.
pub struct CameraSource {
    name: String,
    device: DeviceVideo,
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
        // Where the system can say so before we try (macOS, which also asks the person the
        // first time), a refusal needs no open attempt.
        if prepare_camera_access() == CameraAccess::Denied {
            return Err(SourceError::PermissionDenied {
                kind: DeviceKind::Camera,
                name: id.clone(),
                reason: PRIVACY_OFF.to_owned(),
            });
        }
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
        .map_err(|e| classify_open_error(&id, e, camera_access()))?;
        let device = DeviceVideo::new(DeviceKind::Camera, input, unavailable)?;
        Ok(CameraSource {
            name: id,
            device,
            interrupter,
        })
    }
}

impl VideoSource for CameraSource {
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        self.device.next_frame(|w, h| (even(w), even(h)))
    }

    fn describe(&self) -> String {
        format!("camera {}", self.name)
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(self.interrupter.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_denied(e: &SourceError) -> bool {
        matches!(
            e,
            SourceError::PermissionDenied {
                kind: DeviceKind::Camera,
                ..
            }
        )
    }

    #[test]
    fn a_plain_io_error_is_a_refusal_only_when_the_system_says_so() {
        let eio = || Error::Other { errno: EIO };
        let denied = classify_open_error("Integrated Camera", eio(), CameraAccess::Denied);
        assert!(is_denied(&denied), "{denied:?}");
        assert!(denied.to_string().contains("privacy settings"), "{denied}");
        assert!(denied.to_string().contains("Integrated Camera"), "{denied}");
        // dshow's "Could not run graph" is just as often another app holding the camera.
        for access in [CameraAccess::Allowed, CameraAccess::Unknown] {
            let e = classify_open_error("Integrated Camera", eio(), access);
            assert!(
                matches!(e, SourceError::Unavailable { ref name, .. } if name == "Integrated Camera"),
                "{access:?}: {e:?}"
            );
        }
    }

    #[test]
    fn access_errors_are_refusals_whatever_the_settings() {
        for errno in [EACCES, EPERM] {
            for access in [
                CameraAccess::Allowed,
                CameraAccess::Denied,
                CameraAccess::Unknown,
            ] {
                let e = classify_open_error("/dev/video0", Error::Other { errno }, access);
                assert!(is_denied(&e), "{errno} {access:?}: {e:?}");
            }
        }
    }

    #[test]
    fn other_failures_stay_unavailable_even_when_access_is_off() {
        for error in [
            Error::Other {
                errno: ffmpeg_next::util::error::ENOENT,
            },
            Error::Other {
                errno: ffmpeg_next::util::error::EBUSY,
            },
            Error::InvalidData,
            Error::DemuxerNotFound,
        ] {
            let e = classify_open_error("cam", error, CameraAccess::Denied);
            assert!(matches!(e, SourceError::Unavailable { .. }), "{e:?}");
        }
    }

    #[test]
    fn any_windows_switch_set_to_deny_keeps_the_camera_away() {
        let fold = |v: [Option<&str>; 3]| access_from_switches(v);
        assert_eq!(
            fold([Some("Allow"), Some("Allow"), Some("Allow")]),
            CameraAccess::Allowed
        );
        assert_eq!(
            fold([Some("Deny"), Some("Allow"), Some("Allow")]),
            CameraAccess::Denied
        );
        assert_eq!(
            fold([Some("Allow"), Some("Allow"), Some("Deny")]),
            CameraAccess::Denied
        );
        assert_eq!(fold([None, Some("deny"), None]), CameraAccess::Denied);
        assert_eq!(fold([None, None, Some("Allow")]), CameraAccess::Allowed);
        assert_eq!(fold([None, None, None]), CameraAccess::Unknown);
        assert_eq!(fold([Some("Prompt"), None, None]), CameraAccess::Unknown);
    }

    #[test]
    fn macos_authorization_maps_to_access() {
        assert_eq!(access_from_authorization(0), CameraAccess::Unknown);
        assert_eq!(access_from_authorization(1), CameraAccess::Denied);
        assert_eq!(access_from_authorization(2), CameraAccess::Denied);
        assert_eq!(access_from_authorization(3), CameraAccess::Allowed);
        assert_eq!(access_from_authorization(42), CameraAccess::Unknown);
    }
}
