//! A speaker that only runs at 44.1 kHz, 16-bit stereo (Windows' shared mode on a common laptop),
//! behind cpal's `custom` host: the real output code opens it in its own mode, converts the mix
//! to it and tells the mixer when what it mixes is heard.

mod support;

use cpal::Sample;
use quartet_media::{AUDIO_SAMPLE_RATE, AudioMixer, AudioOutput};
use std::time::{Duration, Instant};
use support::fake_audio::{
    DYING_AFTER, FakeDevice, PLAYED, SPEAKER_LATENCY as DEVICE_LATENCY, SPEAKER_RATE as RATE,
    with_devices,
};
use support::wait_until;

/// The tone played.
const HZ: f64 = 1_000.0;
const AMPLITUDE: f64 = 0.5;

/// Rising zero crossings of `x`, interpolated between samples.
fn crossings(x: &[f64]) -> Vec<f64> {
    (1..x.len())
        .filter(|&i| x[i - 1] < 0.0 && x[i] >= 0.0)
        .map(|i| (i - 1) as f64 + x[i - 1] / (x[i - 1] - x[i]))
        .collect()
}

#[test]
fn a_44_1_khz_speaker_plays_the_mix_at_its_level_and_pitch() {
    let host = with_devices(&[FakeDevice::Speaker]);
    let mixer = AudioMixer::new();
    let input = mixer.add_input();
    let out = AudioOutput::open_on(host, mixer.clone(), None).unwrap();
    assert!(!out.is_null());
    assert!(out.describe().contains("44100 Hz"), "{}", out.describe());

    // A second of tone, kept 100–140 ms ahead of the speaker.
    let mut n = 0u64;
    let tone = |n: &mut u64| {
        let t = *n as f64 / f64::from(AUDIO_SAMPLE_RATE);
        *n += 1;
        (AMPLITUDE * (std::f64::consts::TAU * HZ * t).sin()) as f32
    };
    let t0 = Instant::now();
    while n < u64::from(AUDIO_SAMPLE_RATE) {
        if input.queued() < AUDIO_SAMPLE_RATE as usize / 10 {
            let chunk: Vec<f32> = (0..AUDIO_SAMPLE_RATE / 25).map(|_| tone(&mut n)).collect();
            input.push(&chunk);
        }
        std::thread::sleep(Duration::from_millis(5));
        assert!(t0.elapsed() < Duration::from_secs(10));
    }
    while input.queued() > 0 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    // The speaker's own buffer, plus under a millisecond in the converter.
    let latency = mixer.output_latency();
    assert!(
        latency >= DEVICE_LATENCY && latency < DEVICE_LATENCY + Duration::from_millis(2),
        "{latency:?}"
    );
    out.stop();

    let played = PLAYED.lock().unwrap().clone();
    let left: Vec<f64> = played
        .chunks_exact(2)
        .map(|f| {
            assert_eq!(f[0], f[1], "both sides play the same");
            f64::from(f32::from_sample(f[0]))
        })
        .collect();
    // The middle half second: well clear of the prebuffer and the end.
    let first = left.iter().position(|s| s.abs() > 0.1).expect("sound");
    let middle = &left[first + RATE as usize / 4..first + RATE as usize * 3 / 4];
    let c = crossings(middle);
    let hz = (c.len() - 1) as f64 * f64::from(RATE) / (c[c.len() - 1] - c[0]);
    assert!((hz - HZ).abs() < 1.0, "{hz} Hz");
    let rms = (middle.iter().map(|s| s * s).sum::<f64>() / middle.len() as f64).sqrt();
    let level_db = 20.0 * (rms / (AMPLITUDE / 2f64.sqrt())).log10();
    assert!(level_db.abs() < 0.5, "{level_db} dB");
}

#[test]
fn a_speaker_unplugged_while_playing_says_why_it_stopped() {
    let mixer = AudioMixer::new();
    let out = AudioOutput::open_on(with_devices(&[FakeDevice::DyingSpeaker]), mixer, None).unwrap();
    assert_eq!(out.failure(), None, "a speaker that plays has not failed");
    // It plays DYING_AFTER 10 ms periods, then reports the loss.
    let by = Duration::from_millis(10) * DYING_AFTER + Duration::from_secs(5);
    assert!(
        wait_until(by, || out.failure().is_some()),
        "no failure reported"
    );
    let why = out.failure().unwrap();
    assert!(why.to_lowercase().contains("not available"), "{why}");
    out.stop();
}
