use super::*;
use crate::presence::Timeouts;
use crate::store::{NoStore, RedbStore, StoreContents, StoreError, StoredRoom};
use std::time::Duration;

const T: Timeouts = Timeouts {
    heartbeat: Duration::from_secs(20),
    socket_grace: Duration::from_millis(1500),
    media_stall: Duration::from_secs(5),
};

/// The unix second every test change happens at.
const UNIX: u64 = 1_000_000;

pub(super) fn at(i: Instant) -> Now {
    Now {
        at: i,
        unix_secs: UNIX,
    }
}

pub(super) fn profile(user: &str) -> Profile {
    Profile {
        user_id: user.into(),
        user_name: format!("{user} name"),
        user_avatar: format!("{user}.png"),
        push_url: format!("rtmp://x/live/{user}"),
        sharing_screen: false,
    }
}

fn room(kind: RoomKind, id: String, capacity: usize) -> NewRoom {
    NewRoom {
        kind,
        id,
        name: "n".into(),
        capacity,
        relay: None,
    }
}

/// A registry with room `r` of `kind`: creator `a`, then member `b`, both seen at `now`.
pub(super) fn room_of_two(kind: RoomKind, now: Instant) -> Registry {
    let mut reg = Registry::new();
    reg.create(
        room(kind, "r".into(), 4),
        profile("a"),
        10,
        at(now),
        &NoStore,
    )
    .unwrap();
    reg.add(kind, "r", profile("b"), at(now), &NoStore).unwrap();
    reg
}

pub(super) fn ids(r: &Room) -> Vec<&str> {
    r.members()
        .iter()
        .map(|m| m.profile.user_id.as_str())
        .collect()
}

#[test]
fn creator_first_then_join_order_and_capacity_for_new_members_only() {
    let now = Instant::now();
    let mut reg = Registry::new();
    let kind = RoomKind::DoubleRoom;
    reg.create(
        room(kind, "r".into(), 2),
        profile("a"),
        10,
        at(now),
        &NoStore,
    )
    .unwrap();
    assert_eq!(
        reg.add(kind, "r", profile("b"), at(now), &NoStore),
        Ok(Joined::New)
    );
    assert!(matches!(
        reg.add(kind, "r", profile("c"), at(now), &NoStore),
        Err(RoomError::Full { capacity: 2, .. })
    ));
    let mut renamed = profile("b");
    renamed.user_name = "B".into();
    assert_eq!(
        reg.add(kind, "r", renamed, at(now), &NoStore),
        Ok(Joined::Refreshed)
    );
    let room = reg.room(kind, "r").unwrap();
    assert_eq!(ids(room), ["a", "b"]);
    assert_eq!(room.members()[1].profile.user_name, "B");
}

#[test]
fn rooms_are_found_only_under_their_kind_and_listed_in_creation_order() {
    let now = Instant::now();
    let mut reg = Registry::new();
    for (i, kind) in [RoomKind::MultiRoom, RoomKind::LiveRoom, RoomKind::MultiRoom]
        .into_iter()
        .enumerate()
    {
        reg.create(
            room(kind, format!("r{i}"), 4),
            profile("a"),
            10,
            at(now),
            &NoStore,
        )
        .unwrap();
    }
    assert!(reg.room(RoomKind::LiveRoom, "r0").is_err());
    let listed: Vec<_> = reg
        .list(RoomKind::MultiRoom, 0, 10)
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(listed, ["r0", "r2"]);
    assert_eq!(reg.list(RoomKind::MultiRoom, 1, 1)[0].id, "r2");
    assert!(reg.list(RoomKind::DoubleRoom, 0, 10).is_empty());
    reg.destroy(RoomKind::MultiRoom, "r0", "a", at(Instant::now()), &NoStore)
        .unwrap();
    assert_eq!(reg.list(RoomKind::MultiRoom, 0, 10)[0].id, "r2");
}

#[test]
fn room_limit_refuses_creation_without_touching_existing_rooms() {
    let now = Instant::now();
    let mut reg = Registry::new();
    let k = RoomKind::MultiRoom;
    reg.create(room(k, "r1".into(), 4), profile("a"), 1, at(now), &NoStore)
        .unwrap();
    let e = reg
        .create(room(k, "r2".into(), 4), profile("b"), 1, at(now), &NoStore)
        .unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    assert_eq!(reg.len(), 1);
}

#[test]
fn creator_leaving_closes_and_others_leaving_notify() {
    let now = Instant::now();
    let k = RoomKind::MultiRoom;
    let mut reg = room_of_two(k, now);
    let mut events = reg.attach(k, "r", "b").unwrap().events;
    assert_eq!(
        reg.remove(k, "r", "b", at(Instant::now()), &NoStore),
        Ok(Left::Member)
    );
    assert_eq!(events.try_recv().unwrap(), ServerEvent::pusher_change());
    assert!(matches!(
        reg.remove(k, "r", "b", at(Instant::now()), &NoStore),
        Err(RoomError::NoSuchMember { .. })
    ));
    assert_eq!(
        reg.remove(k, "r", "a", at(Instant::now()), &NoStore),
        Ok(Left::RoomClosed)
    );
    assert_eq!(
        events.try_recv().unwrap(),
        ServerEvent::room_closed(CloseReason::CreatorLeft)
    );
    assert_eq!(reg.len(), 0);
}

#[test]
fn only_the_creator_destroys() {
    let now = Instant::now();
    let k = RoomKind::LiveRoom;
    let mut reg = room_of_two(k, now);
    let e = reg
        .destroy(k, "r", "b", at(Instant::now()), &NoStore)
        .unwrap_err();
    assert_eq!(e.code(), Code::NoSuchRoom);
    assert!(e.to_string().contains("only the creator"));
    assert_eq!(ids(reg.room(k, "r").unwrap()), ["a", "b"]);
    reg.destroy(k, "r", "a", at(Instant::now()), &NoStore)
        .unwrap();
    assert!(reg.room(k, "r").is_err());
}

#[test]
fn eviction_rechecks_heartbeat_and_liveness() {
    let t0 = Instant::now();
    let k = RoomKind::MultiRoom;
    let mut reg = room_of_two(k, t0);
    let late = t0 + T.heartbeat + Duration::from_secs(1);
    reg.heartbeat(k, "r", "a", late).unwrap();
    let cands = reg.candidates(late, T);
    assert_eq!(cands.len(), 1);
    assert_eq!(cands[0].user_id, "b");
    assert!(
        !reg.evict(&cands[0], true, at(late), T, &NoStore),
        "a live stream keeps it"
    );
    reg.heartbeat(k, "r", "b", late).unwrap();
    assert!(
        !reg.evict(&cands[0], false, at(late), T, &NoStore),
        "it spoke meanwhile"
    );
    let later = late + T.heartbeat + Duration::from_secs(1);
    reg.heartbeat(k, "r", "a", later).unwrap();
    let cands = reg.candidates(later, T);
    assert!(reg.evict(&cands[0], false, at(later), T, &NoStore));
    assert_eq!(ids(reg.room(k, "r").unwrap()), ["a"]);
}

#[test]
fn a_socket_of_an_old_membership_does_not_touch_a_new_one() {
    let t0 = Instant::now();
    let k = RoomKind::MultiRoom;
    let mut reg = room_of_two(k, t0);
    let old = reg.attach(k, "r", "b").unwrap().serial;
    reg.remove(k, "r", "b", at(Instant::now()), &NoStore)
        .unwrap();
    reg.add(k, "r", profile("b"), at(t0), &NoStore).unwrap();
    assert!(!reg.is_member("r", "b", old));
    reg.detach("r", "b", old, t0);
    let much_later = t0 + T.socket_grace * 2;
    reg.heartbeat(k, "r", "a", much_later).unwrap();
    reg.heartbeat(k, "r", "b", much_later).unwrap();
    assert!(reg.candidates(much_later, T).is_empty());
}

#[test]
fn an_evicted_creator_closes_the_room_for_its_sockets() {
    let t0 = Instant::now();
    let k = RoomKind::LiveRoom;
    let mut reg = room_of_two(k, t0);
    let mut events = reg.attach(k, "r", "b").unwrap().events;
    let late = t0 + T.heartbeat + Duration::from_secs(1);
    reg.heartbeat(k, "r", "b", late).unwrap();
    let cands = reg.candidates(late, T);
    assert_eq!(cands.len(), 1);
    assert!(reg.evict(&cands[0], false, at(late), T, &NoStore));
    assert_eq!(
        events.try_recv().unwrap(),
        ServerEvent::room_closed(CloseReason::CreatorTimedOut)
    );
    assert!(reg.room(k, "r").is_err());
    assert!(reg.list(k, 0, 10).is_empty());
}

/// A store whose disk is full: every write fails.
struct FullDisk;

impl RoomStore for FullDisk {
    fn load(&self) -> Result<StoreContents, StoreError> {
        Ok(StoreContents::default())
    }

    fn apply(&self, _changes: &[Change]) -> Result<(), StoreError> {
        Err(StoreError::Corrupt {
            key: "any".into(),
            reason: "no space left on device".into(),
        })
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn room(&self, _id: &str) -> Result<Option<StoredRoom>, StoreError> {
        Ok(None)
    }
}

#[test]
fn a_refused_write_changes_nothing_and_says_so() {
    let t0 = Instant::now();
    let k = RoomKind::MultiRoom;
    let mut reg = room_of_two(k, t0);
    let mut events = reg.attach(k, "r", "a").unwrap().events;
    let e = reg
        .create(room(k, "r2".into(), 4), profile("c"), 10, at(t0), &FullDisk)
        .unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    assert!(e.to_string().contains("no space left"), "{e}");
    assert!(reg.room(k, "r2").is_err());
    assert!(reg.add(k, "r", profile("c"), at(t0), &FullDisk).is_err());
    let mut renamed = profile("b");
    renamed.user_name = "B".into();
    assert!(reg.add(k, "r", renamed, at(t0), &FullDisk).is_err());
    assert!(reg.remove(k, "r", "b", at(t0), &FullDisk).is_err());
    assert!(reg.remove(k, "r", "a", at(t0), &FullDisk).is_err());
    assert!(reg.destroy(k, "r", "a", at(t0), &FullDisk).is_err());
    let late = t0 + T.heartbeat * 2;
    let cands = reg.candidates(late, T);
    assert_eq!(cands.len(), 2);
    assert!(
        cands
            .iter()
            .all(|c| !reg.evict(c, false, at(late), T, &FullDisk))
    );

    let r = reg.room(k, "r").unwrap();
    assert_eq!(ids(r), ["a", "b"]);
    assert_eq!(r.members()[1].profile.user_name, "b name");
    assert!(
        events.try_recv().is_err(),
        "nobody was told of a change that did not happen"
    );
    assert!(reg.admitted("b", 0), "nothing was revoked");
    // An unchanged refresh writes nothing, so it still works.
    assert_eq!(
        reg.add(k, "r", profile("b"), at(t0), &FullDisk),
        Ok(Joined::Refreshed)
    );
}

#[test]
fn what_was_written_restores_with_order_members_and_fresh_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("rooms.redb")).unwrap();
    let t0 = Instant::now();
    let mut reg = Registry::new();
    for (id, kind) in [("r1", RoomKind::LiveRoom), ("r2", RoomKind::LiveRoom)] {
        reg.create(room(kind, id.into(), 4), profile("a"), 10, at(t0), &store)
            .unwrap();
    }
    let k = RoomKind::LiveRoom;
    for user in ["b", "c", "d"] {
        reg.add(k, "r2", profile(user), at(t0), &store).unwrap();
    }
    let mut renamed = profile("c");
    renamed.user_avatar = "new.png".into();
    reg.add(k, "r2", renamed, at(t0), &store).unwrap();
    reg.remove(k, "r2", "b", at(t0), &store).unwrap();
    reg.create(room(k, "r3".into(), 4), profile("e"), 10, at(t0), &store)
        .unwrap();
    reg.destroy(k, "r3", "e", at(t0), &store).unwrap();

    let restart = t0 + Duration::from_secs(600);
    let back = Registry::restore(store.load().unwrap(), restart);
    let listed: Vec<_> = back.list(k, 0, 10).iter().map(|r| r.id.as_str()).collect();
    assert_eq!(listed, ["r1", "r2"]);
    let r2 = back.room(k, "r2").unwrap();
    assert_eq!(ids(r2), ["a", "c", "d"]);
    assert_eq!(r2.members()[1].profile.user_avatar, "new.png");
    assert_eq!(
        (r2.name.as_str(), r2.creator.as_str(), r2.capacity),
        ("n", "a", 4)
    );
    assert!(
        back.candidates(restart + T.heartbeat, T).is_empty(),
        "a full grace each"
    );
    assert_eq!(back.candidates(restart + T.heartbeat * 2, T).len(), 4);
    assert!(!back.admitted("b", UNIX - 1) && back.admitted("b", UNIX));
    assert!(
        !back.admitted("e", UNIX - 1),
        "a closed room's members are revoked"
    );
    assert!(back.admitted("a", 0), "a is still in r1 and r2");

    // New rooms go after the restored ones, and a member counts its restored rooms.
    let mut back = back;
    back.create(
        room(k, "r4".into(), 4),
        profile("z"),
        10,
        at(restart),
        &store,
    )
    .unwrap();
    assert_eq!(back.list(k, 2, 1)[0].id, "r4");
    back.destroy(k, "r1", "a", at(restart), &store).unwrap();
    assert!(back.admitted("a", 0), "a is still in r2");
}

#[test]
fn urls_are_revoked_when_a_user_leaves_its_last_room_only() {
    let t0 = Instant::now();
    let k = RoomKind::MultiRoom;
    let mut reg = room_of_two(k, t0);
    reg.create(
        room(k, "other".into(), 4),
        profile("b"),
        10,
        at(t0),
        &NoStore,
    )
    .unwrap();
    reg.remove(k, "r", "b", at(t0), &NoStore).unwrap();
    assert!(reg.admitted("b", 0), "b still has a room");
    let late = t0 + T.heartbeat + Duration::from_secs(1);
    reg.heartbeat(k, "r", "a", late).unwrap();
    let c = reg.candidates(late, T);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(reg.evict(&c[0], false, at(late), T, &NoStore));
    assert!(!reg.admitted("b", UNIX - 1), "evicted from its last room");
    assert!(reg.admitted("b", UNIX), "a URL issued since is good");
    assert_eq!(
        reg.prune_revocations(UNIX, &NoStore),
        0,
        "not older than the horizon"
    );
    assert_eq!(reg.prune_revocations(UNIX + 1, &NoStore), 1);
    assert!(reg.admitted("b", 0));
}

#[test]
fn the_next_check_follows_the_earliest_member_and_a_closed_socket() {
    let t0 = Instant::now();
    let k = RoomKind::MultiRoom;
    let mut reg = room_of_two(k, t0);
    assert_eq!(
        reg.next_check(t0, T),
        Some(t0 + T.heartbeat + crate::CHECK_SLACK)
    );
    let serial = reg.attach(k, "r", "b").unwrap().serial;
    let closed = t0 + Duration::from_secs(2);
    assert!(reg.detach("r", "b", serial, closed));
    assert_eq!(
        reg.next_check(closed, T),
        Some(closed + T.socket_grace + crate::CHECK_SLACK)
    );
    let c = reg.candidates(closed + T.socket_grace + crate::CHECK_SLACK, T);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].user_id, "b");
}

#[test]
fn released_sockets_end_without_a_room_closing() {
    let t0 = Instant::now();
    let k = RoomKind::MultiRoom;
    let mut reg = room_of_two(k, t0);
    let mut events = reg.attach(k, "r", "b").unwrap().events;
    assert_eq!(reg.release_sockets(), 1);
    assert_eq!(
        events.try_recv(),
        Err(tokio::sync::broadcast::error::TryRecvError::Closed)
    );
    assert_eq!(ids(reg.room(k, "r").unwrap()), ["a", "b"]);
}

#[test]
fn the_creator_hands_over_to_the_member_present_longest_and_the_room_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("rooms.redb")).unwrap();
    let (t0, k) = (Instant::now(), RoomKind::MultiRoom);
    let mut reg = Registry::new();
    reg.create(room(k, "r".into(), 4), profile("a"), 10, at(t0), &store)
        .unwrap();
    for user in ["b", "c"] {
        reg.add(k, "r", profile(user), at(t0), &store).unwrap();
    }
    let mut events = reg.attach(k, "r", "c").unwrap().events;
    let e = reg.hand_over(k, "r", "b", at(t0), &store).unwrap_err();
    assert!(matches!(e, RoomError::NotCreator { .. }), "{e}");
    assert_eq!(
        reg.hand_over(k, "r", "a", at(t0), &store),
        Ok(HandOver::To("b".into()))
    );
    let r = reg.room(k, "r").unwrap();
    assert_eq!((ids(r), r.creator.as_str()), (vec!["b", "c"], "b"));
    assert_eq!(events.try_recv().unwrap(), ServerEvent::pusher_change());
    assert!(
        !reg.admitted("a", UNIX - 1),
        "the leaver's URLs are revoked"
    );
    assert!(reg.admitted("b", UNIX - 1));
    // The new creator is the creator in the store too: a restart keeps the handover.
    let back = Registry::restore(store.load().unwrap(), t0);
    let r = back.room(k, "r").unwrap();
    assert_eq!((ids(r), r.creator.as_str()), (vec!["b", "c"], "b"));
    // The v1 rule now applies to the new creator.
    assert_eq!(
        reg.remove(k, "r", "b", at(t0), &store),
        Ok(Left::RoomClosed)
    );
}

#[test]
fn handing_over_an_empty_room_closes_it_and_a_refused_write_changes_nothing() {
    let now = Instant::now();
    let k = RoomKind::DoubleRoom;
    let mut reg = room_of_two(k, now);
    assert_eq!(
        reg.hand_over(k, "r", "a", at(now), &FullDisk)
            .unwrap_err()
            .code(),
        Code::Internal
    );
    assert_eq!(ids(reg.room(k, "r").unwrap()), ["a", "b"]);
    assert_eq!(reg.room(k, "r").unwrap().creator, "a");
    reg.remove(k, "r", "b", at(now), &NoStore).unwrap();
    let mut events = reg.subscribe(k, "r").unwrap();
    assert_eq!(
        reg.hand_over(k, "r", "a", at(now), &NoStore),
        Ok(HandOver::RoomClosed)
    );
    assert_eq!(
        events.try_recv().unwrap(),
        ServerEvent::room_closed(CloseReason::CreatorLeft)
    );
    assert_eq!(reg.len(), 0);
}
