//! Members without a camera or a microphone: a clear device error, and the call goes on with
//! what exists; switching devices mid-call, and a failed switch that changes nothing.

use anyhow::Result;
use quartet_call::{AudioInput, AudioOutputChoice, CallError, CallEvent, DeviceKind, VideoInput};
use quartet_media::unix_micros;
use quartet_room::JoinTarget;
use quartet_testkit::NginxRtmp;
use quartet_tests::{
    AUDIBLE, Host, SILENT, TestMember, eventually, init_tracing, leave_all, member_config,
    sees_and_hears,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_devices_leave_the_call_running_with_what_exists() -> Result<()> {
    init_tracing();
    let nginx = NginxRtmp::start()?;
    let host = Host::external(&nginx.base_url(), |_| {}).await?;
    let cho = TestMember::start(member_config(
        &host.url,
        JoinTarget::Create {
            room_name: "devices".into(),
        },
        "Cho",
    ))
    .await?;
    let join = JoinTarget::Join {
        room_id: cho.call.room_id(),
    };
    // Ann has no camera, Ben no microphone.
    let mut config = member_config(&host.url, join.clone(), "Ann");
    config.video = VideoInput::Camera(Some("/dev/video9".into()));
    let ann = TestMember::start(config).await?;
    let mut config = member_config(&host.url, join, "Ben");
    config.audio = AudioInput::Microphone(Some("nonexistent".into()));
    let ben = TestMember::start(config).await?;

    let error = ann
        .event_since(0, "a camera error", |e| {
            matches!(
                e,
                CallEvent::DeviceError {
                    kind: DeviceKind::Camera,
                    ..
                }
            )
        })
        .await?;
    assert!(format!("{error:?}").contains("/dev/video9"), "{error:?}");
    let error = ben
        .event_since(0, "a microphone error", |e| {
            matches!(
                e,
                CallEvent::DeviceError {
                    kind: DeviceKind::Microphone,
                    ..
                }
            )
        })
        .await?;
    assert!(format!("{error:?}").contains("nonexistent"), "{error:?}");
    assert!(matches!(
        ann.events().first(),
        Some(CallEvent::Joined { .. })
    ));

    // Cho sees Ann's camera-off pictures and hears her tone; sees Ben and hears silence.
    let (ann_id, ben_id) = (ann.user_id(), ben.user_id());
    eventually("Cho to see Ann's camera off and hear her", || {
        cho.tile_of(&ann_id).is_some_and(|t| {
            t.frames().borrow().as_ref().is_some_and(|f| f.is_blank())
                && t.stats().audio_level > AUDIBLE
        })
    })
    .await?;
    eventually("Cho to see Ben and hear silence", || {
        cho.tile_of(&ben_id).is_some_and(|t| {
            let s = t.stats();
            s.latency_ms_p50.is_some() && s.frames_decoded > 0 && s.audio_level < SILENT
        })
    })
    .await?;
    // Neither misses anything of the others.
    sees_and_hears(&ann, &cho).await?;
    sees_and_hears(&ben, &cho).await?;
    eventually("Ann to see Ben", || {
        ann.tile_of(&ben_id)
            .is_some_and(|t| t.stats().latency_ms_p50.is_some())
    })
    .await?;
    assert!(ann.call.preview().borrow().is_none());
    let grid = ann.call.snapshot_grid(320, 180);
    assert_eq!(grid.dimensions(), (320, 180));

    // A switch to another missing camera is an error and changes nothing.
    match ann
        .call
        .switch_camera(VideoInput::Camera(Some("/dev/video8".into())))
        .await
    {
        Err(CallError::Device(e)) => assert!(e.to_string().contains("/dev/video8"), "{e}"),
        other => panic!("expected a device error, got {other:?}"),
    }
    assert!(ann.call.members().len() == 3 && !ann.call.is_ended());

    // Mid-call switches: Ann gets a (synthetic) camera, Ben a tone.
    let since = unix_micros();
    ann.call
        .switch_camera(VideoInput::Synthetic {
            name: "Ann's new camera".into(),
        })
        .await?;
    ben.call.switch_microphone(AudioInput::Tone).await?;
    eventually("Cho to see Ann's new camera", || {
        cho.tile_of(&ann_id).is_some_and(|t| {
            t.frames()
                .borrow()
                .as_ref()
                .is_some_and(|f| f.capture_us.is_some_and(|c| c > since))
        })
    })
    .await?;
    eventually("Ann's self-view", || ann.call.preview().borrow().is_some()).await?;
    sees_and_hears(&cho, &ben).await?;
    sees_and_hears(&cho, &ann).await?;
    assert_eq!(
        ann.call.stats().publisher.map(|p| p.reconnects),
        Some(0),
        "switching needs no reconnect"
    );

    // Cho changes speakers: a missing one is an error and the current one keeps playing; the
    // new one plays what the others send (silence when they all mute, their tone after).
    let missing = AudioOutputChoice::Device("no such speaker".into());
    match cho.call.switch_speaker(missing).await {
        Err(CallError::Speaker(_)) => {}
        other => panic!("expected a speaker error, got {other:?}"),
    }
    cho.call.switch_speaker(AudioOutputChoice::Null).await?;
    let mix = || cho.call.stats().mix_level;
    eventually("Cho's new speaker to play the others", || mix() > AUDIBLE).await?;
    ann.call.set_mic_muted(true).await?;
    ben.call.set_mic_muted(true).await?;
    eventually("Cho's new speaker to go quiet", || mix() < SILENT).await?;
    // Muted, Ann's microphone is still measured, so she can be told she is talking muted.
    let mic = ann.call.stats().publisher.map(|p| p.mic_level);
    assert!(mic.is_some_and(|l| l > AUDIBLE), "{mic:?}");
    ann.call.set_mic_muted(false).await?;
    ben.call.set_mic_muted(false).await?;
    eventually("Cho's new speaker to play them again", || mix() > AUDIBLE).await?;

    // Dee joins muted with the camera off: not one picture or tone leaves before that holds.
    let mut config = member_config(
        &host.url,
        JoinTarget::Join {
            room_id: cho.call.room_id(),
        },
        "Dee",
    );
    config.start_muted = true;
    config.start_camera_off = true;
    let dee = TestMember::start(config).await?;
    let dee_id = dee.user_id();
    assert!(dee.call.is_mic_muted() && !dee.call.is_camera_enabled());
    eventually("Cho to see Dee muted with the camera off", || {
        cho.tile_of(&dee_id).is_some_and(|t| {
            let s = t.stats();
            s.frames_decoded > 0
                && s.audio_level < SILENT
                && t.frames().borrow().as_ref().is_some_and(|f| f.is_blank())
        })
    })
    .await?;
    let before = cho.tile_of(&dee_id).expect("Dee's tile").stats();
    assert_eq!(before.latency_ms_p50, None, "no picture of Dee was shown");
    dee.call.set_mic_muted(false).await?;
    dee.call.set_camera_enabled(true).await?;
    sees_and_hears(&cho, &dee).await?;

    leave_all(vec![cho, ann, ben, dee]).await?;
    host.stop().await
}
