//! Media files as looping sources, made on the spot with FFmpeg's CLI.

mod support;

use quartet_media::{AudioSource, FileAudioSource, FileVideoSource, SourceError, VideoSource};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A half-second clip, 20 fps video and a 48 kHz tone.
fn clip(name: &str) -> anyhow::Result<PathBuf> {
    quartet_testkit::require("ffmpeg", "Debian package ffmpeg")?;
    let path =
        std::env::temp_dir().join(format!("quartet-media-{}-{name}.mkv", std::process::id()));
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=20:duration=0.5",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=44100:duration=0.5",
        ])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-shortest",
        ])
        .arg(&path)
        .status()?
        .success();
    anyhow::ensure!(ok, "ffmpeg could not make the clip");
    Ok(path)
}

#[test]
fn a_video_file_loops_in_real_time() -> anyhow::Result<()> {
    let path = clip("video")?;
    let mut src = FileVideoSource::open(&path).unwrap();
    let t0 = Instant::now();
    let mut frames = 0;
    while frames < 25 {
        if let Some(f) = src.next_frame().unwrap() {
            assert_eq!((f.width(), f.height()), (320, 180));
            assert!(f.capture_us.is_some());
            frames += 1;
        }
        assert!(t0.elapsed() < support::DEADLINE);
    }
    // 25 frames of a 10-frame clip at 20 fps: it looped, paced (≥ 1.2 s minus slack).
    assert!(
        t0.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        t0.elapsed()
    );
    let _ = std::fs::remove_file(path);
    Ok(())
}

#[test]
fn an_audio_file_loops_resampled_to_48k_mono() -> anyhow::Result<()> {
    let path = clip("audio")?;
    let mut src = FileAudioSource::open(&path).unwrap();
    let t0 = Instant::now();
    let mut samples = 0;
    let mut level = 0f32;
    while samples < 48_000 {
        if let Some(c) = src.next_chunk().unwrap() {
            samples += c.samples.len();
            level = level.max(c.rms());
        }
        assert!(t0.elapsed() < support::DEADLINE);
    }
    assert!(level > 0.05, "{level}");
    // One second of sound from a half-second clip, not faster than real time.
    assert!(
        t0.elapsed() >= Duration::from_millis(800),
        "{:?}",
        t0.elapsed()
    );
    let _ = std::fs::remove_file(path);
    Ok(())
}

#[test]
fn a_wav_without_a_channel_layout_is_read() -> anyhow::Result<()> {
    // A mono WAV has no channel mask: its frames come with the layout unset, which once
    // crashed the resampler.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("mono.wav");
    quartet_testkit::media_file::write_tone(&path, 660, 0.3, 1)?;
    let mut src = FileAudioSource::open(&path)?;
    let t0 = Instant::now();
    let (mut samples, mut level) = (0, 0f32);
    while samples < 4_800 {
        if let Some(c) = src.next_chunk()? {
            samples += c.samples.len();
            level = level.max(c.rms());
        }
        assert!(t0.elapsed() < support::DEADLINE);
    }
    assert!(level > 0.1, "{level}");
    Ok(())
}

#[test]
fn a_missing_file_is_a_clear_error() {
    assert!(matches!(
        FileVideoSource::open("/no/such/file.mp4"),
        Err(SourceError::File { .. })
    ));
    assert!(matches!(
        FileAudioSource::open("/no/such/file.mp4"),
        Err(SourceError::File { .. })
    ));
}
