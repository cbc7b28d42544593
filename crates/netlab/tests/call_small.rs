//! A weak downlink and small streams, across the lab: a member behind 300 kbit/s plays the
//! other's small stream within seconds, and its main stream again once the limit is lifted.
//! Needs root and the `quartet` binary (`cargo build -p quartet`, or `QUARTET_BIN`); ignored in
//! a plain `cargo test`, run by `cargo xtask test` as root.

mod common;

use common::{Running, free_port, quartet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use quartet_netlab::{Direction, LinkProfile, NetLab};

/// The member on the host's side, whose stream the weak one plays.
const STRONG: &str = "strong";
/// Longest the weak member may take to play the small stream behind the narrow link: the
/// policy goes down after 1.5 s of a heavy main stream; the rest is start-up on a loaded machine.
const DOWN_WITHIN: Duration = Duration::from_secs(20);
/// Longest it may take to play the main stream again once the link is wide: the policy tries
/// it after 10 s of a roomy small stream.
const UP_WITHIN: Duration = Duration::from_secs(30);

/// The stream (`main`, `small`) the tile named [`STRONG`] plays in a bot's stats line.
fn line_stream(line: &str) -> Option<&str> {
    let tile = line.split(&format!("stats: {STRONG} ")).nth(1)?;
    let words: Vec<&str> = tile.split('|').next()?.split_whitespace().collect();
    (words.len() == 7 && words[1] == "fps").then(|| words[6])
}

/// Lines of a child's stdout, as they come.
fn lines_of(child: &mut Child) -> Result<mpsc::Receiver<String>> {
    let out = child.stdout.take().context("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// Waits up to `within` for a line for which `wanted` holds; the lines seen, on failure.
fn wait_line(
    rx: &mpsc::Receiver<String>,
    within: Duration,
    wanted: impl Fn(&str) -> bool,
) -> Result<String> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if wanted(&line) => return Ok(line),
            Ok(line) => seen.push(line),
            Err(mpsc::RecvTimeoutError::Timeout) => break,
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the bot ended: {seen:#?}"),
        }
    }
    bail!("not within {within:?}: {seen:#?}")
}

#[test]
#[ignore = "needs root: network lab"]
fn netlab_a_weak_downlink_plays_the_small_stream_and_the_main_one_when_it_widens() -> Result<()> {
    let quartet = quartet()?;
    let lab = NetLab::new()?;
    lab.set(Direction::Downlink, &LinkProfile::kbps(300))?;
    let host = lab.host_addr();
    let (http, rtmp) = (free_port(host)?, free_port(host)?);
    let server_url = format!("http://{host}:{http}");
    let _server = Running(
        Command::new(&quartet)
            .args(["server", "--listen", &format!("{host}:{http}")])
            .args(["--rtmp-listen", &format!("{host}:{rtmp}"), "--ephemeral"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    std::thread::sleep(Duration::from_secs(1));
    let stays = (DOWN_WITHIN + UP_WITHIN + Duration::from_secs(10))
        .as_secs()
        .to_string();
    let mut strong = Running(
        Command::new(&quartet)
            .args([
                "bot",
                "--server",
                &server_url,
                "--create",
                "lab",
                "--name",
                STRONG,
            ])
            .args(["--duration", &stays])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let strong_lines = lines_of(&mut strong.0)?;
    let joined = wait_line(&strong_lines, Duration::from_secs(20), |l| {
        l.contains("joined room ")
    })?;
    let room = joined
        .split("joined room ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .context("no room")?
        .to_owned();
    std::thread::spawn(move || strong_lines.iter().for_each(drop));

    let mut weak = Running(
        lab.command(&quartet)
            .args([
                "bot",
                "--server",
                &server_url,
                "--room",
                &room,
                "--name",
                "weak",
            ])
            .args(["--duration", &stays, "--stats-every", "500"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let lines = lines_of(&mut weak.0)?;
    let down = wait_line(&lines, DOWN_WITHIN, |l| line_stream(l) == Some("small"))?;
    println!("behind 300 kbit/s: {down}");
    lab.set(Direction::Downlink, &LinkProfile::unshaped())?;
    let up = wait_line(&lines, UP_WITHIN, |l| line_stream(l) == Some("main"))?;
    println!("link lifted: {up}");
    Ok(())
}

#[test]
fn the_stream_is_read_from_the_stats_line() {
    let line = "stats: strong 14.0 fps 67 ms 180 kbps small | out 15.0 fps 406 kbps";
    assert_eq!(line_stream(line), Some("small"));
    let line = "stats: strong 14.0 fps - ms 480 kbps main | out 15.0 fps 406 kbps";
    assert_eq!(line_stream(line), Some("main"));
    assert_eq!(line_stream("stats: nobody to play | not sending"), None);
}
