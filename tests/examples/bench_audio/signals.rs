//! The bench's sounds, made here with the test kit: speech from espeak-ng and fan noise from sox,
//! as 48 kHz mono f32 of [`SECONDS`].

use anyhow::Result;
use quartet_media::AUDIO_SAMPLE_RATE;
use quartet_testkit::sounds;
use std::path::Path;

/// Length of every signal, s.
pub const SECONDS: usize = 20;

/// Samples in [`SECONDS`].
pub fn len() -> usize {
    SECONDS * AUDIO_SAMPLE_RATE as usize
}

/// `text` spoken by espeak-ng's `voice`, looped to [`len`].
pub fn speech(dir: &Path, voice: &str, text: &str) -> Result<Vec<f32>> {
    Ok(sounds::looped(&sounds::speech(dir, voice, text)?, len()))
}

/// A fan: brown noise below 500 Hz, from sox.
pub fn fan(dir: &Path) -> Result<Vec<f32>> {
    Ok(sounds::looped(&sounds::fan(dir, SECONDS as u32)?, len()))
}

/// Speech with a second of silence after every two, so noise alone can be measured.
pub fn with_pauses(speech: &[f32]) -> Vec<f32> {
    let sr = AUDIO_SAMPLE_RATE as usize;
    speech
        .iter()
        .enumerate()
        .map(|(i, &x)| if (i / sr) % 3 == 2 { 0.0 } else { x })
        .collect()
}
