//! A tile's snapshot has every pixel the sender sends: Ann sends 640×360 through the embedded
//! relay, Ben's tile decodes her at a small tile size, and Ben's snapshot of that tile is
//! 640×360 with the picture's frame clock intact.

use anyhow::{Context, Result, ensure};
use quartet_call::Receive;
use quartet_room::JoinTarget;
use quartet_tests::{Host, TestMember, init_tracing, leave_all, member_config, sees_and_hears};

/// What Ann sends: the app's usual picture, larger than Ben's tile.
const SENT: (u32, u32) = (640, 360);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tile_snapshot_is_at_the_size_sent() -> Result<()> {
    init_tracing();
    let host = Host::with_relay(|_| {}).await?;
    let mut config = member_config(
        &host.url,
        JoinTarget::Create {
            room_name: "snapshot".into(),
        },
        "Ann",
    );
    (config.media.width, config.media.height) = SENT;
    let ann = TestMember::start(config).await?;
    let mut config = member_config(
        &host.url,
        JoinTarget::Join {
            room_id: ann.call.room_id(),
        },
        "Ben",
    );
    // The main stream, so what is sent is what is played.
    config.media.receive = Receive::Main;
    let tile_size = (config.media.tile_width, config.media.tile_height);
    let ben = TestMember::start(config).await?;
    sees_and_hears(&ben, &ann).await?;

    let tile = ben
        .tile_of(&ann.user_id())
        .context("Ben has no tile for Ann")?;
    let shown = tile.frames().borrow().clone().context("no picture shown")?;
    ensure!(
        (shown.width(), shown.height()) == tile_size,
        "the tile shows {}x{}, not its own size",
        shown.width(),
        shown.height()
    );
    let snap = tile.snapshot_frame().await.context("no snapshot")?;
    ensure!(
        (snap.width(), snap.height()) == SENT,
        "the snapshot is {}x{}, not the {}x{} sent",
        snap.width(),
        snap.height(),
        SENT.0,
        SENT.1
    );
    ensure!(
        snap.capture_us.is_some(),
        "the snapshot lost the frame clock"
    );
    ensure!(
        tile.stats().source_size == Some(SENT),
        "{:?}",
        tile.stats().source_size
    );

    leave_all(vec![ann, ben]).await?;
    host.stop().await
}
