//! Four members in one room: joins, leaves, a member that vanishes, text, the creator leaving —
//! once with the event channel and once polling, as against an original v1 server — and a
//! member leaving after its token expired.

use crate::harness::{self, Peer, TestServer, fast_server, ids};
use anyhow::{Result, ensure};
use quartet_room::{
    EventMode, JoinTarget, LeaveMode, MembershipSource, SessionError, SessionEvent,
};
use quartet_server::ServerConfig;
use std::time::Duration;

#[tokio::test]
async fn four_members_with_the_event_channel() -> Result<()> {
    four_members(true).await
}

#[tokio::test]
async fn four_members_polling_like_a_v1_server() -> Result<()> {
    four_members(false).await
}

async fn four_members(server_events: bool) -> Result<()> {
    let server = TestServer::start(fast_server(server_events)).await?;
    let url = server.url();
    let source = if server_events {
        MembershipSource::Events
    } else {
        MembershipSource::Polling
    };

    let mut ann = Peer::create(&url, "Ann", EventMode::Auto).await?;
    let room = ann.handle.room_id();
    assert_eq!(ann.handle.membership_source(), source);
    let me = ann.handle.members();
    assert_eq!(ids(&me), [ann.id()]);
    assert!(me[0].is_creator && me[0].is_self);
    assert!(!ann.handle.push_url().is_empty() && !ann.handle.user_sig().is_empty());

    let mut bob = Peer::join(&url, &room, "Bob", EventMode::Auto).await?;
    let seen = ann.expect_joined(&bob).await?;
    assert_eq!(seen.user_name, "Bob");
    assert!(!seen.is_creator && !seen.is_self && !seen.play_url.is_empty());

    let mut cat = Peer::join(&url, &room, "Cat", EventMode::Auto).await?;
    for p in [&mut ann, &mut bob] {
        p.expect_joined(&cat).await?;
    }
    let mut dan = Peer::join(&url, &room, "Dan", EventMode::Auto).await?;
    for p in [&mut ann, &mut bob, &mut cat] {
        p.expect_joined(&dan).await?;
    }

    // Everyone sees the same four, creator first, and exactly one of them as itself.
    let everyone = [ann.id(), bob.id(), cat.id(), dan.id()];
    for p in [&ann, &bob, &cat, &dan] {
        let members = p.handle.members();
        assert_eq!(ids(&members), everyone, "{}'s view", p.name);
        assert!(members[0].is_creator);
        let selves: Vec<_> = members.iter().filter(|m| m.is_self).collect();
        assert_eq!(selves.len(), 1);
        assert_eq!(selves[0].user_id, p.id());
        assert_eq!(p.handle.membership_source(), source, "{}", p.name);
    }

    if server_events {
        bob.handle.send_text("你好, room").await?;
        let bob_id = bob.id();
        for p in [&mut ann, &mut cat, &mut dan] {
            let text = p
                .expect("Bob's text", |e| matches!(e, SessionEvent::Text { .. }))
                .await?;
            let SessionEvent::Text {
                user_id,
                nick_name,
                head_pic,
                text,
                time,
            } = text
            else {
                unreachable!("matched Text");
            };
            assert_eq!(user_id, bob_id);
            assert_eq!(nick_name, "Bob");
            assert_eq!(head_pic, "https://avatars.example/Bob.png");
            assert_eq!(text, "你好, room");
            assert!(time > 0);
        }
    }
    assert!(matches!(
        bob.handle.send_text(" \n").await,
        Err(SessionError::EmptyText)
    ));

    // Dan leaves properly.
    let dan_id = dan.id();
    dan.handle.leave(LeaveMode::Leave).await?;
    dan.expect_end().await?;
    assert!(dan.handle.is_closed());
    for p in [&mut ann, &mut bob, &mut cat] {
        p.expect_left(&dan_id, "Dan").await?;
    }

    // Cat vanishes without leaving: the server notices (socket gone or heartbeats stopped).
    let cat_id = cat.id();
    drop(cat);
    for p in [&mut ann, &mut bob] {
        p.expect_left(&cat_id, "Cat").await?;
    }
    ensure!(ids(&bob.handle.members()) == [ann.id(), bob.id()]);

    // The creator ending the call closes the room for everyone else.
    ann.handle.leave(LeaveMode::EndForEveryone).await?;
    let closed = bob
        .expect("the room closing", |e| {
            matches!(e, SessionEvent::RoomClosed { .. })
        })
        .await?;
    let SessionEvent::RoomClosed { reason } = closed else {
        unreachable!("matched RoomClosed");
    };
    assert!(!reason.is_empty());
    bob.expect_end().await?;
    assert!(matches!(
        bob.handle.send_text("anyone?").await,
        Err(SessionError::Closed)
    ));
    assert!(matches!(
        bob.handle.leave(LeaveMode::Leave).await,
        Err(SessionError::Closed)
    ));
    Ok(())
}

#[tokio::test]
async fn a_member_that_will_not_use_events_polls_among_those_that_do() -> Result<()> {
    let server = TestServer::start(fast_server(true)).await?;
    let url = server.url();
    let mut ann = Peer::create(&url, "Ann", EventMode::Auto).await?;
    let mut bob = Peer::join(&url, &ann.handle.room_id(), "Bob", EventMode::Off).await?;
    assert_eq!(bob.handle.membership_source(), MembershipSource::Polling);
    assert_eq!(ann.handle.membership_source(), MembershipSource::Events);
    ann.expect_joined(&bob).await?;
    let cat = Peer::join(&url, &ann.handle.room_id(), "Cat", EventMode::Auto).await?;
    bob.expect_joined(&cat).await?;
    let cat_id = cat.id();
    cat.handle.leave(LeaveMode::Leave).await?;
    bob.expect_left(&cat_id, "Cat").await?;
    ann.expect_left(&cat_id, "Cat").await?;
    Ok(())
}

/// How long tokens last in the expired-token test.
const SHORT_TOKEN: Duration = Duration::from_secs(1);
/// Longer than the test: nothing asks the server anything, and nobody is evicted, before the leave.
const QUIET: Duration = Duration::from_secs(60);

#[tokio::test]
async fn leaving_after_the_token_expired_ends_the_session() -> Result<()> {
    let server = TestServer::start(ServerConfig {
        token_valid: SHORT_TOKEN,
        heartbeat_timeout: QUIET,
        ..fast_server(false)
    })
    .await?;
    let target = JoinTarget::Create {
        room_name: "expiring".into(),
    };
    let mut config = harness::config(&server.url(), target, "Ann", EventMode::Off);
    config.timing.first_heartbeat = QUIET;
    config.timing.heartbeat_interval = QUIET;
    config.timing.poll_interval = QUIET;
    let mut ann = Peer::start(config).await?;
    // Expiry is checked in whole seconds, so a second more makes it certain.
    tokio::time::sleep(SHORT_TOKEN + Duration::from_secs(2)).await;
    ann.handle.leave(LeaveMode::Leave).await?;
    ann.expect_end().await?;
    Ok(())
}
