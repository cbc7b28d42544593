//! The machine's cameras, microphones and speakers, followed while the app runs: the page's
//! lists change within a second or two of a device being plugged in or removed, and a call
//! whose camera or microphone went away goes on with the system default, and says so.

use crate::commands::AppState;
use crate::error::AppError;
use quartet_call::{DEVICE_POLL, DeviceList, DeviceWatch};
use serde::Serialize;
use std::sync::Mutex;
use tauri::{AppHandle, Emitter, Manager, State};
#[cfg(test)]
use ts_rs::TS;

/// Event carrying the new lists to the page.
pub const DEVICES_EVENT: &str = "devices-changed";
/// Event saying a device in use went away and the default took its place.
pub const FELL_BACK_EVENT: &str = "device-fell-back";

/// A camera the page offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "Camera"))]
pub struct CameraDto {
    /// What to ask for.
    pub id: String,
    /// What to show.
    pub name: String,
}

/// A microphone or speaker the page offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "AudioDevice"))]
#[serde(rename_all = "camelCase")]
pub struct AudioDeviceDto {
    /// Its name.
    pub name: String,
    /// The system's default.
    pub is_default: bool,
}

/// The devices on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
pub struct Devices {
    /// Cameras.
    pub cameras: Vec<CameraDto>,
    /// Microphones.
    pub microphones: Vec<AudioDeviceDto>,
    /// Speakers.
    pub speakers: Vec<AudioDeviceDto>,
}

impl From<&DeviceList> for Devices {
    fn from(list: &DeviceList) -> Self {
        let audio = |l: &[quartet_call::AudioDeviceInfo]| {
            l.iter()
                .map(|d| AudioDeviceDto {
                    name: d.name.clone(),
                    is_default: d.is_default,
                })
                .collect()
        };
        Devices {
            cameras: list
                .cameras
                .iter()
                .map(|c| CameraDto {
                    id: c.id.clone(),
                    name: c.name.clone(),
                })
                .collect(),
            microphones: audio(&list.microphones),
            speakers: audio(&list.speakers),
        }
    }
}

/// A device in use that went away, as the page says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "DeviceFellBack"))]
pub struct FellBackDto {
    /// `camera`, `microphone` or `speaker`.
    #[cfg_attr(test, ts(type = "\"camera\" | \"microphone\" | \"speaker\""))]
    pub kind: String,
    /// The device that went away.
    pub lost: String,
}

/// The watch over this machine's devices, started with the app.
#[derive(Default)]
pub struct DeviceService(Mutex<Option<DeviceWatch>>);

impl DeviceService {
    /// Starts following the devices: the page hears of each change, and a call of each device
    /// it used that is gone.
    pub fn start(&self, app: &AppHandle) {
        let watch = match DeviceWatch::start(DeviceList::of_this_machine, DEVICE_POLL) {
            Ok(w) => w,
            Err(e) => {
                log::warn!("cannot follow the devices: {e}");
                return;
            }
        };
        let mut lists = watch.lists();
        *self.lock() = Some(watch);
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            while lists.changed().await.is_ok() {
                let list = lists.borrow_and_update().clone();
                changed(&app, &list).await;
            }
        });
    }

    /// The latest lists, when the watch runs.
    pub fn latest(&self) -> Option<DeviceList> {
        self.lock().as_ref().map(|w| w.lists().borrow().clone())
    }

    /// Stops following (its thread is joined).
    pub fn stop(&self) {
        let watch = self.lock().take();
        drop(watch);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<DeviceWatch>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn changed(app: &AppHandle, list: &DeviceList) {
    log::info!(
        "devices changed: {} cameras, {} microphones, {} speakers",
        list.cameras.len(),
        list.microphones.len(),
        list.speakers.len()
    );
    if let Err(e) = app.emit(DEVICES_EVENT, Devices::from(list)) {
        log::warn!("cannot tell the page about the devices: {e}");
    }
    let Ok(call) = app.state::<AppState>().call.current().await else {
        return;
    };
    for f in call.follow_devices(list).await {
        log::info!("{} {:?} went away; using the default", f.kind, f.lost);
        let dto = FellBackDto {
            kind: f.kind.to_string(),
            lost: f.lost,
        };
        if let Err(e) = app.emit(FELL_BACK_EVENT, dto) {
            log::warn!("cannot tell the page about a lost device: {e}");
        }
    }
}

/// Lists cameras, microphones and speakers (an empty list where a kind cannot be listed).
#[tauri::command]
pub async fn list_devices(state: State<'_, AppState>) -> Result<Devices, AppError> {
    if let Some(list) = state.devices.latest() {
        return Ok(Devices::from(&list));
    }
    tokio::task::spawn_blocking(|| Devices::from(&DeviceList::of_this_machine()))
        .await
        .map_err(|e| AppError::Device(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_gets_every_device_by_the_names_it_shows() {
        let list = DeviceList {
            cameras: vec![quartet_call::CameraInfo {
                id: "/dev/video0".into(),
                name: "USB camera".into(),
            }],
            microphones: vec![quartet_call::AudioDeviceInfo {
                name: "Headset".into(),
                is_default: true,
            }],
            speakers: Vec::new(),
        };
        let json = serde_json::to_value(Devices::from(&list)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "cameras": [{"id": "/dev/video0", "name": "USB camera"}],
                "microphones": [{"name": "Headset", "isDefault": true}],
                "speakers": []
            })
        );
    }
}
