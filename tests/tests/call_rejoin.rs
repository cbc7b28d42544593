//! A member whose token expires is dropped by the room server and comes back under a new
//! identity: sending restarts to the new URL by itself, still muted and with the camera off.

use anyhow::Result;
use quartet_call::{CallEvent, Link};
use quartet_room::{JoinTarget, SessionTiming};
use quartet_testkit::NginxRtmp;
use quartet_tests::{
    Host, SILENT, TestMember, eventually, init_tracing, leave_all, member_config, sees_and_hears,
};
use std::time::Duration;

/// Tokens die this soon, so the first rejoin comes a few seconds into the call.
const TOKEN_VALID: Duration = Duration::from_secs(6);
/// Long enough that no stale identity is evicted (closing the room) while the test runs.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(120);

fn brisk() -> SessionTiming {
    SessionTiming {
        first_heartbeat: Duration::from_millis(500),
        heartbeat_interval: Duration::from_secs(1),
        ..SessionTiming::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_identity_restarts_sending_with_the_same_mute_and_camera() -> Result<()> {
    init_tracing();
    let nginx = NginxRtmp::start()?;
    let host = Host::external(&nginx.base_url(), |c| {
        c.token_valid = TOKEN_VALID;
        c.heartbeat_timeout = HEARTBEAT_TIMEOUT;
    })
    .await?;
    let mut config = member_config(
        &host.url,
        JoinTarget::Create {
            room_name: "rejoin".into(),
        },
        "Ann",
    );
    config.session.timing = brisk();
    let ann = TestMember::start(config).await?;
    let mut config = member_config(
        &host.url,
        JoinTarget::Join {
            room_id: ann.call.room_id(),
        },
        "Ben",
    );
    config.session.timing = brisk();
    let ben = TestMember::start(config).await?;
    sees_and_hears(&ann, &ben).await?;

    ben.call.set_mic_muted(true).await?;
    ben.call.set_camera_enabled(false).await?;
    let old_id = ben.user_id();
    let mark = ben.mark();
    ben.event_since(mark, "a rejoin", |e| {
        *e == CallEvent::Reconnected(Link::Room)
    })
    .await?;
    let new_id = ben.user_id();
    assert_ne!(new_id, old_id, "a refused token means a new identity");
    ben.event_since(mark, "sending again", |e| {
        matches!(
            e,
            CallEvent::PublisherState(quartet_call::PublisherState::Live)
        )
    })
    .await?;
    let sending = ben.call.stats().publisher.expect("a publisher");
    assert!(sending.audio_muted && !sending.video_enabled, "{sending:?}");
    assert!(ben.call.is_mic_muted() && !ben.call.is_camera_enabled());
    assert_eq!(
        ben.call
            .members()
            .iter()
            .filter(|p| p.placement == quartet_call::Placement::Own)
            .count(),
        1,
        "our former identity is not shown: {:?}",
        ben.call.members()
    );

    // Ann plays Ben's new stream: camera-off pictures and silence.
    eventually("Ann to play Ben's new stream, muted and camera off", || {
        ann.tile_of(&new_id).is_some_and(|t| {
            let s = t.stats();
            s.frames_decoded > 0
                && s.audio_level < SILENT
                && t.frames().borrow().as_ref().is_some_and(|f| f.is_blank())
        })
    })
    .await?;

    leave_all(vec![ann, ben]).await?;
    host.stop().await
}
