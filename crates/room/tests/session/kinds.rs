//! A room known by its ID alone is found whatever its kind.

use crate::harness::{TestServer, fast_server, url_of};
use anyhow::Result;
use quartet_proto::{Code, CreateRoom, RoomKind};
use quartet_room::{ApiClient, find_room_kind};

async fn create(server: &TestServer, kind: RoomKind) -> Result<String> {
    let anon = ApiClient::new(server.url(), kind)?;
    let login = anon.get_im_login_info("test").await?;
    let client = anon.with_user_sig(login.user_sig);
    let push_url = client.get_push_url(&login.user_id).await?.push_url;
    let room = client
        .create_room(&CreateRoom {
            room_name: kind.to_string(),
            user_id: login.user_id,
            user_name: "Ann".into(),
            user_avatar: "a.png".into(),
            push_url,
        })
        .await?;
    Ok(room.room_id)
}

#[tokio::test]
async fn a_room_is_found_under_its_own_kind() -> Result<()> {
    let server = TestServer::start(fast_server(true)).await?;
    for kind in RoomKind::ALL {
        let room = create(&server, kind).await?;
        assert_eq!(find_room_kind(&server.url(), &room).await?, kind);
    }
    let missing = find_room_kind(&server.url(), "room_nobody_made").await;
    assert_eq!(missing.unwrap_err().code(), Some(Code::NoSuchRoom));
    Ok(())
}

#[tokio::test]
async fn an_unreachable_server_is_not_reported_as_a_missing_room() -> Result<()> {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = url_of(closed.local_addr()?);
    drop(closed);
    let e = find_room_kind(&url, "room_1").await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    Ok(())
}
