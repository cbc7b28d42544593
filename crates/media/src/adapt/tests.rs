use super::*;

const AUDIO_KBPS: u32 = 64;

fn ladder() -> Ladder {
    Ladder::new(Rung::new(640, 360, 15), 500, AUDIO_KBPS)
}

/// A bottleneck of `rate_kbps` in front of a socket: what the encoder writes joins the backlog,
/// the link drains it. Video follows the controller; audio is always written.
struct Link {
    rate_kbps: f64,
    backlog: f64,
    audio_sent: f64,
}

impl Link {
    fn new(rate_kbps: f64) -> Link {
        Link {
            rate_kbps,
            backlog: 0.0,
            audio_sent: 0.0,
        }
    }

    fn tick(&mut self, s: &AdaptState) -> Observation {
        let dt = TICK.as_secs_f64();
        let audio = f64::from(AUDIO_KBPS) * 125.0 * dt;
        let video = if s.drop_video {
            0.0
        } else {
            f64::from(s.video_kbps) * 125.0 * dt
        };
        self.audio_sent += audio;
        let written = audio + video;
        self.backlog = (self.backlog + written - self.rate_kbps * 125.0 * dt).max(0.0);
        Observation {
            elapsed: TICK,
            written_bytes: written as u64,
            backlog_bytes: Some(self.backlog as u64),
            blocked: Duration::ZERO,
        }
    }
}

fn run(ladder: &Ladder, s: &mut AdaptState, link: &mut Link, for_: Duration) {
    let ticks = for_.as_millis() / TICK.as_millis();
    for _ in 0..ticks {
        let obs = link.tick(s);
        *s = next(ladder, s, &obs);
    }
}

#[test]
fn the_ladder_steps_down_from_the_configured_rung() {
    let l = ladder();
    assert_eq!(l.len(), 4);
    assert_eq!(l.rung(0), Rung::new(640, 360, 15));
    assert_eq!(l.range(0), (250, 500));
    assert_eq!(l.rung(3), Rung::new(320, 180, 10));
    for i in 1..l.len() {
        let (lo, hi) = l.range(i);
        assert!(lo < hi && hi < l.range(i - 1).1, "rung {i}: {lo}..{hi}");
        assert!(lo >= MIN_VIDEO_KBPS);
    }
    // A small configured picture has nothing below it to fall back on but its bitrate.
    let small = Ladder::new(Rung::new(320, 180, 10), 100, AUDIO_KBPS);
    assert_eq!(small.len(), 1);
    // Another aspect keeps only rungs that fit inside it.
    let tall = Ladder::new(Rung::new(360, 640, 15), 500, AUDIO_KBPS);
    assert!((1..tall.len()).all(|i| tall.rung(i).width <= 360));
}

#[test]
fn a_good_link_keeps_the_configured_quality() {
    let l = ladder();
    let mut s = AdaptState::start(&l);
    run(&l, &mut s, &mut Link::new(5000.0), Duration::from_secs(60));
    assert_eq!((s.rung, s.video_kbps, s.adaptations), (0, 500, 0));
    assert!(!s.limited(&l) && !s.drop_video);
}

#[test]
fn a_growing_backlog_lowers_the_bitrate_at_once() {
    let l = ladder();
    let s = AdaptState::start(&l);
    // 600 ms of a 300 kbit/s link under 564 kbit/s: ~20 KB queued, growing.
    let mut link = Link::new(300.0);
    let mut s2 = s.clone();
    let mut ticks = 0;
    while s2.video_kbps == 500 && ticks < 20 {
        let obs = link.tick(&s2);
        s2 = next(&l, &s2, &obs);
        ticks += 1;
    }
    assert!(s2.video_kbps < 500, "{s2:?}");
    // Within a second of the backlog passing QUEUE_HIGH (which takes ~0.6 s at these rates).
    assert!(
        ticks as u32 * TICK.as_millis() as u32 <= 1600,
        "{ticks} ticks"
    );
    assert!(s2.limited(&l) && s2.adaptations >= 1);
    // The cut fits the stream, audio included, into the measured link.
    assert!(s2.video_kbps + AUDIO_KBPS <= 300, "{s2:?}");
}

#[test]
fn a_narrow_uplink_walks_down_the_ladder_and_drains() {
    let l = ladder();
    let mut s = AdaptState::start(&l);
    let mut link = Link::new(300.0);
    run(&l, &mut s, &mut link, Duration::from_secs(20));
    assert!(s.rung >= 1, "{s:?}");
    let (lo, hi) = l.range(s.rung);
    assert!((lo..=hi).contains(&s.video_kbps));
    assert!(s.video_kbps + AUDIO_KBPS <= 300, "{s:?}");
    assert!(s.queue < QUEUE_HIGH, "backlog drained: {s:?}");
    assert!(!s.drop_video);

    let mut s = AdaptState::start(&l);
    let mut link = Link::new(100.0);
    run(&l, &mut s, &mut link, Duration::from_secs(30));
    assert_eq!(s.rung, l.len() - 1, "{s:?}");
    assert!(s.queue < QUEUE_DROP, "{s:?}");
}

#[test]
fn video_is_dropped_at_the_source_while_the_backlog_is_long_and_audio_never() {
    let l = ladder();
    let mut s = AdaptState::start(&l);
    let obs = Observation {
        elapsed: TICK,
        written_bytes: 10_000,
        backlog_bytes: Some(60_000),
        blocked: Duration::ZERO,
    };
    s = next(&l, &s, &obs);
    assert!(s.drop_video && s.queue > QUEUE_DROP, "{s:?}");
    // Audio goes out in full however narrow the link, and every cut leaves room for it: the
    // video budget is the link's share less audio.
    let mut link = Link::new(150.0);
    let mut s = AdaptState::start(&l);
    let mut worst = Duration::ZERO;
    for tick in 0..(40_000 / TICK.as_millis()) {
        let obs = link.tick(&s);
        let cut = next(&l, &s, &obs);
        if cut.adaptations > s.adaptations && cut.video_kbps > l.range(cut.rung).0 {
            assert!(cut.video_kbps + AUDIO_KBPS <= 150, "{cut:?}");
        }
        if tick > 50 {
            worst = worst.max(cut.queue);
        }
        s = cut;
    }
    let expected_audio = f64::from(AUDIO_KBPS) * 125.0 * 40.0;
    assert!((link.audio_sent - expected_audio).abs() < 1000.0);
    assert!(worst < QUEUE_DROP, "the backlog stays bounded: {worst:?}");
    // Once the backlog is under QUEUE_HIGH again, video resumes.
    let drained = Observation {
        backlog_bytes: Some(0),
        ..obs
    };
    let mut s = next(&l, &next(&l, &AdaptState::start(&l), &obs), &drained);
    assert!(!s.drop_video);
    s = next(&l, &s, &drained);
    assert!(!s.drop_video);
}

#[test]
fn an_empty_backlog_probes_up_slowly_and_not_past_the_configured_bitrate() {
    let l = ladder();
    let mut s = AdaptState::start(&l);
    run(&l, &mut s, &mut Link::new(300.0), Duration::from_secs(20));
    let low = s.video_kbps;
    assert!(low < 400, "{s:?}");
    let mut link = Link::new(5000.0);
    let mut kbps = vec![s.video_kbps];
    for _ in 0..(120_000 / TICK.as_millis()) {
        let obs = link.tick(&s);
        s = next(&l, &s, &obs);
        kbps.push(s.video_kbps);
    }
    // At most one step of PROBE_STEP in any PROBE_EVERY.
    let window = (PROBE_EVERY.as_millis() / TICK.as_millis()) as usize;
    for (i, w) in kbps.windows(window).enumerate() {
        let (first, last) = (w[0], w[window - 1]);
        assert!(
            f64::from(last) <= f64::from(first) * PROBE_STEP + 1.0,
            "tick {i}: {first} → {last}"
        );
    }
    // Back to the top eventually, and never past it.
    assert_eq!((s.rung, s.video_kbps), (0, 500), "{s:?}");
    assert_eq!(kbps.iter().max(), Some(&500));
    assert!(!s.limited(&l));
}

#[test]
fn recovery_goes_back_up_the_ladder_one_rung_at_a_time() {
    let l = ladder();
    let mut s = AdaptState::start(&l);
    run(&l, &mut s, &mut Link::new(100.0), Duration::from_secs(30));
    let bottom = s.rung;
    let mut link = Link::new(5000.0);
    let mut rungs = vec![s.rung];
    for _ in 0..(200_000 / TICK.as_millis()) {
        let obs = link.tick(&s);
        s = next(&l, &s, &obs);
        if rungs.last() != Some(&s.rung) {
            rungs.push(s.rung);
        }
    }
    let expected: Vec<usize> = (0..=bottom).rev().collect();
    assert_eq!(rungs, expected);
}

#[test]
fn without_a_backlog_reading_blocked_writes_cut_the_bitrate() {
    let l = ladder();
    let s = AdaptState::start(&l);
    let blocked = Observation {
        elapsed: TICK,
        written_bytes: 7_000,
        backlog_bytes: None,
        blocked: TICK / 3,
    };
    let s1 = next(&l, &s, &blocked);
    assert!(s1.video_kbps < 500 && !s1.drop_video, "{s1:?}");
    let stuck = Observation {
        blocked: TICK,
        ..blocked
    };
    assert!(next(&l, &s1, &stuck).drop_video);
    let free = Observation {
        blocked: Duration::ZERO,
        ..blocked
    };
    assert_eq!(next(&l, &s, &free), {
        let mut same = next(&l, &s, &free);
        same.video_kbps = 500;
        same
    });
}

#[test]
fn pacing_keeps_the_rung_frame_rate() {
    let sent = |source_fps: i64, fps: u32| {
        let mut due = None;
        let mut n = 0;
        for i in 0..source_fps * 10 {
            let (go, next) = pace(due, i * 1_000_000 / source_fps, fps);
            due = next;
            n += i32::from(go);
        }
        n
    };
    assert_eq!(sent(15, 15), 150);
    assert_eq!(sent(15, 10), 100);
    assert_eq!(sent(30, 10), 100);
    assert_eq!(sent(10, 15), 100, "never more than the source gives");
    // A source that pauses does not earn a burst afterwards.
    let (_, due) = pace(None, 0, 10);
    let (go, due) = pace(due, 5_000_000, 10);
    assert!(go);
    assert!(!pace(due, 5_050_000, 10).0);
}
