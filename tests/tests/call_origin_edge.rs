//! Media on an RTMP cluster: members publish to an nginx-rtmp origin and play from an edge that
//! pulls from it (the shape SRS clusters and CDNs have), told so by the room server's play base;
//! everyone decodes everyone else, and the players really are the edge's.

use anyhow::Result;
use quartet_testkit::NginxRtmp;
use quartet_tests::{
    Host, eventually, everyone_sees_and_hears_everyone, init_tracing, leave_all, start_call,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_publish_to_the_origin_and_play_from_the_edge() -> Result<()> {
    init_tracing();
    let origin = NginxRtmp::start()?;
    let edge = NginxRtmp::start_edge(&origin)?;
    let host = Host::external(&origin.base_url(), |c| {
        c.play_base = Some(edge.base_url());
    })
    .await?;
    let members = start_call(&host.url, &["Ann", "Ben", "Cho"]).await?;
    everyone_sees_and_hears_everyone(&members).await?;

    // The edge gone, every player loses its stream while the origin still has every publisher:
    // they were playing from the edge.
    edge.stop();
    for viewer in &members {
        for other in &members {
            if viewer.user_id() == other.user_id() {
                continue;
            }
            eventually(
                &format!("{} to lose {} with the edge", viewer.name, other.name),
                || {
                    viewer
                        .tile_of(&other.user_id())
                        .is_some_and(|t| !t.stats().connected)
                },
            )
            .await?;
        }
        assert!(
            viewer.call.stats().publisher.is_some_and(|p| p.connected),
            "{} still publishes to the origin",
            viewer.name
        );
    }
    leave_all(members).await
}
