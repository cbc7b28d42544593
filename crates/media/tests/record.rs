//! Recording to an MP4 file: pictures from a source at a steady rate and the sound of a mixer
//! playing a tone, read back by FFmpeg's CLI (H.264 and AAC, the length recorded, no decoding
//! error), and a file that already exists refused without touching it.

use quartet_media::record::{FileRecorder, RecordConfig, RecordError, RecordSound, RgbaPicture};
use quartet_media::{AUDIO_SAMPLE_RATE, AudioMixer, AudioOutput, SoundTaps};
use quartet_testkit::media_file::{decode_errors, mean_volume_db, probe_file, sound_of};
use quartet_testkit::sounds::tone_share;
use std::time::{Duration, Instant};

const SECONDS: u64 = 3;

fn config(path: std::path::PathBuf) -> RecordConfig {
    RecordConfig {
        path,
        width: 640,
        height: 360,
        fps: 15,
        video_kbps: 800,
        audio_kbps: 64,
    }
}

/// Samples in 20 ms, the blocks sound is fed in here.
const BLOCK: usize = AUDIO_SAMPLE_RATE as usize / 50;

/// The `i`th 20 ms block of a `hz` sine at `amplitude`.
fn tone_block(hz: f32, amplitude: f32, i: usize) -> Vec<f32> {
    (0..BLOCK)
        .map(|s| {
            let t = (i * BLOCK + s) as f32 / AUDIO_SAMPLE_RATE as f32;
            amplitude * (2.0 * std::f32::consts::PI * hz * t).sin()
        })
        .collect()
}

/// A picture that changes every frame: a bar sweeping across a gradient.
fn moving_pictures() -> Box<dyn FnMut() -> Option<RgbaPicture> + Send> {
    let mut n = 0u32;
    Box::new(move || {
        n += 1;
        let (w, h) = (640u32, 360u32);
        let mut data = Vec::with_capacity((w * h * 4) as usize);
        for y in 0..h {
            for x in 0..w {
                let bar = (x + n * 8) % w < 40;
                let v = if bar { 255 } else { ((x + y) / 4 % 256) as u8 };
                data.extend_from_slice(&[v, (y % 256) as u8, 128, 255]);
            }
        }
        Some(RgbaPicture {
            width: w,
            height: h,
            data,
        })
    })
}

#[test]
fn a_recording_holds_the_pictures_and_the_sound_played() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("call.mp4");
    let mixer = AudioMixer::new();
    let _speaker = AudioOutput::null(mixer.clone()).unwrap();
    let input = mixer.add_input();
    let tap = mixer.tap();
    let sound = RecordSound {
        heard: Some(tap),
        own: None,
    };
    let recorder = FileRecorder::start(config(path.clone()), moving_pictures(), sound).unwrap();
    // A 440 Hz tone played in 20 ms blocks, as a member's voice reaches the mix.
    for i in 0..(SECONDS * 50) as usize {
        input.push(&tone_block(440.0, 0.3, i));
        std::thread::sleep(Duration::from_millis(20));
    }
    let summary = recorder.stop().unwrap();
    assert!(summary.frames >= SECONDS * 15 * 8 / 10, "{summary:?}");
    assert!(summary.audio_seconds >= SECONDS as f64 * 0.8, "{summary:?}");

    let probe = probe_file(&path).unwrap();
    assert!(probe.has("video", "h264"), "{probe:?}");
    assert!(probe.has("audio", "aac"), "{probe:?}");
    let duration = probe.duration_s;
    assert!(
        (duration - SECONDS as f64).abs() < 1.0,
        "{duration} s recorded of {SECONDS}"
    );
    let errors = decode_errors(&path).unwrap();
    assert!(errors.trim().is_empty(), "{errors}");
    // The tone is there, not the silence that fills a mute mix.
    let mean_db = mean_volume_db(&path).unwrap();
    assert!(mean_db > -25.0, "mean volume {mean_db} dB");
    eprintln!("recorded {duration:.2} s, sound at {mean_db} dB: {summary:?}");
}

#[test]
fn our_own_voice_is_recorded_with_what_we_hear() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("both.mp4");
    let mixer = AudioMixer::new();
    let _speaker = AudioOutput::null(mixer.clone()).unwrap();
    let input = mixer.add_input();
    let own = SoundTaps::new();
    let sound = RecordSound {
        heard: Some(mixer.tap()),
        own: Some(own.tap()),
    };
    let recorder = FileRecorder::start(config(path.clone()), moving_pictures(), sound).unwrap();
    // Both loud at once: their sum passes full scale and is bent (see `record::mix`); both
    // pitches still come through whole.
    for i in 0..(SECONDS * 50) as usize {
        input.push(&tone_block(440.0, 0.6, i));
        own.push(&tone_block(660.0, 0.6, i), Instant::now());
        std::thread::sleep(Duration::from_millis(20));
    }
    let summary = recorder.stop().unwrap();
    assert!(summary.audio_seconds >= SECONDS as f64 * 0.8, "{summary:?}");
    let heard = sound_of(&path).unwrap();
    let (other, ours) = (tone_share(&heard, 440.0), tone_share(&heard, 660.0));
    // A pitch that is missing has a share under 0.01.
    assert!(
        other > 0.1 && ours > 0.1,
        "440 Hz {other:.3}, 660 Hz {ours:.3}"
    );
    eprintln!("440 Hz {other:.3}, 660 Hz {ours:.3}: {summary:?}");
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kept.mp4");
    std::fs::write(&path, b"someone's file").unwrap();
    let refused = FileRecorder::start(
        config(path.clone()),
        moving_pictures(),
        RecordSound::default(),
    );
    assert!(matches!(refused, Err(RecordError::Output { .. })));
    assert_eq!(std::fs::read(&path).unwrap(), b"someone's file");
}
