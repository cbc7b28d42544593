//! What is left of the echo while both talk. The canceller's output is the near end — changed
//! by the suppressor, band by band and moment by moment — plus residual echo. Projecting the
//! output on the near end alone (through the same canceller) per octave band and per short
//! block takes out everything the near end explains, gain changes included; what remains is
//! the residual echo (and any distortion of the near end no gain explains, counted against us).

use quartet_media::AUDIO_SAMPLE_RATE;

/// Octave band centres, Hz: speech's range.
pub const BANDS_HZ: [f32; 7] = [125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0];
/// Each band's quality factor: an octave wide.
const BAND_Q: f32 = std::f32::consts::SQRT_2;
/// Projection block: short enough to follow the suppressor's gain, long enough that echo and
/// near end, being unrelated, barely project on each other.
pub const BLOCK: usize = AUDIO_SAMPLE_RATE as usize / 20;

/// A band-pass biquad (RBJ's cookbook, constant 0 dB peak gain).
struct BandPass {
    b: [f32; 3],
    a: [f32; 2],
    x: [f32; 2],
    y: [f32; 2],
}

impl BandPass {
    fn new(centre: f32) -> BandPass {
        let w = std::f32::consts::TAU * centre / AUDIO_SAMPLE_RATE as f32;
        let alpha = w.sin() / (2.0 * BAND_Q);
        let a0 = 1.0 + alpha;
        BandPass {
            b: [alpha / a0, 0.0, -alpha / a0],
            a: [-2.0 * w.cos() / a0, (1.0 - alpha) / a0],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    fn run(mut self, s: &[f32]) -> Vec<f32> {
        s.iter()
            .map(|&x| {
                let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
                    - self.a[0] * self.y[0]
                    - self.a[1] * self.y[1];
                self.x = [x, self.x[0]];
                self.y = [y, self.y[0]];
                y
            })
            .collect()
    }
}

/// Energy of `s` in the bands, per sample: the measure [`unexplained_energy`] is compared with.
pub fn band_energy(s: &[f32]) -> f64 {
    unexplained_energy(s, &vec![0.0; s.len()])
}

/// Energy of `output` that the per-band, per-block projection on `near` does not explain.
pub fn unexplained_energy(output: &[f32], near: &[f32]) -> f64 {
    let mut left = 0.0;
    for centre in BANDS_HZ {
        let o = BandPass::new(centre).run(output);
        let n = BandPass::new(centre).run(near);
        for (ob, nb) in o.chunks(BLOCK).zip(n.chunks(BLOCK)) {
            let on: f64 = ob.iter().zip(nb).map(|(&a, &b)| f64::from(a * b)).sum();
            let nn: f64 = nb.iter().map(|&b| f64::from(b * b)).sum();
            let oo: f64 = ob.iter().map(|&a| f64::from(a * a)).sum();
            // What the near end explains, taken out by least squares.
            left += oo - if nn > 0.0 { on * on / nn } else { 0.0 };
        }
    }
    left / output.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use quartet_testkit::sounds::Noise;

    #[test]
    fn a_gain_riding_near_end_leaves_nothing_and_added_noise_is_counted() {
        let mut noise = Noise::new(9);
        let near: Vec<f32> = (0..AUDIO_SAMPLE_RATE)
            .map(|_| noise.next_sample() * 0.1)
            .collect();
        // The suppressor's kind of change: a slow gain that dips by 6 dB.
        let ridden: Vec<f32> = near
            .iter()
            .enumerate()
            .map(|(i, x)| x * (0.75 + 0.25 * (i as f32 / 24_000.0).cos()))
            .collect();
        assert!(unexplained_energy(&ridden, &near) < band_energy(&near) * 1e-2);
        let echo: Vec<f32> = (0..AUDIO_SAMPLE_RATE)
            .map(|_| noise.next_sample() * 0.01)
            .collect();
        let with_echo: Vec<f32> = ridden.iter().zip(&echo).map(|(a, b)| a + b).collect();
        let ratio = unexplained_energy(&with_echo, &near) / band_energy(&echo);
        assert!((0.9..1.1).contains(&ratio), "{ratio}");
    }
}
