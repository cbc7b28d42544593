use super::*;

const LOOK: Duration = Duration::from_millis(500);

fn look(latency: f64, skipped: f64) -> Look {
    Look {
        elapsed: LOOK,
        small_offered: true,
        latency_ms_now: Some(latency),
        showing: true,
        skipped_share: Some(skipped),
        tile_width: Some(640),
        featured: false,
    }
}

/// Looks at `l` for `for_`, returning the choice after.
fn hold(c: &Choice, l: Look, for_: Duration, setting: Receive) -> Choice {
    let mut c = c.clone();
    for _ in 0..(for_.as_millis() / l.elapsed.as_millis()) {
        c = choose(&c, &l, setting);
    }
    c
}

const HEAVY: (f64, f64) = (900.0, 0.5);
const ROOMY: (f64, f64) = (40.0, 0.0);

fn heavy() -> Look {
    look(HEAVY.0, HEAVY.1)
}

fn roomy() -> Look {
    look(ROOMY.0, ROOMY.1)
}

#[test]
fn a_good_link_keeps_the_main_stream() {
    let c = hold(
        &Choice::default(),
        roomy(),
        Duration::from_secs(120),
        Receive::Auto,
    );
    assert_eq!((c.stream, c.switches), (Stream::Main, 0));
}

#[test]
fn a_heavy_main_stream_goes_small_after_a_moment_not_at_one_burst() {
    let one_burst = choose(&Choice::default(), &heavy(), Receive::Auto);
    let after = hold(&one_burst, roomy(), LOOK, Receive::Auto);
    assert_eq!(after.stream, Stream::Main);
    let c = hold(&Choice::default(), heavy(), DOWN_AFTER, Receive::Auto);
    assert_eq!((c.stream, c.switches), (Stream::Small, 1));
    // Either sign alone is enough: late, or skipping.
    let late = hold(
        &Choice::default(),
        look(DOWN_LATENCY_MS + 1.0, 0.0),
        DOWN_AFTER,
        Receive::Auto,
    );
    let skipping = hold(
        &Choice::default(),
        look(50.0, 0.3),
        DOWN_AFTER,
        Receive::Auto,
    );
    assert_eq!(
        (late.stream, skipping.stream),
        (Stream::Small, Stream::Small)
    );
    // Right at the thresholds is not heavy.
    let edge = look(DOWN_LATENCY_MS, DOWN_SKIPPED_SHARE);
    assert_eq!(
        hold(
            &Choice::default(),
            edge,
            Duration::from_secs(30),
            Receive::Auto
        )
        .stream,
        Stream::Main
    );
}

#[test]
fn a_steady_link_switches_a_tile_at_most_once_per_ten_seconds() {
    // Carries the small stream, never the main one: the worst a steady link can do.
    let mut c = Choice::default();
    let mut switched_at = Vec::new();
    let mut t = Duration::ZERO;
    for _ in 0..(600_000 / LOOK.as_millis()) {
        let l = if c.stream == Stream::Main {
            heavy()
        } else {
            roomy()
        };
        let before = c.switches;
        c = choose(&c, &l, Receive::Auto);
        t += LOOK;
        if c.switches > before {
            switched_at.push(t);
        }
    }
    // A trial of the main stream that fails falls back within moments (staying live matters
    // more), so the bound holds as a rate: at most six switches in any minute, and each trial
    // at least FIRST_TRIAL_AFTER after the fall before it.
    for (i, at) in switched_at.iter().enumerate() {
        let in_minute = switched_at[i..]
            .iter()
            .take_while(|&&t| t < *at + Duration::from_secs(60))
            .count();
        assert!(in_minute <= 6, "{switched_at:?}");
    }
    // Switches alternate fall, trial, fall, …
    for pair in switched_at.chunks_exact(2) {
        assert!(pair[1] - pair[0] >= FIRST_TRIAL_AFTER, "{switched_at:?}");
    }
    // Failed trials back off: far fewer than one switch per 10 s over ten minutes.
    assert!(
        switched_at.len() <= 20,
        "{} switches: {switched_at:?}",
        switched_at.len()
    );
    let gaps: Vec<_> = switched_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps.iter().max(), Some(&MAX_TRIAL_AFTER), "{gaps:?}");
}

#[test]
fn a_link_that_widens_gets_the_main_stream_back_and_keeps_it() {
    let fell = hold(&Choice::default(), heavy(), DOWN_AFTER, Receive::Auto);
    assert_eq!(fell.stream, Stream::Small);
    let back = hold(&fell, roomy(), FIRST_TRIAL_AFTER, Receive::Auto);
    assert_eq!((back.stream, back.switches), (Stream::Main, 2));
    let held = hold(&back, roomy(), TRIAL_HOLDS_AFTER * 2, Receive::Auto);
    assert_eq!((held.stream, held.switches), (Stream::Main, 2));
    // A later fall is a fresh one: the wait starts from the first again.
    let again = hold(&held, heavy(), DOWN_AFTER, Receive::Auto);
    let back = hold(&again, roomy(), FIRST_TRIAL_AFTER, Receive::Auto);
    assert_eq!(back.stream, Stream::Main);
}

#[test]
fn a_late_or_skipping_small_stream_is_no_reason_to_try_the_main_one() {
    let fell = hold(&Choice::default(), heavy(), DOWN_AFTER, Receive::Auto);
    let c = hold(
        &fell,
        look(300.0, 0.0),
        Duration::from_secs(120),
        Receive::Auto,
    );
    assert_eq!(c.stream, Stream::Small);
    let c = hold(
        &fell,
        look(40.0, 0.05),
        Duration::from_secs(120),
        Receive::Auto,
    );
    assert_eq!(c.stream, Stream::Small);
}

#[test]
fn the_setting_and_the_offer_decide_before_the_link() {
    let c = Choice::default();
    assert_eq!(choose(&c, &roomy(), Receive::Small).stream, Stream::Small);
    let small = hold(&c, roomy(), LOOK, Receive::Small);
    assert_eq!(choose(&small, &heavy(), Receive::Main).stream, Stream::Main);
    // A member without a small stream (a v1 client) is played main whatever the setting.
    let v1 = Look {
        small_offered: false,
        ..heavy()
    };
    let c = hold(
        &Choice::default(),
        v1,
        Duration::from_secs(30),
        Receive::Small,
    );
    assert_eq!((c.stream, c.switches), (Stream::Main, 0));
    // Back to auto from the data saver, on a roomy link: the main stream at once.
    assert_eq!(choose(&small, &roomy(), Receive::Auto).stream, Stream::Main);
}

#[test]
fn a_small_tile_plays_the_small_stream_unless_featured() {
    let narrow = Look {
        tile_width: Some(SMALL_TILE_MAX_WIDTH),
        ..roomy()
    };
    assert_eq!(
        choose(&Choice::default(), &narrow, Receive::Auto).stream,
        Stream::Small
    );
    let pinned = Look {
        featured: true,
        ..narrow
    };
    assert_eq!(
        choose(&Choice::default(), &pinned, Receive::Auto).stream,
        Stream::Main
    );
    let wide = Look {
        tile_width: Some(SMALL_TILE_MAX_WIDTH + 1),
        ..roomy()
    };
    assert_eq!(
        choose(&Choice::default(), &wide, Receive::Auto).stream,
        Stream::Main
    );
    // Unknown size (a bot) decides by the link alone.
    let unknown = Look {
        tile_width: None,
        ..roomy()
    };
    assert_eq!(
        choose(&Choice::default(), &unknown, Receive::Auto).stream,
        Stream::Main
    );
    assert_eq!(Stream::Small.as_str(), "small");
}

#[test]
fn a_small_stream_that_shows_nothing_is_left_for_good() {
    let small = hold(&Choice::default(), roomy(), LOOK, Receive::Small);
    assert_eq!(small.stream, Stream::Small);
    let dark = Look {
        showing: false,
        latency_ms_now: None,
        skipped_share: None,
        ..roomy()
    };
    // A switch's reconnect is a moment of nothing, not a missing stream.
    let c = hold(&small, dark, NO_SMALL_AFTER - LOOK, Receive::Small);
    assert_eq!(c.stream, Stream::Small);
    let c = hold(&small, dark, NO_SMALL_AFTER, Receive::Small);
    assert_eq!(c.stream, Stream::Main);
    assert!(c.small_missing);
    // The main stream showing nothing (a stalled member) is no reason to try the small one.
    let c = hold(&c, roomy(), Duration::from_secs(60), Receive::Small);
    assert_eq!(c.stream, Stream::Main);
    let on_main = hold(
        &Choice::default(),
        dark,
        Duration::from_secs(30),
        Receive::Auto,
    );
    assert!(!on_main.small_missing && on_main.stream == Stream::Main);
}
