//! The call actor's rules, against a real room server on a loopback port and fake media: who
//! gets a tile and who is promoted, mute and camera reaching the publisher (also when joining
//! muted), device switches, a player or publisher that cannot start, a member followed by a
//! watch.

mod fakes;

use super::{Call, CallError, CallHandle};
use crate::config::{AudioInput, AudioOutputChoice, CallConfig, VideoInput};
use crate::event::{CallEvent, Link, Placement, PlayerState};
use crate::member_watch::{MemberWatch, Seat};
use crate::receive::Receive;
use anyhow::{Context, Result, bail, ensure};
use fakes::FakeMedia;
use quartet_media::publish::VideoContent;
use quartet_media::source::DeviceKind;
use quartet_media::{PlayerEvent, PublisherEvent, SourceError};
use quartet_proto::RoomKind;
use quartet_room::{JoinTarget, LeaveMode, SessionConfig, SessionHandle};
use quartet_server::{Capacities, NeverLive, Server, ServerConfig, run};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use url::Url;

/// Bound on waiting for one expected event; it only catches hangs.
const EVENT_WAIT: Duration = Duration::from_secs(15);

/// A room server on a loopback port, stopped when dropped.
struct Room {
    url: Url,
    _stop: oneshot::Sender<()>,
}

/// Members a test room holds: one more than the grid's tiles and us, so one is listed.
const ROOM_CAPACITY: usize = 5;

async fn room_server() -> Result<Room> {
    let config = ServerConfig {
        capacity: Capacities::new(ROOM_CAPACITY, 2, ROOM_CAPACITY),
        ..ServerConfig::default()
    };
    let server = Server::open(config, Arc::new(NeverLive))?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = Url::parse(&format!("http://{}/", listener.local_addr()?))?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(run(listener, server, async move {
        let _ = stopped.await;
    }));
    Ok(Room { url, _stop: stop })
}

fn session(url: &Url, target: JoinTarget, name: &str) -> SessionConfig {
    SessionConfig::new(
        url.clone(),
        RoomKind::MultiRoom,
        target,
        name,
        "https://avatars.example/a.png",
    )
}

fn create(url: &Url, name: &str) -> SessionConfig {
    let room_name = format!("{name}'s room");
    session(url, JoinTarget::Create { room_name }, name)
}

fn join(url: &Url, room_id: &str, name: &str) -> SessionConfig {
    let room_id = room_id.to_owned();
    session(url, JoinTarget::Join { room_id }, name)
}

/// A call with no devices at all, main streams only, and fake media.
async fn call(
    session: SessionConfig,
    media: &Arc<FakeMedia>,
) -> Result<(CallHandle, mpsc::Receiver<CallEvent>), CallError> {
    start(bare(session), media).await
}

/// Settings with no devices at all and main streams only.
fn bare(session: SessionConfig) -> CallConfig {
    let mut config = CallConfig {
        video: VideoInput::None,
        audio: AudioInput::None,
        output: AudioOutputChoice::Null,
        ..CallConfig::new(session)
    };
    config.media.receive = Receive::Main;
    config
}

/// A call as `config` says, with fake media.
async fn start(
    config: CallConfig,
    media: &Arc<FakeMedia>,
) -> Result<(CallHandle, mpsc::Receiver<CallEvent>), CallError> {
    Call::start_with(config, Arc::clone(media) as _).await
}

/// A member who only joins the room: no media.
async fn member(url: &Url, room_id: &str, name: &str) -> Result<SessionHandle> {
    let (handle, _events) = quartet_room::connect(join(url, room_id, name)).await?;
    Ok(handle)
}

/// Members called `names` join `room_id` one by one, each once the call has heard of the one
/// before; with where the call placed each.
async fn join_in_turn(
    url: &Url,
    room_id: &str,
    names: &[&'static str],
    events: &mut mpsc::Receiver<CallEvent>,
) -> Result<Vec<(&'static str, SessionHandle, Placement)>> {
    let mut joined = Vec::new();
    for name in names {
        let other = member(url, room_id, name).await?;
        let id = other.user_id();
        let placement = expect(events, name, |e| match e {
            CallEvent::MemberJoined(p) if p.member.user_id == id => Some(p.placement),
            _ => None,
        })
        .await?;
        joined.push((*name, other, placement));
    }
    Ok(joined)
}

/// Waits for the first event `wanted` picks out, skipping others.
async fn expect<T>(
    events: &mut mpsc::Receiver<CallEvent>,
    what: &str,
    mut wanted: impl FnMut(&CallEvent) -> Option<T>,
) -> Result<T> {
    let waiting = async {
        while let Some(event) = events.recv().await {
            if let Some(found) = wanted(&event) {
                return Ok(found);
            }
        }
        bail!("the call ended while waiting for {what}")
    };
    tokio::time::timeout(EVENT_WAIT, waiting)
        .await
        .with_context(|| format!("no {what} within {EVENT_WAIT:?}"))?
}

/// The stream of a URL: what stays when a signature is renewed.
fn stream_of(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

#[tokio::test]
async fn three_members_get_tiles_a_fourth_is_listed_and_promoted_when_a_tile_frees() -> Result<()> {
    let room = room_server().await?;
    let media = Arc::new(FakeMedia::default());
    let (ann, mut events) = call(create(&room.url, "Ann"), &media).await?;
    let room_id = ann.room_id();
    let mut others = join_in_turn(
        &room.url,
        &room_id,
        &["Bob", "Cat", "Dan", "Eve"],
        &mut events,
    )
    .await?;
    let placements: Vec<Placement> = others.iter().map(|(_, _, p)| *p).collect();
    assert_eq!(
        placements,
        [
            Placement::Tile(0),
            Placement::Tile(1),
            Placement::Tile(2),
            Placement::Listed
        ]
    );
    // One player per tile, each on its member's stream; the listed member is not played.
    let streams = |handles: &[&SessionHandle]| -> Vec<String> {
        let mut s: Vec<String> = handles
            .iter()
            .flat_map(|h| {
                ann.members()
                    .into_iter()
                    .filter(move |p| p.member.user_id == h.user_id())
            })
            .map(|p| stream_of(&p.member.play_url).to_owned())
            .collect();
        s.sort();
        s
    };
    let playing = |m: &FakeMedia| -> Vec<String> {
        m.playing()
            .iter()
            .map(|u| stream_of(u).to_owned())
            .collect()
    };
    assert_eq!(
        playing(&media),
        streams(&[&others[0].1, &others[1].1, &others[2].1])
    );
    assert_eq!(ann.tiles().len(), 3);

    // Cat leaves: her tile goes to Eve, whose player starts; Cat's stops.
    let (_, cat, _) = others.remove(1);
    cat.leave(LeaveMode::Leave).await?;
    let freed = expect(&mut events, "Cat leaving", |e| match e {
        CallEvent::MemberLeft { freed_tile, .. } => Some(*freed_tile),
        _ => None,
    })
    .await?;
    assert_eq!(freed, Some(1));
    let eve_id = others[2].1.user_id();
    let promoted = expect(&mut events, "Eve promoted", |e| match e {
        CallEvent::MemberPromoted(p) => Some(p.clone()),
        _ => None,
    })
    .await?;
    assert_eq!(promoted.member.user_id, eve_id);
    assert_eq!(promoted.placement, Placement::Tile(1));
    // The snapshot is current once the events are out.
    assert_eq!(ann.tile(1).map(|t| t.member.user_id), Some(eve_id));
    assert_eq!(
        playing(&media),
        streams(&[&others[0].1, &others[1].1, &others[2].1])
    );
    ann.leave(LeaveMode::Leave).await?;
    ensure!(
        media.playing().is_empty(),
        "players left running after the call: {:?}",
        media.playing()
    );
    ensure!(media.senders().iter().all(|s| s.read(|s| s.stopped)));
    Ok(())
}

/// Waits until `watch` sees a seat `wanted` accepts.
async fn seat_until(
    watch: &mut MemberWatch,
    what: &str,
    wanted: impl Fn(&Seat) -> bool,
) -> Result<Seat> {
    let mut seat = watch.seat();
    let waiting = async {
        while !wanted(&seat) {
            seat = watch.changed().await;
        }
        seat
    };
    tokio::time::timeout(EVENT_WAIT, waiting)
        .await
        .with_context(|| format!("{what} not seen within {EVENT_WAIT:?}"))
}

#[tokio::test]
async fn a_member_watch_follows_a_member_from_listed_to_played_and_sees_the_end() -> Result<()> {
    let room = room_server().await?;
    let media = Arc::new(FakeMedia::default());
    let (ann, mut events) = call(create(&room.url, "Ann"), &media).await?;
    let room_id = ann.room_id();
    let mut others: Vec<SessionHandle> = join_in_turn(
        &room.url,
        &room_id,
        &["Bob", "Cat", "Dan", "Eve"],
        &mut events,
    )
    .await?
    .into_iter()
    .map(|(_, handle, _)| handle)
    .collect();
    let mut eve = ann.watch_member(&others[3].user_id());
    ensure!(matches!(eve.seat(), Seat::Listed), "Eve waits for a tile");
    let mut cat = ann.watch_member(&others[1].user_id());
    let Seat::Played(cat_tile) = cat.seat() else {
        bail!("Cat is not played");
    };
    ensure!(matches!(ann.watch_member("nobody").seat(), Seat::Gone));

    others.remove(1).leave(LeaveMode::Leave).await?;
    seat_until(&mut cat, "Cat gone", |s| matches!(s, Seat::Gone)).await?;
    let Seat::Played(eve_tile) =
        seat_until(&mut eve, "Eve played", |s| matches!(s, Seat::Played(_))).await?
    else {
        unreachable!()
    };
    assert_eq!(eve_tile.slot, cat_tile.slot, "Eve takes the freed tile");
    assert_ne!(
        eve_tile.player_id(),
        cat_tile.player_id(),
        "by a player of her own"
    );
    assert_eq!(
        ann.played(eve.user_id()).map(|t| t.player_id()),
        Some(eve_tile.player_id())
    );

    ann.leave(LeaveMode::Leave).await?;
    seat_until(&mut eve, "the call's end", |s| matches!(s, Seat::Gone)).await?;
    Ok(())
}

#[tokio::test]
async fn mute_and_camera_reach_the_publisher_before_anything_is_sent() -> Result<()> {
    let room = room_server().await?;
    let media = Arc::new(FakeMedia::default());
    let config = CallConfig {
        start_muted: true,
        start_camera_off: true,
        ..bare(create(&room.url, "Ann"))
    };
    let (ann, _events) = start(config, &media).await?;
    let sender = media.senders().pop().context("no publisher")?;
    assert_eq!(
        stream_of(&sender.read(|s| s.url.clone())),
        stream_of(&ann_push(&ann))
    );
    assert!(sender.read(|s| s.muted && !s.video_enabled));
    assert!(ann.is_mic_muted() && !ann.is_camera_enabled());

    ann.set_mic_muted(false).await?;
    ann.set_camera_enabled(true).await?;
    assert!(sender.read(|s| !s.muted && s.video_enabled));
    assert!(!ann.is_mic_muted() && ann.is_camera_enabled());
    ann.leave(LeaveMode::Leave).await?;
    Ok(())
}

fn ann_push(ann: &CallHandle) -> String {
    ann.session.push_url()
}

#[tokio::test]
async fn switching_the_camera_replaces_the_source_and_tells_the_encoder_what_it_shows() -> Result<()>
{
    let room = room_server().await?;
    let media = Arc::new(FakeMedia::default());
    let (ann, _events) = call(create(&room.url, "Ann"), &media).await?;
    let sender = media.senders().pop().context("no publisher")?;
    assert!(!ann.has_camera());
    assert!(!sender.read(|s| s.has_video));

    let pattern = VideoInput::Synthetic { name: "Ann".into() };
    ann.switch_camera(pattern).await?;
    assert!(ann.has_camera());
    assert!(sender.read(|s| s.has_video && s.content == Some(VideoContent::Camera)));

    ann.switch_camera(VideoInput::None).await?;
    assert!(!ann.has_camera());
    assert!(sender.read(|s| !s.has_video && s.video_replacements == 2));
    // The publisher is the same one throughout: a switch is no reconnection.
    assert_eq!(media.senders().len(), 1);
    ann.leave(LeaveMode::Leave).await?;
    Ok(())
}

#[tokio::test]
async fn a_player_that_cannot_start_is_reported_and_the_call_goes_on() -> Result<()> {
    let room = room_server().await?;
    let media = Arc::new(FakeMedia::default());
    media.refuse_players.store(true, Ordering::SeqCst);
    let (ann, mut events) = call(create(&room.url, "Ann"), &media).await?;
    let bob = member(&room.url, &ann.room_id(), "Bob").await?;
    let bob_id = bob.user_id();
    let reason = expect(&mut events, "Bob's player failing", |e| match e {
        CallEvent::PlayerState {
            user_id,
            state: PlayerState::Failed { reason },
        } if *user_id == bob_id => Some(reason.clone()),
        _ => None,
    })
    .await?;
    assert!(reason.contains("refused by the test"), "{reason}");
    // Bob is still a member of the call, and Cat's player starts once players can.
    assert!(ann.members().iter().any(|p| p.member.user_id == bob_id));
    media.refuse_players.store(false, Ordering::SeqCst);
    let cat = member(&room.url, &ann.room_id(), "Cat").await?;
    let cat_id = cat.user_id();
    expect(&mut events, "Cat joining", |e| match e {
        CallEvent::MemberJoined(p) if p.member.user_id == cat_id => Some(()),
        _ => None,
    })
    .await?;
    assert_eq!(media.playing().len(), 1);
    ann.leave(LeaveMode::Leave).await?;
    Ok(())
}

#[tokio::test]
async fn a_publisher_that_cannot_start_fails_the_call_and_leaves_the_room() -> Result<()> {
    let room = room_server().await?;
    let ann_media = Arc::new(FakeMedia::default());
    let (ann, mut events) = call(create(&room.url, "Ann"), &ann_media).await?;
    let media = Arc::new(FakeMedia::default());
    media.refuse_publishers.store(true, Ordering::SeqCst);
    let refused = call(join(&room.url, &ann.room_id(), "Bob"), &media).await;
    let Err(CallError::Publish(e)) = refused else {
        bail!("Bob's call should not start without a publisher");
    };
    assert!(e.to_string().contains("refused by the test"), "{e}");
    // Ann sees Bob come and go; nobody is left behind in the room.
    expect(&mut events, "Bob leaving", |e| match e {
        CallEvent::MemberLeft { member, .. } if member.user_name == "Bob" => Some(()),
        _ => None,
    })
    .await?;
    assert_eq!(ann.members().len(), 1);
    assert!(ann_media.playing().is_empty());
    ann.leave(LeaveMode::Leave).await?;
    Ok(())
}

#[tokio::test]
async fn a_room_closed_by_its_creator_ends_the_call() -> Result<()> {
    let room = room_server().await?;
    let ann_media = Arc::new(FakeMedia::default());
    let (ann, _ann_events) = call(create(&room.url, "Ann"), &ann_media).await?;
    let media = Arc::new(FakeMedia::default());
    let (bob, mut events) = call(join(&room.url, &ann.room_id(), "Bob"), &media).await?;
    ann.leave(LeaveMode::EndForEveryone).await?;
    expect(&mut events, "the room closing", |e| match e {
        CallEvent::RoomClosed { .. } => Some(()),
        _ => None,
    })
    .await?;
    // The call ended by itself: its players and publisher are stopped.
    tokio::time::timeout(EVENT_WAIT, async {
        while !bob.is_ended() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .context("Bob's call did not end")?;
    assert!(media.playing().is_empty());
    assert!(media.senders().iter().all(|s| s.read(|s| s.stopped)));
    Ok(())
}

#[tokio::test]
async fn a_dropped_link_is_told_once_each_way_and_a_failed_camera_ends_its_pictures() -> Result<()>
{
    let room = room_server().await?;
    let media = Arc::new(FakeMedia::default());
    let (ann, mut events) = call(create(&room.url, "Ann"), &media).await?;
    let bob = member(&room.url, &ann.room_id(), "Bob").await?;
    let bob_id = bob.user_id();
    let sender = media.senders().pop().context("no publisher")?;
    let gone = || PublisherEvent::Disconnected {
        reason: "reset".into(),
        retry_in: Duration::from_millis(250),
    };
    // Attempts failing before the first connection are no reconnection.
    for event in [gone(), PublisherEvent::Connected, gone(), gone()] {
        sender.events.send(event)?;
    }
    sender.events.send(PublisherEvent::Connected)?;
    let links = expect_links(&mut events, 2).await?;
    assert_eq!(
        links,
        [
            CallEvent::Reconnecting(Link::Publisher),
            CallEvent::Reconnected(Link::Publisher)
        ]
    );

    let player = tokio::time::timeout(EVENT_WAIT, async {
        loop {
            if let Some(p) = media.players().pop() {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .context("Bob is not played")?;
    for event in [PlayerEvent::Playing, dropped(), PlayerEvent::Playing] {
        player.events.send(event)?;
    }
    let links = expect_links(&mut events, 2).await?;
    assert_eq!(
        links,
        [
            CallEvent::Reconnecting(Link::Player(bob_id.clone())),
            CallEvent::Reconnected(Link::Player(bob_id))
        ]
    );

    ann.switch_camera(VideoInput::Synthetic { name: "Ann".into() })
        .await?;
    sender
        .events
        .send(PublisherEvent::VideoSourceFailed(SourceError::Failed {
            kind: DeviceKind::Camera,
            reason: "unplugged".into(),
        }))?;
    let kind = expect(&mut events, "the camera's failure", |e| match e {
        CallEvent::DeviceError { kind, .. } => Some(*kind),
        _ => None,
    })
    .await?;
    assert_eq!(kind, DeviceKind::Camera);
    assert!(!ann.has_camera());
    ann.leave(LeaveMode::Leave).await?;
    Ok(())
}

fn dropped() -> PlayerEvent {
    PlayerEvent::Disconnected {
        reason: "reset".into(),
        retry_in: Duration::from_millis(250),
    }
}

/// The next `n` reconnecting and reconnected events.
async fn expect_links(events: &mut mpsc::Receiver<CallEvent>, n: usize) -> Result<Vec<CallEvent>> {
    let mut links = Vec::new();
    while links.len() < n {
        let link = expect(events, "a link's news", |e| match e {
            CallEvent::Reconnecting(_) | CallEvent::Reconnected(_) => Some(e.clone()),
            _ => None,
        })
        .await?;
        links.push(link);
    }
    Ok(links)
}

#[tokio::test]
async fn a_recording_grid_holds_the_shown_players_pictures_and_lets_go_of_those_gone() -> Result<()>
{
    let room = room_server().await?;
    let media = Arc::new(FakeMedia::default());
    let (ann, mut events) = call(create(&room.url, "Ann"), &media).await?;
    let room_id = ann.room_id();
    let mut others: Vec<SessionHandle> =
        join_in_turn(&room.url, &room_id, &["Bob", "Cat"], &mut events)
            .await?
            .into_iter()
            .map(|(_, handle, _)| handle)
            .collect();
    tokio::time::timeout(EVENT_WAIT, async {
        while ann.tiles().len() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .context("two tiles")?;
    let players = media.players();
    ensure!(players.len() == 2, "a player each");
    let readers = || -> Vec<usize> { players.iter().map(|p| p.picture_readers()).collect() };

    // A snapshot's view reads the latest pictures and asks for no more.
    ann.snapshot_grid(64, 36);
    assert_eq!(readers(), [0, 0]);
    let mut recording = ann.grid_view().watching();
    recording.picture(64, 36);
    assert_eq!(
        readers(),
        [1, 1],
        "every shown player decodes every picture"
    );

    let cat = others.remove(1);
    let cat_id = cat.user_id();
    cat.leave(LeaveMode::Leave).await?;
    expect(&mut events, "Cat left", |e| match e {
        CallEvent::MemberLeft { member, .. } if member.user_id == cat_id => Some(()),
        _ => None,
    })
    .await?;
    recording.picture(64, 36);
    assert_eq!(readers(), [1, 0], "a player no longer shown is let go");
    drop(recording);
    assert_eq!(readers(), [0, 0]);
    ann.leave(LeaveMode::Leave).await?;
    Ok(())
}
