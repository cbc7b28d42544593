//! Recording a call in the app's place: a member records the grid, what it hears and what it
//! says to an MP4 while another member talks; the other is told when it starts and stops, and
//! FFmpeg's CLI reads the file to the end with 1280×720 H.264, AAC carrying both members' tones
//! (each its own pitch), and the length recorded. Recorded again while muted, the file holds
//! the other's tone only.

use anyhow::{Context, Result, ensure};
use quartet_call::config::TONE_HZ;
use quartet_call::recording::{RECORD_HEIGHT, RECORD_WIDTH, started_text, stopped_text};
use quartet_call::{AudioInput, CallEvent};
use quartet_testkit::media_file::{
    decode_errors, mean_volume_db, probe_file, sound_of, write_tone,
};
use quartet_testkit::sounds::tone_share;
use quartet_tests::{
    Host, TestMember, eventually, everyone_sees_and_hears_everyone, init_tracing, leave_all,
    start_call,
};
use std::time::Duration;

const RECORD_FOR: Duration = Duration::from_secs(3);
/// Pitch of the recording member's own voice (the other's is [`TONE_HZ`]).
const OWN_HZ: u32 = 660;
/// Share of the recording's energy above which a pitch is there (a missing one is under 0.01).
const PRESENT: f64 = 0.1;
/// Share under which a pitch is absent.
const ABSENT: f64 = 0.02;
/// Time for a mute to reach the capture thread and what it captured before to be recorded.
const SETTLE: Duration = Duration::from_millis(600);

fn told(member: &TestMember, text: &str) -> bool {
    member
        .events()
        .iter()
        .any(|e| matches!(e, CallEvent::Text { text: t, .. } if t == text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_records_what_it_sees_and_hears_and_the_room_is_told() -> Result<()> {
    init_tracing();
    let host = Host::with_relay(|_| {}).await?;
    let members = start_call(&host.url, &["Ann", "Ben"]).await?;
    everyone_sees_and_hears_everyone(&members).await?;
    let (ann, ben) = (&members[0], &members[1]);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("standup.mp4");
    let voice = dir.path().join("ann.m4a");
    write_tone(&voice, OWN_HZ, 0.15, 30)?;
    ann.call
        .switch_microphone(AudioInput::File(voice.clone()))
        .await?;
    tokio::time::sleep(SETTLE).await;

    ann.call.start_recording(file.clone()).await?;
    ensure!(ann.call.is_recording());
    ensure!(
        ann.call
            .start_recording(dir.path().join("again.mp4"))
            .await
            .is_err(),
        "a second recording at once is refused"
    );
    eventually("Ben to be told of the recording", || {
        told(ben, &started_text("Ann"))
    })
    .await?;
    tokio::time::sleep(RECORD_FOR).await;
    let summary = ann
        .call
        .stop_recording()
        .await?
        .context("a recording was under way")?;
    eventually("Ben to be told it stopped", || {
        told(ben, &stopped_text("Ann"))
    })
    .await?;
    ensure!(!ann.call.is_recording() && ann.call.stop_recording().await?.is_none());

    let probe = probe_file(&file)?;
    ensure!(
        probe.streams.iter().any(|v| v.codec == "h264"
            && v.size == Some((u64::from(RECORD_WIDTH), u64::from(RECORD_HEIGHT)))),
        "{probe:?}"
    );
    ensure!(probe.has("audio", "aac"), "{probe:?}");
    let errors = decode_errors(&file)?;
    ensure!(errors.trim().is_empty(), "{errors}");
    let secs = RECORD_FOR.as_secs_f64();
    ensure!(
        summary.audio_seconds >= secs * 0.8 && summary.frames as f64 >= secs * 15.0 * 0.6,
        "{summary:?}"
    );
    let mean_db = mean_volume_db(&file)?;
    ensure!(mean_db > -40.0, "the recording is silent: {mean_db} dB");
    // Ben's tone, as Ann's speaker played it, and Ann's own, as she sent it.
    let (heard, said) = pitches(&file)?;
    ensure!(
        heard > PRESENT && said > PRESENT,
        "Ben's {TONE_HZ} Hz {heard:.3}, Ann's {OWN_HZ} Hz {said:.3}"
    );
    eprintln!("recorded {summary:?}, sound at {mean_db} dB, Ben {heard:.3}, Ann {said:.3}");

    // Muted, Ann's voice stays out of the recording as it stays out of the call.
    ann.call.set_mic_muted(true).await?;
    tokio::time::sleep(SETTLE).await;
    let muted = dir.path().join("muted.mp4");
    ann.call.start_recording(muted.clone()).await?;
    tokio::time::sleep(RECORD_FOR).await;
    ann.call.stop_recording().await?;
    let (heard, said) = pitches(&muted)?;
    ensure!(
        heard > PRESENT && said < ABSENT,
        "muted: Ben's {TONE_HZ} Hz {heard:.3}, Ann's {OWN_HZ} Hz {said:.3}"
    );
    leave_all(members).await
}

/// The shares of the other's pitch and of ours in `file`'s sound.
fn pitches(file: &std::path::Path) -> Result<(f64, f64)> {
    let sound = sound_of(file)?;
    Ok((
        tone_share(&sound, TONE_HZ),
        tone_share(&sound, OWN_HZ as f32),
    ))
}
