//! The RTMP server is killed and restarted mid-call on the same port: every member's stream
//! resumes for every other member, with no action from anyone.

use anyhow::Result;
use quartet_call::{CallEvent, Link};
use quartet_media::unix_micros;
use quartet_testkit::NginxRtmp;
use quartet_tests::{
    Host, eventually, everyone_sees_and_hears_everyone, init_tracing, leave_all, start_call,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_resumes_after_the_rtmp_server_restarts() -> Result<()> {
    init_tracing();
    let nginx = NginxRtmp::start()?;
    let port = nginx.port();
    let host = Host::external(&nginx.base_url(), |_| {}).await?;
    let members = start_call(&host.url, &["Ann", "Ben", "Cho", "Dan"]).await?;
    everyone_sees_and_hears_everyone(&members).await?;
    let marks: Vec<usize> = members.iter().map(|m| m.mark()).collect();

    tokio::task::spawn_blocking(move || nginx.stop()).await?;
    for (m, mark) in members.iter().zip(&marks) {
        m.event_since(*mark, "sending to be lost", |e| {
            *e == CallEvent::Reconnecting(Link::Publisher)
        })
        .await?;
        eventually(&format!("{}'s players to notice", m.name), || {
            m.call.stats().remotes.iter().all(|r| !r.player.connected)
        })
        .await?;
    }

    let nginx = tokio::task::spawn_blocking(move || NginxRtmp::start_on(port)).await??;
    let back = unix_micros();
    for (m, mark) in members.iter().zip(&marks) {
        m.event_since(*mark, "sending to resume", |e| {
            *e == CallEvent::Reconnected(Link::Publisher)
        })
        .await?;
        for other in members.iter().filter(|o| o.user_id() != m.user_id()) {
            let id = other.user_id();
            eventually(&format!("{} to see {} again", m.name, other.name), || {
                m.tile_of(&id).is_some_and(|t| {
                    t.frames()
                        .borrow()
                        .as_ref()
                        .is_some_and(|f| f.capture_us.is_some_and(|c| c > back))
                })
            })
            .await?;
            m.event_since(*mark, "playing to resume", |e| {
                *e == CallEvent::Reconnected(Link::Player(id.clone()))
            })
            .await?;
        }
    }
    everyone_sees_and_hears_everyone(&members).await?;

    leave_all(members).await?;
    host.stop().await?;
    drop(nginx);
    Ok(())
}
