//! Lips in sync: a synthetic member with sync marks (a flash and a click at the same capture
//! instants) publishes through nginx-rtmp; two players decode it, each into its own mixer
//! played by a null sink, one holding pictures for their sound and one not. The offsets between
//! flashes shown and clicks heard must stay inside ITU-R BT.1359's window with holding, and
//! holding must bring them closer to zero than not holding. The packet tap (what WebCodecs
//! decodes in the app) is held the same way: its packets reach the synced player's subscribers
//! later than the other's by about the hold.

mod support;

use quartet_media::play::sync::SYNC_MAX_HOLD;
use quartet_media::sync_marks::MARK_PERIOD;
use quartet_media::{
    AudioMixer, AudioOutput, AvOffsets, Player, PlayerConfig, PlayerHandle, Publisher,
    PublisherConfig, PublisherEvent, SyncMeter, SyntheticTone, SyntheticVideo, stats,
};
use quartet_testkit::NginxRtmp;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::{DEADLINE, init_tracing, wait_frame, wait_publisher_event};
use tokio::sync::broadcast::error::TryRecvError;

/// ITU-R BT.1359: sound leading pictures by more than this is noticed.
const MAX_AUDIO_LEAD_MS: f64 = 45.0;
/// ITU-R BT.1359: sound lagging pictures by more than this is noticed.
const MAX_AUDIO_LAG_MS: f64 = 125.0;
/// Marks watched per player: enough pairs for a p95 that is not just the single worst.
const MARKS: u32 = 8;
/// Pairs that must be found of [`MARKS`] (a mark can straddle the start or end of the watch).
const MIN_PAIRS: usize = 6;

fn player(url: &str, sync_to_audio: bool) -> (PlayerHandle, AudioMixer, AudioOutput) {
    let mixer = AudioMixer::new();
    let out = AudioOutput::null(mixer.clone()).expect("null sink");
    let mut config = PlayerConfig::new(url, 320, 180).with_mixer(mixer.clone());
    config.sync_to_audio = sync_to_audio;
    let (player, _events) = Player::start(config).expect("player");
    (player, mixer, out)
}

/// When each packet (by pts) reached a packet-tap subscriber, for `duration`.
fn tap_arrivals(player: &PlayerHandle, duration: Duration) -> HashMap<i64, Instant> {
    let mut packets = player.packets();
    let mut seen = HashMap::new();
    let end = Instant::now() + duration;
    while Instant::now() < end {
        match packets.try_recv() {
            Ok(p) => {
                seen.insert(p.pts_ms, Instant::now());
            }
            Err(TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("packet tap: {e}"),
        }
    }
    seen
}

fn measure(player: &PlayerHandle, mixer: &AudioMixer) -> (AvOffsets, Vec<f64>) {
    let tap = mixer.tap();
    let mut meter = SyncMeter::new();
    meter.watch(&mut player.frames(), &tap, MARK_PERIOD * MARKS);
    let offsets = meter.offsets_ms();
    let figures = meter.offsets().unwrap_or_else(|| {
        panic!(
            "no pairs: {} flashes, {} clicks",
            meter.flashes(),
            meter.clicks()
        )
    });
    assert!(
        figures.samples >= MIN_PAIRS,
        "{figures:?} from {} flashes and {} clicks",
        meter.flashes(),
        meter.clicks()
    );
    (figures, offsets)
}

#[test]
fn pictures_are_shown_with_their_sound() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let url = nginx.url("lipsync");
    let video = SyntheticVideo::new("lips", 640, 360, 15)
        .unwrap()
        .with_sync_marks();
    let audio = SyntheticTone::new(440.0).with_sync_marks();
    let (publisher, mut events) = Publisher::start(
        PublisherConfig::new(&url),
        Some(Box::new(video)),
        Some(Box::new(audio)),
    )
    .unwrap();
    assert!(wait_publisher_event(&mut events, DEADLINE, |e| matches!(
        e,
        PublisherEvent::Connected
    )));
    let (synced, synced_mixer, _synced_out) = player(&url, true);
    let (unsynced, unsynced_mixer, _unsynced_out) = player(&url, false);
    for p in [&synced, &unsynced] {
        wait_frame(p, DEADLINE, |f| f.capture_us.is_some()).expect("clocked pictures");
    }

    let tap_span = MARK_PERIOD * 2;
    let (watched, tapped) = std::thread::scope(|s| {
        let a = s.spawn(|| measure(&synced, &synced_mixer));
        let b = s.spawn(|| measure(&unsynced, &unsynced_mixer));
        let c = s.spawn(|| tap_arrivals(&synced, tap_span));
        let d = s.spawn(|| tap_arrivals(&unsynced, tap_span));
        ((a.join(), b.join()), (c.join(), d.join()))
    });
    let ((with, with_all), (without, without_all)) = (
        watched.0.expect("measuring the synced player"),
        watched.1.expect("measuring the unsynced player"),
    );
    let (held, unheld) = (
        tapped.0.expect("the synced packet tap"),
        tapped.1.expect("the unsynced packet tap"),
    );
    let later_ms: Vec<f64> = held
        .iter()
        .filter_map(|(pts, at)| {
            let other = unheld.get(pts)?;
            Some(at.saturating_duration_since(*other).as_secs_f64() * 1000.0)
        })
        .collect();
    let tap_hold = stats::percentile(&later_ms, 50.0).expect("packets on both taps");
    eprintln!(
        "packet tap held for sound: median {tap_hold:.1} ms over {} packets",
        later_ms.len()
    );
    eprintln!("held for sound: {with:?} {with_all:.1?}");
    eprintln!("not held:       {without:?} {without_all:.1?}");
    for o in &with_all {
        // p95 of a handful of pairs is their worst, so every pair is held to the window.
        assert!(
            (-MAX_AUDIO_LAG_MS..=MAX_AUDIO_LEAD_MS).contains(o),
            "offset {o:.1} ms outside +{MAX_AUDIO_LEAD_MS}/-{MAX_AUDIO_LAG_MS}: {with_all:.1?}"
        );
    }
    assert!(
        with.p50_ms.abs() + 10.0 < without.p50_ms.abs(),
        "holding pictures brought them no closer to their sound: {with:?} vs {without:?}"
    );
    // The unheld player's pictures lag their sound by the mixer's prebuffer and more; the
    // synced tap must hold its packets for a good part of that, and never past the bound.
    assert!(
        (20.0..=SYNC_MAX_HOLD.as_secs_f64() * 1000.0 + 10.0).contains(&tap_hold),
        "packet tap held {tap_hold:.1} ms"
    );
    let figures = synced.stats();
    assert!(
        figures.fps > 10.0,
        "holding must not cost pictures: {figures:?}"
    );

    synced.stop();
    unsynced.stop();
    publisher.stop();
}
