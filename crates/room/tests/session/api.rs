//! The typed client against the server, endpoint by endpoint.

use crate::harness::{KIND, Peer, TestServer, fast_server};
use anyhow::Result;
use quartet_proto::{AddPusher, Code, CreateRoom, SendRoomTextMsg};
use quartet_room::{ApiClient, ApiError, EventMode, SessionEvent};

#[tokio::test]
async fn every_endpoint_answers_through_the_typed_client() -> Result<()> {
    let server = TestServer::start(fast_server(true)).await?;
    let anon = ApiClient::new(server.url(), KIND)?;

    let ann = anon.get_im_login_info("test").await?;
    assert!(!ann.user_id.is_empty() && !ann.user_sig.is_empty());
    let as_ann = anon.clone().with_user_sig(ann.user_sig.clone());
    let ann_push = as_ann.get_push_url(&ann.user_id).await?.push_url;
    assert!(ann_push.starts_with("rtmp://"), "{ann_push}");

    let room = as_ann
        .create_room(&CreateRoom {
            room_name: "typed".into(),
            user_id: ann.user_id.clone(),
            user_name: "Ann".into(),
            user_avatar: "a.png".into(),
            push_url: ann_push,
        })
        .await?
        .room_id;
    as_ann.pusher_heartbeat(&room, &ann.user_id).await?;

    let bob = anon.get_im_login_info("test").await?;
    let as_bob = anon.clone().with_user_sig(bob.user_sig.clone());
    let bob_push = as_bob.get_push_url(&bob.user_id).await?.push_url;
    as_bob
        .add_pusher(&AddPusher {
            room_id: room.clone(),
            user_id: bob.user_id.clone(),
            user_name: "Bob".into(),
            user_avatar: "b.png".into(),
            push_url: bob_push,
            sharing_screen: false,
        })
        .await?;
    let pushers = anon.get_pushers(&room).await?;
    let listed: Vec<_> = pushers.pushers.iter().map(|p| &p.user_id).collect();
    assert_eq!(listed, [&ann.user_id, &bob.user_id]);
    assert_eq!(pushers.room_creator.as_deref(), Some(ann.user_id.as_str()));

    let rooms = anon.get_room_list(0, 100).await?.rooms;
    let ours = rooms
        .iter()
        .find(|r| r.room_id == room)
        .expect("the room is listed");
    assert_eq!(ours.room_name, "typed");
    assert_eq!(ours.pushers.len(), 2);
    assert!(anon.get_room_list(rooms.len(), 10).await?.rooms.is_empty());

    as_bob
        .send_room_text_msg(&SendRoomTextMsg {
            room_id: room.clone(),
            user_id: bob.user_id.clone(),
            msg: "hi".into(),
            nick_name: None,
            head_pic: None,
        })
        .await?;

    // Ann's token does not let her act for Bob, and nothing changes.
    let err = as_ann
        .delete_pusher(&room, &bob.user_id)
        .await
        .expect_err("a token for another user");
    assert_eq!(err.code(), Some(Code::AuthFailed), "{err}");
    assert_eq!(anon.get_pushers(&room).await?.pushers.len(), 2);

    as_bob.delete_pusher(&room, &bob.user_id).await?;
    let err = as_bob
        .pusher_heartbeat(&room, &bob.user_id)
        .await
        .expect_err("no longer a member");
    assert_eq!(err.code(), Some(Code::NoSuchMember), "{err}");

    as_ann.destroy_room(&room, &ann.user_id).await?;
    let err = anon.get_pushers(&room).await.expect_err("destroyed");
    assert_eq!(err.code(), Some(Code::NoSuchRoom), "{err}");
    assert!(matches!(err, ApiError::Code { .. }) && !err.is_transient());
    Ok(())
}

#[tokio::test]
async fn an_unknown_path_is_a_status_error_with_the_servers_message() -> Result<()> {
    let server = TestServer::start(fast_server(true)).await?;
    let base = server.url().join("no/such/prefix/")?;
    let err = ApiClient::new(base, KIND)?
        .get_pushers("room_1")
        .await
        .expect_err("nothing is served there");
    match err {
        ApiError::Status { status, message } => {
            assert_eq!(status, 404);
            assert!(!message.is_empty());
        }
        other => panic!("expected a status error, got {other}"),
    }
    Ok(())
}

#[tokio::test]
async fn destroying_the_room_closes_every_session_in_it() -> Result<()> {
    let server = TestServer::start(fast_server(true)).await?;
    let url = server.url();
    let mut ann = Peer::create(&url, "Ann", EventMode::Auto).await?;
    let room = ann.handle.room_id();
    let mut bob = Peer::join(&url, &room, "Bob", EventMode::Off).await?;
    ann.expect_joined(&bob).await?;

    ApiClient::new(url, KIND)?
        .with_user_sig(ann.handle.user_sig())
        .destroy_room(&room, &ann.id())
        .await?;
    for p in [&mut ann, &mut bob] {
        p.expect("the room closing", |e| {
            matches!(e, SessionEvent::RoomClosed { .. })
        })
        .await?;
        p.expect_end().await?;
    }
    Ok(())
}
