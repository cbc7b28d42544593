//! `quartet server --record DIR` through the embedded relay: a four-member call gives one file
//! per member (their small streams are copies, not recorded), named by room and member, that
//! the FFmpeg CLI reads to the end with H.264 video and AAC audio of the call's length.

use anyhow::{Context, Result, ensure};
use quartet_relay::RelayConfig;
use quartet_testkit::media_file::{decode_errors, picture_times, probe_file};
use quartet_tests::{Host, everyone_sees_and_hears_everyone, init_tracing, leave_all, start_call};
use std::time::{Duration, Instant};

/// How long the call goes on once everyone sees everyone.
const RECORD_FOR: Duration = Duration::from_secs(3);
const NAMES: [&str; 4] = ["Ann", "Ben", "Cho", "Dan"];
/// How much shorter the pictures may span than the file: the last sound may outlast the last
/// picture by a few frames, never by the seconds a skipping recorder loses.
const PICTURE_GAP_AT_END_S: f64 = 0.5;

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
        let probe = probe_file(file)?;
        ensure!(
            probe.has("video", "h264") && probe.has("audio", "aac"),
            "{}: {probe:?}",
            file.display()
        );
        // Each member was recorded for at least the stretch everyone was in the call.
        let duration = probe.duration_s;
        ensure!(
            duration >= RECORD_FOR.as_secs_f64() && duration <= call_secs + 30.0,
            "{}: {duration:.1} s recorded of a call of {call_secs:.1} s",
            file.display()
        );
        // Pictures all along, not only sound: a recorder that fell behind once must not skip
        // the rest of its pictures.
        let pictures = picture_times(file)?;
        let span =
            pictures.last().copied().unwrap_or(0.0) - pictures.first().copied().unwrap_or(0.0);
        ensure!(
            span >= duration - PICTURE_GAP_AT_END_S,
            "{}: pictures for {span:.1} s of {duration:.1} s",
            file.display()
        );
        let errors = decode_errors(file).with_context(|| file.display().to_string())?;
        ensure!(errors.trim().is_empty(), "{}: {errors}", file.display());
        eprintln!(
            "recorded {}: {duration:.1} s, {:?}",
            file.display(),
            probe.streams
        );
    }
    Ok(())
}
