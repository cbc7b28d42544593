//! A room server that goes away mid-call and comes back on the same port.

use crate::harness::{EVENT_WAIT, KIND, Link, Peer, TestServer, fast_server, ids};
use anyhow::{Result, ensure};
use quartet_room::{ApiClient, EventMode, LeaveMode, MembershipSource, SessionEvent};
use std::time::Duration;

/// Long enough that nobody is evicted for the silence of an outage the test itself controls.
const PATIENT: Duration = Duration::from_secs(30);

fn patient_server(events: bool) -> quartet_server::ServerConfig {
    quartet_server::ServerConfig {
        heartbeat_timeout: PATIENT,
        socket_grace: PATIENT,
        ..fast_server(events)
    }
}

async fn lost(p: &mut Peer) -> Result<()> {
    p.expect("ConnectionLost", |e| {
        matches!(e, SessionEvent::ConnectionLost)
    })
    .await
    .map(drop)
}

async fn restored(p: &mut Peer) -> Result<()> {
    p.expect("ConnectionRestored", |e| {
        matches!(e, SessionEvent::ConnectionRestored)
    })
    .await
    .map(drop)
}

async fn closed(p: &mut Peer) -> Result<String> {
    match p
        .expect("RoomClosed", |e| {
            matches!(e, SessionEvent::RoomClosed { .. })
        })
        .await?
    {
        SessionEvent::RoomClosed { reason } => Ok(reason),
        _ => unreachable!("matched RoomClosed"),
    }
}

/// Waits, event by event, until `p` lists `user_id` among the members.
async fn until_listed(p: &mut Peer, user_id: &str) -> Result<()> {
    let waiting = async {
        while !ids(&p.handle.members()).iter().any(|id| id == user_id) {
            if p.events.recv().await.is_none() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(EVENT_WAIT, waiting).await;
    ensure!(
        ids(&p.handle.members()).iter().any(|id| id == user_id),
        "{} never listed {user_id}",
        p.name
    );
    Ok(())
}

#[tokio::test]
async fn an_outage_is_reported_once_each_way_and_the_call_goes_on() -> Result<()> {
    for events in [true, false] {
        let server = TestServer::start(patient_server(events)).await?;
        let mut link = Link::to(&server).await?;
        let url = link.url();
        let mut ann = Peer::create(&url, "Ann", EventMode::Auto).await?;
        let mut bob = Peer::join(&url, &ann.handle.room_id(), "Bob", EventMode::Auto).await?;
        ann.expect_joined(&bob).await?;

        link.cut().await;
        lost(&mut ann).await?;
        lost(&mut bob).await?;
        link.restore().await?;
        restored(&mut ann).await?;
        restored(&mut bob).await?;
        assert_eq!(ids(&bob.handle.members()), [ann.id(), bob.id()]);

        // Membership still flows both ways, by events again where there are events.
        let cat = Peer::join(&url, &ann.handle.room_id(), "Cat", EventMode::Auto).await?;
        ann.expect_joined(&cat).await?;
        bob.expect_joined(&cat).await?;
        let bob_id = bob.id();
        bob.handle.leave(LeaveMode::Leave).await?;
        ann.expect_left(&bob_id, "Bob").await?;
        if events {
            assert_eq!(ann.handle.membership_source(), MembershipSource::Events);
        }
        ann.handle.leave(LeaveMode::Leave).await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_member_evicted_during_the_outage_rejoins_by_itself() -> Result<()> {
    for events in [true, false] {
        let server = TestServer::start(patient_server(events)).await?;
        let mut link = Link::to(&server).await?;
        let url = link.url();
        let mut ann = Peer::create(&url, "Ann", EventMode::Auto).await?;
        let room = ann.handle.room_id();
        let mut bob = Peer::join(&url, &room, "Bob", EventMode::Auto).await?;
        ann.expect_joined(&bob).await?;
        let (bob_id, bob_push) = (bob.id(), bob.handle.push_url());

        link.cut().await;
        lost(&mut ann).await?;
        lost(&mut bob).await?;
        // While Bob cannot reach it, the server drops him.
        ApiClient::new(server.url(), KIND)?
            .with_user_sig(bob.handle.user_sig())
            .delete_pusher(&room, &bob_id)
            .await?;
        link.restore().await?;

        restored(&mut bob).await?;
        let rejoined = bob
            .expect("Rejoined", |e| matches!(e, SessionEvent::Rejoined { .. }))
            .await?;
        // The same identity, pushing the same stream under a URL signed anew (the server
        // revokes what it signed for a member it dropped).
        let stream = |url: &str| url.split('?').next().unwrap_or_default().to_owned();
        match rejoined {
            SessionEvent::Rejoined { user_id, push_url } => {
                assert_eq!(user_id, bob_id);
                assert_eq!(stream(&push_url), stream(&bob_push));
                assert_eq!(push_url, bob.handle.push_url());
            }
            other => unreachable!("matched Rejoined: {other:?}"),
        }
        restored(&mut ann).await?;
        assert_eq!(ids(&bob.handle.members()), [ann.id(), bob_id.clone()]);
        // Ann may or may not have caught Bob's absence; either way she ends up seeing him.
        until_listed(&mut ann, &bob_id).await?;

        // And the room's news reaches Bob again.
        let cat = Peer::join(&url, &room, "Cat", EventMode::Auto).await?;
        bob.expect_joined(&cat).await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_server_shutdown_closes_the_room_it_took_down() -> Result<()> {
    // With events the server says so; polling, a member finds out once the server is back.
    let mut server = TestServer::start(patient_server(true)).await?;
    let url = server.url();
    let mut ann = Peer::create(&url, "Ann", EventMode::Auto).await?;
    let mut bob = Peer::join(&url, &ann.handle.room_id(), "Bob", EventMode::Auto).await?;
    let mut cat = Peer::join(&url, &ann.handle.room_id(), "Cat", EventMode::Off).await?;
    ann.expect_joined(&bob).await?;
    ann.expect_joined(&cat).await?;

    server.stop().await?;
    for p in [&mut ann, &mut bob] {
        assert_eq!(closed(p).await?, "server_shutdown");
        p.expect_end().await?;
    }
    lost(&mut cat).await?;
    server.restart().await?;
    restored(&mut cat).await?;
    let back = std::time::Instant::now();
    assert_eq!(
        closed(&mut cat).await?,
        quartet_room::session::REASON_ROOM_GONE
    );
    // "No such room" right after an outage is retried for the grace before it is believed.
    assert!(back.elapsed() >= crate::harness::fast_timing().rejoin_grace);
    cat.expect_end().await?;
    Ok(())
}
