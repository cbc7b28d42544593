//! The echo path, end to end: a far-end member speaks (espeak-ng) through nginx-rtmp; our member
//! plays it (player → mixer → sink) into a room whose microphone hears the speaker through an
//! office's impulse response, then a near-end talker. Our publisher cleans that microphone with
//! what the mixer played as the echo reference, and FFmpeg's CLI records what it publishes.
//! In the recording the far end must be at least [`MIN_ECHO_LOSS_DB`] below its echo at the
//! microphone, and the near end must come through.

mod support;

use quartet_media::{
    AUDIO_SAMPLE_RATE, AudioMixer, AudioOutput, AudioProcessing, Player, PlayerConfig, Publisher,
    PublisherConfig, PublisherEvent, SyntheticVideo,
};
use quartet_testkit::sounds::{self, LAPTOP_IN_OFFICE};
use quartet_testkit::{ChildGuard, NginxRtmp, require};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::room::{CHUNK, RoomMic, Talker};
use support::{DEADLINE, init_tracing, wait_publisher_event, wait_until};

/// The far end's echo in what we publish, below its level at the microphone (issue target).
const MIN_ECHO_LOSS_DB: f64 = 20.0;
/// The near end may come out this much quieter or louder (noise suppression and gain control
/// shape it, the codec does not).
const NEAR_LEVEL_RANGE_DB: f64 = 10.0;
/// How closely the near end's loudness contour must survive (10 ms loudness in dB, Pearson).
const MIN_NEAR_CORRELATION: f64 = 0.8;
/// Time the canceller may take to converge before its far-end-only output is measured.
const CONVERGENCE: Duration = Duration::from_secs(2);
/// How long the far end talks.
const FAR_TALK: Duration = Duration::from_secs(8);
/// How long the near end talks.
const NEAR_TALK: Duration = Duration::from_secs(5);
/// Reflections in the room's sparse response: enough for a realistic tail, cheap in real time.
const REFLECTIONS: usize = 60;
/// 10 ms frames with less energy than this are silent (−60 dBFS).
const SILENT: f64 = 1e-6;
/// The whole run, from the far end's first word to the near end's last, comes well inside this.
const RUN_DEADLINE: Duration = Duration::from_secs(60);

fn seconds(d: Duration) -> usize {
    (d.as_secs_f64() * f64::from(AUDIO_SAMPLE_RATE)) as usize
}

/// Mean energy of each 10 ms frame.
fn envelope(s: &[f32]) -> Vec<f64> {
    s.chunks_exact(CHUNK).map(sounds::energy).collect()
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        ab += (x - ma) * (y - mb);
        aa += (x - ma).powi(2);
        bb += (y - mb).powi(2);
    }
    ab / (aa * bb).sqrt().max(1e-30)
}

/// The lag (in frames) at which `recorded[f + lag]` best matches the near end's loudness
/// contour `near[f]` over `span`: where in the recording the microphone's frames landed.
fn align(near: &[f64], recorded: &[f64], span: std::ops::Range<usize>) -> isize {
    let amp = |v: &[f64]| v.iter().map(|x| x.sqrt()).collect::<Vec<_>>();
    let (near, recorded) = (amp(near), amp(recorded));
    let lags = -(span.start as isize)..recorded.len() as isize;
    lags.max_by(|&a, &b| {
        let score = |lag: isize| {
            let shifted: Vec<f64> = span
                .clone()
                .map(|f| {
                    let r = f as isize + lag;
                    usize::try_from(r)
                        .ok()
                        .and_then(|r| recorded.get(r))
                        .copied()
                        .unwrap_or(0.0)
                })
                .collect();
            pearson(&near[span.clone()], &shifted)
        };
        score(a).total_cmp(&score(b))
    })
    .expect("some lag")
}

fn record(url: &str, path: &std::path::Path) -> ChildGuard {
    let ffmpeg = require("ffmpeg", "Debian package ffmpeg").expect("ffmpeg");
    let child = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
        // A member without a camera sends a black picture every few seconds: do not wait for
        // several of them to learn the stream.
        .args(["-analyzeduration", "500000", "-fflags", "nobuffer"])
        .args(["-i", url, "-vn", "-ac", "1"])
        .args(["-ar", &AUDIO_SAMPLE_RATE.to_string(), "-f", "f32le"])
        .arg(path)
        .stdin(Stdio::null())
        .spawn()
        .expect("starting the recorder");
    ChildGuard(child)
}

#[test]
fn the_far_end_is_cancelled_and_the_near_end_comes_through() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let far_speech = sounds::speech(
        dir.path(),
        "en",
        "The railway reached the valley in eighteen sixty and within ten years the town had \
         doubled while goods that once took a week by cart now arrived overnight",
    )
    .unwrap();
    let near_speech = sounds::speech(
        dir.path(),
        "en+f3",
        "Let us move the meeting to Thursday afternoon and please bring the figures",
    )
    .unwrap();
    let far_speech = sounds::looped(&far_speech, seconds(FAR_TALK));
    let near_speech = sounds::looped(&near_speech, seconds(NEAR_TALK));

    let nginx = NginxRtmp::start().unwrap();
    let (far_url, our_url) = (nginx.url("far"), nginx.url("ours"));
    let (talker, go) = Talker::new(far_speech);
    let video = SyntheticVideo::new("far", 160, 90, 10).unwrap();
    let (far, mut far_events) = Publisher::start(
        PublisherConfig::new(&far_url),
        Some(Box::new(video)),
        Some(Box::new(talker)),
    )
    .unwrap();
    assert!(wait_publisher_event(
        &mut far_events,
        DEADLINE,
        |e| matches!(e, PublisherEvent::Connected)
    ));

    let mixer = AudioMixer::new();
    let _sink = AudioOutput::null(mixer.clone()).unwrap();
    let (player, _player_events) =
        Player::start(PlayerConfig::new(&far_url, 160, 90).with_mixer(mixer.clone())).unwrap();
    let room = LAPTOP_IN_OFFICE.sparse(REFLECTIONS);
    let (mic, captured) = RoomMic::new(mixer.tap(), room, near_speech);
    let config = PublisherConfig {
        processing: AudioProcessing::ALL,
        ..PublisherConfig::new(&our_url)
    };
    let (ours, mut our_events) = Publisher::start(config, None, Some(Box::new(mic))).unwrap();
    ours.set_echo_reference(mixer.tap());
    assert!(wait_publisher_event(
        &mut our_events,
        DEADLINE,
        |e| matches!(e, PublisherEvent::Connected)
    ));
    let recording = dir.path().join("published.f32");
    let recorder = record(&our_url, &recording);
    assert!(
        wait_until(DEADLINE, || std::fs::metadata(&recording)
            .is_ok_and(|m| m.len() > u64::from(AUDIO_SAMPLE_RATE) * 4 / 2)),
        "the recorder never got our stream"
    );
    assert!(
        wait_until(DEADLINE, || player.stats().frames_decoded > 0),
        "the far end never played: {:?}",
        player.stats()
    );

    go.store(true, std::sync::atomic::Ordering::SeqCst);
    let started = Instant::now();
    assert!(
        wait_until(RUN_DEADLINE, || captured.lock().unwrap().done),
        "the near end never got to talk (the far end was not heard in the room?)"
    );
    // Let the last of the near end through the encoder and the server.
    std::thread::sleep(Duration::from_secs(1));
    recorder.stop();
    eprintln!("far end and near end talked for {:?}", started.elapsed());
    let stats = ours.stats();
    player.stop();
    ours.stop();
    far.stop();

    let log = captured.lock().unwrap();
    let (echo, near) = (envelope(&log.echo), envelope(&log.near));
    let recorded = envelope(&sounds::read_f32(&recording).expect("the recording"));
    let first_far = echo
        .iter()
        .position(|&e| e > SILENT)
        .expect("far end heard");
    let first_near = near.iter().position(|&e| e > 0.0).expect("near end talked");
    let last_near = near
        .iter()
        .rposition(|&e| e > 0.0)
        .expect("near end talked");
    let lag = align(&near, &recorded, first_near..last_near + 1);
    let at = |f: usize| {
        usize::try_from(f as isize + lag)
            .ok()
            .and_then(|r| recorded.get(r))
    };

    let converged = first_far + CONVERGENCE.as_millis() as usize / 10;
    let (mut echo_in, mut echo_out, mut far_frames) = (0.0, 0.0, 0);
    for (f, &e) in echo.iter().enumerate().take(first_near).skip(converged) {
        if let (true, Some(out)) = (e > SILENT, at(f)) {
            echo_in += e;
            echo_out += out;
            far_frames += 1;
        }
    }
    let (mut near_in, mut near_out, mut near_env, mut out_env) = (0.0, 0.0, vec![], vec![]);
    for (f, &n) in near.iter().enumerate().take(last_near + 1).skip(first_near) {
        let Some(&out) = at(f) else { continue };
        // Loudness in dB: gain control's slow changes shift it, they do not bend its shape.
        near_env.push(10.0 * n.max(SILENT).log10());
        out_env.push(10.0 * out.max(SILENT).log10());
        if n > SILENT {
            near_in += n;
            near_out += out;
        }
    }
    let db = |a: f64, b: f64| 10.0 * (a / b.max(1e-30)).log10();
    let echo_loss = db(echo_in, echo_out);
    let near_level = db(near_out, near_in);
    let near_correlation = pearson(&near_env, &out_env);
    eprintln!(
        "echo at the microphone {:.1} dBFS over {far_frames} frames; in what we published {echo_loss:.1} dB lower",
        db(echo_in / f64::from(far_frames.max(1)), 1.0)
    );
    eprintln!(
        "near end: level {near_level:+.1} dB, envelope correlation {near_correlation:.2}, recording offset {lag} frames; cleaning: {:?} {:?}",
        stats.processing, stats.echo
    );
    assert!(
        far_frames > 200,
        "only {far_frames} frames of far end alone to measure"
    );
    assert!(
        echo_in / f64::from(far_frames) > 1e-4,
        "the room's echo is too quiet to test anything"
    );
    assert!(
        echo_loss >= MIN_ECHO_LOSS_DB,
        "the far end is only {echo_loss:.1} dB down in what we publish"
    );
    assert!(
        near_level.abs() <= NEAR_LEVEL_RANGE_DB,
        "the near end came out at {near_level:+.1} dB"
    );
    assert!(
        near_correlation >= MIN_NEAR_CORRELATION,
        "the near end's contour survived only to {near_correlation:.2}"
    );
}
