//! No camera, no microphone, no speaker: typed errors, so a call goes on with what exists; and a
//! paced fake microphone (cpal's custom host) through the real capture code.

mod support;

use quartet_media::source::CameraSettings;
use quartet_media::source::DeviceKind;
use quartet_media::{
    AudioMixer, AudioOutError, AudioOutput, AudioSource, CameraSource, Microphone, Player,
    PlayerConfig, Publisher, PublisherConfig, PublisherEvent, SourceError, SyntheticVideo,
    list_cameras, list_microphones,
};
use quartet_testkit::NginxRtmp;
use std::time::{Duration, Instant};
use support::{DEADLINE, fake_audio, init_tracing, wait_frame, wait_publisher_event, wait_until};

#[test]
fn no_camera_is_a_typed_error() {
    let cameras = list_cameras().unwrap();
    if cameras.is_empty() {
        assert!(matches!(
            CameraSource::open(None, CameraSettings::default()),
            Err(SourceError::NoDevice(DeviceKind::Camera))
        ));
    }
    match CameraSource::open(Some("/dev/no-such-camera"), CameraSettings::default()) {
        Err(SourceError::NotFound {
            kind: DeviceKind::Camera,
            ..
        })
        | Err(SourceError::Unavailable {
            kind: DeviceKind::Camera,
            ..
        }) => {}
        other => panic!("expected a typed camera error, got {:?}", other.err()),
    }
}

#[test]
fn no_microphone_or_speaker_is_a_typed_error() {
    let empty = fake_audio::host(false);
    assert!(matches!(
        Microphone::open_on(empty, None),
        Err(SourceError::NoDevice(DeviceKind::Microphone))
    ));
    assert!(matches!(
        Microphone::open_on(fake_audio::host(true), Some("Nope")),
        Err(SourceError::NotFound {
            kind: DeviceKind::Microphone,
            ..
        })
    ));
    assert!(matches!(
        AudioOutput::open_on(fake_audio::host(false), AudioMixer::new(), None),
        Err(AudioOutError::NoDevice(DeviceKind::Speaker))
    ));
    // The machine's own host: whatever it has, the answer is a device or a typed error.
    let _ = list_microphones();
    match Microphone::open(None) {
        Ok(_) | Err(SourceError::NoDevice(_)) | Err(SourceError::Unavailable { .. }) => {}
        Err(e) => panic!("unexpected microphone error: {e:?}"),
    }
    let out = AudioOutput::open_or_null(AudioMixer::new()).unwrap();
    out.stop();
}

#[test]
fn the_fake_microphone_is_captured_in_real_time() {
    let mut mic = Microphone::open_on(fake_audio::host(true), None).unwrap();
    assert!(mic.describe().contains("Fake microphone"));
    let t0 = Instant::now();
    let mut samples = 0usize;
    let mut level = 0f32;
    while samples < 48_000 / 4 {
        if let Some(c) = mic.next_chunk().unwrap() {
            samples += c.samples.len();
            level = level.max(c.rms());
        }
        assert!(t0.elapsed() < DEADLINE);
    }
    // A quarter second of sound cannot arrive faster than real time.
    assert!(t0.elapsed() >= Duration::from_millis(200));
    assert!(
        (level - fake_audio::AMPLITUDE / 2f32.sqrt()).abs() < 0.02,
        "{level}"
    );
}

#[test]
fn a_member_without_camera_publishes_the_fake_microphone() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let url = nginx.url("miconly");
    let mic = Microphone::open_on(fake_audio::host(true), None).unwrap();
    let (publisher, mut events) =
        Publisher::start(PublisherConfig::new(&url), None, Some(Box::new(mic))).unwrap();
    assert!(wait_publisher_event(&mut events, DEADLINE, |e| matches!(
        e,
        PublisherEvent::Connected
    )));
    let mixer = AudioMixer::new();
    let _out = AudioOutput::null(mixer.clone()).unwrap();
    let (player, _e) = Player::start(PlayerConfig::new(&url, 320, 180).with_mixer(mixer)).unwrap();
    wait_frame(&player, DEADLINE, |f| f.is_blank()).expect("camera-off frames");
    assert!(
        wait_until(DEADLINE, || player.stats().audio_level > 0.1),
        "{:?}",
        player.stats()
    );

    // The camera comes later: switching sources needs no reconnect.
    publisher.replace_video_source(Some(Box::new(
        SyntheticVideo::new("late camera", 640, 360, 15).unwrap(),
    )));
    wait_frame(&player, DEADLINE, |f| f.capture_us.is_some()).expect("pictures");
    assert_eq!(publisher.stats().reconnects, 0);
    player.stop();
    publisher.stop();
}
