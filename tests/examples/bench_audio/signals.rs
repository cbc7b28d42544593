//! The bench's sounds, made here: speech from espeak-ng, fan noise from sox, a room's impulse
//! response, all as 48 kHz mono f32.

use anyhow::{Context, Result, ensure};
use quartet_media::AUDIO_SAMPLE_RATE;
use std::path::Path;
use std::process::Command;

/// Length of every signal, s.
pub const SECONDS: usize = 20;
/// The room's reverberation time (to −60 dB), s: a small office.
pub const RT60: f32 = 0.3;
/// Speaker to microphone: the direct path's delay, s.
pub const DIRECT_PATH: f32 = 0.005;
/// The whole echo path's energy gain, dB: a laptop's speaker a hand away from its microphone.
pub const ECHO_PATH_GAIN_DB: f32 = -6.0;
/// Speech and noise level, dBFS RMS.
pub const SPEECH_DBFS: f32 = -26.0;

/// Samples in [`SECONDS`].
pub fn len() -> usize {
    SECONDS * AUDIO_SAMPLE_RATE as usize
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn read_f32(path: &Path) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Scales `s` to `dbfs` RMS.
pub fn normalise(s: &mut [f32], dbfs: f32) {
    let rms = (s.iter().map(|x| x * x).sum::<f32>() / s.len().max(1) as f32).sqrt();
    if rms > 0.0 {
        let g = 10f32.powf(dbfs / 20.0) / rms;
        s.iter_mut().for_each(|x| *x *= g);
    }
}

/// Converts what sox can read to 48 kHz mono f32, looped or cut to [`len`].
fn to_signal(dir: &Path, input: &Path, name: &str) -> Result<Vec<f32>> {
    let raw = dir.join(format!("{name}.f32"));
    run(Command::new("sox")
        .arg(input)
        .args([
            "-r",
            "48000",
            "-c",
            "1",
            "-b",
            "32",
            "-e",
            "floating-point",
            "-t",
            "raw",
        ])
        .arg(&raw))?;
    let s = read_f32(&raw)?;
    ensure!(!s.is_empty(), "{name} is empty");
    Ok(s.iter().copied().cycle().take(len()).collect())
}

/// `text` spoken by espeak-ng's `voice`, at [`SPEECH_DBFS`].
pub fn speech(dir: &Path, voice: &str, text: &str, name: &str) -> Result<Vec<f32>> {
    let wav = dir.join(format!("{name}.wav"));
    run(Command::new("espeak-ng")
        .args(["-v", voice, "-s", "165", "-w"])
        .arg(&wav)
        .arg(text))?;
    let mut s = to_signal(dir, &wav, name)?;
    normalise(&mut s, SPEECH_DBFS);
    Ok(s)
}

/// A fan: brown noise below 500 Hz, from sox.
pub fn fan(dir: &Path) -> Result<Vec<f32>> {
    let wav = dir.join("fan.wav");
    run(Command::new("sox")
        .args(["-n", "-r", "48000", "-c", "1"])
        .arg(&wav)
        .args([
            "synth",
            &SECONDS.to_string(),
            "brownnoise",
            "lowpass",
            "500",
        ]))?;
    to_signal(dir, &wav, "fan")
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

/// A repeatable noise generator (xorshift).
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 as f32 / u32::MAX as f32) * 2.0 - 1.0
    }
}

/// A room's impulse response: the direct path, then an exponentially decaying noise tail of
/// [`RT60`] with the direct path's energy, scaled to [`ECHO_PATH_GAIN_DB`].
pub fn room() -> Vec<f32> {
    let sr = AUDIO_SAMPLE_RATE as f32;
    let direct = (DIRECT_PATH * sr) as usize;
    let n = direct + (RT60 * 1.35 * sr) as usize;
    let mut h = vec![0.0f32; n];
    h[direct] = 1.0;
    let mut noise = Noise(12345);
    let mut tail = 0.0;
    for (i, x) in h.iter_mut().enumerate().skip(direct + 1) {
        let t = (i - direct) as f32 / sr;
        *x = noise.next() * (-6.9078 * t / RT60).exp();
        tail += *x * *x;
    }
    let g = 1.0 / tail.sqrt();
    h.iter_mut().skip(direct + 1).for_each(|x| *x *= g);
    let energy: f32 = h.iter().map(|x| x * x).sum();
    let scale = (10f32.powf(ECHO_PATH_GAIN_DB / 10.0) / energy).sqrt();
    h.iter_mut().for_each(|x| *x *= scale);
    h
}

/// `x` heard through `h` (direct convolution, sparse in nothing: the bench runs once).
pub fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0f32; x.len()];
    for (i, yi) in y.iter_mut().enumerate() {
        let k0 = i.saturating_sub(h.len() - 1);
        *yi = (k0..=i).map(|k| x[k] * h[i - k]).sum();
    }
    y
}
