//! Publishing, playing, signatures, the keyframe cache, slow players and shutdown, over real
//! sockets with an independent RTMP client (rml_rtmp's client session).

mod common;

use std::time::Duration;

use anyhow::{Result, ensure};
use common::*;
use quartet_relay::{RelayConfig, RelayEvent};
use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_expired_and_wrong_stream_publishes_are_refused() -> Result<()> {
    let relay = TestRelay::signed().await?;
    let mut canary = Canary::start(&relay, "8888_canary").await?;
    let now = unix_now();
    let for_user_2 = signer().signed_stream("8888_user_2", now + 3_600);
    let query = for_user_2
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    let cases = [
        ("unsigned", "8888_user_1".to_owned()),
        ("expired", signer().signed_stream("8888_user_1", now - 10)),
        ("wrong stream", format!("8888_user_1?{query}")),
        (
            "wrong key",
            quartet_proto::sign::StreamSigner::new(BIZID, "not-the-key")
                .signed_stream("8888_user_1", now + 3_600),
        ),
    ];
    for (what, name) in cases {
        let mut client = Client::connect(relay.addr).await?;
        let refused = client.publish(&name).await?;
        ensure!(
            refused.as_deref() == Some("NetStream.Publish.Unauthorized"),
            "{what}: {refused:?}"
        );
        let mut socket = client.into_socket();
        closed_by_relay(&mut socket).await?;
        ensure!(!relay.handle.is_live("8888_user_1"), "{what} went live");
        canary.check().await?;
    }
    let mut client = Client::connect(relay.addr).await?;
    ensure!(client.publish(&signed("8888_user_1")).await?.is_none());
    relay.wait_live("8888_user_1", true).await?;
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_member_takes_over_only_with_a_valid_signature() -> Result<()> {
    let relay = TestRelay::patient().await?;
    let mut events = relay.handle.subscribe();
    let id = "8888_user_1";
    let mut first = Client::publishing(relay.addr, id).await?;
    first.video(0, keyframe(1, 100)).await?;
    let mut player = Client::playing(relay.addr, id).await?;
    ensure!(player.next_media().await?.data == seq_header());
    ensure!(tag_of(&player.next_media().await?.data) == 1);

    let mut thief = Client::connect(relay.addr).await?;
    let refused = thief.publish(id).await?;
    ensure!(refused.as_deref() == Some("NetStream.Publish.Unauthorized"));
    first.video(33, inter(2, 100)).await?;
    loop {
        let m = player.next_media().await?;
        if m.data.len() == 100 && tag_of(&m.data) == 2 {
            break;
        }
    }

    let mut second = Client::connect(relay.addr).await?;
    ensure!(second.publish(&signed(id)).await?.is_none());
    let mut old = first.into_socket();
    closed_by_relay(&mut old).await?;
    ensure!(relay.handle.is_live(id));
    second.video(1_000, seq_header()).await?;
    second.video(1_000, keyframe(3, 100)).await?;
    loop {
        let m = player.next_media().await?;
        if m.data.len() == 100 && tag_of(&m.data) == 3 {
            break;
        }
    }
    ensure!(
        events.recv().await?
            == RelayEvent::Published {
                stream_id: id.into()
            }
    );
    ensure!(
        events.try_recv().is_err(),
        "a takeover is no liveness change"
    );
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_signatures_are_checked_when_configured() -> Result<()> {
    let relay = TestRelay::start(RelayConfig {
        verify_play: true,
        ..RelayConfig::signed(signer())
    })
    .await?;
    let mut unsigned = Client::connect(relay.addr).await?;
    let refused = unsigned.play("8888_user_1").await?;
    ensure!(
        refused.as_deref() == Some("NetStream.Play.Unauthorized"),
        "{refused:?}"
    );
    let mut player = Client::connect(relay.addr).await?;
    ensure!(player.play(&signed("8888_user_1")).await?.is_none());
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiners_first_frame_comes_from_the_cache() -> Result<()> {
    let relay = TestRelay::signed().await?;
    let id = "8888_user_1";
    let mut publisher = Client::publishing(relay.addr, id).await?;
    publisher.audio(0, aac_header()).await?;
    // An old group the cache must have let go of, then the current one.
    publisher.video(0, keyframe(1, 500)).await?;
    publisher.video(33, inter(2, 300)).await?;
    publisher.video(1_000, keyframe(10, 500)).await?;
    publisher.audio(1_010, aac(20)).await?;
    publisher.video(1_033, inter(11, 300)).await?;
    publisher.video(1_066, inter(12, 300)).await?;
    // Wait until the relay has taken it all in; the publisher then sends nothing more.
    let deadline = tokio::time::Instant::now() + WAIT;
    while relay.handle.stats().first().map(|s| s.video_frames) != Some(6) {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the relay never got the frames"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut player = Client::playing(relay.addr, id).await?;
    let mut got = Vec::new();
    for _ in 0..6 {
        got.push(player.next_media().await?);
    }
    ensure!(got[0].video && got[0].data == seq_header(), "{:?}", got[0]);
    ensure!(!got[1].video && got[1].data == aac_header());
    ensure!(got[2].video && got[2].data == keyframe(10, 500) && got[2].timestamp == 1_000);
    ensure!(!got[3].video && got[3].timestamp == 1_010);
    ensure!(tag_of(&got[4].data) == 11 && tag_of(&got[5].data) == 12);
    // Nothing from the earlier group.
    ensure!(
        got.iter()
            .all(|m| !m.video || m.data.len() != 500 || tag_of(&m.data) != 1)
    );
    relay.stop().await
}

/// A signed relay whose players queue `limit` messages and never skip for lag: the stall tests
/// send frames far faster than their timestamps, so only the count may decide.
fn judged_by_count(limit: usize) -> RelayConfig {
    RelayConfig {
        player_queue_limit: limit,
        player_max_lag: Duration::from_secs(3_600),
        // The publisher here runs far ahead of real time: lateness is not what is judged.
        player_budget: Duration::from_secs(3_600),
        ..RelayConfig::signed(signer())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_player_does_not_delay_the_publisher_or_the_others() -> Result<()> {
    const FRAMES: u32 = 700;
    const FRAME_SIZE: usize = 32 * 1024;
    const GOP: u32 = 30;
    // Far more frames than the stalled player's socket buffers and queue hold together; the
    // healthy player may fall half a second behind (a loaded test machine) and lose nothing.
    let relay = TestRelay::start(judged_by_count(512)).await?;
    let id = "8888_user_1";
    let mut publisher = Client::publishing(relay.addr, id).await?;
    // From here on nobody reads this socket.
    let stalled = Client::playing(relay.addr, id).await?.into_socket();
    let mut healthy = Client::playing(relay.addr, id).await?;
    let reader = tokio::spawn(async move {
        let mut tags = Vec::new();
        while tags.len() < FRAMES as usize {
            let m = healthy.next_media().await?;
            if m.data.len() == FRAME_SIZE {
                tags.push(tag_of(&m.data));
            }
        }
        anyhow::Ok((tags, healthy))
    });

    for i in 0..FRAMES {
        publisher
            .video(i * 33, gop_frame(i, GOP, FRAME_SIZE))
            .await?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (tags, _healthy) = tokio::time::timeout(WAIT, reader).await???;
    ensure!(
        tags == (0..FRAMES).collect::<Vec<_>>(),
        "the healthy player lost or reordered frames"
    );
    let stats = relay.handle.stats();
    ensure!(stats[0].players == 2);
    ensure!(
        stats[0].dropped_for_players > 0,
        "the stalled player's backlog was never dropped: {stats:?}"
    );
    drop(stalled);
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_that_stalls_and_resumes_gets_whole_messages_and_restarts_at_a_keyframe()
-> Result<()> {
    const FRAME_SIZE: usize = 24 * 1024;
    const GOP: u32 = 10;
    // Enough to fill the player's socket (written straight from the publisher's task until
    // then, so a message is cut in the middle) and to overflow its queue afterwards.
    const STALLED_FRAMES: u32 = 200;
    let relay = TestRelay::start(judged_by_count(32)).await?;
    let id = "8888_user_1";
    let mut publisher = Client::publishing(relay.addr, id).await?;
    let mut player = Client::playing(relay.addr, id).await?;
    for i in 0..STALLED_FRAMES {
        publisher
            .video(i * 33, gop_frame(i, GOP, FRAME_SIZE))
            .await?;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let stats = relay.handle.stats();
    ensure!(
        stats[0].dropped_for_players > 0,
        "the player never fell behind: {stats:?}"
    );

    // Reading again: then one more group of pictures, whose last frame must arrive.
    let last = STALLED_FRAMES + GOP - 1;
    let reader = tokio::spawn(async move {
        let mut tags = Vec::new();
        while tags.last() != Some(&last) {
            let m = player.next_media().await?;
            if m.data.len() == FRAME_SIZE {
                tags.push(tag_of(&m.data));
            }
        }
        anyhow::Ok(tags)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in STALLED_FRAMES..=last {
        publisher
            .video(i * 33, gop_frame(i, GOP, FRAME_SIZE))
            .await?;
    }
    let tags = tokio::time::timeout(WAIT, reader).await???;
    ensure!(
        tags[0] == 0,
        "the player started at the cached keyframe: {tags:?}"
    );
    for pair in tags.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        ensure!(after > before, "frames out of order: {tags:?}");
        ensure!(
            after == before + 1 || after.is_multiple_of(GOP),
            "after a gap the player resumed on an inter frame ({before} -> {after}): {tags:?}"
        );
    }
    ensure!(
        tags.windows(2).any(|p| p[1] != p[0] + 1),
        "nothing was skipped, so the test did not stall the player: {tags:?}"
    );
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_is_told_when_the_publisher_leaves_and_returns() -> Result<()> {
    let relay = TestRelay::signed().await?;
    let mut events = relay.handle.subscribe();
    let id = "8888_user_1";
    let mut player = Client::playing(relay.addr, id).await?;
    let mut publisher = Client::connect(relay.addr).await?;
    ensure!(publisher.publish(&signed(id)).await?.is_none());
    publisher.video(0, keyframe(1, 50)).await?;
    player.next_media().await?;
    drop(publisher);
    let notice = player
        .wait_for(|e| {
            matches!(e, rml_rtmp::sessions::ClientSessionEvent::UnhandleableOnStatusCode { code }
                if code == "NetStream.Play.UnpublishNotify")
        })
        .await;
    ensure!(notice.is_ok(), "{notice:?}");
    relay.wait_live(id, false).await?;
    ensure!(
        events.recv().await?
            == RelayEvent::Published {
                stream_id: id.into()
            }
    );
    ensure!(
        events.recv().await?
            == RelayEvent::Unpublished {
                stream_id: id.into()
            }
    );

    let mut again = Client::connect(relay.addr).await?;
    ensure!(again.publish(&signed(id)).await?.is_none());
    player
        .wait_for(|e| {
            matches!(e, rml_rtmp::sessions::ClientSessionEvent::UnhandleableOnStatusCode { code }
                if code == "NetStream.Play.PublishNotify")
        })
        .await?;
    again.video(40, keyframe(2, 50)).await?;
    ensure!(tag_of(&player.next_media().await?.data) == 2);
    relay.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_connection_and_the_handle_outlives_the_relay() -> Result<()> {
    let relay = TestRelay::patient().await?;
    let handle = relay.handle.clone();
    let mut publisher = Client::connect(relay.addr).await?;
    ensure!(publisher.publish(&signed("8888_user_1")).await?.is_none());
    let player = Client::playing(relay.addr, "8888_user_1").await?;
    let mut idle = tokio::net::TcpStream::connect(relay.addr).await?;
    relay.wait_live("8888_user_1", true).await?;
    let addr = relay.addr;
    relay.stop().await?;
    for mut socket in [publisher.into_socket(), player.into_socket()] {
        closed_by_relay(&mut socket).await?;
    }
    let mut buf = [0u8; 16];
    ensure!(matches!(idle.read(&mut buf).await, Ok(0) | Err(_)));
    ensure!(!handle.is_live("8888_user_1"));
    ensure!(handle.stats().is_empty());
    ensure!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening"
    );
    Ok(())
}
