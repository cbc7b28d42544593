//! Decoding on demand through real RTMP: keyframes only while nobody wants pictures, every
//! picture while someone does, a snapshot at once, and a camera turned off still seen.

mod support;

use quartet_media::{
    Player, PlayerConfig, PlayerHandle, Publisher, PublisherConfig, PublisherEvent, VideoDecoding,
};
use quartet_testkit::NginxRtmp;
use std::time::Duration;
use support::{DEADLINE, init_tracing, member, wait_publisher_event, wait_until};

/// Units counted over each stretch: two seconds at 15 fps, two keyframes at one a second.
const STRETCH_UNITS: u64 = 30;

/// (decoded, received) over the next [`STRETCH_UNITS`] units.
fn over_a_stretch(player: &PlayerHandle) -> (u64, u64) {
    let before = player.stats();
    assert!(
        wait_until(DEADLINE, || player.stats().units_received
            >= before.units_received + STRETCH_UNITS),
        "units keep arriving: {before:?}"
    );
    let after = player.stats();
    (
        after.frames_decoded - before.frames_decoded,
        after.units_received - before.units_received,
    )
}

#[test]
fn pictures_are_decoded_when_wanted_and_keyframes_otherwise() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let url = nginx.url("on-demand");
    let config = PublisherConfig {
        keyframe_interval: Duration::from_secs(1),
        ..PublisherConfig::new(&url)
    };
    let (video, audio) = member("dora", 640, 360);
    let (publisher, mut events) = Publisher::start(config, video, audio).unwrap();
    assert!(wait_publisher_event(&mut events, DEADLINE, |e| matches!(
        e,
        PublisherEvent::Connected
    )));
    let mut config = PlayerConfig::new(&url, 320, 180);
    config.video = VideoDecoding::OnDemand;
    let (player, _events) = Player::start(config).unwrap();

    // Nobody watches: a keyframe a second is decoded, and is the latest picture.
    assert!(wait_until(DEADLINE, || player.latest_frame().is_some()));
    let (decoded, received) = over_a_stretch(&player);
    assert!(
        decoded * 4 <= received,
        "only keyframes: {decoded} decoded of {received}"
    );
    let latest = player.latest_frame().expect("a keyframe's picture");
    assert_eq!((latest.width(), latest.height()), (320, 180));
    assert!(!latest.is_blank());

    // A snapshot does not wait for a keyframe's picture: it is decoded at the stream's size.
    let full = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(player.full_size_frame(Duration::from_secs(5)))
        .expect("a full-size picture");
    assert_eq!((full.width(), full.height()), (640, 360));

    // Someone watches: every picture is decoded.
    let frames = player.frames();
    let (decoded, received) = over_a_stretch(&player);
    assert!(
        decoded + 2 >= received,
        "every picture: {decoded} decoded of {received}"
    );
    assert!(frames.borrow().is_some());

    // Nobody again: back to keyframes.
    drop(frames);
    let (decoded, received) = over_a_stretch(&player);
    assert!(
        decoded * 4 <= received,
        "keyframes again: {decoded} decoded of {received}"
    );

    // The camera turned off reaches the latest picture without anyone watching.
    publisher.set_video_enabled(false);
    assert!(
        wait_until(DEADLINE, || player
            .latest_frame()
            .is_some_and(|f| f.is_blank())),
        "a camera-off picture"
    );

    player.stop();
    publisher.stop();
}

#[test]
fn a_player_that_never_decodes_still_counts_what_arrives() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let url = nginx.url("never");
    let (video, audio) = member("emil", 640, 360);
    let (publisher, _events) = Publisher::start(PublisherConfig::new(&url), video, audio).unwrap();
    let mut config = PlayerConfig::new(&url, 320, 180);
    config.video = VideoDecoding::Off;
    let (player, _events) = Player::start(config).unwrap();
    let (decoded, received) = over_a_stretch(&player);
    assert_eq!(decoded, 0);
    assert!(received >= STRETCH_UNITS);
    assert!(player.stats().fps > 0.0, "{:?}", player.stats());
    assert!(player.latest_frame().is_none());
    player.stop();
    publisher.stop();
}
