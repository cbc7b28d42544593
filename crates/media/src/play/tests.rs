use super::*;

#[test]
fn catch_up_thresholds() {
    assert_eq!(catch_up(Duration::ZERO), CatchUp::Show);
    assert_eq!(catch_up(MAX_SHOW_BACKLOG), CatchUp::Show);
    assert_eq!(
        catch_up(MAX_SHOW_BACKLOG + Duration::from_millis(1)),
        CatchUp::DecodeOnly
    );
    assert_eq!(
        catch_up(SKIP_TO_KEYFRAME_BACKLOG + Duration::from_millis(1)),
        CatchUp::SkipToKeyframe
    );
}

#[test]
fn timestamps_to_milliseconds() {
    assert_eq!(ms(Some(1500), Rational::new(1, 1000)), 1500);
    assert_eq!(ms(Some(48_000), Rational::new(1, 48_000)), 1000);
    assert_eq!(ms(None, Rational::new(1, 1000)), 0);
}

#[test]
fn bad_configs_are_refused() {
    assert!(matches!(
        Player::start(PlayerConfig::new("http://x", 320, 180)),
        Err(PlayError::InvalidConfig(_))
    ));
    assert!(matches!(
        Player::start(PlayerConfig::new("rtmp://127.0.0.1:1/live/x", 0, 180)),
        Err(PlayError::InvalidConfig(_))
    ));
}
