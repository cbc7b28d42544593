use super::super::tests::{at, ids, profile, room_of_two as two};
use super::super::{Profile, Registry};
use super::*;
use quartet_proto::RoomKind;
use tokio::sync::broadcast::error::TryRecvError;
use tokio::time::Instant;

const KIND: RoomKind = RoomKind::MultiRoom;

fn now() -> Now {
    at(Instant::now())
}

/// Room `r`: creator `a`, then `b` (version 2).
fn room_of_two() -> Registry {
    two(KIND, Instant::now())
}

/// Room `r` of `reg` as another server stored it next, with `users` as its members.
fn next(reg: &Registry, users: &[&str]) -> StoredRoom {
    let room = reg.room(KIND, "r").unwrap();
    let profiles: Vec<Profile> = users.iter().map(|u| profile(u)).collect();
    room.next_with(profiles.iter())
}

#[test]
fn a_join_elsewhere_is_told_and_members_kept_keep_their_membership() {
    let mut reg = room_of_two();
    let mut events = reg.subscribe(KIND, "r").unwrap();
    let b_serial = reg.room(KIND, "r").unwrap().members()[1].serial;
    let stored = next(&reg, &["a", "b", "c"]);

    assert!(reg.sync_room("r", Some(stored.clone()), CloseReason::Destroyed, now()));
    let room = reg.room(KIND, "r").unwrap();
    assert_eq!(ids(room), ["a", "b", "c"]);
    assert_eq!(room.version, stored.version);
    assert!(
        reg.membership("r", "b", b_serial).is_some(),
        "b's sockets still count"
    );
    assert_eq!(events.try_recv().unwrap(), ServerEvent::pusher_change());
    assert_eq!(reg.rooms_of("c"), 1);

    assert!(
        !reg.sync_room("r", Some(stored), CloseReason::Destroyed, now()),
        "the same state again changes nothing"
    );
    assert_eq!(events.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn an_older_state_never_replaces_a_newer_one() {
    let mut reg = room_of_two();
    let mut older = next(&reg, &["a"]);
    older.version -= 1;
    assert!(!reg.sync_room("r", Some(older), CloseReason::Destroyed, now()));
    assert_eq!(ids(reg.room(KIND, "r").unwrap()), ["a", "b"]);
}

#[test]
fn a_leave_elsewhere_forgets_the_member_and_revokes_its_urls() {
    let mut reg = room_of_two();
    assert!(reg.sync_room("r", Some(next(&reg, &["a"])), CloseReason::Destroyed, now()));
    assert_eq!(ids(reg.room(KIND, "r").unwrap()), ["a"]);
    assert_eq!(reg.rooms_of("b"), 0);
    assert_eq!(reg.take_revoked(), ["b"]);
}

#[test]
fn a_room_closed_elsewhere_closes_here_with_its_reason_and_stays_closed() {
    let mut reg = room_of_two();
    let mut events = reg.subscribe(KIND, "r").unwrap();
    let stale = next(&reg, &["a", "b"]);
    assert!(reg.sync_room("r", None, CloseReason::CreatorLeft, now()));
    assert_eq!(
        events.try_recv().unwrap(),
        ServerEvent::room_closed(CloseReason::CreatorLeft)
    );
    assert!(reg.room(KIND, "r").is_err());
    assert!(
        !reg.sync_room("r", Some(stale), CloseReason::Destroyed, now()),
        "a read from before the closing does not bring the room back"
    );
    assert!(reg.room(KIND, "r").is_err());
}

#[test]
fn a_room_made_elsewhere_is_taken_whole() {
    let source = room_of_two();
    let stored = next(&source, &["a", "b", "c"]);
    let mut reg = Registry::new();
    assert!(reg.sync_room("r", Some(stored), CloseReason::Destroyed, now()));
    assert_eq!(ids(reg.room(KIND, "r").unwrap()), ["a", "b", "c"]);
    assert_eq!(reg.count(KIND), 1);

    let mut headless = next(&source, &["b"]);
    headless.id = "h".into();
    assert!(
        !reg.sync_room("h", Some(headless), CloseReason::Destroyed, now()),
        "a room without its creator cannot go on"
    );
    let mut elsewhere = next(&source, &["a"]);
    elsewhere.id = "x".into();
    assert!(
        !reg.sync_room("y", Some(elsewhere), CloseReason::Destroyed, now()),
        "a note about one room never changes another"
    );
}
