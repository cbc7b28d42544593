//! `cargo xtask bench audio`: how well our microphone is cleaned and what it costs, on sounds
//! made here, and the audio–video offset in a call through the relay. Prints the figures and
//! writes them as JSON.
//!
//! Echo: far-end speech is played through the call's real mixer (its tap is the canceller's
//! reference) and heard back through a simulated room; 0–10 s the far end talks alone, 10–20 s
//! both talk. Noise: speech with pauses under fan noise and under babble, 5 dB SNR.

mod av;
mod residual;
mod signals;

use anyhow::Result;
use clap::Parser;
use quartet_media::processing::{PROCESSING_FRAME, Processor};
use quartet_media::{AUDIO_SAMPLE_RATE, AudioChunk, AudioMixer, AudioProcessing, unix_micros};
use quartet_testkit::sounds::{self, LAPTOP_IN_OFFICE, energy};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Far-end-only span over which the canceller has converged, s.
const SINGLE_TALK: (usize, usize) = (5, 10);
/// Double-talk span, s.
const DOUBLE_TALK: (usize, usize) = (10, 20);
/// The noise suppressor's settling time, left out of its figures, s.
const NS_SETTLE: usize = 2;
/// SNR of speech in noise before suppression, dB.
const NOISY_SNR_DB: f32 = 5.0;
/// How long the call's audio–video offset is measured.
const AV_MEASURE: Duration = Duration::from_secs(20);

#[derive(Parser)]
struct Args {
    /// Where to write the figures.
    #[arg(long)]
    out: PathBuf,
}

fn db(ratio: f64) -> f64 {
    10.0 * ratio.log10()
}

fn span(s: &[f32], (from, to): (usize, usize)) -> &[f32] {
    let sr = AUDIO_SAMPLE_RATE as usize;
    &s[from * sr..(to * sr).min(s.len())]
}

/// Normalised correlation of two equally long signals.
fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let ab: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum();
    ab / (energy(a) * energy(b)).sqrt() / a.len() as f64
}

/// Runs `mic` through a processor while `far` plays through a real mixer; returns the output
/// and the mean time per 10 ms frame.
fn process(settings: AudioProcessing, far: &[f32], mic: &[f32]) -> (Vec<f32>, Duration) {
    let mixer = AudioMixer::new();
    let input = mixer.add_input();
    let mut p = Processor::new(settings);
    p.set_far_end(Some(mixer.tap()));
    let mut block = vec![0.0; PROCESSING_FRAME];
    let mut out = Vec::with_capacity(mic.len());
    let mut busy = Duration::ZERO;
    for (f, m) in far
        .chunks_exact(PROCESSING_FRAME)
        .zip(mic.chunks_exact(PROCESSING_FRAME))
    {
        input.push(f);
        mixer.mix(&mut block);
        let t = Instant::now();
        let chunk = p.process(AudioChunk {
            samples: m.to_vec(),
            capture_us: unix_micros(),
        });
        busy += t.elapsed();
        out.extend(chunk.samples);
    }
    let frames = (mic.len() / PROCESSING_FRAME).max(1) as u32;
    (out, busy / frames)
}

/// What the speaker plays of `far`: the mixer's prebuffer delays it, and the room must echo
/// what is played, not what was sent (the mixer is deterministic, so [`process`] plays the same).
fn played(far: &[f32]) -> Vec<f32> {
    let mixer = AudioMixer::new();
    let input = mixer.add_input();
    let mut block = vec![0.0; PROCESSING_FRAME];
    let mut out = Vec::with_capacity(far.len());
    for f in far.chunks_exact(PROCESSING_FRAME) {
        input.push(f);
        mixer.mix(&mut block);
        out.extend_from_slice(&block);
    }
    out
}

/// SNR gain of noise suppression: (active − noise) / noise energy, on speech-active seconds
/// against the pauses, before and after.
fn snr_gain(speech: &[f32], noise: &[f32]) -> f64 {
    let mut noise = noise.to_vec();
    let ratio = (energy(speech) / energy(&noise)) as f32 * 10f32.powf(-NOISY_SNR_DB / 10.0);
    noise.iter_mut().for_each(|x| *x *= ratio.sqrt());
    let noisy: Vec<f32> = speech.iter().zip(&noise).map(|(s, n)| s + n).collect();
    let silence = vec![0.0; noisy.len()];
    let ns = AudioProcessing {
        noise_suppression: true,
        ..AudioProcessing::OFF
    };
    let (out, _) = process(ns, &silence, &noisy);
    let sr = AUDIO_SAMPLE_RATE as usize;
    let snr = |s: &[f32]| {
        let (mut active, mut quiet) = (Vec::new(), Vec::new());
        for (sec, chunk) in s.chunks_exact(sr).enumerate().skip(NS_SETTLE) {
            // The second after a pause edge is left out: the processor's delay straddles it.
            match sec % 3 {
                2 => quiet.extend_from_slice(&chunk[sr / 10..]),
                1 => active.extend_from_slice(chunk),
                _ => {}
            }
        }
        let (a, q) = (energy(&active), energy(&quiet));
        db((a - q).max(1e-12) / q)
    };
    snr(&out) - snr(&noisy)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let far = signals::speech(
        dir.path(),
        "en",
        "The railway reached the valley in eighteen sixty, and within ten years the town had \
         doubled. Goods that once took a week by cart now arrived overnight, and the old inn \
         by the river became a station hotel with forty rooms.",
    )?;
    let near_text = "Let us move the meeting to Thursday afternoon. I will send the slides \
         tonight, and please bring the figures for the second quarter so we can compare them.";
    let near = signals::speech(dir.path(), "en+f3", near_text)?;
    let sr = AUDIO_SAMPLE_RATE as usize;
    let near: Vec<f32> = (0..near.len())
        .map(|i| if i < 10 * sr { 0.0 } else { near[i - 10 * sr] })
        .collect();
    println!("making the room's echo ({} s of speech)…", signals::SECONDS);
    let echo = sounds::convolve(&played(&far), &LAPTOP_IN_OFFICE.response());
    let mic: Vec<f32> = echo.iter().zip(&near).map(|(e, n)| e + n).collect();
    let aec = AudioProcessing {
        echo_cancellation: true,
        ..AudioProcessing::OFF
    };
    let (out, _) = process(aec, &far, &mic);
    let (near_alone, _) = process(aec, &far, &near);
    let erle_single = db(energy(span(&mic, SINGLE_TALK)) / energy(span(&out, SINGLE_TALK)));
    // Double talk: what is left of the echo is the output less the output for the near end
    // alone through the same canceller (both carry the same processing delay).
    let residual: Vec<f32> = span(&out, DOUBLE_TALK)
        .iter()
        .zip(span(&near_alone, DOUBLE_TALK))
        .map(|(a, b)| a - b)
        .collect();
    let erle_double_plain = db(energy(span(&echo, DOUBLE_TALK)) / energy(&residual));
    let erle_double = db(residual::band_energy(span(&echo, DOUBLE_TALK))
        / residual::unexplained_energy(span(&out, DOUBLE_TALK), span(&near_alone, DOUBLE_TALK)));
    let near_kept = correlation(span(&out, DOUBLE_TALK), span(&near_alone, DOUBLE_TALK));

    let talker = signals::with_pauses(&signals::speech(dir.path(), "en+f3", near_text)?);
    let ns_fan = snr_gain(&talker, &signals::fan(dir.path())?);
    let mut babble = vec![0.0f32; signals::len()];
    for (i, voice) in ["en-us+m3", "en+f2", "en-gb-x-rp+m5", "en+f4"]
        .iter()
        .enumerate()
    {
        let s = signals::speech(dir.path(), voice, near_text)?;
        let shift = i * 3 * sr + sr / 2;
        for (j, b) in babble.iter_mut().enumerate() {
            *b += s[(j + shift) % s.len()];
        }
    }
    let ns_babble = snr_gain(&talker, &babble);

    let (_, per_frame) = process(AudioProcessing::ALL, &far, &mic);
    let cpu_percent = per_frame.as_secs_f64() / 0.010 * 100.0;

    println!("measuring the audio–video offset in a call ({AV_MEASURE:?})…");
    let av = av::measure(AV_MEASURE)?;

    println!("echo return loss enhancement, far end alone   {erle_single:6.1} dB  (target ≥ 25)");
    println!("echo return loss enhancement, double talk     {erle_double:6.1} dB  (target ≥ 15)");
    println!("  the same, output less near-end-alone output {erle_double_plain:6.1} dB");
    println!("near end kept in double talk                  {near_kept:6.2}     (0–1)");
    println!("noise suppression SNR gain, fan               {ns_fan:6.1} dB  (target ≥ 10)");
    println!("noise suppression SNR gain, babble            {ns_babble:6.1} dB");
    println!(
        "all cleaning, per 10 ms frame                 {:6.0} µs = {cpu_percent:.2} % of a core (target ≤ 2)",
        per_frame.as_secs_f64() * 1e6
    );
    println!(
        "audio–video offset p50 / p95 ({} pairs)       {:6.0} / {:.0} ms (window +45 / −125)",
        av.samples, av.p50_ms, av.p95_ms
    );
    let figures = json!({
        "erle_single_db": erle_single,
        "erle_double_db": erle_double,
        "erle_double_plain_db": erle_double_plain,
        "near_end_kept": near_kept,
        "ns_snr_gain_db": ns_fan.min(ns_babble),
        "ns_snr_gain_fan_db": ns_fan,
        "ns_snr_gain_babble_db": ns_babble,
        "cpu_us_per_frame": per_frame.as_secs_f64() * 1e6,
        "cpu_percent_per_member": cpu_percent,
        "av_offset_ms_p50": av.p50_ms,
        "av_offset_ms_p95": av.p95_ms,
        "av_pairs": av.samples,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&figures)?)?;
    Ok(())
}
