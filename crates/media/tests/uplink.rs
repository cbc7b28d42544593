//! The publisher behind a narrow uplink, in the network lab (Linux, root): it notices its own
//! backlog, sends less, and what a player sees stays live.
#![cfg(target_os = "linux")]

mod support;

use quartet_media::{
    Player, PlayerConfig, Publisher, PublisherConfig, PublisherEvent, SmallStreamConfig,
    unix_micros,
};
use quartet_netlab::{Direction, LinkProfile, NetLab};
use quartet_testkit::NginxRtmp;
use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant};
use support::{DEADLINE, init_tracing, member, wait_frame, wait_publisher_event};

/// The narrow uplink, kbit/s: the figure the lab's first measurements used.
const UPLINK_KBPS: u64 = 300;

/// Relays every connection accepted on `listener` to `target`, both ways, on threads of its own:
/// nginx listens on loopback, which the lab's namespace cannot reach.
fn forward(listener: TcpListener, target: u16) {
    std::thread::spawn(move || {
        for inbound in listener.incoming() {
            let Ok(inbound) = inbound else { return };
            let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)) else {
                continue;
            };
            let _ = outbound.set_nodelay(true);
            for (mut from, mut to) in [
                (inbound.try_clone(), outbound.try_clone()),
                (outbound.try_clone(), inbound.try_clone()),
            ]
            .into_iter()
            .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
            {
                std::thread::spawn(move || {
                    let _ = io::copy(&mut from, &mut to);
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        }
    });
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_publisher_fits_its_stream_to_a_narrow_uplink() {
    init_tracing();
    let nginx = NginxRtmp::start().unwrap();
    let lab = NetLab::new().unwrap();
    lab.set(Direction::Uplink, &LinkProfile::kbps(UPLINK_KBPS))
        .unwrap();
    let listener = TcpListener::bind((lab.host_addr(), 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    forward(listener, nginx.port());

    let url = format!("rtmp://{}:{port}/live/weak", lab.host_addr());
    // A small stream beside it, which must not take what the main stream needs.
    let small =
        SmallStreamConfig::new(format!("rtmp://{}:{port}/live/weak-small", lab.host_addr()));
    let (video, audio) = member("weak", 640, 360);
    // Threads inherit the namespace of the thread that starts them: the publisher's socket is
    // the member's, behind the narrow uplink.
    let (publisher, mut events) = lab
        .spawn_inside("weak-publisher", move || {
            Publisher::start_with_small(PublisherConfig::new(url), Some(small), video, audio)
        })
        .unwrap()
        .join()
        .unwrap()
        .unwrap()
        .unwrap();
    let (player, _player_events) =
        Player::start(PlayerConfig::new(nginx.url("weak"), 320, 180)).unwrap();
    wait_frame(&player, DEADLINE, |f| f.capture_us.is_some()).expect("a first frame");
    let began = Instant::now();

    assert!(
        wait_publisher_event(&mut events, Duration::from_secs(10), |e| matches!(
            e,
            PublisherEvent::UplinkLimited { .. }
        )),
        "the publisher tells its uplink is the cause: {:?}",
        publisher.stats()
    );
    let fitted = support::wait_until(Duration::from_secs(10), || {
        let s = publisher.stats();
        u64::from(s.target_kbps) + 64 < UPLINK_KBPS
    });
    let fitted_after = began.elapsed();
    assert!(
        fitted,
        "the bitrate came under the link: {:?}",
        publisher.stats()
    );

    // Let it settle, then sample what the player shows for a while.
    std::thread::sleep(Duration::from_secs(5));
    let frames = player.frames();
    let mut late_ms = Vec::new();
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if let Some(t) = frames.borrow().as_ref().and_then(|f| f.capture_us) {
            late_ms.push((unix_micros() - t) as f64 / 1000.0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    late_ms.sort_by(f64::total_cmp);
    let p50 = late_ms[late_ms.len() / 2];
    let p95 = late_ms[late_ms.len() * 95 / 100];
    let s = publisher.stats();
    let ps = player.stats();
    eprintln!(
        "behind {UPLINK_KBPS} kbit/s: fitted after {fitted_after:?}; rung {}x{}@{} at {} kbit/s, \
         {} adaptations, sent {:.0} kbit/s, {:.1} fps, queue {:?} ms; player sees {p50:.0} ms (p50) \
         {p95:.0} ms (p95) late at {:.1} fps",
        s.rung.width,
        s.rung.height,
        s.rung.fps,
        s.target_kbps,
        s.adaptations,
        s.kbps,
        s.fps,
        s.uplink_queue_ms.map(|q| q.round()),
        ps.fps
    );
    assert!(s.uplink_limited && s.adaptations >= 1, "{s:?}");
    assert!(s.kbps < UPLINK_KBPS as f64, "{s:?}");
    // Generous: live, not seconds behind and growing (the first lab run saw 2.2 s and growing).
    assert!(p50 < 1000.0, "p50 {p50:.0} ms, p95 {p95:.0} ms");
    assert!(ps.fps > 3.0, "{ps:?}");
    // A smaller picture goes out on the same connection (a new sequence header), so neither
    // side reconnects, which would be a gap in sound and picture for every viewer.
    assert_eq!((s.reconnects, ps.reconnects), (0, 0), "{s:?} {ps:?}");
    if s.rung.width != 640 {
        assert_eq!(
            ps.source_size,
            Some((s.rung.width, s.rung.height)),
            "{ps:?}"
        );
    }
    player.stop();
    publisher.stop();
}
