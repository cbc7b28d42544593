//! Opening the speaker a call plays through, and the pre-join "test speaker" chime.
//!
//! Opening a speaker blocks (device probing), so the blocking functions here run on a blocking
//! thread; [`test_speaker`] does that itself.

use crate::call::CallError;
use crate::config::AudioOutputChoice;
use quartet_media::{AUDIO_SAMPLE_RATE, AudioMixer, AudioOutError, AudioOutput, samples_in};
use std::time::{Duration, Instant};

/// How long the chime lasts.
pub const CHIME_LENGTH: Duration = Duration::from_millis(600);
/// The chime's two notes, E5 then A5: a rising fourth, the interval of a doorbell.
pub const CHIME_NOTES_HZ: [f32; 2] = [659.25, 880.0];
/// When the second note starts; the first rings on under it.
pub const CHIME_SECOND_NOTE: Duration = Duration::from_millis(200);
/// Peak level of each note: clearly audible, well clear of clipping when both ring.
pub const CHIME_LEVEL: f32 = 0.3;
/// Rise time of a note, long enough not to click.
const CHIME_ATTACK: Duration = Duration::from_millis(8);
/// Each note's fade: its level falls by e every this long.
const CHIME_DECAY: Duration = Duration::from_millis(120);
/// Fade to silence at the very end, so the chime stops without a click.
const CHIME_RELEASE: Duration = Duration::from_millis(30);
/// Sound kept queued ahead of the speaker while the chime plays (the mixer holds at most
/// 200 ms per input).
const CHIME_AHEAD: Duration = Duration::from_millis(100);
/// How often the chime's queue is topped up.
const CHIME_TICK: Duration = Duration::from_millis(10);
/// A speaker that has not played the chime this long after it should have finished is stuck.
const CHIME_STALL: Duration = Duration::from_secs(2);

/// The speaker `choice` names, playing what `mixer` mixes. A default or named speaker that is
/// missing or fails is an error (the caller decides whether the null sink stands in).
pub(crate) fn open_output(
    choice: &AudioOutputChoice,
    mixer: AudioMixer,
) -> Result<AudioOutput, AudioOutError> {
    match choice {
        AudioOutputChoice::Default => AudioOutput::open(mixer, None),
        AudioOutputChoice::Device(name) => AudioOutput::open(mixer, Some(name)),
        AudioOutputChoice::Null => AudioOutput::null(mixer),
    }
}

/// The test chime: two bell-like notes, mono at [`AUDIO_SAMPLE_RATE`].
pub fn chime() -> Vec<f32> {
    let rate = AUDIO_SAMPLE_RATE as f32;
    let len = samples_in(CHIME_LENGTH);
    let starts = [0, samples_in(CHIME_SECOND_NOTE)];
    let attack = samples_in(CHIME_ATTACK) as f32;
    let decay = samples_in(CHIME_DECAY) as f32;
    let release = samples_in(CHIME_RELEASE);
    (0..len)
        .map(|i| {
            let note: f32 = starts
                .iter()
                .zip(CHIME_NOTES_HZ)
                .filter(|&(&start, _)| i >= start)
                .map(|(&start, hz)| {
                    let n = (i - start) as f32;
                    let envelope = (n / attack).min(1.0) * (-n / decay).exp();
                    envelope * (std::f32::consts::TAU * hz * n / rate).sin()
                })
                .sum();
            let tail = ((len - i) as f32 / release as f32).min(1.0);
            note * CHIME_LEVEL * tail
        })
        .collect()
}

/// Plays [`chime`] through `choice` and returns once it has been played. Blocks.
pub fn play_chime(choice: &AudioOutputChoice) -> Result<(), AudioOutError> {
    let mixer = AudioMixer::new();
    let input = mixer.add_input();
    let output = open_output(choice, mixer.clone())?;
    let chime = chime();
    let ahead = samples_in(CHIME_AHEAD);
    let deadline = Instant::now() + CHIME_LENGTH + CHIME_STALL;
    let mut sent = 0;
    let mut result = Ok(());
    while sent < chime.len() || input.queued() > 0 {
        if Instant::now() > deadline {
            result = Err(AudioOutError::Unavailable {
                name: output.describe().to_owned(),
                reason: "it stopped playing".to_owned(),
            });
            break;
        }
        let room = ahead.saturating_sub(input.queued());
        let next = chime.len().min(sent + room);
        input.push(&chime[sent..next]);
        sent = next;
        std::thread::sleep(CHIME_TICK);
    }
    if result.is_ok() {
        // What was mixed last is still in the device's buffer.
        std::thread::sleep(mixer.output_latency());
    }
    output.stop();
    result
}

/// Plays the test chime through `choice` (pre-join "test speaker"); a speaker that is missing
/// or fails is a [`CallError::Speaker`].
pub async fn test_speaker(choice: AudioOutputChoice) -> Result<(), CallError> {
    tokio::task::spawn_blocking(move || play_chime(&choice))
        .await
        .map_err(|e| CallError::Task(e.to_string()))??;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Level of `hz` in `x` (Goertzel), as the amplitude of a sine.
    fn amplitude_at(x: &[f32], hz: f32) -> f32 {
        let w = std::f32::consts::TAU * hz / AUDIO_SAMPLE_RATE as f32;
        let (mut s1, mut s2) = (0f32, 0f32);
        for &v in x {
            let s = v + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).sqrt() * 2.0 / x.len() as f32
    }

    #[test]
    fn the_chime_rings_two_notes_and_starts_and_ends_softly() {
        let c = chime();
        assert_eq!(c.len(), samples_in(CHIME_LENGTH));
        let peak = c.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.2 && peak < 0.6, "{peak}");
        // No click: the first and last samples are near silence.
        assert!(c[0].abs() < 0.01 && c[c.len() - 1].abs() < 0.01);
        let second = samples_in(CHIME_SECOND_NOTE);
        let (first_half, second_half) = c.split_at(second);
        let [low, high] = CHIME_NOTES_HZ;
        assert!(amplitude_at(first_half, low) > 5.0 * amplitude_at(first_half, high));
        assert!(amplitude_at(&second_half[..second], high) > 0.05);
    }

    #[test]
    fn a_missing_speaker_cannot_play_the_chime() {
        let missing = AudioOutputChoice::Device("no such speaker".into());
        match play_chime(&missing) {
            Err(AudioOutError::NotFound(name)) => assert_eq!(name, "no such speaker"),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_chime_plays_through_the_null_sink_in_real_time() {
        let t0 = Instant::now();
        test_speaker(AudioOutputChoice::Null).await.unwrap();
        // The chime cannot be played faster than it lasts, nor take much longer.
        let took = t0.elapsed();
        assert!(took >= CHIME_LENGTH, "{took:?}");
        assert!(took < CHIME_LENGTH + CHIME_STALL, "{took:?}");
        let missing = AudioOutputChoice::Device("no such speaker".into());
        assert!(matches!(
            test_speaker(missing).await,
            Err(CallError::Speaker(AudioOutError::NotFound(_)))
        ));
    }

    #[test]
    fn a_new_output_takes_over_the_mix_without_a_gap() {
        let mixer = AudioMixer::new();
        let input = mixer.add_input();
        let first = open_output(&AudioOutputChoice::Null, mixer.clone()).unwrap();
        let second = open_output(&AudioOutputChoice::Null, mixer.clone()).unwrap();
        first.stop();
        // A missing speaker is an error; what plays keeps playing.
        let missing = AudioOutputChoice::Device("no such speaker".into());
        assert!(matches!(
            open_output(&missing, mixer.clone()),
            Err(AudioOutError::NotFound(_))
        ));
        input.push(&vec![0.5; samples_in(Duration::from_millis(150))]);
        let t0 = Instant::now();
        while input.queued() > 0 {
            assert!(t0.elapsed() < CHIME_STALL, "the mix is no longer played");
            std::thread::sleep(CHIME_TICK);
        }
        second.stop();
    }
}
