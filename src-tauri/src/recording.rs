//! "Record": the call as the user sees and hears it, into an MP4 in the user's videos folder.

use crate::commands::AppState;
use crate::error::AppError;
use std::path::PathBuf;
use tauri::{AppHandle, Manager, State};

/// A file name for a recording of room `room` started at `unix_ms`: the room's ID made safe,
/// unique to the millisecond.
pub fn file_name(room: &str, unix_ms: i64) -> String {
    let room: String = room
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    format!("quartet-{room}-{unix_ms}.mp4")
}

/// The folder recordings go to: the user's videos, else downloads, else the app's data.
pub(crate) fn recording_dir(app: &AppHandle) -> Result<PathBuf, AppError> {
    let paths = app.path();
    paths
        .video_dir()
        .or_else(|_| paths.download_dir())
        .or_else(|_| paths.app_data_dir())
        .map(|d| d.join("Quartet"))
        .map_err(|e| AppError::Io(e.to_string()))
}

/// Starts recording the current call; the file's path.
#[tauri::command]
pub async fn call_record_start(
    app: AppHandle,
    state: State<'_, AppState>,
) -> Result<String, AppError> {
    let call = state.call.current().await?;
    let dir = recording_dir(&app)?;
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(file_name(
        &call.room_id(),
        quartet_call::unix_micros() / 1000,
    ));
    call.start_recording(path.clone()).await?;
    Ok(path.display().to_string())
}

/// Finishes the recording; the file's path, or nothing when none was under way.
#[tauri::command]
pub async fn call_record_stop(state: State<'_, AppState>) -> Result<Option<String>, AppError> {
    let call = state.call.current().await?;
    Ok(call
        .stop_recording()
        .await?
        .map(|summary| summary.path.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_is_named_by_its_room_and_start() {
        assert_eq!(
            file_name("room_17/../x", 1_700_000_000_123),
            "quartet-room-17----x-1700000000123.mp4"
        );
    }
}
