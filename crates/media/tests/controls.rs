//! Mute, camera off, keyframes on demand, source switching and the packet tap, observed by our
//! player at media level.

mod support;

use quartet_media::publish::VideoContent;
use quartet_media::{
    AudioMixer, AudioOutput, Player, PlayerConfig, Publisher, PublisherConfig, PublisherEvent,
    SyntheticVideo, VideoDecoding, clock, unix_micros,
};
use quartet_testkit::NginxRtmp;
use std::time::Duration;
use support::{DEADLINE, init_tracing, member, wait_frame, wait_publisher_event, wait_until};

#[test]
fn mute_and_camera_off_take_effect_and_undo() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let url = nginx.url("controls");
    let (video, audio) = member("bob", 640, 360);
    let (publisher, mut events) =
        Publisher::start(PublisherConfig::new(&url), video, audio).unwrap();
    assert!(wait_publisher_event(&mut events, DEADLINE, |e| matches!(
        e,
        PublisherEvent::Connected
    )));
    let mixer = AudioMixer::new();
    let _out = AudioOutput::null(mixer.clone()).unwrap();
    let (player, _pe) = Player::start(PlayerConfig::new(&url, 320, 180).with_mixer(mixer)).unwrap();

    let f = wait_frame(&player, DEADLINE, |f| f.capture_us.is_some()).expect("clocked frames");
    assert!(!f.is_blank());
    assert!(
        wait_until(DEADLINE, || player.stats().audio_level > 0.05),
        "{:?}",
        player.stats()
    );
    assert!(wait_until(DEADLINE, || player
        .stats()
        .latency_ms_p50
        .is_some()));

    // Muted: the stream goes on, as silence.
    publisher.set_audio_muted(true);
    assert!(
        wait_until(DEADLINE, || player.stats().audio_level < 0.001),
        "{:?}",
        player.stats()
    );
    assert!(publisher.stats().audio_muted);
    publisher.set_audio_muted(false);
    assert!(wait_until(DEADLINE, || player.stats().audio_level > 0.05));

    // Camera off: black, clock-less frames keep the track alive.
    publisher.set_video_enabled(false);
    let off = wait_frame(&player, DEADLINE, |f| f.is_blank()).expect("a camera-off frame");
    assert_eq!(clock::read_frame(&off), None);
    let before = player.stats().frames_decoded;
    assert!(
        wait_until(DEADLINE, || player.stats().frames_decoded > before),
        "camera-off frames keep coming"
    );

    let since = unix_micros();
    publisher.set_video_enabled(true);
    wait_frame(&player, DEADLINE, |f| {
        f.capture_us.is_some_and(|t| t > since)
    })
    .expect("pictures again");

    player.stop();
    publisher.stop();
}

#[test]
fn keyframes_on_demand_source_switch_and_packet_tap() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let url = nginx.url("switch");
    let config = PublisherConfig {
        keyframe_interval: Duration::from_secs(2),
        ..PublisherConfig::new(&url)
    };
    let (video, audio) = member("carol", 640, 360);
    let (publisher, mut events) = Publisher::start(config, video, audio).unwrap();
    assert!(wait_publisher_event(&mut events, DEADLINE, |e| matches!(
        e,
        PublisherEvent::Connected
    )));

    let mut cfg = PlayerConfig::new(&url, 320, 180);
    cfg.video = VideoDecoding::Off;
    let (tap_player, _e) = Player::start(cfg).unwrap();
    let mut packets = tap_player.packets();
    let (player, _pe) = Player::start(PlayerConfig::new(&url, 320, 180)).unwrap();
    wait_frame(&player, DEADLINE, |f| f.capture_us.is_some()).expect("frames");

    // With a 2 s GOP (30 frames), a requested keyframe shows up within the next frame or two.
    for _ in 0..3 {
        let before = publisher.stats();
        publisher.request_keyframe();
        assert!(wait_until(DEADLINE, || publisher.stats().frames_encoded
            >= before.frames_encoded + 2));
        let after = publisher.stats();
        assert!(
            after.keyframes > before.keyframes,
            "no keyframe on request: {before:?} -> {after:?}"
        );
    }

    // The tap hands out H.264 access units with their avcC record (version 1, then profile).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let first_key = rt
        .block_on(async {
            tokio::time::timeout(DEADLINE, async {
                loop {
                    match packets.recv().await {
                        Ok(p) if p.keyframe => return Some(p),
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => return None,
                    }
                }
            })
            .await
        })
        .ok()
        .flatten()
        .expect("a keyframe through the tap");
    assert_eq!(
        first_key.config.first(),
        Some(&1u8),
        "avcC configurationVersion"
    );
    assert!(first_key.data.len() > 4);
    assert_eq!(
        tap_player.stats().frames_decoded,
        0,
        "the tap alone decodes nothing"
    );

    // A source of another size is scaled to the configured size without a reconnect.
    let since = unix_micros();
    publisher.replace_video_source(Some(Box::new(
        SyntheticVideo::new("dave", 1280, 720, 15).unwrap(),
    )));
    wait_frame(&player, DEADLINE, |f| {
        f.capture_us.is_some_and(|t| t > since)
    })
    .expect("frames from the new source");
    assert_eq!(player.stats().source_size, Some((640, 360)));
    assert_eq!(publisher.stats().reconnects, 0);

    tap_player.stop();
    player.stop();
    publisher.stop();
}

#[test]
fn switching_between_camera_and_screen_keeps_the_connection_and_the_pictures() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let url = nginx.url("content");
    let (video, audio) = member("cleo", 640, 360);
    let (publisher, mut events) =
        Publisher::start(PublisherConfig::new(&url), video, audio).unwrap();
    assert!(wait_publisher_event(&mut events, DEADLINE, |e| matches!(
        e,
        PublisherEvent::Connected
    )));
    let (player, _pe) = Player::start(PlayerConfig::new(&url, 320, 180)).unwrap();
    wait_frame(&player, DEADLINE, |f| f.capture_us.is_some()).expect("clocked frames");

    // Each switch opens an encoder set up for the new content; its decoder configuration goes
    // out in-band, so the player decodes on without reconnecting.
    for content in [VideoContent::Screen, VideoContent::Camera] {
        let (keyframes, decoded) = (publisher.stats().keyframes, player.stats().frames_decoded);
        publisher.set_video_content(content);
        assert!(
            wait_until(DEADLINE, || publisher.stats().keyframes > keyframes
                && player.stats().frames_decoded > decoded + 15),
            "{content:?}: {:?} {:?}",
            publisher.stats(),
            player.stats()
        );
    }
    let (sent, seen) = (publisher.stats(), player.stats());
    assert_eq!(
        (sent.reconnects, seen.reconnects),
        (0, 0),
        "{sent:?} {seen:?}"
    );
    assert!(wait_frame(&player, DEADLINE, |f| f.capture_us.is_some()).is_some());
    publisher.stop();
    player.stop();
}
