//! The tester's diagnostics: the snapshot behind the in-call panel, and "Export diagnostics",
//! one zip with what a bug report needs (that snapshot, logs, settings without secrets,
//! versions and the system).

use crate::error::AppError;
use quartet_call::{AudioFormat, Diagnostics, VideoFormat};
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
#[cfg(test)]
use ts_rs::TS;
use zip::write::SimpleFileOptions;

/// Most bytes of log files put in an export, newest files first: a day of debug logging fits,
/// and the zip stays small enough to attach to a bug report.
pub const EXPORT_MAX_LOG_BYTES: u64 = 16 * 1024 * 1024;
/// Settings whose names contain one of these are left out of an export.
pub const SECRET_SETTING_WORDS: [&str; 6] = ["token", "sig", "secret", "password", "key", "auth"];

/// One room API call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "ApiCallEntry"))]
#[serde(rename_all = "camelCase")]
pub struct ApiCallDto {
    /// Unix ms.
    pub at_ms: u64,
    /// The endpoint.
    pub endpoint: String,
    /// The reply's code (0 success), if a v1 reply came.
    pub code: Option<i64>,
    /// The HTTP status when not 200.
    pub status: Option<u16>,
    /// Round trip, ms.
    pub ms: f64,
    /// What went wrong.
    pub error: Option<String>,
}

/// One event-channel frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "ChannelEntry"))]
#[serde(rename_all = "camelCase")]
pub struct ChannelEntryDto {
    /// Unix ms.
    pub at_ms: u64,
    /// What it was.
    pub kind: String,
    /// Who or why.
    pub detail: String,
}

/// One played stream, as a tester reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "StreamDetails"))]
#[serde(rename_all = "camelCase")]
pub struct StreamDto {
    /// Whose.
    pub user_id: String,
    /// Their name.
    pub user_name: String,
    /// `main` or `small`.
    #[cfg_attr(test, ts(type = "\"main\" | \"small\""))]
    pub stream: &'static str,
    /// Connected now.
    pub connected: bool,
    /// Reconnections after the first connection.
    pub reconnects: u64,
    /// Video codec, profile, level and size as sent.
    pub video: Option<VideoDto>,
    /// Audio codec, profile, rate and channels.
    pub audio: Option<AudioDto>,
    /// Frames shown per second.
    pub fps: f64,
    /// kbit/s received.
    pub kbps: f64,
    /// Time between the last two keyframes, ms.
    pub keyframe_interval_ms: Option<f64>,
    /// Capture → shown latency, median, ms.
    pub latency_ms_p50: Option<f64>,
    /// Capture → shown latency, 95th percentile, ms.
    pub latency_ms_p95: Option<f64>,
}

/// A stream's pictures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "StreamVideo"))]
#[serde(rename_all = "camelCase")]
pub struct VideoDto {
    /// Codec.
    pub codec: String,
    /// Profile.
    pub profile: Option<String>,
    /// Level.
    pub level: Option<String>,
    /// Width as sent.
    pub width: u32,
    /// Height as sent.
    pub height: u32,
}

/// A stream's sound.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "StreamAudio"))]
#[serde(rename_all = "camelCase")]
pub struct AudioDto {
    /// Codec.
    pub codec: String,
    /// Profile.
    pub profile: Option<String>,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u32,
}

/// Our own stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "OwnStream"))]
#[serde(rename_all = "camelCase")]
pub struct OwnStreamDto {
    /// Connected to the RTMP server.
    pub connected: bool,
    /// Reconnections.
    pub reconnects: u64,
    /// Size sent.
    pub width: u32,
    /// Height sent.
    pub height: u32,
    /// Frames encoded per second.
    pub fps: f64,
    /// kbit/s sent.
    pub kbps: f64,
    /// Keyframes sent.
    pub keyframes: u64,
    /// Frames dropped.
    pub dropped_frames: u64,
    /// Encoding time, 95th percentile, ms.
    pub encode_ms_p95: Option<f64>,
    /// Echo return loss enhancement of our cleaning, dB.
    pub erle_db: Option<f64>,
}

/// The panel's snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "Diagnostics"))]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticsDto {
    /// Room API calls, oldest first.
    pub api_calls: Vec<ApiCallDto>,
    /// Event-channel frames, oldest first.
    pub events: Vec<ChannelEntryDto>,
    /// Our stream.
    pub own: Option<OwnStreamDto>,
    /// Every played stream.
    pub streams: Vec<StreamDto>,
}

fn video(v: VideoFormat) -> VideoDto {
    VideoDto {
        codec: v.codec,
        profile: v.profile,
        level: v.level,
        width: v.width,
        height: v.height,
    }
}

fn audio(a: AudioFormat) -> AudioDto {
    AudioDto {
        codec: a.codec,
        profile: a.profile,
        sample_rate: a.sample_rate,
        channels: u32::from(a.channels),
    }
}

impl From<Diagnostics> for DiagnosticsDto {
    fn from(d: Diagnostics) -> Self {
        DiagnosticsDto {
            api_calls: d
                .api_calls
                .into_iter()
                .map(|c| ApiCallDto {
                    at_ms: c.at_ms,
                    endpoint: c.endpoint,
                    code: c.code,
                    status: c.status,
                    ms: c.ms,
                    error: c.error,
                })
                .collect(),
            events: d
                .events
                .into_iter()
                .map(|e| ChannelEntryDto {
                    at_ms: e.at_ms,
                    kind: e.kind,
                    detail: e.detail,
                })
                .collect(),
            own: d.stats.publisher.map(|p| OwnStreamDto {
                connected: p.connected,
                reconnects: p.reconnects,
                width: p.rung.width,
                height: p.rung.height,
                fps: p.fps,
                kbps: p.kbps,
                keyframes: p.keyframes,
                dropped_frames: p.dropped_frames,
                encode_ms_p95: p.encode_ms_p95,
                erle_db: p.echo.erle_db,
            }),
            streams: d
                .stats
                .remotes
                .into_iter()
                .map(|r| {
                    let p = r.player;
                    let mut v = p.stream_info.video.map(video);
                    // Without probing, the size comes from the first decoded picture.
                    if let (Some(v), Some((w, h))) = (v.as_mut(), p.source_size)
                        && v.width == 0
                    {
                        (v.width, v.height) = (w, h);
                    }
                    StreamDto {
                        user_id: r.user_id,
                        user_name: r.user_name,
                        stream: r.stream.as_str(),
                        connected: p.connected,
                        reconnects: p.reconnects,
                        video: v,
                        audio: p.stream_info.audio.map(audio),
                        fps: p.fps,
                        kbps: p.kbps,
                        keyframe_interval_ms: p.keyframe_interval_ms,
                        latency_ms_p50: p.latency_ms_p50,
                        latency_ms_p95: p.latency_ms_p95,
                    }
                })
                .collect(),
        }
    }
}

/// Versions and the system, for a bug report.
pub fn about(app_version: &str, webview: Option<String>) -> Value {
    serde_json::json!({
        "app": app_version,
        "os": std::env::consts::OS,
        "family": std::env::consts::FAMILY,
        "arch": std::env::consts::ARCH,
        "osRelease": os_release(),
        "locale": sys_locale::get_locale(),
        "webview": webview,
    })
}

/// The system's own name for itself, where it says (Linux: `/etc/os-release`).
fn os_release() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
}

/// `settings` with every field whose name sounds secret left out, at any depth.
pub fn without_secrets(settings: &Value) -> Value {
    match settings {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    let k = k.to_lowercase();
                    !SECRET_SETTING_WORDS.iter().any(|w| k.contains(w))
                })
                .map(|(k, v)| (k.clone(), without_secrets(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_secrets).collect()),
        other => other.clone(),
    }
}

/// The log files of `dir` to export, newest first, within [`EXPORT_MAX_LOG_BYTES`].
pub fn logs_to_export(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let meta = e.metadata().ok().filter(std::fs::Metadata::is_file)?;
            Some((meta.modified().ok()?, meta.len(), e.path()))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut total = 0;
    files
        .into_iter()
        .take_while(|(_, len, _)| {
            total += len;
            total <= EXPORT_MAX_LOG_BYTES
        })
        .map(|(_, _, path)| path)
        .collect()
}

/// What goes into an export.
#[derive(Debug)]
pub struct Bundle {
    /// The call's snapshot, when in a call.
    pub diagnostics: Option<DiagnosticsDto>,
    /// The app's settings (secrets are removed on writing).
    pub settings: Value,
    /// Versions and the system.
    pub about: Value,
    /// Log files to include.
    pub logs: Vec<PathBuf>,
}

/// Writes `bundle` as a zip at `path`; returns the names of its entries.
pub fn write_bundle(path: &Path, bundle: &Bundle) -> Result<Vec<String>, AppError> {
    let io = |e: std::io::Error| AppError::Io(format!("cannot write {}: {e}", path.display()));
    let zipped = |e: zip::result::ZipError| AppError::Io(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).map_err(io)?);
    let options = SimpleFileOptions::default();
    let mut names = Vec::new();
    let mut json = |name: &str, value: &Value| -> Result<(), AppError> {
        zip.start_file(name, options).map_err(zipped)?;
        let text = serde_json::to_vec_pretty(value).map_err(|e| AppError::Io(e.to_string()))?;
        zip.write_all(&text).map_err(io)?;
        names.push(name.to_owned());
        Ok(())
    };
    let diagnostics = match &bundle.diagnostics {
        Some(d) => serde_json::to_value(d).map_err(|e| AppError::Io(e.to_string()))?,
        None => serde_json::json!({ "inCall": false }),
    };
    json("diagnostics.json", &diagnostics)?;
    json("settings.json", &without_secrets(&bundle.settings))?;
    json("about.json", &bundle.about)?;
    for log in &bundle.logs {
        let Some(file) = log.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let name = format!("logs/{file}");
        let contents = std::fs::read(log).map_err(io)?;
        zip.start_file(name.as_str(), options).map_err(zipped)?;
        zip.write_all(&contents).map_err(io)?;
        names.push(name);
    }
    zip.finish().map_err(zipped)?;
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Read;

    #[test]
    fn secrets_never_leave_with_the_settings() {
        let settings = json!({
            "nickname": "Ann",
            "server": "http://10.0.0.2:8080",
            "userSig": "eJw1",
            "host": { "apiToken": "t", "port": 8080 },
            "IM_SECRET": "s",
        });
        assert_eq!(
            without_secrets(&settings),
            json!({ "nickname": "Ann", "server": "http://10.0.0.2:8080", "host": { "port": 8080 } })
        );
    }

    #[test]
    fn an_export_is_a_zip_with_every_part() {
        let dir = std::env::temp_dir().join(format!("quartet-diag-{}", std::process::id()));
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(logs.join("Quartet.log"), "started\n").unwrap();
        let bundle = Bundle {
            diagnostics: None,
            settings: json!({ "nickname": "Ann", "token": "x" }),
            about: json!({ "version": "0.1.0" }),
            logs: logs_to_export(&logs),
        };
        let path = dir.join("export.zip");
        let names = write_bundle(&path, &bundle).unwrap();
        assert_eq!(
            names,
            [
                "diagnostics.json",
                "settings.json",
                "about.json",
                "logs/Quartet.log"
            ]
        );
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut settings = String::new();
        zip.by_name("settings.json")
            .unwrap()
            .read_to_string(&mut settings)
            .unwrap();
        assert!(
            settings.contains("Ann") && !settings.contains("token"),
            "{settings}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
