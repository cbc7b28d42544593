use super::*;
use crate::mixer::AudioMixer;
use quartet_testkit::sounds::{Noise, energy};

#[test]
fn stream_delay_adds_lead_and_age_and_is_clamped() {
    let ms = Duration::from_millis;
    assert_eq!(stream_delay(ms(30), ms(12)), ms(42));
    assert_eq!(stream_delay(ms(400), ms(300)), MAX_STREAM_DELAY);
}

#[test]
fn switched_off_sound_passes_untouched() {
    let mut p = Processor::new(AudioProcessing::OFF);
    let chunk = AudioChunk {
        samples: vec![0.25; 123],
        capture_us: 42,
    };
    assert_eq!(p.process(chunk.clone()), chunk);
    assert!(!AudioProcessing::OFF.any());
    assert_eq!(AudioProcessing::default(), AudioProcessing::OFF);
}

#[test]
fn switched_on_sound_comes_out_in_whole_frames_on_the_capture_clock() {
    let mut p = Processor::new(AudioProcessing {
        noise_suppression: true,
        ..AudioProcessing::OFF
    });
    let first = p.process(AudioChunk {
        samples: vec![0.0; 700],
        capture_us: 1_000_000,
    });
    assert_eq!(first.samples.len(), PROCESSING_FRAME);
    assert_eq!(first.capture_us, 1_000_000);
    let second = p.process(AudioChunk {
        samples: vec![0.0; 300],
        capture_us: 1_014_583,
    });
    assert_eq!(second.samples.len(), PROCESSING_FRAME);
    assert_eq!(
        second.capture_us, 1_010_000,
        "the remainder keeps its capture time"
    );
    let third = p.process(AudioChunk {
        samples: vec![0.0; 100],
        capture_us: 1_020_833,
    });
    assert!(
        third.samples.is_empty(),
        "40 + 100 samples make no frame yet"
    );
}

/// The mic hears the speaker 20 ms late at half amplitude; after convergence the canceller
/// must take the echo at least 20 dB down, and switching it off must bring it back.
#[test]
fn the_echo_of_what_the_speaker_plays_is_removed() {
    let mixer = AudioMixer::new();
    let input = mixer.add_input();
    let mut p = Processor::new(AudioProcessing {
        echo_cancellation: true,
        ..AudioProcessing::OFF
    });
    p.set_far_end(Some(mixer.tap()));
    let mut noise = Noise::new(0x9e37_79b9);
    let delay = 2 * PROCESSING_FRAME;
    let mut played: Vec<f32> = vec![0.0; delay];
    let (mut mic_tail, mut out_tail) = (Vec::new(), Vec::new());
    let mut block = vec![0.0; PROCESSING_FRAME];
    let frames = 600;
    for n in 0..frames {
        // Speech-like: noise under a syllable-rate envelope.
        let far: Vec<f32> = (0..PROCESSING_FRAME)
            .map(|i| {
                let t = (n * PROCESSING_FRAME + i) as f32 / AUDIO_SAMPLE_RATE as f32;
                let envelope = 0.5 + 0.5 * (2.0 * std::f32::consts::PI * 3.0 * t).sin();
                0.3 * envelope * noise.next_sample()
            })
            .collect();
        input.push(&far);
        mixer.mix(&mut block);
        played.extend_from_slice(&block);
        let mic: Vec<f32> = played[..PROCESSING_FRAME].iter().map(|s| 0.5 * s).collect();
        played.drain(..PROCESSING_FRAME);
        let out = p.process(AudioChunk {
            samples: mic.clone(),
            capture_us: unix_micros(),
        });
        if n >= frames - 200 {
            mic_tail.extend(mic);
            out_tail.extend(out.samples);
        }
    }
    let erle = 10.0 * (energy(&mic_tail) / energy(&out_tail)).log10();
    assert!(erle >= 20.0, "echo only {erle:.1} dB down");
    assert!(p.stats().erle_db.is_some());

    p.set_settings(AudioProcessing::OFF);
    let mic: Vec<f32> = (0..PROCESSING_FRAME)
        .map(|_| 0.2 * noise.next_sample())
        .collect();
    let out = p.process(AudioChunk {
        samples: mic.clone(),
        capture_us: unix_micros(),
    });
    assert_eq!(
        out.samples, mic,
        "switched off, the echo goes out as captured"
    );
}
