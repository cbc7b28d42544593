//! Small second streams end to end: every member pushes one beside its main stream; a data-saver
//! member plays the others' small streams (320×180, with sound) through the embedded relay and
//! through nginx-rtmp, while the others keep the main one; a member that sends no small stream
//! (as a v1 client) is played main whatever the setting; a server offering none hands out none.

use anyhow::{Context, Result, ensure};
use quartet_call::{Receive, Stream};
use quartet_room::JoinTarget;
use quartet_testkit::NginxRtmp;
use quartet_tests::{
    Host, TestMember, eventually, init_tracing, leave_all, member_config, sees_and_hears,
};
use url::Url;

/// Ann's main picture.
const ANN_MAIN: (u32, u32) = (640, 360);
/// The small stream's picture.
const SMALL: (u32, u32) = (320, 180);
/// Ben's main picture (the tests' usual size).
const BEN_MAIN: (u32, u32) = (quartet_tests::TEST_WIDTH, quartet_tests::TEST_HEIGHT);

/// Starts Ann (creator, sends a small stream unless `ann_small` is false) and Ben (plays with
/// `ben_receives`).
async fn ann_and_ben(
    server: &Url,
    ann_small: bool,
    ben_receives: Receive,
) -> Result<(TestMember, TestMember)> {
    let mut config = member_config(
        server,
        JoinTarget::Create {
            room_name: "small".into(),
        },
        "Ann",
    );
    config.media.send_small = ann_small;
    // Larger than the small stream, so the two tell apart by size.
    (config.media.width, config.media.height) = ANN_MAIN;
    let ann = TestMember::start(config).await?;
    let mut config = member_config(
        server,
        JoinTarget::Join {
            room_id: ann.call.room_id(),
        },
        "Ben",
    );
    config.media.receive = ben_receives;
    let ben = TestMember::start(config).await?;
    Ok((ann, ben))
}

/// Waits until `viewer` plays `other`'s `stream` with pictures of `size` and sound.
async fn plays(
    viewer: &TestMember,
    other: &TestMember,
    stream: Stream,
    size: (u32, u32),
) -> Result<()> {
    sees_and_hears(viewer, other).await?;
    let id = other.user_id();
    eventually(
        &format!(
            "{} to play {}'s {} stream",
            viewer.name,
            other.name,
            stream.as_str()
        ),
        || {
            viewer
                .tile_of(&id)
                .is_some_and(|t| t.stream == stream && t.stats().source_size == Some(size))
        },
    )
    .await
    .with_context(|| format!("{:?}", viewer.tile_of(&id).map(|t| (t.stream, t.stats()))))
}

async fn data_saver_plays_small_and_the_others_main(server: &Url) -> Result<()> {
    let (ann, ben) = ann_and_ben(server, true, Receive::Small).await?;
    plays(&ben, &ann, Stream::Small, SMALL).await?;
    plays(&ann, &ben, Stream::Main, BEN_MAIN).await?;
    let small = ann.call.stats().publisher.and_then(|p| p.small);
    ensure!(
        small
            .as_ref()
            .is_some_and(|s| s.connected && s.frames_encoded > 0),
        "{small:?}"
    );
    // Turned off mid-call, the tile goes back to the main stream.
    ben.call.set_receive(Receive::Auto).await?;
    plays(&ben, &ann, Stream::Main, ANN_MAIN).await?;
    leave_all(vec![ann, ben]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_saver_plays_small_streams_through_the_relay() -> Result<()> {
    init_tracing();
    let host = Host::with_relay(|_| {}).await?;
    data_saver_plays_small_and_the_others_main(&host.url).await?;
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_saver_plays_small_streams_through_nginx() -> Result<()> {
    init_tracing();
    let nginx = NginxRtmp::start()?;
    let host = Host::external(&nginx.base_url(), |_| {}).await?;
    data_saver_plays_small_and_the_others_main(&host.url).await?;
    host.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_without_a_small_stream_is_played_main() -> Result<()> {
    init_tracing();
    let host = Host::with_relay(|_| {}).await?;
    let (ann, ben) = ann_and_ben(&host.url, false, Receive::Small).await?;
    // Offered a small URL with nothing behind it, the tile tries it, then settles on main.
    plays(&ben, &ann, Stream::Main, ANN_MAIN).await?;
    leave_all(vec![ann, ben]).await?;

    // A server that offers none: nobody sends one, and the setting changes nothing.
    let host = Host::with_relay(|c| c.small_streams = false).await?;
    let (ann, ben) = ann_and_ben(&host.url, true, Receive::Small).await?;
    plays(&ben, &ann, Stream::Main, ANN_MAIN).await?;
    ensure!(
        ann.call
            .stats()
            .publisher
            .is_some_and(|p| p.small.is_none())
    );
    let tile = ben.tile_of(&ann.user_id()).context("a tile")?;
    ensure!(tile.stream_switches == 0, "{}", tile.stream_switches);
    leave_all(vec![ann, ben]).await?;
    host.stop().await
}
