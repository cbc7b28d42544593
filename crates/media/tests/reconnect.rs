//! The RTMP server goes away and comes back: publisher and player resume on their own.

mod support;

use quartet_media::{
    Player, PlayerConfig, PlayerEvent, Publisher, PublisherConfig, PublisherEvent, unix_micros,
};
use quartet_testkit::NginxRtmp;
use std::time::Duration;
use support::{
    DEADLINE, init_tracing, member, wait_frame, wait_player_event, wait_publisher_event, wait_until,
};

#[test]
fn server_killed_and_restarted_mid_stream() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let port = nginx.port();
    let url = nginx.url("restart");
    let (video, audio) = member("erin", 640, 360);
    let (publisher, mut pub_events) =
        Publisher::start(PublisherConfig::new(&url), video, audio).unwrap();
    let (player, mut play_events) = Player::start(PlayerConfig::new(&url, 320, 180)).unwrap();
    wait_frame(&player, DEADLINE, |f| f.capture_us.is_some()).expect("frames before the restart");

    nginx.stop();
    assert!(wait_publisher_event(
        &mut pub_events,
        DEADLINE,
        |e| matches!(e, PublisherEvent::Disconnected { .. })
    ));
    assert!(wait_player_event(&mut play_events, DEADLINE, |e| matches!(
        e,
        PlayerEvent::Disconnected { .. }
    )));
    assert!(wait_until(DEADLINE, || !publisher.stats().connected
        && !player.stats().connected));
    // Down for a while: several retries fail before the server is back.
    std::thread::sleep(Duration::from_millis(1500));

    let _nginx = NginxRtmp::start_on(port).unwrap();
    let back = unix_micros();
    wait_frame(&player, Duration::from_secs(30), |f| {
        f.capture_us.is_some_and(|t| t > back)
    })
    .expect("frames captured after the restart");
    assert!(publisher.stats().reconnects >= 1, "{:?}", publisher.stats());
    assert!(player.stats().reconnects >= 1, "{:?}", player.stats());
    player.stop();
    publisher.stop();
}

#[test]
fn player_waits_for_a_late_publisher_and_reconnects_on_request() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let url = nginx.url("late");
    let mut config = PlayerConfig::new(&url, 320, 180);
    config.read_timeout = Duration::from_secs(2);
    let (player, mut events) = Player::start(config).unwrap();
    // Nothing to play yet: the player keeps retrying (its read timeout is 2 s).
    assert!(wait_player_event(&mut events, DEADLINE, |e| matches!(
        e,
        PlayerEvent::Connecting { attempt: 2.. }
    )));
    assert!(player.frames().borrow().is_none());

    let (video, audio) = member("frank", 640, 360);
    let (publisher, _pe) = Publisher::start(PublisherConfig::new(&url), video, audio).unwrap();
    wait_frame(&player, DEADLINE, |f| f.capture_us.is_some())
        .expect("frames once the publisher is up");

    player.reconnect();
    assert!(wait_player_event(
        &mut events,
        DEADLINE,
        |e| matches!(e, PlayerEvent::Disconnected { retry_in, .. } if retry_in.is_zero())
    ));
    let again = unix_micros();
    wait_frame(&player, DEADLINE, |f| {
        f.capture_us.is_some_and(|t| t > again)
    })
    .expect("frames after reconnecting");

    // Restartable: a new player on the same stream after the old one stopped.
    player.stop();
    assert!(wait_player_event(&mut events, DEADLINE, |e| matches!(
        e,
        PlayerEvent::Stopped
    )));
    let (second, _e) = Player::start(PlayerConfig::new(&url, 160, 90)).unwrap();
    wait_frame(&second, DEADLINE, |f| f.width() == 160).expect("a second player plays");
    second.stop();
    publisher.stop();
}
