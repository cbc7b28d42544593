//! The small stream beside the main one: published at its size through a real nginx-rtmp,
//! decoded by FFmpeg's CLI and by our player with its sound, and never a drag on the main
//! stream when its own server stalls or refuses.

mod support;

use quartet_media::{
    AudioMixer, AudioOutput, Player, PlayerConfig, Publisher, PublisherConfig, PublisherEvent,
    PublisherHandle, SmallStreamConfig, StreamKind, clock,
};
use quartet_testkit::{NginxRtmp, ffmpeg_probe, free_port, require};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{DEADLINE, init_tracing, member, wait_frame, wait_publisher_event, wait_until};

/// Codec, width and height of the first video stream ffprobe finds at `url`.
fn probe_video(url: &str) -> (String, u64, u64) {
    let ffprobe = require("ffprobe", "Debian package ffmpeg").expect("ffprobe");
    let out = Command::new(ffprobe)
        .args([
            "-v",
            "error",
            "-rw_timeout",
            "10000000",
            "-select_streams",
            "v:0",
        ])
        .args([
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "json",
        ])
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("ffprobe runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let s = &json["streams"][0];
    (
        s["codec_name"].as_str().unwrap_or_default().to_owned(),
        s["width"].as_u64().unwrap_or(0),
        s["height"].as_u64().unwrap_or(0),
    )
}

fn start(
    main: &str,
    small: &str,
    (w, h): (u32, u32),
) -> (
    PublisherHandle,
    tokio::sync::mpsc::UnboundedReceiver<PublisherEvent>,
) {
    let (video, audio) = member("dora", w, h);
    let config = PublisherConfig {
        width: w,
        height: h,
        ..PublisherConfig::new(main)
    };
    Publisher::start_with_small(config, Some(SmallStreamConfig::new(small)), video, audio)
        .expect("a publisher starts")
}

#[test]
fn the_small_stream_decodes_at_its_size_with_sound() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let (main_url, small_url) = (nginx.url("dora"), nginx.url("dora_small"));
    let (publisher, mut events) = start(&main_url, &small_url, (640, 360));
    assert!(wait_publisher_event(&mut events, DEADLINE, |e| matches!(
        e,
        PublisherEvent::Connected
    )));
    assert!(wait_until(DEADLINE, || publisher
        .stats()
        .small
        .is_some_and(|s| s.connected)));

    assert_eq!(probe_video(&small_url), ("h264".to_owned(), 320, 180));
    assert_eq!(probe_video(&main_url), ("h264".to_owned(), 640, 360));
    let probe = ffmpeg_probe(&small_url, 3).unwrap();
    assert_eq!(probe.audio_codec.as_deref(), Some("aac"), "{probe:?}");
    assert!(probe.video_frames >= 10, "{probe:?}");

    // Our player, asking for a keyframe of the small stream only, sees the frame clock and
    // hears the tone.
    let mixer = AudioMixer::new();
    let _out = AudioOutput::null(mixer.clone()).unwrap();
    let (player, _ev) =
        Player::start(PlayerConfig::new(&small_url, 320, 180).with_mixer(mixer)).unwrap();
    publisher.request_keyframe_of(StreamKind::Small);
    let frame = wait_frame(&player, DEADLINE, |f| f.capture_us.is_some()).expect("a frame");
    assert!(clock::read_frame(&frame).is_some());
    assert!(
        wait_until(DEADLINE, || player.stats().audio_level > 0.01),
        "{:?}",
        player.stats()
    );
    assert_eq!(player.stats().source_size, Some((320, 180)));

    let stats = publisher.stats();
    let small = stats.small.clone().unwrap();
    assert!(small.frames_encoded > 0 && small.keyframes > 0, "{small:?}");
    assert!(small.kbps > 0.0, "{small:?}");
    assert_eq!((small.rung.width, small.rung.height), (320, 180));
    player.stop();
    publisher.stop();
}

#[test]
fn a_portrait_main_stream_gets_a_portrait_small_one() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let (main_url, small_url) = (nginx.url("tall"), nginx.url("tall_small"));
    let (publisher, _events) = start(&main_url, &small_url, (360, 640));
    assert!(wait_until(DEADLINE, || publisher
        .stats()
        .small
        .is_some_and(|s| s.connected && s.frames_encoded > 0)));
    assert_eq!(probe_video(&small_url), ("h264".to_owned(), 180, 320));
    publisher.stop();
}

/// Frames per second the main stream encoded over `window`, once connected.
fn main_fps_over(publisher: &PublisherHandle, window: Duration) -> f64 {
    let before = publisher.stats().frames_encoded;
    let began = Instant::now();
    std::thread::sleep(window);
    let after = publisher.stats().frames_encoded;
    (after - before) as f64 / began.elapsed().as_secs_f64()
}

/// 15 fps configured; two thirds of it leaves room for a loaded machine, and a main stream held
/// back by a stalled small one would send none.
const MAIN_FPS_FLOOR: f64 = 10.0;

#[test]
fn a_stalled_small_server_does_not_slow_the_main_stream() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    // Accepts the connection and never answers the RTMP handshake.
    let stalled = TcpListener::bind("127.0.0.1:0").unwrap();
    let small_url = format!(
        "rtmp://127.0.0.1:{}/live/stall_small",
        stalled.local_addr().unwrap().port()
    );
    let holder = std::thread::spawn(move || {
        let (socket, _) = stalled.accept().unwrap();
        std::thread::sleep(Duration::from_secs(8));
        drop(socket);
    });
    let (publisher, mut events) = start(&nginx.url("stall"), &small_url, (640, 360));
    assert!(wait_publisher_event(&mut events, DEADLINE, |e| matches!(
        e,
        PublisherEvent::Connected
    )));
    let fps = main_fps_over(&publisher, Duration::from_secs(4));
    let stats = publisher.stats();
    assert!(fps >= MAIN_FPS_FLOOR, "main at {fps:.1} fps: {stats:?}");
    let small = stats.small.unwrap();
    assert!(!small.connected, "{small:?}");
    // Its queue is bounded: what it could not take was dropped, not kept.
    assert!(small.dropped_frames > 0, "{small:?}");
    publisher.stop();
    holder.join().unwrap();
}

#[test]
fn a_refused_small_url_does_not_slow_the_main_stream() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let small_url = format!("rtmp://127.0.0.1:{}/live/gone_small", free_port().unwrap());
    let (publisher, mut events) = start(&nginx.url("gone"), &small_url, (640, 360));
    assert!(wait_publisher_event(&mut events, DEADLINE, |e| matches!(
        e,
        PublisherEvent::Connected
    )));
    let fps = main_fps_over(&publisher, Duration::from_secs(4));
    let stats = publisher.stats();
    assert!(fps >= MAIN_FPS_FLOOR, "main at {fps:.1} fps: {stats:?}");
    let small = stats.small.unwrap();
    assert!(!small.connected && small.frames_encoded == 0, "{small:?}");
    // The main stream's events are its own: a failing small stream is not reported there.
    while let Ok(e) = events.try_recv() {
        assert!(!matches!(e, PublisherEvent::Disconnected { .. }), "{e:?}");
    }
    publisher.stop();
}
