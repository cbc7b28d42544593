//! A creator leaving: handed over where the server offers it (the others stay, one of them now
//! the creator), closed where it does not (v1's rule), and closed for everyone on request.

use crate::harness::{Peer, TestServer, fast_server, ids};
use anyhow::{Result, ensure};
use quartet_room::{EventMode, LeaveMode, SessionEvent};

#[tokio::test]
async fn a_host_leaving_hands_the_room_to_the_member_present_longest() -> Result<()> {
    for events in [EventMode::Auto, EventMode::Off] {
        let server = TestServer::start(fast_server(true)).await?;
        let url = server.url();
        let mut ann = Peer::create(&url, "Ann", events).await?;
        let room = ann.handle.room_id();
        let mut bob = Peer::join(&url, &room, "Bob", events).await?;
        ann.expect_joined(&bob).await?;
        let mut cat = Peer::join(&url, &room, "Cat", events).await?;
        ann.expect_joined(&cat).await?;
        bob.expect_joined(&cat).await?;
        ensure!(
            ann.handle.can_hand_over(),
            "the creator is offered hand-over"
        );
        ensure!(
            !bob.handle.can_hand_over(),
            "a member has nothing to hand over"
        );

        let (ann_id, bob_id) = (ann.id(), bob.id());
        ann.handle.leave(LeaveMode::Leave).await?;
        bob.expect_left(&ann_id, "Ann").await?;
        bob.expect("the room handed to Bob", |e| {
            matches!(e, SessionEvent::BecameCreator)
        })
        .await?;
        cat.expect_left(&ann_id, "Ann").await?;
        cat.expect(
            "Bob becoming the creator",
            |e| matches!(e, SessionEvent::MemberUpdated(m) if m.user_id == bob_id && m.is_creator),
        )
        .await?;
        ensure!(bob.handle.is_creator() && bob.handle.can_hand_over());
        ensure!(!cat.handle.is_closed() && !bob.handle.is_closed());
        ensure!(ids(&cat.handle.members()) == [bob.id(), cat.id()]);
        // The heir is bound by the same choice: ending for everyone closes the room.
        bob.handle.leave(LeaveMode::EndForEveryone).await?;
        cat.expect("the room closing", |e| {
            matches!(e, SessionEvent::RoomClosed { .. })
        })
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn without_the_extension_a_host_leaving_closes_the_room_as_v1_does() -> Result<()> {
    let mut config = fast_server(true);
    config.hand_over = false;
    let server = TestServer::start(config).await?;
    let url = server.url();
    let mut ann = Peer::create(&url, "Ann", EventMode::Auto).await?;
    let mut bob = Peer::join(&url, &ann.handle.room_id(), "Bob", EventMode::Auto).await?;
    ann.expect_joined(&bob).await?;
    ensure!(ann.handle.is_creator() && !ann.handle.can_hand_over());
    ann.handle.leave(LeaveMode::Leave).await?;
    bob.expect("the room closing", |e| {
        matches!(e, SessionEvent::RoomClosed { .. })
    })
    .await?;
    Ok(())
}
