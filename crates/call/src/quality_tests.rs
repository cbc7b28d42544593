use super::*;
use crate::stats::RemoteStats;
use quartet_media::PlayerStats;

fn live() -> Signals {
    Signals {
        connected: true,
        latency_ms_p50: Some(60.0),
        latency_ms_p95: Some(90.0),
        skipped_share: Some(0.0),
        bitrate_share: Some(1.0),
    }
}

#[test]
fn a_live_stream_is_good_and_a_lost_one_bad() {
    assert_eq!(judge(&live(), Quality::Good), Quality::Good);
    let lost = Signals {
        connected: false,
        ..live()
    };
    assert_eq!(judge(&lost, Quality::Good), Quality::Bad);
    let unmeasured = Signals {
        connected: true,
        ..Signals::default()
    };
    assert_eq!(judge(&unmeasured, Quality::Good), Quality::Good);
}

/// Sets one figure of a look.
type Setter = fn(&mut Signals, f64);

#[test]
fn each_figure_crosses_its_thresholds_just_past_them() {
    let cases: [(Setter, f64, f64); 3] = [
        (|s, v| s.latency_ms_p50 = Some(v), POOR_P50_MS, BAD_P50_MS),
        (|s, v| s.latency_ms_p95 = Some(v), POOR_P95_MS, BAD_P95_MS),
        (
            |s, v| s.skipped_share = Some(v),
            POOR_SKIPPED_SHARE,
            BAD_SKIPPED_SHARE,
        ),
    ];
    for (set, poor, bad) in cases {
        let at = |v: f64| {
            let mut s = live();
            set(&mut s, v);
            judge(&s, Quality::Good)
        };
        assert_eq!(at(poor), Quality::Good);
        assert_eq!(at(poor * 1.01), Quality::Poor);
        assert_eq!(at(bad), Quality::Poor);
        assert_eq!(at(bad * 1.01), Quality::Bad);
    }
    let share = |v: f64| {
        judge(
            &Signals {
                bitrate_share: Some(v),
                ..live()
            },
            Quality::Good,
        )
    };
    assert_eq!(share(POOR_BITRATE_SHARE), Quality::Good);
    assert_eq!(share(POOR_BITRATE_SHARE * 0.99), Quality::Poor);
    assert_eq!(share(BAD_BITRATE_SHARE), Quality::Poor);
    assert_eq!(share(BAD_BITRATE_SHARE * 0.99), Quality::Bad);
    assert_eq!(share(0.0), Quality::Bad);
}

#[test]
fn the_worst_figure_decides() {
    let s = Signals {
        latency_ms_p95: Some(BAD_P95_MS + 1.0),
        bitrate_share: Some(POOR_BITRATE_SHARE - 0.1),
        ..live()
    };
    assert_eq!(judge(&s, Quality::Good), Quality::Bad);
}

#[test]
fn leaving_a_level_takes_the_margin_below_its_threshold() {
    let p50 = |v: f64, shown: Quality| {
        judge(
            &Signals {
                latency_ms_p50: Some(v),
                ..live()
            },
            shown,
        )
    };
    // Just under the threshold: poor stays poor, good stays good.
    assert_eq!(p50(POOR_P50_MS - 1.0, Quality::Poor), Quality::Poor);
    assert_eq!(p50(POOR_P50_MS - 1.0, Quality::Good), Quality::Good);
    assert_eq!(
        p50(POOR_P50_MS * RECOVER_MARGIN + 1.0, Quality::Poor),
        Quality::Poor
    );
    assert_eq!(
        p50(POOR_P50_MS * RECOVER_MARGIN, Quality::Poor),
        Quality::Good
    );
    // From bad, a figure between the two levels lands on poor.
    assert_eq!(p50(BAD_P50_MS - 1.0, Quality::Bad), Quality::Bad);
    assert_eq!(p50(POOR_P50_MS + 1.0, Quality::Bad), Quality::Poor);
    let share = |v: f64| {
        judge(
            &Signals {
                bitrate_share: Some(v),
                ..live()
            },
            Quality::Poor,
        )
    };
    assert_eq!(share(POOR_BITRATE_SHARE + 0.1), Quality::Poor);
    assert_eq!(
        share(POOR_BITRATE_SHARE / RECOVER_MARGIN + 0.01),
        Quality::Good
    );
}

fn reading(p95: f64, decoded: u64, skipped: u64) -> TileReading {
    TileReading {
        connected: true,
        latency_ms_p50: Some(50.0),
        latency_ms_p95: Some(p95),
        frames_decoded: decoded,
        frames_skipped: skipped,
        kbps: 500.0,
        expected_kbps: Some(500.0),
    }
}

#[test]
fn the_meter_worsens_at_once_and_improves_only_after_holding() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut m = QualityMeter::new();
    assert_eq!(m.update(&reading(80.0, 0, 0), at(0)), Quality::Good);
    assert_eq!(m.update(&reading(1500.0, 10, 0), at(500)), Quality::Bad);
    // Good figures from 1 s on; one poor look at 2 s makes poor the most it may improve to.
    assert_eq!(m.update(&reading(80.0, 20, 0), at(1000)), Quality::Bad);
    assert_eq!(m.update(&reading(450.0, 30, 0), at(2000)), Quality::Bad);
    assert_eq!(m.update(&reading(80.0, 40, 0), at(3999)), Quality::Bad);
    assert_eq!(m.update(&reading(80.0, 50, 0), at(4000)), Quality::Poor);
    // A worse look breaks the streak; good must then hold a full IMPROVE_AFTER again.
    assert_eq!(m.update(&reading(80.0, 60, 0), at(4500)), Quality::Poor);
    assert_eq!(m.update(&reading(600.0, 70, 0), at(5000)), Quality::Poor);
    assert_eq!(m.update(&reading(80.0, 80, 0), at(5500)), Quality::Poor);
    assert_eq!(m.update(&reading(80.0, 90, 0), at(8499)), Quality::Poor);
    assert_eq!(m.update(&reading(80.0, 100, 0), at(8500)), Quality::Good);
    assert_eq!(m.shown(), Quality::Good);
}

#[test]
fn the_meter_counts_skips_since_its_last_look() {
    let t0 = Instant::now();
    let mut m = QualityMeter::new();
    // The first look has no earlier counts: a long history of skips says nothing yet.
    assert_eq!(m.update(&reading(80.0, 1000, 500), t0), Quality::Good);
    // 2 of 10 skipped since: poor.
    assert_eq!(m.update(&reading(80.0, 1010, 502), t0), Quality::Poor);
    // Too few frames to judge skipping (a paused stream) leaves it out.
    let mut m = QualityMeter::new();
    m.update(&reading(80.0, 100, 0), t0);
    let few = MIN_FRAMES_FOR_SKIPS - 1;
    assert_eq!(m.update(&reading(80.0, 100 + few, few), t0), Quality::Good);
}

#[test]
fn camera_off_is_not_a_starved_stream() {
    let mut m = QualityMeter::new();
    let off = TileReading {
        kbps: 20.0,
        expected_kbps: None,
        ..reading(80.0, 0, 0)
    };
    assert_eq!(m.update(&off, Instant::now()), Quality::Good);
    let starved = TileReading {
        expected_kbps: Some(500.0),
        ..off
    };
    assert_eq!(m.update(&starved, Instant::now()), Quality::Bad);
}

#[test]
fn the_tracker_keeps_a_meter_per_played_member() {
    let remote = |id: &str, p95: f64| RemoteStats {
        user_id: id.into(),
        user_name: id.into(),
        tile: 0,
        stream: crate::Stream::Main,
        stream_switches: 0,
        state: crate::TileState::Live,
        player: PlayerStats {
            connected: true,
            latency_ms_p95: Some(p95),
            ..PlayerStats::default()
        },
    };
    let stats = |remotes| CallStats {
        remotes,
        ..CallStats::default()
    };
    let t0 = Instant::now();
    let mut tracker = QualityTracker::new();
    let q = tracker.update(
        &stats(vec![remote("a", 80.0), remote("b", 1500.0)]),
        |_| None,
        t0,
    );
    assert_eq!(q["a"], Quality::Good);
    assert_eq!(q["b"], Quality::Bad);
    // b leaves and comes back: a new meter, so its old bad level is not held over.
    tracker.update(&stats(vec![remote("a", 80.0)]), |_| None, t0);
    let q = tracker.update(&stats(vec![remote("b", 80.0)]), |_| None, t0);
    assert_eq!(q["b"], Quality::Good);
    assert!(!q.contains_key("a"));
    assert_eq!(Quality::Poor.as_str(), "poor");
}

#[test]
fn all_names_every_quality_once_in_order() {
    // The match is exhaustive: a new quality fails to compile here until ALL lists it.
    let position = |q: Quality| match q {
        Quality::Good => 0,
        Quality::Poor => 1,
        Quality::Bad => 2,
    };
    for (i, quality) in Quality::ALL.into_iter().enumerate() {
        assert_eq!(position(quality), i, "{quality:?}");
    }
}
