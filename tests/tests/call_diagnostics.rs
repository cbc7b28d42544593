//! A tester's diagnostics in a real call (room server, relay, two members): every room API call
//! with its code and time, event-channel frames, and each played stream's codecs, profile, level,
//! keyframe interval and latency, as the encoder made them.

use anyhow::Result;
use quartet_call::config::DEFAULT_KEYFRAME_INTERVAL;
use quartet_tests::{Host, eventually, init_tracing, leave_all, start_call};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_tells_its_api_calls_events_and_streams() -> Result<()> {
    init_tracing();
    let host = Host::with_relay(|_| {}).await?;
    let members = start_call(&host.url, &["Ann", "Ben"]).await?;
    let ann = &members[0];
    // Keyframes asked for as players join come early; then the publisher's own cadence shows.
    let configured = DEFAULT_KEYFRAME_INTERVAL.as_secs_f64() * 1000.0;
    eventually("Ann to see Ben's keyframe interval settle", || {
        ann.call.diagnostics().stats.remotes.iter().any(|r| {
            r.player
                .keyframe_interval_ms
                .is_some_and(|ms| (ms - configured).abs() <= configured * 0.1)
        })
    })
    .await?;
    let d = ann.call.diagnostics();

    let endpoints: Vec<&str> = d.api_calls.iter().map(|c| c.endpoint.as_str()).collect();
    for wanted in [
        "get_im_login_info",
        "get_push_url",
        "create_room",
        "get_pushers",
    ] {
        assert!(endpoints.contains(&wanted), "{wanted} not in {endpoints:?}");
    }
    assert!(
        d.api_calls.iter().all(|c| c.code == Some(0) && c.ms > 0.0),
        "{:?}",
        d.api_calls
    );
    assert!(
        d.api_calls.windows(2).all(|w| w[0].at_ms <= w[1].at_ms),
        "oldest first"
    );
    // Ben's join reached Ann through the event channel.
    assert!(
        d.events.iter().any(|e| e.kind == "pusher_change"),
        "{:?}",
        d.events
    );

    let ben = d
        .stats
        .remote(&members[1].call.user_id())
        .expect("Ben played");
    let info = &ben.player.stream_info;
    let video = info.video.as_ref().expect("video described");
    assert_eq!(video.codec, "h264");
    assert!(
        video.profile.is_some() && video.level.is_some(),
        "{video:?}"
    );
    let audio = info.audio.as_ref().expect("audio described");
    assert_eq!(
        (
            audio.codec.as_str(),
            audio.profile.as_deref(),
            audio.sample_rate,
            audio.channels
        ),
        ("aac", Some("LC"), 48_000, 1)
    );
    assert!(ben.player.latency_ms_p50.is_some(), "{:?}", ben.player);
    leave_all(members).await?;
    host.stop().await
}
