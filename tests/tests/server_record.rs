//! `quartet server --record DIR` through the embedded relay: a four-member call gives one file
//! per member (their small streams are copies, not recorded), named by room and member, that
//! the FFmpeg CLI reads to the end with H.264 video and AAC audio of the call's length.

use anyhow::{Context, Result, ensure};
use quartet_relay::RelayConfig;
use quartet_testkit::require;
use quartet_tests::{Host, everyone_sees_and_hears_everyone, init_tracing, leave_all, start_call};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the call goes on once everyone sees everyone.
const RECORD_FOR: Duration = Duration::from_secs(3);
const NAMES: [&str; 4] = ["Ann", "Ben", "Cho", "Dan"];

/// Codec names by stream type, and the duration, as ffprobe reads `file`.
fn probe(file: &Path) -> Result<(Vec<(String, String)>, f64)> {
    let ffprobe = require("ffprobe", "Debian package ffmpeg")?;
    let out = Command::new(ffprobe)
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name",
        ])
        .args(["-show_entries", "format=duration", "-of", "json"])
        .arg(file)
        .stdin(Stdio::null())
        .output()?;
    ensure!(
        out.status.success(),
        "ffprobe {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let streams = json["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap_or_default().to_owned(),
                s["codec_name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let duration = json["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    Ok((streams, duration))
}

/// Decodes all of `file`; FFmpeg's complaints, if any.
fn decode_errors(file: &Path) -> Result<String> {
    let ffmpeg = require("ffmpeg", "Debian package ffmpeg")?;
    let out = Command::new(ffmpeg)
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .stdin(Stdio::null())
        .output()?;
    ensure!(
        out.status.success(),
        "ffmpeg could not read {}",
        file.display()
    );
    Ok(String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_four_member_call_gives_four_files_that_play() -> Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let relay = RelayConfig {
        record_dir: Some(dir.path().join("recordings")),
        ..RelayConfig::default()
    };
    let host = Host::with_relay_config(relay, |_| {}).await?;
    let members = start_call(&host.url, &NAMES).await?;
    let room = members[0].call.room_id();
    everyone_sees_and_hears_everyone(&members).await?;
    let recorded_from = Instant::now();
    tokio::time::sleep(RECORD_FOR).await;
    leave_all(members).await?;
    let call_secs = recorded_from.elapsed().as_secs_f64();
    host.stop().await?;

    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("recordings"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let names: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_name()?.to_str().map(str::to_owned))
        .collect();
    ensure!(files.len() == NAMES.len(), "one file per member: {names:?}");
    for name in NAMES {
        ensure!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("{room}_{name}_")) && n.ends_with(".flv")),
            "no recording of {name} in room {room}: {names:?}"
        );
    }
    for file in &files {
        let (streams, duration) = probe(file)?;
        let has = |kind: &str, codec: &str| streams.iter().any(|(k, c)| k == kind && c == codec);
        ensure!(
            has("video", "h264") && has("audio", "aac"),
            "{}: {streams:?}",
            file.display()
        );
        // Each member was recorded for at least the stretch everyone was in the call.
        ensure!(
            duration >= RECORD_FOR.as_secs_f64() && duration <= call_secs + 30.0,
            "{}: {duration:.1} s recorded of a call of {call_secs:.1} s",
            file.display()
        );
        let errors = decode_errors(file).with_context(|| file.display().to_string())?;
        ensure!(errors.trim().is_empty(), "{}: {errors}", file.display());
        eprintln!("recorded {}: {duration:.1} s, {streams:?}", file.display());
    }
    Ok(())
}
