//! Sounds made here for audio tests and benchmarks: speech from espeak-ng, noise from sox or a
//! repeatable generator, and a room's impulse response, all as 48 kHz mono f32.

use crate::{TestkitError, require};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// The rate of every sound made here, Hz (the media pipeline's own rate).
pub const RATE: u32 = 48_000;
/// Speech and noise level, dBFS RMS: a normal talker at a laptop's microphone.
pub const SPEECH_DBFS: f32 = -26.0;
/// Speaking rate handed to espeak-ng, words per minute: a calm talker.
pub const SPEECH_WPM: u32 = 165;

/// A repeatable noise generator (xorshift), so tests need no random crate and never flake.
#[derive(Debug, Clone)]
pub struct Noise(u32);

impl Noise {
    /// A generator from `seed` (non-zero; zero is replaced so the sequence never sticks).
    pub fn new(seed: u32) -> Noise {
        Noise(if seed == 0 { 0x9e37_79b9 } else { seed })
    }

    /// The next sample, uniform in [−1, 1].
    pub fn next_sample(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 as f32 / u32::MAX as f32) * 2.0 - 1.0
    }
}

/// Mean energy per sample.
pub fn energy(s: &[f32]) -> f64 {
    s.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / s.len().max(1) as f64
}

/// Samples in each window [`tone_share`] looks at (100 ms): short enough that a tone's phase
/// holds within one even when the sound has gaps (a recording that lost a block).
pub const TONE_WINDOW: usize = RATE as usize / 10;

/// The share of `s`'s energy at `hz` (Goertzel's filter over each [`TONE_WINDOW`], added up):
/// about 1 for a pure tone of that pitch, about 0 for sound without it.
pub fn tone_share(s: &[f32], hz: f32) -> f64 {
    let total = energy(s) * s.len() as f64;
    if total <= 0.0 {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * f64::from(hz) / f64::from(RATE);
    let coeff = 2.0 * w.cos();
    let at_pitch: f64 = s
        .chunks(TONE_WINDOW)
        .map(|window| {
            let (mut s1, mut s2) = (0.0_f64, 0.0_f64);
            for &x in window {
                let s0 = f64::from(x) + coeff * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            // A sine of amplitude A over n samples gives power (A·n/2)², energy A²·n/2.
            2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / window.len() as f64
        })
        .sum();
    (at_pitch / total).min(1.0)
}

/// Scales `s` to `dbfs` RMS.
pub fn normalise(s: &mut [f32], dbfs: f32) {
    let rms = energy(s).sqrt() as f32;
    if rms > 0.0 {
        let g = 10f32.powf(dbfs / 20.0) / rms;
        s.iter_mut().for_each(|x| *x *= g);
    }
}

/// A file name in `dir` no other call of this process uses, so sounds can be made in parallel.
fn fresh(dir: &Path, extension: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("sound-{}-{n}.{extension}", std::process::id()))
}

fn run(program: &'static str, cmd: &mut Command) -> Result<(), TestkitError> {
    crate::output_of(program, cmd).map(drop)
}

/// What sox can read, as 48 kHz mono f32 samples (sox resamples with its own good filter).
pub fn read_sound(dir: &Path, input: &Path) -> Result<Vec<f32>, TestkitError> {
    let sox = require("sox", "sox")?;
    let raw = fresh(dir, "f32");
    run(
        "sox",
        Command::new(sox)
            .arg(input)
            .args([
                "-r",
                &RATE.to_string(),
                "-c",
                "1",
                "-b",
                "32",
                "-e",
                "floating-point",
                "-t",
                "raw",
            ])
            .arg(&raw),
    )?;
    read_f32(&raw)
}

/// Raw little-endian f32 samples from `path` (what sox and FFmpeg's `f32le` write).
pub fn read_f32(path: &Path) -> Result<Vec<f32>, TestkitError> {
    Ok(std::fs::read(path)?
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// `text` spoken by espeak-ng's `voice` at [`SPEECH_DBFS`], made in `dir`.
pub fn speech(dir: &Path, voice: &str, text: &str) -> Result<Vec<f32>, TestkitError> {
    let espeak = require("espeak-ng", "espeak-ng")?;
    let wav = fresh(dir, "wav");
    run(
        "espeak-ng",
        Command::new(espeak)
            .args(["-v", voice, "-s", &SPEECH_WPM.to_string(), "-w"])
            .arg(&wav)
            .arg(text),
    )?;
    let mut s = read_sound(dir, &wav)?;
    if s.is_empty() {
        return Err(TestkitError::Failed {
            program: "espeak-ng",
            detail: format!("no speech for {text:?}"),
        });
    }
    normalise(&mut s, SPEECH_DBFS);
    Ok(s)
}

/// A fan of `seconds`: brown noise below 500 Hz, from sox, at [`SPEECH_DBFS`].
pub fn fan(dir: &Path, seconds: u32) -> Result<Vec<f32>, TestkitError> {
    let sox = require("sox", "sox")?;
    let wav = fresh(dir, "wav");
    run(
        "sox",
        Command::new(sox)
            .args(["-n", "-r", &RATE.to_string(), "-c", "1"])
            .arg(&wav)
            .args([
                "synth",
                &seconds.to_string(),
                "brownnoise",
                "lowpass",
                "500",
            ]),
    )?;
    let mut s = read_sound(dir, &wav)?;
    normalise(&mut s, SPEECH_DBFS);
    Ok(s)
}

/// `s` looped or cut to `len` samples.
pub fn looped(s: &[f32], len: usize) -> Vec<f32> {
    s.iter().copied().cycle().take(len).collect()
}

/// A room's impulse response: how a speaker's sound reaches a microphone beside it.
#[derive(Debug, Clone, Copy)]
pub struct Room {
    /// Speaker to microphone: the direct path's delay, s.
    pub direct_path: f32,
    /// Reverberation time (to −60 dB), s.
    pub rt60: f32,
    /// The whole echo path's energy gain, dB.
    pub gain_db: f32,
}

/// A laptop on an office desk: speaker a hand from the microphone, a small room.
pub const LAPTOP_IN_OFFICE: Room = Room {
    direct_path: 0.005,
    rt60: 0.3,
    gain_db: -6.0,
};

impl Room {
    /// The full response: the direct path, then an exponentially decaying noise tail with the
    /// direct path's energy, scaled to [`Room::gain_db`].
    pub fn response(&self) -> Vec<f32> {
        let sr = RATE as f32;
        let direct = (self.direct_path * sr) as usize;
        let n = direct + (self.rt60 * 1.35 * sr) as usize;
        let mut h = vec![0.0f32; n];
        h[direct] = 1.0;
        let mut noise = Noise::new(12345);
        let mut tail = 0.0;
        for (i, x) in h.iter_mut().enumerate().skip(direct + 1) {
            let t = (i - direct) as f32 / sr;
            *x = noise.next_sample() * self.decay(t);
            tail += *x * *x;
        }
        let g = 1.0 / tail.sqrt();
        h.iter_mut().skip(direct + 1).for_each(|x| *x *= g);
        self.scaled(h)
    }

    /// The direct path and `reflections` single reflections over the reverberation time, as
    /// (delay in samples, gain): cheap enough to convolve in real time in a debug build.
    pub fn sparse(&self, reflections: usize) -> Vec<(usize, f32)> {
        let sr = RATE as f32;
        let direct = (self.direct_path * sr) as usize;
        let span = self.rt60 * sr;
        let mut noise = Noise::new(777);
        let mut taps = vec![(direct, 1.0f32)];
        for k in 0..reflections {
            // Reflections grow denser with time, as in a real room: spread on a square root.
            let at = ((k + 1) as f32 / reflections as f32).sqrt() * span;
            let t = at / sr;
            let sign = if noise.next_sample() < 0.0 { -1.0 } else { 1.0 };
            taps.push((direct + at as usize, sign * 0.6 * self.decay(t)));
        }
        let energy: f32 = taps.iter().map(|(_, g)| g * g).sum();
        let scale = (10f32.powf(self.gain_db / 10.0) / energy).sqrt();
        taps.iter_mut().for_each(|(_, g)| *g *= scale);
        taps
    }

    fn decay(&self, t: f32) -> f32 {
        // ln(1000): amplitude falls 60 dB over rt60.
        (-6.9078 * t / self.rt60).exp()
    }

    fn scaled(&self, mut h: Vec<f32>) -> Vec<f32> {
        let energy: f32 = h.iter().map(|x| x * x).sum();
        let scale = (10f32.powf(self.gain_db / 10.0) / energy).sqrt();
        h.iter_mut().for_each(|x| *x *= scale);
        h
    }
}

/// `x` heard through `h` (direct convolution: for offline signals).
pub fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0f32; x.len()];
    for (i, yi) in y.iter_mut().enumerate() {
        let k0 = i.saturating_sub(h.len() - 1);
        *yi = (k0..=i).map(|k| x[k] * h[i - k]).sum();
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f32, amplitude: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| amplitude * (2.0 * std::f32::consts::PI * hz * i as f32 / RATE as f32).sin())
            .collect()
    }

    #[test]
    fn a_tone_share_tells_which_pitches_a_sound_holds() {
        let a = sine(440.0, 0.3, RATE as usize);
        assert!(tone_share(&a, 440.0) > 0.95);
        assert!(tone_share(&a, 660.0) < 0.01);
        let both: Vec<f32> = a
            .iter()
            .zip(sine(660.0, 0.3, a.len()))
            .map(|(x, y)| x + y)
            .collect();
        assert!((tone_share(&both, 440.0) - 0.5).abs() < 0.05);
        assert!((tone_share(&both, 660.0) - 0.5).abs() < 0.05);
        assert_eq!(tone_share(&[0.0; 100], 440.0), 0.0);
        // A gap that breaks the tone's phase does not hide it.
        let mut gapped = sine(440.0, 0.3, RATE as usize);
        gapped.drain(1_000..1_337);
        assert!(tone_share(&gapped, 440.0) > 0.9);
    }

    #[test]
    fn noise_is_repeatable_and_bounded() {
        let (mut a, mut b) = (Noise::new(5), Noise::new(5));
        for _ in 0..10_000 {
            let x = a.next_sample();
            assert_eq!(x, b.next_sample());
            assert!((-1.0..=1.0).contains(&x));
        }
        let mut z = Noise::new(0);
        assert!((0..100).any(|_| z.next_sample() != 0.0));
    }

    #[test]
    fn rooms_have_the_asked_gain_and_decay() {
        let room = LAPTOP_IN_OFFICE;
        let dense = room.response();
        let sparse = room.sparse(40);
        let db = |e: f32| 10.0 * e.log10();
        assert!((db(dense.iter().map(|x| x * x).sum()) - room.gain_db).abs() < 0.01);
        assert!((db(sparse.iter().map(|(_, g)| g * g).sum()) - room.gain_db).abs() < 0.01);
        assert_eq!(sparse[0].0, (room.direct_path * RATE as f32) as usize);
        assert!(sparse.windows(2).all(|w| w[0].0 < w[1].0), "{sparse:?}");
        let late = sparse.last().map(|t| t.1.abs()).unwrap_or(1.0);
        assert!(late < sparse[1].1.abs() / 100.0, "{sparse:?}");
    }

    #[test]
    fn normalise_sets_the_level() {
        let mut noise = Noise::new(3);
        let mut s: Vec<f32> = (0..48_000).map(|_| noise.next_sample()).collect();
        normalise(&mut s, -20.0);
        assert!((10.0 * energy(&s).log10() + 20.0).abs() < 0.01);
    }
}
