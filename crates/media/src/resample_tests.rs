use super::*;
use std::f64::consts::TAU;

/// The test tone.
const HZ: f64 = 1_000.0;
/// Its amplitude (RMS is this over √2).
const AMPLITUDE: f64 = 0.5;
/// Block sizes a device might ask for, none of them a multiple of another, in turn.
const ODD_BLOCKS: [usize; 6] = [331, 97, 1_021, 7, 512, 443];
/// Samples skipped at the start while the filter primes.
const SETTLE: usize = 256;

/// A continuous 1 kHz sine at `rate`, block after block.
struct Sine {
    rate: u32,
    n: u64,
}

impl Sine {
    fn new(rate: u32) -> Sine {
        Sine { rate, n: 0 }
    }

    fn next(&mut self) -> f32 {
        let t = self.n as f64 / f64::from(self.rate);
        self.n += 1;
        (AMPLITUDE * (TAU * HZ * t).sin()) as f32
    }
}

/// What the tone looks like after conversion.
#[derive(Debug)]
struct Analysis {
    /// From the zero crossings.
    hz: f64,
    /// Level relative to the tone going in, in dB.
    level_db: f64,
    /// Largest difference from the best-fitting 1 kHz sine, relative to the amplitude: a
    /// dropped, doubled or mangled sample anywhere shows here.
    worst_residual: f64,
}

/// Analyses `x` at `rate` from [`SETTLE`] on, over whole 10 ms spans (whole cycles of 1 kHz).
fn analyse(x: &[f32], rate: u32) -> Analysis {
    let span = rate as usize / 100;
    let len = (x.len() - SETTLE) / span * span;
    assert!(len >= span * 10, "too little to analyse: {}", x.len());
    let x: Vec<f64> = x[SETTLE..SETTLE + len]
        .iter()
        .map(|&s| f64::from(s))
        .collect();
    let w = TAU * HZ / f64::from(rate);

    // Rising zero crossings, interpolated between samples.
    let mut crossings = Vec::new();
    for i in 1..x.len() {
        if x[i - 1] < 0.0 && x[i] >= 0.0 {
            crossings.push((i - 1) as f64 + x[i - 1] / (x[i - 1] - x[i]));
        }
    }
    let (first, last) = (crossings[0], crossings[crossings.len() - 1]);
    let hz = (crossings.len() - 1) as f64 * f64::from(rate) / (last - first);

    let rms = (x.iter().map(|s| s * s).sum::<f64>() / x.len() as f64).sqrt();
    let level_db = 20.0 * (rms / (AMPLITUDE / 2f64.sqrt())).log10();

    // Least-squares fit over whole cycles: the DFT bin at 1 kHz.
    let n = x.len() as f64;
    let a = 2.0 / n
        * (0..x.len())
            .map(|i| x[i] * (w * i as f64).sin())
            .sum::<f64>();
    let b = 2.0 / n
        * (0..x.len())
            .map(|i| x[i] * (w * i as f64).cos())
            .sum::<f64>();
    let worst_residual = (0..x.len())
        .map(|i| (x[i] - a * (w * i as f64).sin() - b * (w * i as f64).cos()).abs())
        .fold(0.0, f64::max)
        / AMPLITUDE;
    Analysis {
        hz,
        level_db,
        worst_residual,
    }
}

/// Checks that `x` at `rate` is the test tone, whole and clean.
fn assert_clean_tone(x: &[f32], rate: u32, what: &str) {
    let a = analyse(x, rate);
    assert!((a.hz - HZ).abs() < 0.5, "{what}: {a:?}");
    assert!(a.level_db.abs() < 0.5, "{what}: {a:?}");
    // −40 dB: far below any click, far above the filter's own ripple and 16-bit rounding.
    assert!(a.worst_residual < 0.01, "{what}: {a:?}");
}

/// Plays `seconds` of the tone through an [`OutputConverter`] to a device of `T` samples,
/// `channels` × `rate`, asking for [`ODD_BLOCKS`]; returns each channel as f32 and how many
/// mix samples were asked for.
fn play<T>(rate: u32, channels: u16, seconds: u32) -> (Vec<Vec<f32>>, usize)
where
    T: Sample + FromSample<f32>,
    f32: FromSample<T>,
{
    let mut conv = OutputConverter::new(rate, channels).unwrap();
    let mut sine = Sine::new(AUDIO_SAMPLE_RATE);
    let mut mixed = 0;
    let total = (rate * seconds) as usize;
    let ch = usize::from(channels);
    let mut out = vec![Vec::with_capacity(total); ch];
    let mut block = Vec::new();
    for &frames in ODD_BLOCKS.iter().cycle() {
        let done = out[0].len();
        if done >= total {
            break;
        }
        block.clear();
        block.resize(frames.min(total - done) * ch, T::EQUILIBRIUM);
        conv.fill(&mut block, |m, _| {
            m.iter_mut().for_each(|s| *s = sine.next());
            mixed += m.len();
        })
        .unwrap();
        for frame in block.chunks_exact(ch) {
            for (c, &s) in frame.iter().enumerate() {
                out[c].push(f32::from_sample_(s));
            }
        }
    }
    (out, mixed)
}

fn check_output<T>(rate: u32, channels: u16)
where
    T: Sample + FromSample<f32>,
    f32: FromSample<T>,
{
    let seconds = 5;
    let (out, mixed) = play::<T>(rate, channels, seconds);
    let what = format!("{rate} Hz × {channels} {}", std::any::type_name::<T>());
    // Five seconds played took five seconds of the mix, give or take what waits in the
    // converter: no drift.
    let wanted = (AUDIO_SAMPLE_RATE * seconds) as usize;
    assert!(
        (wanted..=wanted + MIX_SLACK + 64).contains(&mixed),
        "{what}: {mixed} mixed for {wanted}"
    );
    assert_eq!(out[0].len(), (rate * seconds) as usize);
    for c in &out {
        assert_eq!(c, &out[0], "{what}: every channel plays the same");
    }
    assert_clean_tone(&out[0], rate, &what);
}

#[test]
fn the_mix_reaches_a_44_1_khz_speaker_whole() {
    check_output::<f32>(44_100, 1);
}

#[test]
fn the_mix_reaches_a_96_khz_speaker_whole() {
    check_output::<f32>(96_000, 1);
}

#[test]
fn the_mix_reaches_a_16_bit_stereo_speaker_whole() {
    check_output::<i16>(44_100, 2);
    check_output::<i16>(96_000, 2);
}

#[test]
fn a_48_khz_speaker_gets_the_mix_untouched() {
    let (out, mixed) = play::<f32>(AUDIO_SAMPLE_RATE, 2, 1);
    let mut sine = Sine::new(AUDIO_SAMPLE_RATE);
    let expected: Vec<f32> = (0..out[0].len()).map(|_| sine.next()).collect();
    assert_eq!(out[0], expected);
    assert!(mixed - out[0].len() <= MIX_SLACK, "{mixed}");
}

#[test]
fn the_mix_knows_when_it_will_be_heard() {
    let mut conv = OutputConverter::new(44_100, 2).unwrap();
    let mut data = vec![0f32; 441 * 2];
    let mut aheads = Vec::new();
    for _ in 0..10 {
        conv.fill(&mut data, |_, ahead| aheads.push(ahead)).unwrap();
    }
    // Whatever waits in the converter comes first: under a millisecond once primed.
    assert!(
        aheads.iter().all(|&a| a < Duration::from_millis(2)),
        "{aheads:?}"
    );
    assert!(conv.held() < Duration::from_millis(2), "{:?}", conv.held());
}

#[test]
fn a_44_1_khz_stereo_microphone_becomes_48_khz_mono() {
    let rate = 44_100;
    let seconds = 5;
    let mut conv = InputConverter::new(rate, 2).unwrap();
    let mut sine = Sine::new(rate);
    let total = (rate * seconds) as usize;
    let mut fed = 0;
    let mut out = Vec::new();
    for &frames in ODD_BLOCKS.iter().cycle() {
        if fed >= total {
            break;
        }
        let frames = frames.min(total - fed);
        let block: Vec<i16> = (0..frames)
            .flat_map(|_| {
                let s = i16::from_sample_(sine.next());
                [s, s]
            })
            .collect();
        out.extend_from_slice(conv.convert(&block).unwrap());
        fed += frames;
    }
    // Five seconds in, five seconds out, less the filter's delay.
    let wanted = (AUDIO_SAMPLE_RATE * seconds) as usize;
    assert!(
        (wanted - 32..=wanted).contains(&out.len()),
        "{} for {wanted}",
        out.len()
    );
    assert_clean_tone(&out, AUDIO_SAMPLE_RATE, "44.1 kHz stereo i16 microphone");
}

#[test]
fn channels_are_averaged_not_summed() {
    let mut conv = InputConverter::new(AUDIO_SAMPLE_RATE, 2).unwrap();
    let out = conv.convert(&[1.0f32, 0.0, 0.5, 0.5]).unwrap().to_vec();
    assert_eq!(out, vec![0.5, 0.5]);
}

#[test]
fn a_device_with_no_channels_is_refused() {
    assert!(matches!(
        OutputConverter::new(44_100, 0),
        Err(ResampleError::Unsupported { channels: 0, .. })
    ));
    assert!(InputConverter::new(0, 1).is_err());
}
