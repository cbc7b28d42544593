//! One suite for every room store: the embedded one (redb) and the shared one (a real Redis).
//! Each must keep the same promises, since the registry cannot tell them apart.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use quartet_proto::RoomKind;
use quartet_proto::event::CloseReason;
use quartet_server::store::{
    Beat, Change, Fetched, Heard, ROOMS_FILE, RedbStore, RedisStore, RoomStore, SharedStore,
    StoreError, StoredMember, StoredRoom,
};
use quartet_testkit::RedisServer;
use std::time::Duration;

fn member(user: &str) -> StoredMember {
    StoredMember {
        user_id: user.into(),
        user_name: format!("{user} 名字"),
        user_avatar: format!("{user}.png"),
        push_url: format!("rtmp://x/live/8888_{user}"),
        sharing_screen: false,
    }
}

fn room(id: &str, seq: u64, members: &[&str], version: u64) -> StoredRoom {
    StoredRoom {
        id: id.into(),
        kind: RoomKind::MultiRoom,
        name: "with \"quotes\"\nand a line".into(),
        creator: members[0].into(),
        capacity: 4,
        seq,
        members: members.iter().map(|m| member(m)).collect(),
        version,
        relay: None,
    }
}

fn expect(id: &str, room: Option<&StoredRoom>) -> Change {
    Change::Expect {
        id: id.into(),
        room: room.cloned(),
    }
}

/// Every promise of [`RoomStore`], on `store`, which starts empty.
fn suite(store: &dyn RoomStore) {
    assert!(store.load().unwrap().rooms.is_empty());
    let r1 = room("r1", 1, &["a"], 1);
    store
        .apply(&[expect("r1", None), Change::PutRoom(r1.clone())])
        .unwrap();
    assert_eq!(store.room("r1").unwrap(), Some(r1.clone()));
    assert_eq!(store.room("nothing").unwrap(), None);

    // A batch whose precondition fails applies nothing, not even its changes before it.
    let r2 = room("r2", 2, &["b"], 1);
    let grown = room("r1", 1, &["a", "c"], 2);
    let stale = room("r1", 1, &["a", "d"], 2);
    let refused = store.apply(&[
        Change::PutRoom(r2.clone()),
        expect("r1", Some(&grown)),
        Change::PutRoom(stale.clone()),
    ]);
    assert!(
        matches!(refused, Err(StoreError::Conflict(ref id)) if id == "r1"),
        "{refused:?}"
    );
    assert_eq!(
        store.room("r2").unwrap(),
        None,
        "nothing of a refused batch"
    );
    let taken = store.apply(&[expect("r1", None), Change::PutRoom(r1.clone())]);
    assert!(
        matches!(taken, Err(StoreError::Conflict(_))),
        "an ID is never taken twice"
    );

    store
        .apply(&[expect("r1", Some(&r1)), Change::PutRoom(grown.clone())])
        .unwrap();
    let late = store.apply(&[expect("r1", Some(&r1)), Change::PutRoom(stale)]);
    assert!(
        matches!(late, Err(StoreError::Conflict(_))),
        "the loser of a race is told"
    );
    store.apply(&[Change::PutRoom(r2.clone())]).unwrap();

    store
        .apply(&[
            Change::Revoke {
                user_id: "v".into(),
                before_unix: 20,
            },
            Change::Revoke {
                user_id: "v".into(),
                before_unix: 10,
            },
            Change::Revoke {
                user_id: "w".into(),
                before_unix: 5,
            },
            Change::Forget("w".into()),
        ])
        .unwrap();
    let mut contents = store.load().unwrap();
    contents.rooms.sort_by_key(|r| r.seq);
    assert_eq!(contents.rooms, vec![grown.clone(), r2.clone()]);
    assert_eq!(
        contents.revoked_before.into_iter().collect::<Vec<_>>(),
        vec![("v".to_owned(), 20)],
        "a later revocation never moves back; a forgotten one is gone"
    );

    store
        .apply(&[
            expect("r1", Some(&grown)),
            Change::DeleteRoom {
                id: "r1".into(),
                reason: CloseReason::CreatorLeft,
            },
            Change::DeleteRoom {
                id: "never there".into(),
                reason: CloseReason::Destroyed,
            },
        ])
        .unwrap();
    assert_eq!(store.room("r1").unwrap(), None);
    assert_eq!(store.load().unwrap().rooms, vec![r2]);
}

#[test]
fn the_embedded_store_keeps_every_promise() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join(ROOMS_FILE)).unwrap();
    assert!(store.shared().is_none());
    suite(&store);
}

#[test]
fn the_redis_store_keeps_every_promise() {
    let redis = RedisServer::start().unwrap();
    let store = RedisStore::open(&redis.url(0)).unwrap();
    suite(&store);
}

#[test]
fn the_redis_store_lists_in_creation_order_and_shares_what_servers_need() {
    let redis = RedisServer::start().unwrap();
    let store = RedisStore::open(&redis.url(3)).unwrap();
    let shared = store.shared().unwrap();
    let seqs: Vec<u64> = (0..5).map(|_| shared.next_seq().unwrap()).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    for (i, seq) in seqs.iter().enumerate().rev() {
        let id = format!("r{i}");
        store
            .apply(&[Change::PutRoom(room(&id, *seq, &["a"], 1))])
            .unwrap();
    }
    let (ids, total) = shared.page(RoomKind::MultiRoom, 1, 3).unwrap();
    assert_eq!(
        (ids, total),
        (vec!["r1".into(), "r2".into(), "r3".into()], 5)
    );
    assert_eq!(shared.page(RoomKind::MultiRoom, 9, 3).unwrap(), (vec![], 5));
    assert_eq!(shared.page(RoomKind::LiveRoom, 0, 3).unwrap(), (vec![], 0));

    let heard = |unix_ms, origin| Heard { unix_ms, origin };
    shared.heard("r1", "a", heard(1_000, 7)).unwrap();
    shared.heard("r1", "a", heard(2_000, u64::MAX)).unwrap();
    assert_eq!(
        shared.last_heard(&[("r1", "a"), ("r1", "z")]).unwrap(),
        vec![Some(heard(2_000, u64::MAX)), None]
    );
    store
        .apply(&[Change::DeleteRoom {
            id: "r1".into(),
            reason: CloseReason::CreatorTimedOut,
        }])
        .unwrap();
    assert_eq!(
        shared.last_heard(&[("r1", "a")]).unwrap(),
        vec![None],
        "a closed room's heartbeats go with it"
    );
    assert_eq!(
        shared.gone("r1").unwrap(),
        Some(CloseReason::CreatorTimedOut)
    );
    assert_eq!(shared.gone("r2").unwrap(), None);

    let keys = store.keys().unwrap();
    let again = RedisStore::open(&redis.url(3)).unwrap().keys().unwrap();
    assert_eq!(keys, again, "every server of one Redis signs alike");
    let other_db = RedisStore::open(&redis.url(4)).unwrap().keys().unwrap();
    assert_ne!(keys, other_db);
}

#[tokio::test]
async fn a_heartbeat_claims_its_nonce_and_is_heard_for_members_only() {
    let redis = RedisServer::start().unwrap();
    let store = RedisStore::open(&redis.url(5)).unwrap();
    let shared = store.shared().unwrap();
    let mut r = room("r1", 1, &["a", "b"], 1);
    // A name spelling another user's membership must not make that user a member.
    r.members[1].user_name = r#""userID":"mallory""#.into();
    r.name = r#"{"userID":"eve"}"#.into();
    store.apply(&[Change::PutRoom(r)]).unwrap();
    let at = |unix_ms| Heard { unix_ms, origin: 2 };
    let far = u64::MAX / 2;

    assert_eq!(
        shared
            .beat("r1", "a", Some(("n1", far)), at(10))
            .await
            .unwrap(),
        Beat::Heard
    );
    assert_eq!(
        shared
            .beat("r1", "a", Some(("n1", far)), at(20))
            .await
            .unwrap(),
        Beat::Replayed,
        "the same nonce again, from any server"
    );
    assert!(
        !shared.claim_nonce("a", "n1", far).unwrap(),
        "a heartbeat's nonce is claimed like any other"
    );
    assert_eq!(
        shared.beat("r1", "b", None, at(30)).await.unwrap(),
        Beat::Heard,
        "without a nonce, where the server allows it"
    );
    for (room_id, user) in [("r1", "mallory"), ("r1", "eve"), ("r1", "z"), ("nope", "a")] {
        assert_eq!(
            shared
                .beat(room_id, user, Some(("n2", far)), at(40))
                .await
                .unwrap(),
            Beat::Absent,
            "{user} of {room_id}"
        );
    }
    assert_eq!(
        shared
            .last_heard(&[("r1", "a"), ("r1", "b"), ("r1", "mallory"), ("nope", "a")])
            .unwrap(),
        vec![Some(at(10)), Some(at(30)), None, None],
        "only members are recorded, and a replay changes nothing"
    );
}

#[tokio::test]
async fn a_fetched_room_is_the_stored_one_or_why_it_closed() {
    let redis = RedisServer::start().unwrap();
    let store = RedisStore::open(&redis.url(6)).unwrap();
    let shared = store.shared().unwrap();
    let r1 = room("r1", 1, &["a"], 3);
    store.apply(&[Change::PutRoom(r1.clone())]).unwrap();
    assert_eq!(shared.fetch("r1").await.unwrap(), Fetched::Room(r1));
    store
        .apply(&[Change::DeleteRoom {
            id: "r1".into(),
            reason: CloseReason::CreatorLeft,
        }])
        .unwrap();
    assert_eq!(
        shared.fetch("r1").await.unwrap(),
        Fetched::Gone(Some(CloseReason::CreatorLeft))
    );
    assert_eq!(shared.fetch("never").await.unwrap(), Fetched::Gone(None));
}

#[test]
fn an_unreachable_redis_is_a_clear_error() {
    let port = quartet_testkit::free_port().unwrap();
    let err = RedisStore::open(&format!("redis://127.0.0.1:{port}/0")).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
    let err = RedisStore::open("http://not-redis").unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
}

#[test]
fn creations_are_counted_across_servers_in_a_sliding_window() {
    let redis = RedisServer::start().unwrap();
    let (one, two) = (
        RedisStore::open(&redis.url(7)).unwrap(),
        RedisStore::open(&redis.url(7)).unwrap(),
    );
    let (one, two) = (one.shared().unwrap(), two.shared().unwrap());
    let window = Duration::from_secs(60);
    let admit = |store: &dyn SharedStore, user: &str, at_ms: u64, tag: &str| {
        store.admit_creation(user, at_ms, tag, 3, window).unwrap()
    };
    assert_eq!(admit(one, "u", 1_000, "a"), None);
    assert_eq!(admit(two, "u", 2_000, "b"), None);
    assert_eq!(admit(one, "u", 3_000, "c"), None);
    assert_eq!(
        admit(two, "u", 10_000, "d"),
        Some(Duration::from_millis(51_000)),
        "the fourth within the window, on either server"
    );
    assert_eq!(
        admit(one, "u", 60_999, "e"),
        Some(Duration::from_millis(1)),
        "a refused creation is not counted"
    );
    assert_eq!(admit(one, "other", 10_000, "f"), None);
    assert_eq!(admit(two, "u", 61_000, "g"), None, "the oldest left");
    assert_eq!(
        admit(one, "u", 61_000, "h"),
        Some(Duration::from_millis(1_000))
    );
}
