//! Devices that follow the machine: the cameras, microphones and speakers are listed again every
//! [`DEVICE_POLL`] on a thread of their own, so a device plugged in, removed, or made the
//! system's default is noticed within a second or two, before joining and during a call. What
//! to do about a device in use that disappeared is [`fallback_for`]: the system default, said
//! out loud.

use crate::config::{AudioInput, AudioOutputChoice, VideoInput};
use quartet_media::source::DeviceKind;
use quartet_media::{AudioDeviceInfo, CameraInfo};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::watch;

/// How often the devices are listed again. Listing is cheap (a directory on Linux, the audio
/// host's list), and a second is what a person notices as "at once".
pub const DEVICE_POLL: Duration = Duration::from_secs(1);

/// Every device the machine offers, as last listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceList {
    /// Cameras.
    pub cameras: Vec<CameraInfo>,
    /// Microphones.
    pub microphones: Vec<AudioDeviceInfo>,
    /// Speakers.
    pub speakers: Vec<AudioDeviceInfo>,
}

impl DeviceList {
    /// The devices of this machine now (blocking: seconds at worst); a kind that cannot be
    /// listed is empty, and says why in the log.
    pub fn of_this_machine() -> DeviceList {
        DeviceList {
            cameras: quartet_media::list_cameras()
                .inspect_err(|e| tracing::warn!("cannot list cameras: {e}"))
                .unwrap_or_default(),
            microphones: quartet_media::list_microphones()
                .inspect_err(|e| tracing::warn!("cannot list microphones: {e}"))
                .unwrap_or_default(),
            speakers: quartet_media::audio_out::list_speakers()
                .inspect_err(|e| tracing::warn!("cannot list speakers: {e}"))
                .unwrap_or_default(),
        }
    }

    fn default_of(list: &[AudioDeviceInfo]) -> Option<&str> {
        list.iter().find(|d| d.is_default).map(|d| d.name.as_str())
    }
}

/// A device in use that is gone, and what is used instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFallback {
    /// Which kind of device.
    pub kind: DeviceKind,
    /// The one that went away.
    pub lost: String,
    /// What to use now: the system's default.
    pub now: FallbackInput,
}

/// The input or output to switch to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FallbackInput {
    /// A camera.
    Video(VideoInput),
    /// A microphone.
    Audio(AudioInput),
    /// A speaker.
    Output(AudioOutputChoice),
}

/// What a call uses now, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InUse {
    /// The camera's id, when a named one is in use.
    pub camera: Option<String>,
    /// The microphone's name, when a named one is in use.
    pub microphone: Option<String>,
    /// The speaker's name, when a named one is in use.
    pub speaker: Option<String>,
}

/// The devices in `used` that `now` no longer lists, each with the system default to use
/// instead. Inputs that follow the default already (no name) never need one: the system moves
/// them itself.
pub fn fallback_for(used: &InUse, now: &DeviceList) -> Vec<DeviceFallback> {
    let mut out = Vec::new();
    if let Some(id) = &used.camera
        && !now.cameras.iter().any(|c| &c.id == id || &c.name == id)
    {
        out.push(DeviceFallback {
            kind: DeviceKind::Camera,
            lost: id.clone(),
            now: FallbackInput::Video(VideoInput::Camera(None)),
        });
    }
    if let Some(name) = &used.microphone
        && !now.microphones.iter().any(|m| &m.name == name)
    {
        out.push(DeviceFallback {
            kind: DeviceKind::Microphone,
            lost: name.clone(),
            now: FallbackInput::Audio(AudioInput::Microphone(None)),
        });
    }
    if let Some(name) = &used.speaker
        && !now.speakers.iter().any(|s| &s.name == name)
    {
        out.push(DeviceFallback {
            kind: DeviceKind::Speaker,
            lost: name.clone(),
            now: FallbackInput::Output(AudioOutputChoice::Default),
        });
    }
    out
}

/// Whether the system's default microphone or speaker changed between two lists.
pub fn defaults_changed(before: &DeviceList, now: &DeviceList) -> Vec<DeviceKind> {
    let mut out = Vec::new();
    if DeviceList::default_of(&before.microphones) != DeviceList::default_of(&now.microphones) {
        out.push(DeviceKind::Microphone);
    }
    if DeviceList::default_of(&before.speakers) != DeviceList::default_of(&now.speakers) {
        out.push(DeviceKind::Speaker);
    }
    out
}

/// Lists the devices again and again on a thread named `device-watch`, publishing each list
/// that differs from the last; stopped and joined when dropped.
pub struct DeviceWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    lists: watch::Receiver<DeviceList>,
}

impl DeviceWatch {
    /// Starts listing with `list` every `every`.
    pub fn start(
        mut list: impl FnMut() -> DeviceList + Send + 'static,
        every: Duration,
    ) -> std::io::Result<DeviceWatch> {
        let (tx, lists) = watch::channel(list());
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("device-watch".to_owned())
            .spawn(move || {
                while !sleep_unless_stopped(&stopped, every) {
                    let now = list();
                    tx.send_if_modified(|last| {
                        let changed = *last != now;
                        if changed {
                            *last = now;
                        }
                        changed
                    });
                }
            })?;
        Ok(DeviceWatch {
            stop,
            thread: Some(thread),
            lists,
        })
    }

    /// The latest list, and every later one that differs.
    pub fn lists(&self) -> watch::Receiver<DeviceList> {
        self.lists.clone()
    }
}

/// Sleeps `total` in short slices; true as soon as `stop` is set.
fn sleep_unless_stopped(stop: &AtomicBool, total: Duration) -> bool {
    const SLICE: Duration = Duration::from_millis(50);
    let mut left = total;
    while !left.is_zero() {
        if stop.load(Ordering::SeqCst) {
            return true;
        }
        let nap = left.min(SLICE);
        std::thread::sleep(nap);
        left -= nap;
    }
    stop.load(Ordering::SeqCst)
}

impl Drop for DeviceWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn mic(name: &str, is_default: bool) -> AudioDeviceInfo {
        AudioDeviceInfo {
            name: name.into(),
            is_default,
        }
    }

    fn list(cams: &[&str], mics: &[(&str, bool)]) -> DeviceList {
        DeviceList {
            cameras: cams
                .iter()
                .map(|c| CameraInfo {
                    id: format!("/dev/{c}"),
                    name: (*c).into(),
                })
                .collect(),
            microphones: mics.iter().map(|(m, d)| mic(m, *d)).collect(),
            speakers: vec![mic("Speakers", true)],
        }
    }

    #[test]
    fn a_device_in_use_that_went_away_falls_back_to_the_default() {
        let used = InUse {
            camera: Some("/dev/usb-cam".into()),
            microphone: Some("Headset".into()),
            speaker: Some("Speakers".into()),
        };
        let now = list(&["built-in"], &[("Built-in mic", true)]);
        let fallbacks = fallback_for(&used, &now);
        assert_eq!(
            fallbacks
                .iter()
                .map(|f| (f.kind, f.lost.as_str()))
                .collect::<Vec<_>>(),
            [
                (DeviceKind::Camera, "/dev/usb-cam"),
                (DeviceKind::Microphone, "Headset")
            ]
        );
        assert_eq!(
            fallbacks[0].now,
            FallbackInput::Video(VideoInput::Camera(None))
        );
        // Following the default already, nothing to do; a present device stays.
        assert!(fallback_for(&InUse::default(), &DeviceList::default()).is_empty());
        let kept = InUse {
            camera: Some("built-in".into()),
            ..InUse::default()
        };
        assert!(fallback_for(&kept, &now).is_empty());
    }

    #[test]
    fn a_new_system_default_is_noticed() {
        let before = list(&[], &[("Built-in mic", true), ("Headset", false)]);
        let after = list(&[], &[("Built-in mic", false), ("Headset", true)]);
        assert_eq!(defaults_changed(&before, &after), [DeviceKind::Microphone]);
        assert!(defaults_changed(&before, &before).is_empty());
    }

    #[test]
    fn the_watch_publishes_a_plugged_in_device_within_a_poll_and_stops_when_dropped() {
        let machine = Arc::new(Mutex::new(list(&["built-in"], &[])));
        let seen = Arc::clone(&machine);
        let watch = DeviceWatch::start(
            move || seen.lock().unwrap().clone(),
            Duration::from_millis(20),
        )
        .unwrap();
        let mut lists = watch.lists();
        assert_eq!(lists.borrow().cameras.len(), 1);
        *machine.lock().unwrap() = list(&["built-in", "usb-cam"], &[]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), lists.changed())
                .await
                .expect("no new list")
                .unwrap();
        });
        assert_eq!(lists.borrow().cameras.len(), 2);
        drop(watch);
        assert!(lists.has_changed().is_err(), "the watch's thread ended");
    }
}
