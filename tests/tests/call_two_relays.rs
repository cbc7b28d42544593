//! Several servers, each with its embedded relay, on one Redis: a room's streams all live on the
//! relay of the server that created it, whichever server each member talks to, so everyone
//! decodes everyone else and the other relay carries nothing of the room.

use anyhow::Result;
use quartet_call::JoinTarget;
use quartet_server::Storage;
use quartet_testkit::RedisServer;
use quartet_tests::{
    Host, TestMember, eventually, everyone_sees_and_hears_everyone, init_tracing, leave_all,
    member_config,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_keeps_its_streams_on_its_creators_relay() -> Result<()> {
    init_tracing();
    let redis = RedisServer::start()?;
    let shared = |c: &mut quartet_server::ServerConfig| c.storage = Storage::Redis(redis.url(0));
    let a = Host::with_relay(shared).await?;
    let b = Host::with_relay(shared).await?;

    let ann = TestMember::start(member_config(
        &a.url,
        JoinTarget::Create {
            room_name: "Ann's room".into(),
        },
        "Ann",
    ))
    .await?;
    let room_id = ann.call.room_id();
    let mut members = vec![ann];
    for name in ["Ben", "Cho"] {
        let target = JoinTarget::Join {
            room_id: room_id.clone(),
        };
        // Through the other server: its login hands out push URLs on its own relay.
        members.push(TestMember::start(member_config(&b.url, target, name)).await?);
    }
    for m in &members {
        eventually(&format!("{} to play 2 members", m.name), || {
            m.call.tiles().len() == 2
        })
        .await?;
    }
    everyone_sees_and_hears_everyone(&members).await?;

    let (a_relay, b_relay) = (a.relay().expect("relay A"), b.relay().expect("relay B"));
    for m in &members {
        let stream = format!("{}_{}", a.server().config().bizid, m.user_id());
        assert!(
            a_relay.is_live(&stream),
            "{} publishes to the room's relay",
            m.name
        );
        assert!(
            !b_relay.is_live(&stream),
            "{} does not publish elsewhere",
            m.name
        );
    }
    leave_all(members).await?;
    a.stop().await?;
    b.stop().await
}
