//! The Quartet desktop app.

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// On Linux, glibc's allocator spent about 6 % of the relay's CPU under load freeing media
/// buffers; mimalloc takes half of that. Elsewhere the system allocator stays.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match quartet_app::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quartet: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
