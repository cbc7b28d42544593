//! The lab with real traffic: TCP throughput against the set rate, TCP round trips against the
//! set delay, UDP loss against the set percentage, teardown. These need root: they are ignored
//! in a plain `cargo test` and `cargo xtask test` runs them (`--ignored netlab_`) as root.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use quartet_netlab::{Direction, LinkProfile, NetLab, Schedule};

/// Longest a test socket waits, so that a broken link fails a test instead of hanging it.
const STALL: Duration = Duration::from_secs(10);

/// Sends as fast as the link takes for `duration` across `direction` and returns what the
/// receiver got: (time since the transfer began, bytes) per read.
fn transfer(
    lab: &NetLab,
    direction: Direction,
    duration: Duration,
) -> Result<Vec<(Duration, usize)>> {
    let (tx, rx) = mpsc::channel::<SocketAddr>();
    let send = move |to: SocketAddr| -> std::io::Result<()> {
        let mut s = TcpStream::connect_timeout(&to, STALL)?;
        s.set_write_timeout(Some(STALL))?;
        let chunk = [0x5a_u8; 16 * 1024];
        let start = Instant::now();
        while start.elapsed() < duration {
            s.write_all(&chunk)?;
        }
        Ok(())
    };
    let receive = |listener: TcpListener| -> std::io::Result<Vec<(Duration, usize)>> {
        let (mut s, _) = listener.accept()?;
        s.set_read_timeout(Some(STALL))?;
        let start = Instant::now();
        let mut log = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Ok(log);
            }
            log.push((start.elapsed(), n));
        }
    };
    match direction {
        Direction::Uplink => {
            let listener = TcpListener::bind((lab.host_addr(), 0))?;
            let to = listener.local_addr()?;
            let sender = lab.spawn_inside("uplink-sender", move || send(to))?;
            let log = receive(listener)?;
            sender
                .join()
                .map_err(|_| anyhow::anyhow!("sender panicked"))???;
            Ok(log)
        }
        Direction::Downlink => {
            let member = lab.member_addr();
            let receiver = lab.spawn_inside("downlink-receiver", move || {
                let listener = TcpListener::bind((member, 0))?;
                let _ = tx.send(listener.local_addr()?);
                receive(listener)
            })?;
            let to = rx.recv_timeout(Duration::from_secs(5))?;
            send(to)?;
            let log = receiver
                .join()
                .map_err(|_| anyhow::anyhow!("receiver panicked"))???;
            Ok(log)
        }
    }
}

/// Bits per second received between `from` and `to` of a transfer log.
fn rate(log: &[(Duration, usize)], from: Duration, to: Duration) -> f64 {
    let bytes: usize = log
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|(_, n)| n)
        .sum();
    bytes as f64 * 8.0 / (to - from).as_secs_f64()
}

fn assert_near_rate(measured: f64, set_bps: f64, what: &str) {
    eprintln!(
        "{what}: measured {:.0} kbit/s, set {:.0} kbit/s",
        measured / 1e3,
        set_bps / 1e3
    );
    assert!(
        (0.5 * set_bps..=1.3 * set_bps).contains(&measured),
        "{what}: {measured:.0} bit/s is not within 0.5×–1.3× of {set_bps:.0}"
    );
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_uplink_rate_is_near_the_set_rate() -> Result<()> {
    let lab = NetLab::new()?;
    lab.set(Direction::Uplink, &LinkProfile::kbps(1000))?;
    let log = transfer(&lab, Direction::Uplink, Duration::from_secs(5))?;
    // The first second holds the burst and TCP's slow start.
    assert_near_rate(
        rate(&log, Duration::from_secs(1), Duration::from_secs(5)),
        1e6,
        "uplink",
    );
    Ok(())
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_downlink_rate_is_near_the_set_rate() -> Result<()> {
    let lab = NetLab::new()?;
    lab.set(Direction::Downlink, &LinkProfile::kbps(500))?;
    let log = transfer(&lab, Direction::Downlink, Duration::from_secs(5))?;
    assert_near_rate(
        rate(&log, Duration::from_secs(1), Duration::from_secs(5)),
        5e5,
        "downlink",
    );
    Ok(())
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_rate_holds_behind_the_delay_stage_and_loss() -> Result<()> {
    let lab = NetLab::new()?;
    // Scenario (d) of the network benchmark on top of a bottleneck: 100 ms RTT and 2 % loss.
    let half = Duration::from_millis(50);
    lab.set(
        Direction::Uplink,
        &LinkProfile::kbps(1000).with_delay(half).with_loss(2.0),
    )?;
    lab.set(
        Direction::Downlink,
        &LinkProfile::unshaped().with_delay(half),
    )?;
    let log = transfer(&lab, Direction::Uplink, Duration::from_secs(6))?;
    let measured = rate(&log, Duration::from_secs(2), Duration::from_secs(6));
    eprintln!(
        "1 Mbit/s with 100 ms RTT and 2 % loss: {:.0} kbit/s",
        measured / 1e3
    );
    // Loss at this RTT costs TCP throughput (that is the point of the scenario), so only the
    // ceiling is the rate's; the floor says the stage passes a steady stream at all.
    assert!(
        (0.4e6..=1.3e6).contains(&measured),
        "{measured:.0} bit/s through 1 Mbit/s, 100 ms RTT, 2 % loss"
    );
    Ok(())
}

/// Offers `offered_bps` of UDP from the member to the host for `duration` and returns what
/// arrived: (time since the flood began, bytes) per datagram. Unlike TCP, the flood does not back
/// off, so what arrives is the bottleneck's rate at every moment.
fn udp_flood(lab: &NetLab, offered_bps: u64, duration: Duration) -> Result<Vec<(Duration, usize)>> {
    const SIZE: usize = 1200;
    const TICK: Duration = Duration::from_millis(5);
    let s = UdpSocket::bind((lab.host_addr(), 0))?;
    let to = s.local_addr()?;
    let from = lab.member_addr();
    let per_tick = (offered_bps as f64 * TICK.as_secs_f64() / (SIZE as f64 * 8.0)).ceil() as usize;
    let start = Instant::now();
    let sender = lab.spawn_inside("udp-flood", move || -> std::io::Result<()> {
        let out = UdpSocket::bind((from, 0))?;
        let mut next = start;
        while next < start + duration {
            for _ in 0..per_tick {
                // A full queue refuses some: that is the link being narrow, not an error.
                let _ = out.send_to(&[0u8; SIZE], to);
            }
            next += TICK;
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        Ok(())
    })?;
    s.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut log = Vec::new();
    let mut buf = [0u8; 2048];
    while start.elapsed() < duration + Duration::from_secs(1) {
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            log.push((start.elapsed(), n));
        }
    }
    sender
        .join()
        .map_err(|_| anyhow::anyhow!("flood panicked"))???;
    Ok(log)
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_a_schedule_steps_the_rate_down_and_up_again() -> Result<()> {
    let mut lab = NetLab::new()?;
    let step = Duration::from_secs(3);
    lab.set(Direction::Uplink, &LinkProfile::kbps(2000))?;
    let start = lab.play(
        Schedule::new()
            .at(step, Direction::Uplink, LinkProfile::kbps(300))
            .at(step * 2, Direction::Uplink, LinkProfile::kbps(2000)),
    )?;
    let log = udp_flood(&lab, 3_000_000, step * 3)?;
    let late = start.elapsed();
    lab.stop_schedule()?;
    let timeline: Vec<String> = (0..18)
        .map(|i| {
            let t = Duration::from_millis(500 * i);
            format!("{:.0}", rate(&log, t, t + Duration::from_millis(500)) / 1e3)
        })
        .collect();
    eprintln!("kbit/s per 0.5 s: {}", timeline.join(" "));
    assert!(
        late < step * 3 + Duration::from_secs(2),
        "the flood ended late: {late:?}"
    );
    let second = Duration::from_secs(1);
    // Each phase's last two seconds: the queue of the phase before has drained by then.
    assert_near_rate(rate(&log, second, step), 2e6, "2 Mbit/s before the step");
    assert_near_rate(
        rate(&log, step + second, step * 2),
        3e5,
        "300 kbit/s after the step down",
    );
    assert_near_rate(
        rate(&log, step * 2 + second, step * 3),
        2e6,
        "2 Mbit/s after the step up",
    );
    assert_eq!(lab.profile(Direction::Uplink), LinkProfile::kbps(2000));
    Ok(())
}

/// Median and minimum round trip of one-byte TCP pings from the member to an echo on the host.
fn tcp_rtt(lab: &NetLab, pings: usize) -> Result<(Duration, Duration)> {
    let listener = TcpListener::bind((lab.host_addr(), 0))?;
    let to = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_read_timeout(Some(STALL))?;
        s.set_nodelay(true)?;
        let mut b = [0u8; 1];
        while s.read(&mut b)? == 1 {
            s.write_all(&b)?;
        }
        Ok(())
    });
    let pinger = lab.spawn_inside("pinger", move || -> std::io::Result<Vec<Duration>> {
        let mut s = TcpStream::connect_timeout(&to, STALL)?;
        s.set_read_timeout(Some(STALL))?;
        s.set_nodelay(true)?;
        let mut rtts = Vec::new();
        let mut b = [7u8; 1];
        for _ in 0..pings {
            let t = Instant::now();
            s.write_all(&b)?;
            s.read_exact(&mut b)?;
            rtts.push(t.elapsed());
        }
        Ok(rtts)
    })?;
    let mut rtts = pinger
        .join()
        .map_err(|_| anyhow::anyhow!("pinger panicked"))???;
    echo.join()
        .map_err(|_| anyhow::anyhow!("echo panicked"))??;
    rtts.sort();
    Ok((rtts[rtts.len() / 2], rtts[0]))
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_added_delay_shows_in_the_round_trip() -> Result<()> {
    let lab = NetLab::new()?;
    let (base, _) = tcp_rtt(&lab, 20)?;
    let (up, down) = (Duration::from_millis(30), Duration::from_millis(20));
    lab.set(Direction::Uplink, &LinkProfile::unshaped().with_delay(up))?;
    lab.set(
        Direction::Downlink,
        &LinkProfile::unshaped().with_delay(down),
    )?;
    let (median, min) = tcp_rtt(&lab, 30)?;
    eprintln!(
        "round trip: {base:?} unshaped, {median:?} median ({min:?} min) with {up:?} + {down:?}"
    );
    assert!(
        base < Duration::from_millis(10),
        "unshaped round trip {base:?}"
    );
    assert!(
        min >= up + down,
        "a round trip of {min:?} is shorter than the delay set"
    );
    assert!(median < (up + down) * 3 / 2, "median round trip {median:?}");
    Ok(())
}

/// Sends `count` numbered UDP datagrams across `direction` and returns how many arrived.
fn udp_delivered(lab: &NetLab, direction: Direction, count: u32) -> Result<u32> {
    let (sender_ip, receiver_ip) = match direction {
        Direction::Uplink => (lab.member_addr(), lab.host_addr()),
        Direction::Downlink => (lab.host_addr(), lab.member_addr()),
    };
    let send = move |to: SocketAddr| -> std::io::Result<()> {
        let s = UdpSocket::bind((sender_ip, 0))?;
        for seq in 0..count {
            s.send_to(&seq.to_be_bytes(), to)?;
            // Paced, so that only the rule drops and never a socket buffer.
            std::thread::sleep(Duration::from_micros(500));
        }
        Ok(())
    };
    let receive = move |s: UdpSocket| -> std::io::Result<u32> {
        s.set_read_timeout(Some(Duration::from_millis(500)))?;
        let mut got = 0;
        let mut b = [0u8; 16];
        while s.recv_from(&mut b).is_ok() {
            got += 1;
        }
        Ok(got)
    };
    let bind = move || UdpSocket::bind((receiver_ip, 0));
    match direction {
        Direction::Uplink => {
            let s = bind()?;
            let to = s.local_addr()?;
            let sender = lab.spawn_inside("udp-sender", move || send(to))?;
            let got = receive(s)?;
            sender
                .join()
                .map_err(|_| anyhow::anyhow!("sender panicked"))???;
            Ok(got)
        }
        Direction::Downlink => {
            let (tx, rx) = mpsc::channel();
            let receiver = lab.spawn_inside("udp-receiver", move || {
                let s = bind()?;
                let _ = tx.send(s.local_addr()?);
                receive(s)
            })?;
            send(rx.recv_timeout(Duration::from_secs(5))?)?;
            Ok(receiver
                .join()
                .map_err(|_| anyhow::anyhow!("receiver panicked"))???)
        }
    }
}

fn check_loss(direction: Direction, percent: f64) -> Result<()> {
    let lab = NetLab::new()?;
    let count = 3000;
    // Nothing is lost before the rule is there, so what is lost after is the rule's doing.
    let clean = udp_delivered(&lab, direction, 200)?;
    if clean != 200 {
        bail!("{direction:?}: {clean} of 200 arrived on a clean link");
    }
    lab.set(direction, &LinkProfile::unshaped().with_loss(percent))?;
    let got = udp_delivered(&lab, direction, count)?;
    let lost = 100.0 * f64::from(count - got) / f64::from(count);
    eprintln!("{direction:?}: {lost:.2} % lost of {count}, set {percent} %");
    // Binomial spread at 3000 packets and 10 % is 0.55 %: ±3 % is over five of them.
    assert!(
        (lost - percent).abs() < 3.0,
        "{direction:?}: lost {lost:.2} %, set {percent} %"
    );
    Ok(())
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_uplink_loss_is_near_the_set_share() -> Result<()> {
    check_loss(Direction::Uplink, 10.0)
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_downlink_loss_is_near_the_set_share() -> Result<()> {
    check_loss(Direction::Downlink, 10.0)
}

fn gone(netns: &str, host_dev: &str, table: &str) -> Result<()> {
    if Path::new("/run/netns").join(netns).exists() {
        bail!("namespace {netns} is still there");
    }
    if Path::new("/sys/class/net").join(host_dev).exists() {
        bail!("interface {host_dev} is still there");
    }
    let listed = Command::new("nft")
        .args(["list", "table", "netdev", table])
        .output()?;
    if listed.status.success() {
        bail!("nft table {table} is still there");
    }
    Ok(())
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_commands_run_inside_and_drop_removes_everything() -> Result<()> {
    let lab = NetLab::new()?;
    let netns = lab.namespace().to_string();
    lab.set(Direction::Uplink, &LinkProfile::kbps(300).with_loss(1.0))?;
    // A profile the kernel would refuse is refused before it is asked, and changes nothing.
    let refused = lab.set(Direction::Uplink, &LinkProfile::kbps(0));
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        lab.profile(Direction::Uplink),
        LinkProfile::kbps(300).with_loss(1.0)
    );
    let out = lab
        .command("ip")
        .args(["-4", "-o", "addr", "show"])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{}/30", lab.member_addr())),
        "{text}"
    );
    assert!(!text.contains(&lab.host_addr().to_string()), "{text}");
    // A process left running inside is ended with the lab.
    let sleeper = lab.command("sleep").arg("60").spawn()?;
    let host_dev = format!("{netns}h");
    drop(lab);
    gone(&netns, &host_dev, &netns)?;
    let pid = sleeper.id();
    // It has left the namespace (the drop waited for that); the kernel needs a moment more to
    // turn it into a zombie, or to be gone.
    let dead =
        || std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !dead() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(dead(), "the process left inside still runs");
    Ok(())
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_a_panic_still_tears_the_lab_down() -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let result = std::thread::spawn(move || {
        let lab = NetLab::new().expect("lab");
        tx.send(lab.namespace().to_string()).expect("send");
        panic!("a test failing with the lab up");
    })
    .join();
    assert!(result.is_err());
    let netns = rx.recv()?;
    gone(&netns, &format!("{netns}h"), &netns)
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_leftovers_of_a_crashed_run_are_removed_and_labs_do_not_share_a_slot() -> Result<()> {
    // What a crashed run leaves: a namespace with the prefix whose slot nobody holds.
    let stale = "qlab1000";
    let status = Command::new("ip").args(["netns", "add", stale]).status()?;
    if !status.success() {
        bail!("could not make a stale namespace");
    }
    let a = NetLab::new()?;
    let b = NetLab::new()?;
    assert!(
        !Path::new("/run/netns").join(stale).exists(),
        "stale namespace kept"
    );
    assert_ne!(a.slot(), b.slot());
    assert_ne!(a.host_addr(), b.host_addr());
    // Each member reaches only its own host end.
    let listener = TcpListener::bind((a.host_addr(), 0))?;
    let to = listener.local_addr()?;
    let from_b = b.spawn_inside("cross", move || {
        TcpStream::connect_timeout(&to, Duration::from_millis(500)).is_ok()
    })?;
    let reached: bool = from_b.join().map_err(|_| anyhow::anyhow!("panicked"))??;
    assert!(!reached, "lab b reached lab a's host end");
    let from_a = a.spawn_inside("own", move || {
        TcpStream::connect_timeout(&to, Duration::from_millis(500)).is_ok()
    })?;
    assert!(from_a.join().map_err(|_| anyhow::anyhow!("panicked"))??);
    drop(listener);
    Ok(())
}
