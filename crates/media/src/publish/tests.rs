//! The publisher's policies and its encoder, against real FFmpeg.

use super::*;

#[test]
fn audio_follows_capture_time() {
    let tol = AUDIO_RESYNC.as_micros() as i64 * 48 / 1000;
    assert_eq!(audio_sync(48_000, 48_000 + tol), AudioSync::Append);
    assert_eq!(audio_sync(48_000, 48_000 - tol), AudioSync::Append);
    assert_eq!(
        audio_sync(48_000, 48_001 + tol),
        AudioSync::JumpTo(48_001 + tol)
    );
    assert_eq!(audio_sync(48_000, 47_999 - tol), AudioSync::Drop);
}

#[test]
fn keyframes_come_on_request_and_on_schedule() {
    let i = Duration::from_secs(1);
    assert!(keyframe_due(false, None, i));
    assert!(keyframe_due(true, Some(Duration::ZERO), i));
    assert!(!keyframe_due(false, Some(Duration::from_millis(999)), i));
    assert!(keyframe_due(false, Some(i), i));
}

use crate::convert::to_av;
use ffmpeg_next::{Packet, frame};

#[test]
fn the_frame_clock_survives_a_real_encode_and_decode() {
    use crate::clock;
    use crate::convert::Scaler;
    use crate::source::SyntheticVideo;
    crate::init();
    // A starved bitrate: the clock must still read back, full size and scaled to a tile.
    let config = PublisherConfig {
        video_kbps: 100,
        ..PublisherConfig::new("rtmp://127.0.0.1:1/live/x")
    };
    let mut enc = open_video_encoder(&config, VideoContent::Camera).unwrap();
    let params = ffmpeg_next::codec::Parameters::from(&enc);
    let mut dec = codec::Context::from_parameters(params)
        .unwrap()
        .decoder()
        .video()
        .unwrap();
    let src = SyntheticVideo::new("clock test", 640, 360, 15).unwrap();
    let t0 = 1_763_974_800_000_000i64;
    let mut read = Vec::new();
    let mut scaler = Scaler::default();
    let mut out = frame::Video::empty();
    for i in 0..45i64 {
        let mut av = to_av(&src.render(i as u64, t0 + i * 66_667));
        av.set_pts(Some(i * 67));
        enc.send_frame(&av).unwrap();
        let mut packet = Packet::empty();
        while enc.receive_packet(&mut packet).is_ok() {
            dec.send_packet(&packet).unwrap();
            while dec.receive_frame(&mut out).is_ok() {
                let full = clock::read(out.data(0), out.stride(0), out.width(), out.height());
                let tile = scaler.frame_at(&out, 160, 90).unwrap();
                read.push((full, clock::read_frame(&tile)));
            }
        }
    }
    assert!(
        read.len() >= 40,
        "zero latency: frames come out as they go in ({})",
        read.len()
    );
    for (i, (full, tile)) in read.iter().enumerate() {
        let want = Some(t0 + i as i64 * 66_667);
        assert_eq!((*full, *tile), (want, want), "frame {i}");
    }
}

#[test]
fn the_open_encoder_takes_a_new_bitrate_without_a_restart_or_a_keyframe() {
    use crate::source::SyntheticVideo;
    crate::init();
    let config = PublisherConfig::new("rtmp://127.0.0.1:1/live/x");
    let mut enc = open_video_encoder(&config, VideoContent::Camera).unwrap();
    let src = SyntheticVideo::new("bitrate test", 640, 360, 15).unwrap();
    // Bytes and keyframes of frames 30..90 (the last 4 s) of each 90-frame phase.
    let phase = |enc: &mut encoder::Video, from: i64| {
        let (mut bytes, mut keys) = (0usize, 0);
        for i in from..from + 90 {
            let mut av = to_av(&src.render(i as u64, i * 66_667));
            av.set_pts(Some(i * 67));
            enc.send_frame(&av).unwrap();
            let mut packet = Packet::empty();
            while enc.receive_packet(&mut packet).is_ok() {
                if i >= from + 30 {
                    bytes += packet.size();
                    keys += usize::from(packet.is_key());
                }
            }
        }
        (bytes as f64 * 8.0 / 4.0 / 1000.0, keys)
    };
    let (full, _) = phase(&mut enc, 0);
    set_video_bitrate(&mut enc, 120);
    let (cut, keys) = phase(&mut enc, 90);
    eprintln!("x264 at 500 then 120 kbit/s: {full:.0} → {cut:.0} kbit/s, {keys} keyframes");
    assert!(
        full > 250.0,
        "the pattern fills most of 500 kbit/s: {full:.0}"
    );
    assert!(cut < 120.0 * 1.5, "{full:.0} → {cut:.0} kbit/s");
    // No keyframe beyond the GOP's own (one per second of frames, forced by x264's keyint).
    assert!(keys <= 5, "{keys} keyframes");
}

#[test]
fn bad_configs_are_refused_before_any_thread_starts() {
    let ok = PublisherConfig::new("rtmp://127.0.0.1:1/live/x");
    assert!(ok.validate().is_ok());
    for bad in [
        PublisherConfig {
            url: "http://x".into(),
            ..ok.clone()
        },
        PublisherConfig {
            width: 641,
            ..ok.clone()
        },
        PublisherConfig {
            fps: 0,
            ..ok.clone()
        },
        PublisherConfig {
            video_kbps: 0,
            ..ok.clone()
        },
        PublisherConfig {
            keyframe_interval: Duration::from_secs(3),
            ..ok.clone()
        },
    ] {
        assert!(matches!(
            Publisher::start(bad, None, None),
            Err(PublishError::InvalidConfig(_))
        ));
    }
}
