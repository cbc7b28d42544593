//! Join requests becoming call settings, and call events becoming what the page reads.

use super::*;
use quartet_call::{
    AudioInput, AudioOutputChoice, JoinTarget, Link, Member, Participant, Placement, PlayerState,
    VideoInput,
};
use serde_json::json;

fn request(v: serde_json::Value) -> JoinRequest {
    serde_json::from_value(v).unwrap()
}

#[test]
fn a_join_request_becomes_a_call_config() {
    let r = request(json!({
        "server": "127.0.0.1:8080",
        "nickname": " Ann ",
        "target": {"kind": "create", "roomName": "Standup"},
        "video": {"kind": "synthetic"},
        "audio": {"kind": "microphone", "name": null},
        "speaker": "Speakers",
        "startMuted": true
    }));
    let c = r.config(RoomKind::DoubleRoom).unwrap();
    assert_eq!(c.session.kind, RoomKind::DoubleRoom);
    assert_eq!(c.session.server.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(c.session.user_name, "Ann");
    assert_eq!(
        c.session.target,
        JoinTarget::Create {
            room_name: "Standup".into()
        }
    );
    assert_eq!(c.video, VideoInput::Synthetic { name: "Ann".into() });
    assert_eq!(c.audio, AudioInput::Microphone(None));
    assert_eq!(c.output, AudioOutputChoice::Device("Speakers".into()));
    assert!(c.start_muted && !c.start_camera_off);
    assert_eq!((c.media.width, c.media.height, c.media.fps), (640, 360, 15));
}

#[test]
fn a_chosen_picture_quality_is_sent_and_an_unknown_one_refused() {
    let mut v = json!({
        "server": "127.0.0.1:8080",
        "nickname": "Ann",
        "target": {"kind": "join", "roomId": "room_1"},
        "video": {"kind": "synthetic"},
        "audio": {"kind": "tone"},
        "speaker": null,
        "sendQuality": "720p30"
    });
    let c = request(v.clone()).config(RoomKind::MultiRoom).unwrap();
    assert_eq!(
        (c.media.width, c.media.height, c.media.fps),
        (1280, 720, 30)
    );
    v["video"] = json!({"kind": "screen"});
    assert_eq!(
        request(v.clone())
            .config(RoomKind::MultiRoom)
            .unwrap()
            .video,
        VideoInput::Screen(None)
    );
    v["video"] = json!({"kind": "screen", "id": "window:0x2a00007@:0"});
    assert_eq!(
        request(v.clone())
            .config(RoomKind::MultiRoom)
            .unwrap()
            .video,
        VideoInput::Screen(Some("window:0x2a00007@:0".into()))
    );
    v["video"] = json!({"kind": "screen", "corner": {"kind": "camera", "id": "/dev/video0"}});
    assert_eq!(
        request(v.clone())
            .config(RoomKind::MultiRoom)
            .unwrap()
            .video,
        VideoInput::ScreenWithCorner {
            screen: None,
            corner: Box::new(VideoInput::Camera(Some("/dev/video0".into()))),
        }
    );
    v["sendQuality"] = json!("4k");
    let e = request(v).config(RoomKind::MultiRoom).unwrap_err();
    assert_eq!(e.kind(), "invalidInput");
    assert!(e.to_string().contains("4k"), "{e}");
}

#[test]
fn incomplete_requests_are_refused() {
    let base = json!({
        "server": "127.0.0.1:8080",
        "nickname": "Ann",
        "target": {"kind": "join", "roomId": "room_1"},
        "video": {"kind": "none"},
        "audio": {"kind": "tone"},
        "speaker": null
    });
    assert!(request(base.clone()).config(RoomKind::MultiRoom).is_ok());
    let mut no_name = base.clone();
    no_name["nickname"] = json!("  ");
    let mut no_room = base.clone();
    no_room["target"] = json!({"kind": "join", "roomId": ""});
    let mut no_server = base;
    no_server["server"] = json!("");
    for r in [no_name, no_room, no_server] {
        assert_eq!(
            request(r).config(RoomKind::MultiRoom).unwrap_err().kind(),
            "invalidInput"
        );
    }
}

#[test]
fn a_new_room_is_a_group_call_unless_another_kind_is_asked() {
    let target = |v| serde_json::from_value::<TargetChoice>(v).unwrap();
    let kind = |v| target(v).known_kind();
    assert_eq!(
        kind(json!({"kind": "create", "roomName": "R"})),
        Some(RoomKind::MultiRoom)
    );
    assert_eq!(
        kind(json!({"kind": "create", "roomName": "R", "roomKind": null})),
        Some(RoomKind::MultiRoom)
    );
    assert_eq!(
        kind(json!({"kind": "join", "roomId": "r", "roomKind": "live_room"})),
        Some(RoomKind::LiveRoom)
    );
    // An ID typed in names no kind: the server is asked.
    assert_eq!(kind(json!({"kind": "join", "roomId": "r"})), None);
}

#[test]
fn events_serialize_as_the_page_reads_them() {
    let member = Member {
        user_id: "u2".into(),
        user_name: "Ben".into(),
        user_avatar: "a".into(),
        play_url: "rtmp://x/live/s".into(),
        small_play_url: None,
        is_creator: false,
        is_self: false,
        sharing_screen: true,
    };
    let joined = EventDto::from(CallEvent::MemberJoined(Participant {
        member: member.clone(),
        placement: Placement::Tile(1),
    }));
    assert_eq!(
        serde_json::to_value(&joined).unwrap(),
        json!({"type": "memberJoined", "member": {
            "userId": "u2", "userName": "Ben", "isCreator": false, "isSelf": false, "tile": 1,
            "sharingScreen": true
        }})
    );
    let left = EventDto::from(CallEvent::MemberLeft {
        member,
        freed_tile: Some(1),
    });
    assert_eq!(serde_json::to_value(&left).unwrap()["freedTile"], 1);
    let player = EventDto::from(CallEvent::PlayerState {
        user_id: "u2".into(),
        state: PlayerState::Disconnected {
            reason: "eof".into(),
            retry_in: std::time::Duration::from_secs(1),
        },
    });
    assert_eq!(
        serde_json::to_value(&player).unwrap(),
        json!({"type": "playerState", "userId": "u2", "state": "disconnected"})
    );
    let link = EventDto::from(CallEvent::Reconnecting(Link::Player("u2".into())));
    assert_eq!(
        serde_json::to_value(&link).unwrap(),
        json!({"type": "reconnecting", "link": {"kind": "player", "userId": "u2"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_call_fills_with_demo_members_and_leaves() {
    use std::time::Duration;
    let host = crate::host::HostService::default();
    let server = host.start(false).await.unwrap().url;
    let calls = CallService::default();
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let info = calls
        .start(
            request(json!({
                "server": server,
                "nickname": "Ann",
                "target": {"kind": "create", "roomName": "Demo"},
                "video": {"kind": "synthetic"},
                "audio": {"kind": "tone"},
                "speaker": null
            })),
            move |e| tx.send(e).is_ok(),
        )
        .await
        .unwrap();
    assert_eq!(info.members.len(), 1);
    assert!(info.members[0].is_self);
    assert_eq!(
        calls
            .start(
                request(json!({
                    "server": "127.0.0.1:1", "nickname": "B",
                    "target": {"kind": "join", "roomId": "r"},
                    "video": {"kind": "none"}, "audio": {"kind": "none"}, "speaker": null
                })),
                |_| true
            )
            .await
            .unwrap_err()
            .kind(),
        "alreadyInCall"
    );

    let names = vec!["Demo Ben".to_owned(), "Demo Cho".to_owned()];
    assert_eq!(calls.add_demo_members(&names).await.unwrap(), 2);
    let mut tiles = Vec::new();
    while tiles.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("members join")
            .expect("events flow");
        if let EventDto::MemberJoined { member } = event {
            tiles.push(member.tile);
        }
    }
    assert_eq!(tiles, vec![Some(0), Some(1)]);

    let call = calls.current().await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let stats = StatsDto::of(&call);
            if stats.remotes.len() == 2
                && stats
                    .remotes
                    .iter()
                    .all(|r| r.frames_decoded > 0 && r.state == "live")
                && stats.own_state == "live"
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("both demo members' pictures are decoded");
    let grid = call.snapshot_grid(320, 180);
    assert_eq!(grid.dimensions(), (320, 180));

    // As host with others present, leaving is worth a question, naming the first to join.
    let options = calls
        .leave_options_now()
        .expect("a call with nobody joining or leaving");
    assert!(options.worth_asking() && options.can_hand_over);
    assert_eq!(
        options.heir.map(|m| m.user_name).as_deref(),
        Some("Demo Ben")
    );
    calls.leave(LeaveMode::EndForEveryone).await.unwrap();
    assert_eq!(calls.current().await.unwrap_err().kind(), "noCall");
    assert!(calls.leave_options_now().is_none());
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_room_is_listed_joined_by_id_and_full_at_two() {
    // Any free ports: other tests host on the preferred ones at the same time.
    let any = crate::host::PreferredPorts { http: 0, rtmp: 0 };
    let host = crate::host::HostService::with_ports(any);
    let server = host.start(false).await.unwrap().url;
    let join = |name: &str, target: serde_json::Value| {
        request(json!({
            "server": server, "nickname": name, "target": target,
            "video": {"kind": "none"}, "audio": {"kind": "none"}, "speaker": null
        }))
    };
    let (ann, ben, cho) = (
        CallService::default(),
        CallService::default(),
        CallService::default(),
    );
    let created = ann
        .start(
            join(
                "Ann",
                json!({"kind": "create", "roomName": "Pair", "roomKind": "double_room"}),
            ),
            |_| true,
        )
        .await
        .unwrap();
    let rooms = crate::lobby::list_rooms(&server).await.unwrap();
    assert_eq!(rooms.len(), 1);
    assert_eq!(
        (rooms[0].kind, rooms[0].max_members),
        (RoomKind::DoubleRoom, 2)
    );
    // By ID alone, as typed in: the app finds the kind itself.
    let by_id = json!({"kind": "join", "roomId": created.room_id});
    let joined = ben
        .start(join("Ben", by_id.clone()), |_| true)
        .await
        .unwrap();
    assert_eq!(joined.members.len(), 2);
    let full = cho.start(join("Cho", by_id), |_| true).await.unwrap_err();
    assert_eq!(full.kind(), "roomFull", "{full}");
    let gone = cho
        .start(
            join("Cho", json!({"kind": "join", "roomId": "room_none"})),
            |_| true,
        )
        .await
        .unwrap_err();
    assert_eq!(gone.kind(), "roomNotFound", "{gone}");
    ben.leave(LeaveMode::Leave).await.unwrap();
    ann.leave(LeaveMode::Leave).await.unwrap();
    host.stop().await;
}
