//! Calls through our embedded relay with signed publishes: four members decode each other; a
//! fifth is listed, not played, until a played member leaves and it takes the freed tile; a
//! member list signed afresh does not interrupt anyone's pictures.

use anyhow::{Context, Result, ensure};
use quartet_call::{CallEvent, Placement, REMOTE_TILES};
use quartet_room::JoinTarget;
use quartet_server::Capacities;
use quartet_tests::{
    Host, TestMember, eventually, everyone_sees_and_hears_everyone, init_tracing, leave_all,
    member_config, sees_and_hears, start_call,
};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_up_through_the_relay_with_a_fifth_member_waiting() -> Result<()> {
    init_tracing();
    let host = Host::with_relay(|c| c.capacity = Capacities::uniform(5)).await?;
    let mut members = start_call(&host.url, &["Ann", "Ben", "Cho", "Dan"]).await?;
    everyone_sees_and_hears_everyone(&members).await?;
    let relay = host.relay().expect("an embedded relay");
    for m in &members {
        let stream = format!("8888_{}", m.user_id());
        assert!(relay.is_live(&stream), "{stream} is not live on the relay");
    }

    // Eve joins a full grid: listed by everyone, played by no one.
    let marks: Vec<usize> = members.iter().map(|m| m.mark()).collect();
    let eve = TestMember::start(member_config(
        &host.url,
        JoinTarget::Join {
            room_id: members[0].call.room_id(),
        },
        "Eve",
    ))
    .await?;
    let eve_id = eve.user_id();
    for (m, mark) in members.iter().zip(&marks) {
        let joined = m
            .event_since(
                *mark,
                "Eve joined",
                |e| matches!(e, CallEvent::MemberJoined(p) if p.member.user_id == eve_id),
            )
            .await?;
        let CallEvent::MemberJoined(p) = joined else {
            unreachable!("matched above")
        };
        assert_eq!(p.placement, Placement::Listed, "{}", m.name);
        assert_eq!(m.call.tiles().len(), REMOTE_TILES);
        assert_eq!(m.call.stats().listed, 1);
    }
    // Eve herself plays the first three who were there.
    eventually("Eve to play three members", || eve.call.tiles().len() == 3).await?;
    let listed: Vec<String> = eve
        .call
        .members()
        .into_iter()
        .filter(|p| p.placement == Placement::Listed)
        .map(|p| p.member.user_name)
        .collect();
    assert_eq!(listed, vec!["Dan".to_owned()]);

    // Cho leaves: Eve, the longest waiting, takes Cho's tile everywhere.
    let cho = members.remove(2);
    let marks: Vec<usize> = members.iter().map(|m| m.mark()).collect();
    let cho_tiles: Vec<Option<usize>> = members
        .iter()
        .map(|m| m.tile_of(&cho.user_id()).map(|t| t.slot))
        .collect();
    cho.leave().await?;
    for ((m, mark), tile) in members.iter().zip(&marks).zip(&cho_tiles) {
        let promoted = m
            .event_since(
                *mark,
                "Eve promoted",
                |e| matches!(e, CallEvent::MemberPromoted(p) if p.member.user_id == eve_id),
            )
            .await?;
        let CallEvent::MemberPromoted(p) = promoted else {
            unreachable!("matched above")
        };
        assert_eq!(Some(p.placement), tile.map(Placement::Tile), "{}", m.name);
        sees_and_hears(m, &eve).await?;
    }
    members.push(eve);
    everyone_sees_and_hears_everyone(&members).await?;

    leave_all(members).await?;
    host.stop().await
}

/// Longer than the second by which the room server's signatures (`txTime`) differ.
const NEXT_SIGNATURE: Duration = Duration::from_millis(1100);
/// Time for a played stream to deliver its next access unit.
const NEXT_PACKET: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_signature_keeps_the_picture_flowing() -> Result<()> {
    init_tracing();
    let host = Host::with_relay(|_| {}).await?;
    let members = start_call(&host.url, &["Ann", "Ben"]).await?;
    everyone_sees_and_hears_everyone(&members).await?;
    let (ann, ben) = (&members[0], &members[1]);
    let ben_id = ben.user_id();
    let tile = ann.tile_of(&ben_id).context("Ann plays Ben")?;
    // Whoever watches the tile (the app's video feed) holds this subscription throughout.
    let mut packets = tile.packets();

    // Cho joins a second later: Ann's new member list carries Ben's URL signed again.
    tokio::time::sleep(NEXT_SIGNATURE).await;
    let mark = ann.mark();
    let cho = TestMember::start(member_config(
        &host.url,
        JoinTarget::Join {
            room_id: ann.call.room_id(),
        },
        "Cho",
    ))
    .await?;
    ann.event_since(
        mark,
        "Cho joined",
        |e| matches!(e, CallEvent::MemberJoined(p) if p.member.user_name == "Cho"),
    )
    .await?;
    eventually("Ben's URL signed again", || {
        ann.tile_of(&ben_id)
            .is_some_and(|t| t.member.play_url != tile.member.play_url)
    })
    .await?;
    let now = ann.tile_of(&ben_id).context("Ann still plays Ben")?;
    // Only the signature changed: nothing for the member list or the people in the call.
    ensure!(
        !ann.events()[mark..]
            .iter()
            .any(|e| matches!(e, CallEvent::MemberUpdated(p) if p.member.user_id == ben_id)),
        "a new signature reported as an update of Ben"
    );

    // The subscription taken before goes on: no new player, no new connection.
    while packets.try_recv().is_ok() {}
    let next = tokio::time::timeout(NEXT_PACKET, packets.recv()).await;
    ensure!(
        matches!(next, Ok(Ok(_))),
        "Ben's packets stopped after the new signature: {next:?}"
    );
    ensure!(
        now.stats().reconnects == 0,
        "Ann reconnected to Ben: {:?}",
        now.stats()
    );

    let mut members = members;
    members.push(cho);
    leave_all(members).await?;
    host.stop().await
}
