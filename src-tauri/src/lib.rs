//! Quartet's desktop app: hosts a call on this machine (room server and RTMP relay in-process)
//! or joins one on any RTCRoom v1 room server; a lobby, a pre-join check, the four-up grid,
//! chat and settings.
//!
//! A thin shell: rooms and media are `quartet-call`'s, hosting is `quartet-server`'s. What lives
//! here is the wiring to the page ([`commands`]), pictures to the page ([`video`]), the pre-join
//! [`preview`], snapshots, settings (the store plugin, used by the page) and logs.

pub mod calls;
pub mod commands;
pub mod devices;
pub mod diagnostics;
pub mod error;
pub mod host;
pub mod invite;
pub mod layout;
pub mod leaving;
pub mod lobby;
pub mod preview;
pub mod recording;
pub mod screen;
pub mod snapshot;
pub mod startup;
#[cfg(test)]
mod typescript;
pub mod video;
pub mod window_place;

use commands::AppState;
use tauri::{Emitter, Manager, RunEvent, WindowEvent};

/// The log file's name (without extension) in the platform's log folder.
pub const LOG_FILE: &str = "quartet";
/// Set to `1` to keep WebKitGTK's accelerated compositing (see [`draw_without_compositing`]).
pub const COMPOSITING_ENV: &str = "QUARTET_WEBKIT_COMPOSITING";
/// Log files are rotated at this size.
pub const LOG_MAX_BYTES: u128 = 5 * 1024 * 1024;

/// Runs the app until its window closes; hosted servers and the call are stopped first.
pub fn run() -> tauri::Result<()> {
    let app = tauri::Builder::default()
        // First, so a second launch hands over before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
            // A second launch by an invite link: this window opens that room.
            invite::deliver(app, invite::links_in(args.iter().map(String::as_str)));
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(log_plugin())
        .plugin(tauri_plugin_store::Builder::default().build())
        // The window opens where and as large as it was left (maximised included).
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_opener::init())
        .manage(AppState::default())
        .setup(|app| {
            startup::log_panics();
            log::info!(
                "{}",
                startup::start_line(&app.package_info().version.to_string())
            );
            invite::listen(app.handle());
            app.state::<AppState>().devices.start(app.handle());
            #[cfg(target_os = "linux")]
            if let Some(window) = app.get_webview_window("main") {
                draw_without_compositing(&window);
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::open_logs_folder,
            commands::reveal_saved_file,
            commands::open_camera_privacy_settings,
            screen::open_screen_privacy_settings,
            commands::host_start,
            commands::host_status,
            commands::host_stop,
            commands::list_rooms,
            devices::list_devices,
            commands::test_speaker,
            commands::preview_start,
            commands::preview_level,
            commands::preview_stop,
            commands::call_start,
            commands::call_info,
            commands::call_leave_options,
            recording::call_record_start,
            recording::call_record_stop,
            screen::screen_sources,
            commands::app_quit,
            commands::call_leave,
            commands::call_set_mic_muted,
            commands::call_set_camera_enabled,
            commands::call_set_data_saver,
            commands::call_set_audio_processing,
            commands::call_mic_level,
            commands::call_switch_camera,
            commands::call_switch_microphone,
            commands::call_switch_speaker,
            commands::call_send_text,
            commands::call_stats,
            commands::call_diagnostics,
            commands::export_diagnostics,
            commands::demo_add_members,
            commands::snapshot_grid,
            layout::call_set_layout,
            invite::take_invite,
            commands::snapshot_tile,
            commands::tile_resize,
            commands::video_open,
            commands::video_ack,
            commands::video_close,
        ])
        .on_window_event(|window, event| match event {
            WindowEvent::CloseRequested { api, .. } => hold_close_for_the_page(window, api),
            WindowEvent::Moved(_) | WindowEvent::Resized(_) => {
                window_place::changed(window.app_handle());
            }
            _ => {}
        })
        .build(tauri::generate_context!())?;
    app.run(|app, event| {
        if let RunEvent::Exit = event {
            stop_everything(app);
        }
    });
    Ok(())
}

/// Logs to stderr and to rotated files in the platform's log folder, at the level
/// [`startup::LOG_LEVEL_ENV`] asks for.
fn log_plugin<R: tauri::Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri_plugin_log::Builder::new()
        .targets([
            tauri_plugin_log::Target::new(tauri_plugin_log::TargetKind::Stderr),
            tauri_plugin_log::Target::new(tauri_plugin_log::TargetKind::LogDir {
                file_name: Some(LOG_FILE.into()),
            }),
        ])
        .level(startup::log_level(
            std::env::var(startup::LOG_LEVEL_ENV).ok().as_deref(),
        ))
        .max_file_size(LOG_MAX_BYTES)
        .rotation_strategy(tauri_plugin_log::RotationStrategy::KeepSome(5))
        .build()
}

/// On the way out: feeds closed, the call left, preview, device watch and hosted servers
/// stopped.
fn stop_everything(app: &tauri::AppHandle) {
    let state = app.state::<AppState>();
    tauri::async_runtime::block_on(async {
        state.video.close_prefixed("");
        // Nobody was asked (the page could not, or leaving ends nothing for others):
        // leave as a member would, so the others' call goes on.
        if let Err(e) = state.call.leave(quartet_call::LeaveMode::Leave).await {
            log::warn!("leaving the call on exit: {e}");
        }
        state.preview.stop().await;
        state.devices.stop();
        state.host.stop().await;
    });
}

/// Holds the window's close while a host in a call with others is asked how to leave (the page
/// answers by leaving and calling `app_quit`); see [`leaving::hold_close`].
fn hold_close_for_the_page(window: &tauri::Window, api: &tauri::CloseRequestApi) {
    let state = window.state::<AppState>();
    let worth_asking = state
        .call
        .leave_options_now()
        .is_some_and(|o| o.worth_asking());
    if state.close_guard.should_hold(worth_asking) {
        api.prevent_close();
        if let Err(e) = window.emit(leaving::CLOSE_REQUESTED_EVENT, ()) {
            log::warn!("cannot ask the page how to leave: {e}");
        }
    }
}

/// Four video tiles redraw 15 times a second each. Where WebKitGTK composites with OpenGL but
/// has no GPU (software GL: virtual machines, remote desktops, Xvfb), compositing alone took
/// 1.5 cores and tiles fell to 4–6 fps with half a second of delay; drawing without it, every
/// tile kept 15 fps and a picture reached the screen 3–5 ms after it was sent. So the app draws
/// without compositing unless [`COMPOSITING_ENV`] is `1`.
#[cfg(target_os = "linux")]
fn draw_without_compositing(window: &tauri::WebviewWindow) {
    if std::env::var(COMPOSITING_ENV).is_ok_and(|v| v == "1") {
        return;
    }
    let applied = window.with_webview(|webview| {
        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
        if let Some(settings) = webview.inner().settings() {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    });
    if let Err(e) = applied {
        log::warn!("cannot change the webview's drawing mode: {e}");
    }
}
