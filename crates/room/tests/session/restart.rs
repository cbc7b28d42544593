//! A room server that keeps its rooms in a data directory is restarted mid-call: members stay.

use crate::harness::{EVENT_WAIT, KIND, Peer, TestServer, fast_server, ids};
use anyhow::{Result, bail, ensure};
use quartet_room::{ApiClient, EventMode, LeaveMode, MembershipSource, SessionEvent};
use quartet_server::{ServerConfig, Storage};
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

/// Long enough that nobody is evicted for the silence of the restart itself.
const PATIENT: Duration = Duration::from_secs(30);

fn stored_server(events: bool, dir: &Path) -> ServerConfig {
    ServerConfig {
        heartbeat_timeout: PATIENT,
        storage: Storage::Dir(dir.to_owned()),
        ..fast_server(events)
    }
}

/// Reads `p`'s events for `period`; anything that says it left or lost the room fails.
async fn stays(p: &mut Peer, period: Duration) -> Result<()> {
    let deadline = Instant::now() + period;
    loop {
        let event = tokio::select! {
            event = p.events.recv() => event,
            () = tokio::time::sleep_until(deadline) => return Ok(()),
        };
        match event {
            Some(
                e @ (SessionEvent::RoomClosed { .. }
                | SessionEvent::MemberLeft(_)
                | SessionEvent::Rejoined { .. }),
            ) => bail!("{}: {e:?} across a restart", p.name),
            Some(_) => {}
            None => bail!("{}: the session ended across a restart", p.name),
        }
    }
}

/// Waits until `p` has its event channel again.
async fn events_back(p: &Peer) -> Result<()> {
    let deadline = Instant::now() + EVENT_WAIT;
    while p.handle.membership_source() != MembershipSource::Events {
        ensure!(
            Instant::now() < deadline,
            "{}: no event channel again",
            p.name
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test]
async fn members_stay_in_the_room_across_a_restart_of_the_server() -> Result<()> {
    for events in [true, false] {
        let dir = tempfile::tempdir()?;
        let mut server = TestServer::start(stored_server(events, dir.path())).await?;
        let url = server.url();
        let mut ann = Peer::create(&url, "Ann", EventMode::Auto).await?;
        let room = ann.handle.room_id();
        let mut bob = Peer::join(&url, &room, "Bob", EventMode::Auto).await?;
        ann.expect_joined(&bob).await?;
        let before = ids(&ann.handle.members());

        server.restart_process().await?;
        // Long enough for every retry and re-join a member would make to run its course.
        let watch = Duration::from_secs(2);
        let (a, b) = tokio::join!(stays(&mut ann, watch), stays(&mut bob, watch));
        a?;
        b?;
        if events {
            events_back(&ann).await?;
            events_back(&bob).await?;
        }
        assert_eq!(ids(&ann.handle.members()), before);
        assert_eq!(ids(&bob.handle.members()), before);
        let listed = ApiClient::new(url.clone(), KIND)?
            .get_pushers(&room)
            .await?;
        let listed: Vec<_> = listed.pushers.into_iter().map(|p| p.user_id).collect();
        assert_eq!(listed, before, "the restarted server knows both");

        // The room goes on: news reaches both members from the restarted server.
        let cat = Peer::join(&url, &room, "Cat", EventMode::Auto).await?;
        ann.expect_joined(&cat).await?;
        bob.expect_joined(&cat).await?;
        let bob_id = bob.id();
        bob.handle.leave(LeaveMode::Leave).await?;
        ann.expect_left(&bob_id, "Bob").await?;
        ann.handle.leave(LeaveMode::Leave).await?;
        server.stop().await?;
    }
    Ok(())
}
