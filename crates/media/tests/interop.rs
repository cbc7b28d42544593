//! Our media against independent peers: FFmpeg's CLI plays what we publish and publishes what
//! we play, through a real nginx-rtmp.

mod support;

use quartet_media::{
    AudioMixer, AudioOutput, Player, PlayerConfig, Publisher, PublisherConfig, PublisherEvent,
    clock,
};
use quartet_testkit::{NginxRtmp, ffmpeg_probe, ffmpeg_publish};
use support::{DEADLINE, init_tracing, member, wait_frame, wait_publisher_event, wait_until};

#[test]
fn our_stream_decodes_in_ffmpeg_as_h264_and_aac() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let url = nginx.url("ours");
    let (video, audio) = member("alice", 640, 360);
    let (publisher, mut events) =
        Publisher::start(PublisherConfig::new(&url), video, audio).unwrap();
    assert!(wait_publisher_event(&mut events, DEADLINE, |e| matches!(
        e,
        PublisherEvent::Connected
    )));

    let probe = ffmpeg_probe(&url, 3).unwrap();
    assert_eq!(probe.video_codec.as_deref(), Some("h264"), "{probe:?}");
    assert_eq!(probe.audio_codec.as_deref(), Some("aac"), "{probe:?}");
    assert!(probe.video_frames >= 10, "{probe:?}");

    let stats = publisher.stats();
    assert!(stats.connected);
    assert!(stats.frames_encoded > 0 && stats.keyframes > 0, "{stats:?}");
    assert!(stats.encode_ms_p95.is_some());
    publisher.stop();
    assert!(wait_publisher_event(&mut events, DEADLINE, |e| matches!(
        e,
        PublisherEvent::Stopped
    )));
}

#[test]
fn we_play_what_ffmpeg_publishes() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let url = nginx.url("theirs");
    let _ffmpeg = ffmpeg_publish(&url, 320, 240, 15).unwrap();
    let mixer = AudioMixer::new();
    let _out = AudioOutput::null(mixer.clone()).unwrap();
    let (player, _events) =
        Player::start(PlayerConfig::new(&url, 160, 120).with_mixer(mixer.clone())).unwrap();

    let frame = wait_frame(&player, DEADLINE, |_| true).expect("a decoded frame");
    assert_eq!((frame.width(), frame.height()), (160, 120));
    // FFmpeg's test source carries no frame clock.
    assert_eq!(clock::read_frame(&frame), None);
    assert!(
        wait_until(DEADLINE, || player.stats().audio_level > 0.01),
        "{:?}",
        player.stats()
    );
    assert_eq!(mixer.inputs(), 1);
    let stats = player.stats();
    assert_eq!(stats.source_size, Some((320, 240)));
    assert!(stats.first_frame_ms.is_some());
    assert!(stats.connected);
    player.stop();
    assert_eq!(mixer.inputs(), 0, "a stopped player leaves the mix");
}
