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
    /// The path's round trip: what is sent stays unacknowledged this long even with no queue.
    rtt: Duration,
    /// Whether the socket tells the controller its least round trip.
    tells_rtt: bool,
    /// Every this many ticks the link delivers nothing for one tick, as a lost packet's
    /// retransmission timeout stalls a TCP stream (0: never).
    stall_every: u64,
    ticks: u64,
}

impl Link {
    fn new(rate_kbps: f64) -> Link {
        Link {
            rate_kbps,
            backlog: 0.0,
            audio_sent: 0.0,
            rtt: Duration::ZERO,
            tells_rtt: false,
            stall_every: 0,
            ticks: 0,
        }
    }

    fn with_rtt(rate_kbps: f64, rtt: Duration, tells_rtt: bool) -> Link {
        Link {
            rtt,
            tells_rtt,
            ..Link::new(rate_kbps)
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
        self.ticks += 1;
        let stalled = self.stall_every > 0 && self.ticks.is_multiple_of(self.stall_every);
        let drains = if stalled {
            0.0
        } else {
            self.rate_kbps * 125.0 * dt
        };
        self.backlog = (self.backlog + written - drains).max(0.0);
        let in_flight = (written / dt).min(self.rate_kbps * 125.0) * self.rtt.as_secs_f64();
        Observation {
            elapsed: TICK,
            written_bytes: written as u64,
            backlog_bytes: Some((self.backlog + in_flight) as u64),
            blocked: Duration::ZERO,
            rtt_floor: self.tells_rtt.then_some(self.rtt),
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
fn hd_steps_down_through_fewer_pixels_then_fewer_frames() {
    let hd = Ladder::new(Rung::new(1280, 720, 30), 2000, AUDIO_KBPS);
    let rungs: Vec<Rung> = (0..hd.len()).map(|i| hd.rung(i)).collect();
    assert_eq!(
        &rungs[..5],
        &[
            Rung::new(1280, 720, 30),
            Rung::new(960, 540, 30),
            Rung::new(960, 540, 15),
            Rung::new(640, 360, 30),
            Rung::new(640, 360, 15),
        ]
    );
    for i in 1..hd.len() {
        assert!(hd.range(i).1 < hd.range(i - 1).1, "rung {i}");
    }
    // The usual call's ladder is what it was: nothing above its own rung.
    assert_eq!(ladder().len(), 4);
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
    // Probing keeps touching the link's rate (a sawtooth), so what holds is a bound on the
    // backlog throughout and a stream within one probe of the link.
    let worst = settle(&l, &mut s, &mut Link::new(300.0));
    assert!(s.rung >= 1, "{s:?}");
    let (lo, hi) = l.range(s.rung);
    assert!((lo..=hi).contains(&s.video_kbps));
    assert!(
        f64::from(s.video_kbps + AUDIO_KBPS) <= 300.0 * PROBE_STEP_MAX,
        "{s:?}"
    );
    assert!(worst < QUEUE_DROP, "backlog bounded: {worst:?}");
    assert!(!s.drop_video);

    let mut s = AdaptState::start(&l);
    let mut link = Link::new(100.0);
    run(&l, &mut s, &mut link, Duration::from_secs(30));
    assert_eq!(s.rung, l.len() - 1, "{s:?}");
    // Even the lowest rung does not fit beside audio: video comes and goes, and the backlog
    // passes QUEUE_DROP by at most one tick's growth before dropping starts.
    assert!(s.queue < QUEUE_DROP + TICK / 2, "{s:?}");
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
        rtt_floor: None,
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
fn a_long_round_trip_is_in_flight_not_queued() {
    let l = ladder();
    let rtt = Duration::from_millis(250);
    let mut s = AdaptState::start(&l);
    run(
        &l,
        &mut s,
        &mut Link::with_rtt(2000.0, rtt, true),
        Duration::from_secs(60),
    );
    assert_eq!((s.rung, s.video_kbps, s.adaptations), (0, 500, 0), "{s:?}");
    assert!(s.queue < QUEUE_CLEAR, "{s:?}");
    // The same path read without the round trip looks like a standing queue.
    let mut blind = AdaptState::start(&l);
    run(
        &l,
        &mut blind,
        &mut Link::with_rtt(2000.0, rtt, false),
        Duration::from_secs(60),
    );
    assert!(blind.queue > QUEUE_HIGH, "{blind:?}");
    // A narrow link on a long path is still found and fitted (within a probe of its rate).
    let mut s = AdaptState::start(&l);
    let worst = settle(&l, &mut s, &mut Link::with_rtt(300.0, rtt, true));
    assert!(
        f64::from(s.video_kbps + AUDIO_KBPS) <= 300.0 * PROBE_STEP_MAX,
        "{s:?}"
    );
    assert!(worst < QUEUE_DROP, "{worst:?}");
}

/// Runs 20 s to find the link, then 40 s more; the longest backlog of those 40 s.
fn settle(l: &Ladder, s: &mut AdaptState, link: &mut Link) -> Duration {
    run(l, s, link, Duration::from_secs(20));
    let mut worst = Duration::ZERO;
    for _ in 0..(40_000 / TICK.as_millis()) {
        let obs = link.tick(s);
        *s = next(l, s, &obs);
        worst = worst.max(s.queue);
    }
    worst
}

#[test]
fn loss_stalls_on_a_long_path_are_not_a_narrow_link() {
    let l = ladder();
    // 100 ms round trip, and a 200 ms stall every 1.2 s: ~2 % loss at this packet rate.
    let mut link = Link {
        stall_every: 6,
        ..Link::with_rtt(3000.0, Duration::from_millis(100), true)
    };
    let mut s = AdaptState::start(&l);
    run(&l, &mut s, &mut link, Duration::from_secs(60));
    assert_eq!((s.rung, s.video_kbps, s.adaptations), (0, 500, 0), "{s:?}");
    // A stall that lasts is a link that does not deliver: that one is cut.
    let mut link = Link {
        stall_every: 2,
        ..Link::with_rtt(600.0, Duration::from_millis(100), true)
    };
    let mut s = AdaptState::start(&l);
    run(&l, &mut s, &mut link, Duration::from_secs(20));
    assert!(s.video_kbps < 500, "{s:?}");
}

#[test]
fn probes_grow_while_the_link_stays_clear_and_restart_small_after_congestion() {
    assert_eq!(probe_step(0), PROBE_STEP);
    assert!(probe_step(1) > probe_step(0));
    assert_eq!(probe_step(10), PROBE_STEP_MAX);
    assert_eq!(probe_step(u32::MAX), PROBE_STEP_MAX);
    let l = ladder();
    let mut s = AdaptState::start(&l);
    run(&l, &mut s, &mut Link::new(300.0), Duration::from_secs(20));
    // Wider, but not by much: the climb stops at the first overshoot and starts small again,
    // so the stream hovers at the link's rate without a long backlog.
    let before = s.adaptations;
    let worst = settle(&l, &mut s, &mut Link::new(400.0));
    assert!(
        f64::from(s.video_kbps + AUDIO_KBPS) <= 400.0 * PROBE_STEP_MAX,
        "{s:?}"
    );
    assert!(s.video_kbps + AUDIO_KBPS >= 300, "{s:?}");
    assert!(worst < QUEUE_DROP, "{worst:?}");
    // Each overshoot costs one cut: at most one every few probes, not one per tick.
    assert!(s.adaptations - before <= 20, "{s:?}");
}

#[test]
fn a_link_that_comes_back_whole_is_refilled_within_seconds() {
    let l = ladder();
    let mut s = AdaptState::start(&l);
    run(&l, &mut s, &mut Link::new(300.0), Duration::from_secs(20));
    assert!(s.rung >= 1, "{s:?}");
    let mut link = Link::new(5000.0);
    let mut at = None;
    for tick in 0..(60_000 / TICK.as_millis()) {
        let obs = link.tick(&s);
        s = next(&l, &s, &obs);
        if at.is_none() && s.rung == 0 && s.video_kbps >= 400 {
            at = Some(Duration::from_millis(
                (tick + 1) as u64 * TICK.as_millis() as u64,
            ));
        }
    }
    // Rung by rung (each up waits RUNG_HOLD), 80 % of the configured bitrate within 12 s.
    let at = at.expect("never regained 80 %");
    assert!(at <= Duration::from_secs(12), "regained 80 % after {at:?}");
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
    // At most one probe of PROBE_STEP_MAX in any PROBE_EVERY.
    let window = (PROBE_EVERY.as_millis() / TICK.as_millis()) as usize;
    for (i, w) in kbps.windows(window).enumerate() {
        let (first, last) = (w[0], w[window - 1]);
        assert!(
            f64::from(last) <= f64::from(first) * PROBE_STEP_MAX + 1.0,
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
        rtt_floor: None,
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

#[test]
fn new_content_keeps_what_the_link_taught_and_starts_where_it_fits() {
    let l = ladder();
    let screen = Ladder::of(
        Rung::new(1920, 1080, 10),
        [Rung::new(1920, 1080, 5), Rung::new(960, 540, 3)],
        1_900,
        AUDIO_KBPS,
    );
    // A free link: the new content starts at its top.
    let free = AdaptState::start(&l).carried_to(&l, &screen);
    assert_eq!((free.rung, free.video_kbps), (0, 1_900));
    // A narrow one: where the bitrate it came down to fits, the link estimate kept.
    let mut s = AdaptState::start(&l);
    settle(&l, &mut s, &mut Link::new(300.0));
    let moved = s.carried_to(&l, &screen);
    assert!(moved.rung > 0, "{moved:?}");
    let (lo, hi) = screen.range(moved.rung);
    assert!((lo..=hi).contains(&moved.video_kbps), "{moved:?}");
    assert!(
        moved.video_kbps <= s.video_kbps.max(lo),
        "{moved:?} from {s:?}"
    );
    assert_eq!(moved.link_bps, s.link_bps);
}
