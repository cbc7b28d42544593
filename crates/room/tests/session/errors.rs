//! Bad input gets a clear error and changes nothing.

use crate::harness::{Peer, TestServer, config, fast_server, ids, url_of};
use anyhow::Result;
use quartet_proto::{Code, Endpoint};
use quartet_room::{EventMode, JoinTarget, LeaveMode, SessionError, connect};

#[tokio::test]
async fn joining_an_unknown_room_is_code_3() -> Result<()> {
    let server = TestServer::start(fast_server(true)).await?;
    let target = JoinTarget::Join {
        room_id: "room_0_does_not_exist".into(),
    };
    let err = connect(config(&server.url(), target, "Eve", EventMode::Auto))
        .await
        .expect_err("an unknown room must be refused");
    assert_eq!(err.code(), Some(Code::NoSuchRoom), "{err}");
    assert!(matches!(
        err,
        SessionError::Api {
            step: Endpoint::AddPusher,
            ..
        }
    ));
    assert!(!err.is_transient());
    Ok(())
}

#[tokio::test]
async fn a_fifth_member_is_refused_with_5001_and_the_four_stay() -> Result<()> {
    let server = TestServer::start(fast_server(true)).await?;
    let url = server.url();
    let mut ann = Peer::create(&url, "Ann", EventMode::Auto).await?;
    let room = ann.handle.room_id();
    let mut others = Vec::new();
    for name in ["Bob", "Cat", "Dan"] {
        let p = Peer::join(&url, &room, name, EventMode::Auto).await?;
        ann.expect_joined(&p).await?;
        others.push(p);
    }
    let target = JoinTarget::Join {
        room_id: room.clone(),
    };
    let err = connect(config(&url, target, "Eve", EventMode::Auto))
        .await
        .expect_err("a full room must be refused");
    assert_eq!(err.code(), Some(Code::RoomFull), "{err}");
    assert!(err.to_string().contains("5001"), "{err}");

    let mut expected = vec![ann.id()];
    expected.extend(others.iter().map(Peer::id));
    assert_eq!(ids(&ann.handle.members()), expected);
    // A member leaving makes room again.
    let dan = others.pop().expect("three joined");
    dan.handle.leave(LeaveMode::Leave).await?;
    ann.expect_left(&dan.id(), "Dan").await?;
    let eve = Peer::join(&url, &room, "Eve", EventMode::Auto).await?;
    ann.expect_joined(&eve).await?;
    Ok(())
}

#[tokio::test]
async fn empty_names_are_refused_before_any_request() -> Result<()> {
    // Nothing listens here: a request would fail as unreachable, not as invalid.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = url_of(listener.local_addr()?);
    drop(listener);
    let create = |name: &str| JoinTarget::Create {
        room_name: name.into(),
    };
    let err = connect(config(&url, create("r"), "", EventMode::Auto))
        .await
        .expect_err("no name");
    assert!(
        matches!(err, SessionError::InvalidConfig("user_name")),
        "{err}"
    );
    let err = connect(config(&url, create(""), "Eve", EventMode::Auto))
        .await
        .expect_err("no room name");
    assert!(
        matches!(err, SessionError::InvalidConfig("room_name")),
        "{err}"
    );

    let ftp = url::Url::parse("ftp://127.0.0.1/")?;
    let err = connect(config(&ftp, create("r"), "Eve", EventMode::Auto))
        .await
        .expect_err("not http");
    assert!(matches!(err, SessionError::Setup(_)), "{err}");

    // With valid input, the same address is simply unreachable, which is worth retrying.
    let err = connect(config(&url, create("r"), "Eve", EventMode::Auto))
        .await
        .expect_err("nobody listens");
    assert!(err.is_transient(), "{err}");
    assert!(matches!(
        err,
        SessionError::Api {
            step: Endpoint::GetImLoginInfo,
            ..
        }
    ));
    Ok(())
}
