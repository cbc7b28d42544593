//! What the log says before anything goes wrong: how much it says, a start-up line with the
//! versions a bug report needs, and every panic with its backtrace. A Windows release build
//! has no console, so without the hook a panic would leave no trace at all.

use std::panic::PanicHookInfo;

/// Environment variable overriding how much the log says: `error`, `warn`, `info` (the
/// default), `debug` or `trace`.
pub const LOG_LEVEL_ENV: &str = "QUARTET_LOG";

/// The log level `value` (from [`LOG_LEVEL_ENV`]) asks for; `info` when unset or unreadable.
pub fn log_level(value: Option<&str>) -> log::LevelFilter {
    value
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(log::LevelFilter::Info)
}

/// The first line of every run's log: the app, the system and the FFmpeg libraries.
pub fn start_line(app_version: &str) -> String {
    format!(
        "Quartet {app_version} starting on {} {} ({}); FFmpeg {}",
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::env::consts::FAMILY,
        quartet_call::ffmpeg_versions()
    )
}

/// What the log says of a panic: where, what, which thread, and the backtrace.
pub fn panic_report(info: &PanicHookInfo<'_>, backtrace: &std::backtrace::Backtrace) -> String {
    let what = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".to_owned());
    let place = info
        .location()
        .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
    let thread = std::thread::current();
    format!(
        "panic in thread {}{place}: {what}\n{backtrace}",
        thread.name().unwrap_or("unnamed")
    )
}

/// Writes every panic to the log (with its backtrace, whatever `RUST_BACKTRACE` says), then
/// lets the default hook print it as before.
pub fn log_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let backtrace = std::backtrace::Backtrace::force_capture();
        log::error!("{}", panic_report(info, &backtrace));
        log::logger().flush();
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn the_log_level_can_be_raised_or_lowered_and_defaults_to_info() {
        assert_eq!(log_level(None), log::LevelFilter::Info);
        assert_eq!(log_level(Some("debug")), log::LevelFilter::Debug);
        assert_eq!(log_level(Some(" TRACE ")), log::LevelFilter::Trace);
        assert_eq!(log_level(Some("loud")), log::LevelFilter::Info);
    }

    #[test]
    fn the_start_line_names_the_system_and_ffmpeg() {
        let line = start_line("1.2.3");
        assert!(line.starts_with("Quartet 1.2.3 starting on "), "{line}");
        assert!(line.contains(std::env::consts::OS), "{line}");
        assert!(line.contains("libavcodec "), "{line}");
    }

    #[test]
    fn a_panic_is_reported_with_its_message_place_and_thread() {
        let report = Arc::new(Mutex::new(String::new()));
        let keep = Arc::clone(&report);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let bt = std::backtrace::Backtrace::force_capture();
            *keep.lock().unwrap() = panic_report(info, &bt);
        }));
        let joined = std::thread::Builder::new()
            .name("doomed".into())
            .spawn(|| panic!("the camera said {}", 42))
            .unwrap()
            .join();
        std::panic::set_hook(previous);
        assert!(joined.is_err());
        let report = report.lock().unwrap().clone();
        assert!(report.starts_with("panic in thread doomed at "), "{report}");
        assert!(report.contains("startup.rs:"), "{report}");
        assert!(report.contains("the camera said 42"), "{report}");
        assert!(report.lines().count() > 2, "no backtrace: {report}");
    }
}
