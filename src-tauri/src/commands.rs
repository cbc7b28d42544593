//! The commands the page invokes: each a few lines over a service.

use crate::calls::{
    AudioChoice, AudioProcessingDto, CallInfo, CallService, EventDto, JoinRequest, StatsDto,
    VideoChoice, receive_for, speaker_choice,
};
use crate::diagnostics::{self, DiagnosticsDto};
use crate::error::AppError;
use crate::host::{HostInfo, HostService};
use crate::leaving::{CloseGuard, LeaveModeDto, LeaveOptionsDto};
use crate::lobby::{self, RoomSummary};
use crate::preview::{DeviceProblem, PreviewService, PreviewStatus};
use crate::snapshot;
use crate::video::{Encoding, FeedInput, VideoHub};
use quartet_call::{AudioOutError, unix_micros};
use quartet_call::{CallError, MediaSettings};
use serde::Serialize;
use std::path::PathBuf;
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::{AppHandle, Manager, State};
use tauri_plugin_opener::OpenerExt;
#[cfg(test)]
use ts_rs::TS;

/// Everything the commands share.
#[derive(Default)]
pub struct AppState {
    /// The hosted room server and relay.
    pub host: HostService,
    /// The pre-join preview.
    pub preview: PreviewService,
    /// The current call.
    pub call: CallService,
    /// Pictures to the page.
    pub video: VideoHub,
    /// Holds the window's close while the page asks a host how to leave.
    pub close_guard: CloseGuard,
    /// An invite link the page has not taken yet.
    pub invites: crate::invite::InviteInbox,
    /// The machine's devices, followed.
    pub devices: crate::devices::DeviceService,
}

type Result<T> = std::result::Result<T, AppError>;

/// What the page needs to know at start.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The app's version.
    pub version: String,
    /// The system's locale (BCP 47), if known.
    pub locale: Option<String>,
    /// Where logs are written.
    pub log_dir: Option<String>,
    /// Whether [`open_camera_privacy_settings`] has a page to open on this system.
    pub camera_privacy_settings: bool,
    /// Whether sharing the screen needs the person's permission in the system's settings
    /// (macOS), which `open_screen_privacy_settings` opens.
    pub screen_privacy_settings: bool,
}

/// The system's page where camera access is allowed or denied, where it has one.
pub const CAMERA_PRIVACY_SETTINGS: Option<&str> = if cfg!(target_os = "windows") {
    Some("ms-settings:privacy-webcam")
} else if cfg!(target_os = "macos") {
    Some("x-apple.systempreferences:com.apple.preference.security?Privacy_Camera")
} else {
    None
};

/// The app's version, the system locale and the log folder.
#[tauri::command]
pub fn app_info(app: AppHandle) -> AppInfo {
    AppInfo {
        version: app.package_info().version.to_string(),
        locale: sys_locale::get_locale(),
        log_dir: app
            .path()
            .app_log_dir()
            .ok()
            .map(|p| p.display().to_string()),
        camera_privacy_settings: CAMERA_PRIVACY_SETTINGS.is_some(),
        screen_privacy_settings: crate::screen::SCREEN_PRIVACY_SETTINGS.is_some(),
    }
}

/// Opens the system's camera privacy settings (Windows, macOS), where a camera the system
/// refused us can be allowed.
#[tauri::command]
pub fn open_camera_privacy_settings(app: AppHandle) -> Result<()> {
    open_settings_page(&app, CAMERA_PRIVACY_SETTINGS, "camera privacy settings")
}

/// Opens one of the system's settings pages; `what` names it where this system has none.
pub fn open_settings_page(app: &AppHandle, page: Option<&str>, what: &str) -> Result<()> {
    let page =
        page.ok_or_else(|| AppError::InvalidInput(format!("this system has no {what} to open")))?;
    app.opener()
        .open_url(page, None::<&str>)
        .map_err(|e| AppError::Io(format!("cannot open {page}: {e}")))
}

/// Opens the log folder in the system's file manager.
#[tauri::command]
pub fn open_logs_folder(app: AppHandle) -> Result<()> {
    let dir = app
        .path()
        .app_log_dir()
        .map_err(|e| AppError::Io(e.to_string()))?;
    std::fs::create_dir_all(&dir)?;
    app.opener()
        .open_path(dir.display().to_string(), None::<&str>)
        .map_err(|e| AppError::Io(e.to_string()))
}

/// Shows `path`, a file the app saved (a snapshot, a diagnostics bundle, a recording), in the
/// system's file manager: selected where the desktop can, else its folder opened.
#[tauri::command]
pub fn reveal_saved_file(app: AppHandle, path: String) -> Result<()> {
    let path = std::path::Path::new(&path);
    let snapshots = snapshot_dir(&app)?;
    let (dir, file) = match snapshot::saved_file(&snapshots, path) {
        Ok(file) => (snapshots, file),
        Err(_) => {
            let recordings = crate::recording::recording_dir(&app)?;
            let file = snapshot::saved_file(&recordings, path)?;
            (recordings, file)
        }
    };
    let opener = app.opener();
    opener
        .reveal_item_in_dir(&file)
        .or_else(|e| {
            log::info!("cannot select {} ({e}); opening its folder", file.display());
            opener.open_path(dir.display().to_string(), None::<&str>)
        })
        .map_err(|e| AppError::Io(e.to_string()))
}

/// Hosts a call on this machine (`lan`: reachable from the LAN).
#[tauri::command]
pub async fn host_start(state: State<'_, AppState>, lan: bool) -> Result<HostInfo> {
    state.host.start(lan).await
}

/// Where the hosted call is, if hosting.
#[tauri::command]
pub async fn host_status(state: State<'_, AppState>) -> Result<Option<HostInfo>> {
    Ok(state.host.status().await)
}

/// Stops hosting.
#[tauri::command]
pub async fn host_stop(state: State<'_, AppState>) -> Result<()> {
    state.host.stop().await;
    Ok(())
}

/// The rooms on `server`.
#[tauri::command]
pub async fn list_rooms(server: String) -> Result<Vec<RoomSummary>> {
    lobby::list_rooms(&server).await
}

/// Plays the test chime on `speaker` (`None`: the system default); a speaker that is missing
/// or fails comes back as the problem to show next to the speaker picker.
#[tauri::command]
pub async fn test_speaker(speaker: Option<String>) -> Result<Option<DeviceProblem>> {
    match quartet_call::test_speaker(speaker_choice(speaker)).await {
        Ok(()) => Ok(None),
        Err(CallError::Speaker(e)) => Ok(Some(speaker_problem(&e))),
        Err(e) => Err(e.into()),
    }
}

/// Describes why a speaker cannot play, in the words the pre-join uses for devices.
fn speaker_problem(error: &AudioOutError) -> DeviceProblem {
    DeviceProblem {
        device: "speaker",
        reason: match error {
            AudioOutError::NoDevice(_) => "noDevice",
            AudioOutError::NotFound(_) => "notFound",
            AudioOutError::Unavailable { .. } => "unavailable",
            _ => "failed",
        },
        message: error.to_string(),
    }
}

/// Previews `video` and measures `audio` for the pre-join screen.
#[tauri::command]
pub async fn preview_start(
    state: State<'_, AppState>,
    nickname: String,
    video: VideoChoice,
    audio: AudioChoice,
) -> Result<PreviewStatus> {
    let media = MediaSettings::default();
    state
        .preview
        .start(video.input(&nickname), audio.input(), media)
        .await
}

/// The previewed microphone's level (RMS, 0–1).
#[tauri::command]
pub fn preview_level(state: State<'_, AppState>) -> f32 {
    state.preview.level()
}

/// Stops the preview.
#[tauri::command]
pub async fn preview_stop(state: State<'_, AppState>) -> Result<()> {
    state.preview.stop().await;
    Ok(())
}

/// Joins or creates a room; its events go to `events`.
#[tauri::command]
pub async fn call_start(
    state: State<'_, AppState>,
    request: JoinRequest,
    events: Channel<EventDto>,
) -> Result<CallInfo> {
    // The call opens the same devices.
    state.preview.stop().await;
    state
        .call
        .start(request, move |e| events.send(e).is_ok())
        .await
}

/// The current call's room, members and our mute and camera state.
#[tauri::command]
pub async fn call_info(state: State<'_, AppState>) -> Result<CallInfo> {
    Ok(CallInfo::of(&state.call.current().await?))
}

/// Leaves the call: as host, handing the room over (`leave`) or ending it for everyone (`end`).
#[tauri::command]
pub async fn call_leave(state: State<'_, AppState>, mode: LeaveModeDto) -> Result<()> {
    state.video.close_prefixed("");
    state.call.leave(mode.into()).await
}

/// Whether we host, whether leaving would hand the room over and to whom.
#[tauri::command]
pub async fn call_leave_options(state: State<'_, AppState>) -> Result<LeaveOptionsDto> {
    Ok(state.call.current().await?.leave_options().into())
}

/// Quits the app after the page has left the call as the user chose.
#[tauri::command]
pub fn app_quit(app: AppHandle) {
    app.exit(0);
}

/// Mutes or unmutes our microphone.
#[tauri::command]
pub async fn call_set_mic_muted(state: State<'_, AppState>, muted: bool) -> Result<()> {
    Ok(state.call.current().await?.set_mic_muted(muted).await?)
}

/// Turns our camera on or off.
#[tauri::command]
pub async fn call_set_camera_enabled(state: State<'_, AppState>, enabled: bool) -> Result<()> {
    Ok(state
        .call
        .current()
        .await?
        .set_camera_enabled(enabled)
        .await?)
}

/// Turns the data saver (the others' small streams only) on or off.
#[tauri::command]
pub async fn call_set_data_saver(state: State<'_, AppState>, enabled: bool) -> Result<()> {
    let call = state.call.current().await?;
    Ok(call.set_receive(receive_for(enabled)).await?)
}

/// Switches echo cancellation, noise suppression and gain control of the microphone.
#[tauri::command]
pub async fn call_set_audio_processing(
    state: State<'_, AppState>,
    processing: AudioProcessingDto,
) -> Result<()> {
    let call = state.call.current().await?;
    Ok(call.set_audio_processing(processing.into()).await?)
}

/// Our microphone's level in the call (RMS after cleaning, before muting), for the live meter.
#[tauri::command]
pub async fn call_mic_level(state: State<'_, AppState>) -> Result<f32> {
    Ok(state.call.current().await?.mic_level())
}

/// Sends pictures from another camera.
#[tauri::command]
pub async fn call_switch_camera(
    state: State<'_, AppState>,
    nickname: String,
    video: VideoChoice,
) -> Result<()> {
    let call = state.call.current().await?;
    Ok(call.switch_camera(video.input(&nickname)).await?)
}

/// Sends sound from another microphone.
#[tauri::command]
pub async fn call_switch_microphone(state: State<'_, AppState>, audio: AudioChoice) -> Result<()> {
    let call = state.call.current().await?;
    Ok(call.switch_microphone(audio.input()).await?)
}

/// Plays the others' sound on another speaker (`None`: the system default).
#[tauri::command]
pub async fn call_switch_speaker(
    state: State<'_, AppState>,
    speaker: Option<String>,
) -> Result<()> {
    let call = state.call.current().await?;
    Ok(call.switch_speaker(speaker_choice(speaker)).await?)
}

/// Sends a text message to the room.
#[tauri::command]
pub async fn call_send_text(state: State<'_, AppState>, text: String) -> Result<()> {
    Ok(state.call.current().await?.send_text(text).await?)
}

/// The figures of our stream and every played member.
#[tauri::command]
pub async fn call_stats(state: State<'_, AppState>) -> Result<StatsDto> {
    state.call.stats().await
}

/// Adds synthetic members named `names` to the room.
#[tauri::command]
pub async fn demo_add_members(state: State<'_, AppState>, names: Vec<String>) -> Result<usize> {
    state.call.add_demo_members(&names).await
}

fn snapshot_dir(app: &AppHandle) -> Result<PathBuf> {
    let paths = app.path();
    paths
        .picture_dir()
        .or_else(|_| paths.download_dir())
        .or_else(|_| paths.app_data_dir())
        .map(|d| d.join("Quartet"))
        .map_err(|e| AppError::Io(e.to_string()))
}

/// The current call's room API calls, event-channel frames and streams.
#[tauri::command]
pub async fn call_diagnostics(state: State<'_, AppState>) -> Result<DiagnosticsDto> {
    Ok(state.call.current().await?.diagnostics().into())
}

/// Writes one zip for a bug report (the call's diagnostics when in one, logs, `settings`
/// without secrets, versions); returns its path.
#[tauri::command]
pub async fn export_diagnostics(
    app: AppHandle,
    state: State<'_, AppState>,
    settings: serde_json::Value,
) -> Result<String> {
    let call = state.call.current().await.ok();
    let bundle = diagnostics::Bundle {
        diagnostics: call.map(|c| c.diagnostics().into()),
        settings,
        about: diagnostics::about(
            &app.package_info().version.to_string(),
            tauri::webview_version().ok(),
        ),
        logs: app
            .path()
            .app_log_dir()
            .map(|d| diagnostics::logs_to_export(&d))
            .unwrap_or_default(),
    };
    let path =
        snapshot_dir(&app)?.join(format!("quartet-diagnostics-{}.zip", unix_micros() / 1000));
    tokio::task::spawn_blocking(move || {
        diagnostics::write_bundle(&path, &bundle).map(|_| path.display().to_string())
    })
    .await
    .map_err(|e| AppError::Io(e.to_string()))?
}

/// Saves the four-up grid as a PNG; returns its path.
#[tauri::command]
pub async fn snapshot_grid(app: AppHandle, state: State<'_, AppState>) -> Result<String> {
    snapshot::save_grid(state.call.current().await?, snapshot_dir(&app)?).await
}

/// Saves one member's latest picture as a PNG (`member` absent: our own); returns its path.
/// By member, not by tile, so a tile that changed hands meanwhile saves no one else.
#[tauri::command]
pub async fn snapshot_tile(
    app: AppHandle,
    state: State<'_, AppState>,
    member: Option<String>,
) -> Result<String> {
    let (frame, what) = match member {
        None => (
            state.call.current().await?.preview().borrow().clone(),
            "self".to_owned(),
        ),
        Some(user_id) => {
            let t = state.call.played(&user_id).await?;
            (t.snapshot_frame().await, t.member.user_name)
        }
    };
    snapshot::save_frame(frame, what, snapshot_dir(&app)?).await
}

/// Where a feed's pictures come from: `preview`, `self`, or `member:<userID>` for a remote
/// member, followed from player to player until it leaves (see [`crate::video`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSource {
    /// The pre-join preview.
    Preview,
    /// Our own picture in the call.
    Own,
    /// A remote member, by userID.
    Member(String),
}

impl std::str::FromStr for FeedSource {
    type Err = AppError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "preview" => Ok(FeedSource::Preview),
            "self" => Ok(FeedSource::Own),
            _ => s
                .strip_prefix("member:")
                .filter(|id| is_user_id(id))
                .map(|id| FeedSource::Member(id.to_owned()))
                .ok_or_else(|| AppError::InvalidInput(format!("no video source \"{s}\""))),
        }
    }
}

/// Whether `id` can be a member's userID: not empty, no longer than the room API allows, no
/// control characters.
fn is_user_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= quartet_proto::limits::MAX_ID_BYTES
        && !id.chars().any(quartet_proto::limits::is_control)
}

/// Sends the pictures of `source` to `channel` as feed `feed`, in `encoding`.
#[tauri::command]
pub async fn video_open(
    state: State<'_, AppState>,
    feed: String,
    source: String,
    encoding: Encoding,
    channel: Channel<InvokeResponseBody>,
) -> Result<()> {
    let input = match source.parse()? {
        FeedSource::Preview => FeedInput::own(state.preview.frames(), encoding)?,
        FeedSource::Own => FeedInput::own(state.call.current().await?.preview(), encoding)?,
        FeedSource::Member(id) => {
            FeedInput::Member(state.call.current().await?.watch_member(&id), encoding)
        }
    };
    state.video.open(&feed, input, channel);
    Ok(())
}

/// Decodes member `user_id`'s pictures at `width`×`height` (the size its tile is shown at),
/// for pages that draw decoded pictures.
#[tauri::command]
pub async fn tile_resize(
    state: State<'_, AppState>,
    user_id: String,
    width: u32,
    height: u32,
) -> Result<()> {
    let media = MediaSettings::default();
    let (width, height) = fit_tile(width, height, media.width, media.height);
    // A member no longer played while the page was resizing its tile has nothing to resize.
    if let Some(t) = state.call.current().await?.played(&user_id) {
        t.set_size(width, height);
    }
    Ok(())
}

/// A tile size no larger than what is sent (`max_w`×`max_h`), even, and at least 16×16.
pub fn fit_tile(width: u32, height: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    let even = |v: u32, max: u32| (v.min(max) & !1).max(16);
    (even(width, max_w), even(height, max_h))
}

/// The page has taken message `seq` of `feed` (see [`crate::video`]).
#[tauri::command]
pub fn video_ack(state: State<'_, AppState>, feed: String, seq: u32) {
    state.video.ack(&feed, seq);
}

/// Stops feed `feed`.
#[tauri::command]
pub fn video_close(state: State<'_, AppState>, feed: String) {
    state.video.close(&feed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_speaker_problem_says_why_in_the_page_s_words() {
        let none = speaker_problem(&AudioOutError::NoDevice(quartet_call::DeviceKind::Speaker));
        assert_eq!((none.device, none.reason), ("speaker", "noDevice"));
        let named = speaker_problem(&AudioOutError::NotFound("USB headset".into()));
        assert_eq!(named.reason, "notFound");
        assert!(named.message.contains("USB headset"), "{}", named.message);
        let busy = speaker_problem(&AudioOutError::Unavailable {
            name: "Default Audio Device".into(),
            reason: "not available".into(),
        });
        assert_eq!(busy.reason, "unavailable");
    }

    #[test]
    fn tiles_are_decoded_no_larger_than_sent() {
        assert_eq!(fit_tile(581, 327, 640, 360), (580, 326));
        assert_eq!(fit_tile(1920, 1080, 640, 360), (640, 360));
        assert_eq!(fit_tile(3, 0, 640, 360), (16, 16));
    }

    #[test]
    fn feed_sources_parse() {
        assert_eq!(
            "preview".parse::<FeedSource>().unwrap(),
            FeedSource::Preview
        );
        assert_eq!("self".parse::<FeedSource>().unwrap(), FeedSource::Own);
        assert_eq!(
            "member:user_17_3".parse::<FeedSource>().unwrap(),
            FeedSource::Member("user_17_3".into())
        );
        let longest = "u".repeat(quartet_proto::limits::MAX_ID_BYTES);
        assert_eq!(
            format!("member:{longest}").parse::<FeedSource>().unwrap(),
            FeedSource::Member(longest.clone())
        );
        let too_long = format!("member:{longest}u");
        for bad in [
            "member:",
            "member:a\nb",
            "member:\u{7f}",
            too_long.as_str(),
            "tile:0",
            "",
            "remote",
        ] {
            assert!(
                matches!(bad.parse::<FeedSource>(), Err(AppError::InvalidInput(_))),
                "{bad}"
            );
        }
    }
}
