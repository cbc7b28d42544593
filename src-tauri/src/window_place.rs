//! The window opens where and as large as it was left: the window-state plugin keeps the
//! place, and it is written a moment after each move or resize rather than only on a clean
//! exit, so a crash, a killed process or a power cut does not lose it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tauri::AppHandle;
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

/// How long the window must keep still before its place is written: a drag is many moves.
pub const SAVE_AFTER: Duration = Duration::from_millis(500);

/// Moves and resizes so far; a save goes ahead only if none came after it was scheduled.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// The window moved or changed size: write its place once it keeps still.
pub fn changed(app: &AppHandle) {
    let this = CHANGES.fetch_add(1, Ordering::SeqCst) + 1;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(SAVE_AFTER).await;
        if CHANGES.load(Ordering::SeqCst) == this
            && let Err(e) = app.save_window_state(StateFlags::all())
        {
            log::warn!("cannot keep the window's place: {e}");
        }
    });
}
