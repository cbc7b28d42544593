//! A four-member call through nginx-rtmp, a third-party RTMP server: everyone decodes everyone
//! else's pictures and sound; mute, camera off and leaving take effect for the others; late
//! joiners get a keyframe on request, since nginx-rtmp caches none.

use anyhow::Result;
use quartet_call::{CallEvent, KEYFRAME_ASKS, Placement, PlayerState};
use quartet_media::unix_micros;
use quartet_room::JoinTarget;
use quartet_testkit::NginxRtmp;
use quartet_tests::{
    AUDIBLE, Host, SILENT, TestMember, eventually, everyone_sees_and_hears_everyone, init_tracing,
    leave_all, member_config, start_call,
};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_members_through_nginx_see_hear_mute_and_leave() -> Result<()> {
    init_tracing();
    let nginx = NginxRtmp::start()?;
    let host = Host::external(&nginx.base_url(), |_| {}).await?;
    let mut members = start_call(&host.url, &["Ann", "Ben", "Cho", "Dan"]).await?;
    everyone_sees_and_hears_everyone(&members).await?;

    let (ann, ben) = (members[0].user_id(), members[1].user_id());
    for m in &members {
        let placements: Vec<Placement> = m.call.members().iter().map(|p| p.placement).collect();
        assert_eq!(
            placements.iter().filter(|p| **p == Placement::Own).count(),
            1
        );
        assert_eq!(placements.len(), 4, "{}: {placements:?}", m.name);
    }

    // Ann mutes: the others hear silence from her, and still her pictures.
    members[0].call.set_mic_muted(true).await?;
    assert!(members[0].call.is_mic_muted());
    for viewer in &members[1..] {
        eventually(&format!("{} to hear Ann muted", viewer.name), || {
            viewer
                .tile_of(&ann)
                .is_some_and(|t| t.stats().audio_level < SILENT)
        })
        .await?;
    }
    let since = unix_micros();
    for viewer in &members[1..] {
        eventually(&format!("{} to still see Ann", viewer.name), || {
            viewer.tile_of(&ann).is_some_and(|t| {
                t.frames()
                    .borrow()
                    .as_ref()
                    .is_some_and(|f| f.capture_us.is_some_and(|c| c > since))
            })
        })
        .await?;
    }
    members[0].call.set_mic_muted(false).await?;
    eventually("Ben to hear Ann again", || {
        members[1]
            .tile_of(&ann)
            .is_some_and(|t| t.stats().audio_level > AUDIBLE)
    })
    .await?;

    // Ben turns his camera off: the others get camera-off pictures, and still hear him.
    members[1].call.set_camera_enabled(false).await?;
    for viewer in [&members[0], &members[2], &members[3]] {
        eventually(&format!("{} to see Ben's camera off", viewer.name), || {
            viewer.tile_of(&ben).is_some_and(|t| {
                t.frames().borrow().as_ref().is_some_and(|f| f.is_blank())
                    && t.stats().audio_level > AUDIBLE
            })
        })
        .await?;
    }
    assert!(
        members[1].call.preview().borrow().is_none(),
        "no self-view with the camera off"
    );
    members[1].call.set_camera_enabled(true).await?;
    let since = unix_micros();
    eventually("Cho to see Ben again", || {
        members[2].tile_of(&ben).is_some_and(|t| {
            t.frames()
                .borrow()
                .as_ref()
                .is_some_and(|f| f.capture_us.is_some_and(|c| c > since))
        })
    })
    .await?;

    // Dan leaves: everyone else stops his player and frees his tile.
    let marks: Vec<usize> = members.iter().map(|m| m.mark()).collect();
    let dan = members.pop().expect("four members");
    let dan_id = dan.user_id();
    let dan_tiles: Vec<Option<usize>> = members
        .iter()
        .map(|m| m.tile_of(&dan_id).map(|t| t.slot))
        .collect();
    dan.leave().await?;
    for (m, (mark, tile)) in members.iter().zip(marks.into_iter().zip(dan_tiles)) {
        let left = m
            .event_since(
                mark,
                "Dan left",
                |e| matches!(e, CallEvent::MemberLeft { member, .. } if member.user_id == dan_id),
            )
            .await?;
        let CallEvent::MemberLeft { freed_tile, .. } = left else {
            unreachable!("matched above")
        };
        assert_eq!(freed_tile, tile, "{}: the tile Dan held is freed", m.name);
        m.event_since(mark, "Dan's player stopped", |e| {
            matches!(e, CallEvent::PlayerState { user_id, state: PlayerState::Stopped } if *user_id == dan_id)
        })
        .await?;
        assert!(m.tile_of(&dan_id).is_none(), "{} still plays Dan", m.name);
        assert_eq!(m.call.tiles().len(), 2);
        assert_eq!(m.call.members().len(), 3);
    }

    leave_all(members).await?;
    host.stop().await
}

/// Late joiners measured, one after another, against the same existing member.
const LATE_JOINERS: usize = 6;
/// Between two late joiners: longer than a GOP and than the spacing of forced keyframes, so
/// each joins a call in its steady state, as people do.
const BETWEEN_JOINERS: Duration = Duration::from_millis(1200);
/// Generous bound on a late joiner's first picture of an existing member through nginx-rtmp,
/// from its player's start (measured 183–230 ms on loopback; about a GOP, 1 s, without asking).
const FIRST_FRAME_BOUND_MS: f64 = 2000.0;

/// Through nginx-rtmp, which keeps no keyframe for a newcomer, a late joiner's player asks the
/// member it plays for a keyframe once it plays; the room server passes the request on, the
/// member's encoder acts on it, and the first picture comes without waiting for a GOP by luck.
/// Figures: `cargo test -p quartet-tests --test call_nginx late_joiners -- --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_joiners_through_nginx_ask_for_a_keyframe_and_see_an_existing_member_soon()
-> Result<()> {
    init_tracing();
    let nginx = NginxRtmp::start()?;
    let host = Host::external(&nginx.base_url(), |_| {}).await?;
    let mut members = start_call(&host.url, &["Ann"]).await?;
    let ann = members.remove(0);
    let ann_id = ann.user_id();
    eventually("Ann to be sending", || {
        ann.call
            .stats()
            .publisher
            .is_some_and(|p| p.connected && p.frames_encoded > 30)
    })
    .await?;
    let mut firsts = Vec::new();
    for i in 0..LATE_JOINERS {
        let name = format!("Late{i}");
        let target = JoinTarget::Join {
            room_id: ann.call.room_id(),
        };
        let late = TestMember::start(member_config(&host.url, target, &name)).await?;
        eventually(&format!("{name} to see Ann"), || {
            late.tile_of(&ann_id)
                .is_some_and(|t| t.stats().first_frame_ms.is_some())
        })
        .await?;
        let first = late
            .tile_of(&ann_id)
            .and_then(|t| t.stats().first_frame_ms)
            .unwrap_or(f64::INFINITY);
        firsts.push(first);
        late.leave().await?;
        tokio::time::sleep(BETWEEN_JOINERS).await;
    }
    eprintln!("late joiners' first frame of Ann through nginx (ms): {firsts:?}");
    let figures = ann.call.keyframe_figures();
    eprintln!(
        "Ann's keyframe requests: {figures:?}; passed by the server: {}",
        host.server().keyframe_requests_passed()
    );
    // Asked for, passed on by the server, and acted on by Ann's encoder.
    assert!(host.server().keyframe_requests_passed() >= 1);
    assert!(figures.requested >= 1 && figures.forced >= 1, "{figures:?}");
    // Asked at most a few times per joiner, each asking a bounded number of times.
    let most = (LATE_JOINERS as u64) * u64::from(KEYFRAME_ASKS);
    assert!(figures.requested <= most, "{figures:?}");
    for (i, first) in firsts.iter().enumerate() {
        assert!(
            *first < FIRST_FRAME_BOUND_MS,
            "Late{i} saw Ann after {first} ms: {firsts:?}"
        );
    }
    ann.leave().await?;
    host.stop().await
}
