//! `quartet bot` as a tester runs it: two bots in a room on a `quartet server`, each writing
//! the grid it sees as a PNG and its figures as JSON.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{Proc, quartet, run};

/// A fresh directory of this test's own (tests run in parallel).
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quartet-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

/// How many distinct colours the `col`,`row` quadrant of a 2×2 grid has.
fn quadrant_colours(img: &image::RgbaImage, col: u32, row: u32) -> usize {
    let (w, h) = (img.width() / 2, img.height() / 2);
    let mut seen = std::collections::HashSet::new();
    for y in row * h..(row + 1) * h {
        for x in col * w..(col + 1) * w {
            seen.insert(img.get_pixel(x, y).0);
        }
    }
    seen.len()
}

#[test]
fn two_bots_see_each_other_and_write_grid_and_figures() {
    let dir = scratch_dir("bots");
    let mut server = Proc::start(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--rtmp-listen",
        "127.0.0.1:0",
        "--ephemeral",
    ]);
    let line = server.expect("room server: ");
    let url = line.trim_start_matches("room server: ").trim().to_owned();

    let (ann_png, ann_json) = (dir.join("ann.png"), dir.join("ann.json"));
    let mut ann = Proc::start(&[
        "bot",
        "--server",
        &url,
        "--create",
        "Bots",
        "--name",
        "Ann",
        "--width",
        "320",
        "--height",
        "180",
        "--snapshot",
        arg(&ann_png),
        "--stats-json",
        arg(&ann_json),
    ]);
    let joined = ann.expect("joined room ");
    let room_id = joined.split_whitespace().nth(2).unwrap().to_owned();

    let (ben_png, ben_json) = (dir.join("ben.png"), dir.join("ben.json"));
    let mut ben = Proc::start(&[
        "bot",
        "--server",
        &url,
        "--room",
        &room_id,
        "--name",
        "Ben",
        "--width",
        "320",
        "--height",
        "180",
        "--duration",
        "6",
        "--stats-every",
        "250",
        "--snapshot",
        arg(&ben_png),
        "--stats-json",
        arg(&ben_json),
    ]);
    ben.expect("member Ann");
    ben.expect("first picture from Ann");
    ann.expect("+ Ben");
    ann.expect("first picture from Ben");
    let stats = ben.expect("stats: Ann");
    assert!(
        stats.contains(" fps ") && stats.contains(" kbps"),
        "{stats}"
    );
    ben.expect("left room");
    assert!(ben.wait_exit().success());
    ann.expect("- Ben");

    // Ben's grid: himself top left, Ann top right, two empty tiles.
    let grid = image::open(&ben_png).unwrap().to_rgba8();
    assert_eq!(grid.dimensions(), (320, 180));
    assert!(quadrant_colours(&grid, 0, 0) > 50, "Ben's own picture");
    assert!(quadrant_colours(&grid, 1, 0) > 50, "Ann's picture");
    assert_eq!(quadrant_colours(&grid, 0, 1), 1, "an empty tile");
    assert_eq!(quadrant_colours(&grid, 1, 1), 1, "an empty tile");
    assert!(
        !std::fs::read_dir(&dir).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")),
        "no temporary file is left behind"
    );

    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ben_json).unwrap()).unwrap();
    let remote = figures["remote"].as_array().unwrap();
    assert_eq!(remote.len(), 1, "{figures}");
    let ann_figures = &remote[0];
    for key in [
        "userID",
        "framesDecoded",
        "latencyMsP50",
        "latencyMsP95",
        "latencyMsNow",
        "audioMaxGapMs",
        "firstFrameMs",
    ] {
        assert!(ann_figures.get(key).is_some(), "no {key} in {figures}");
    }
    assert!(
        ann_figures["framesDecoded"].as_u64().unwrap() > 0,
        "{figures}"
    );
    assert!(ann_figures["latencyMsP50"].as_f64().is_some(), "{figures}");
    // Ann was live up to the end, and her tone was heard.
    assert!(ann_figures["latencyMsNow"].as_f64().is_some(), "{figures}");
    assert!(ann_figures["audioMaxGapMs"].as_f64().is_some(), "{figures}");
    assert!(ann_figures["firstFrameMs"].as_f64().is_some(), "{figures}");

    // Ctrl-C: Ann leaves cleanly and still writes her figures (nobody left to play).
    ann.signal("-INT");
    ann.expect("left room");
    assert!(ann.wait_exit().success());
    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ann_json).unwrap()).unwrap();
    assert!(figures["remote"].is_array(), "{figures}");
    image::open(&ann_png).unwrap();

    server.signal("-TERM");
    assert!(server.wait_exit().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_ffmpeg_cli_publishes_for_a_member_who_joined_without_media() {
    let mut server = Proc::start(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--rtmp-listen",
        "127.0.0.1:0",
        "--ephemeral",
    ]);
    let line = server.expect("room server: ");
    let url = line.trim_start_matches("room server: ").trim().to_owned();
    let mut enc = Proc::start(&[
        "join",
        "--server",
        &url,
        "--create",
        "Peer",
        "--name",
        "Enc",
        "--no-stdin",
        "--print-push-url",
    ]);
    let push = enc.expect("push URL: ");
    let push = push.trim_start_matches("push URL: ").trim().to_owned();
    assert!(push.starts_with("rtmp://127.0.0.1:"), "{push}");
    let joined = enc.expect("joined room ");
    let room_id = joined.split_whitespace().nth(2).unwrap().to_owned();
    let _ffmpeg = quartet_testkit::ffmpeg_publish(&push, 320, 180, 15).unwrap();

    let mut viewer = Proc::start(&[
        "bot", "--server", &url, "--room", &room_id, "--name", "View", "--width", "320",
        "--height", "180",
    ]);
    viewer.expect("first picture from Enc");
    viewer.signal("-INT");
    assert!(viewer.wait_exit().success());
    enc.signal("-INT");
    enc.expect("left room");
    assert!(enc.wait_exit().success());
    server.signal("-TERM");
    assert!(server.wait_exit().success());
}

#[test]
fn bad_bot_invocations_fail_with_a_clear_message() {
    let run = |args: &[&str]| {
        let (ok, _, err) = run(args);
        (ok, err)
    };
    let (ok, err) = run(&["bot", "--server", "http://127.0.0.1:9", "--name", "A"]);
    assert!(!ok && err.contains("--room"), "{err}");
    let (ok, err) = run(&[
        "bot",
        "--server",
        "http://127.0.0.1:9",
        "--room",
        "room_1",
        "--name",
        "A",
        "--width",
        "321",
    ]);
    assert!(!ok && err.contains("321x"), "{err}");
    // Nothing listens on port 9: a clear connection error, not a hang.
    let (ok, err) = run(&[
        "bot",
        "--server",
        "http://127.0.0.1:9",
        "--room",
        "room_1",
        "--name",
        "A",
    ]);
    assert!(!ok && err.contains("could not join"), "{err}");
}

#[test]
fn the_demo_runs_a_call_of_three_bots_in_one_command() {
    let dir = scratch_dir("demo");
    let out = quartet(&[
        "demo",
        "--duration",
        "5",
        "--width",
        "320",
        "--height",
        "180",
        "--snapshot",
        arg(&dir),
    ])
    .stdin(Stdio::null())
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("room server: http://127.0.0.1:"),
        "{stdout}"
    );
    let room = stdout
        .lines()
        .find_map(|l| l.strip_prefix("demo room:"))
        .and_then(|l| l.split_whitespace().next())
        .expect("the demo prints its room");
    assert!(stdout.contains(&format!("--room {room}")), "{stdout}");
    for name in ["ann", "ben", "cho"] {
        assert!(
            stdout.contains(&format!(
                "[Demo {}{}] left room",
                name[..1].to_uppercase(),
                &name[1..]
            )),
            "{stdout}"
        );
        let grid = image::open(dir.join(format!("demo-{name}.png")))
            .unwrap()
            .to_rgba8();
        assert_eq!(grid.dimensions(), (320, 180));
        // Us and the two others have pictures; the fourth tile is empty.
        assert!(
            quadrant_colours(&grid, 0, 0) > 50,
            "demo-{name}: own picture"
        );
        assert!(quadrant_colours(&grid, 1, 0) > 50, "demo-{name}: tile 1");
        assert!(quadrant_colours(&grid, 0, 1) > 50, "demo-{name}: tile 2");
        assert_eq!(quadrant_colours(&grid, 1, 1), 1, "demo-{name}: empty tile");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ben's frames per second in a line of figures (`stats: Ben 14.9 fps …`).
fn ben_fps(line: &str) -> f64 {
    line.split_once("Ben ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|fps| fps.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn the_figures_keep_a_member_that_left_before_the_end() {
    let dir = scratch_dir("leaver");
    let mut server = Proc::start(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--rtmp-listen",
        "127.0.0.1:0",
        "--ephemeral",
    ]);
    let line = server.expect("room server: ");
    let url = line.trim_start_matches("room server: ").trim().to_owned();
    let ann_json = dir.join("ann.json");
    let mut ann = Proc::start(&[
        "bot",
        "--server",
        &url,
        "--create",
        "Leavers",
        "--name",
        "Ann",
        "--width",
        "320",
        "--height",
        "180",
        "--stats-every",
        "250",
        "--stats-json",
        arg(&ann_json),
    ]);
    let joined = ann.expect("joined room ");
    let room_id = joined.split_whitespace().nth(2).unwrap().to_owned();
    let mut ben = Proc::start(&[
        "bot", "--server", &url, "--room", &room_id, "--name", "Ben", "--width", "320", "--height",
        "180",
    ]);
    ann.expect("first picture from Ben");
    // Ann plays Ben for a while (pictures counted in her figures) before he leaves.
    while ben_fps(&ann.expect("stats: Ben")) < 10.0 {}
    ben.signal("-INT");
    ben.expect("left room");
    assert!(ben.wait_exit().success());
    ann.expect("- Ben");
    // Ann plays on alone for a while, then ends: Ben is long gone from her call.
    ann.expect("stats: nobody to play");
    ann.signal("-INT");
    ann.expect("left room");
    assert!(ann.wait_exit().success());

    let figures: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ann_json).unwrap()).unwrap();
    let remote = figures["remote"].as_array().unwrap();
    assert_eq!(remote.len(), 1, "{figures}");
    let ben_figures = &remote[0];
    assert_eq!(ben_figures["userName"], "Ben", "{figures}");
    assert_eq!(ben_figures["present"], false, "{figures}");
    assert!(
        ben_figures["framesDecoded"].as_u64().unwrap() > 0,
        "{figures}"
    );
    assert!(ben_figures["firstFrameMs"].as_f64().is_some(), "{figures}");
    let (from, until) = (
        ben_figures["playedFromS"].as_f64().unwrap(),
        ben_figures["playedUntilS"].as_f64().unwrap(),
    );
    assert!(0.0 <= from && from < until, "{figures}");

    server.signal("-TERM");
    assert!(server.wait_exit().success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_v1_bot_talks_as_the_mini_program_did() {
    // It carries no token: a server that wants one refuses it.
    let mut strict = Proc::start(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--rtmp-listen",
        "127.0.0.1:0",
        "--ephemeral",
    ]);
    let line = strict.expect("room server: ");
    let url = line.trim_start_matches("room server: ").trim().to_owned();
    let (ok, _, err) = run(&[
        "bot", "--server", &url, "--create", "V1", "--name", "Old", "--v1",
    ]);
    assert!(!ok && err.contains("code 7"), "{err}");
    strict.signal("-TERM");
    assert!(strict.wait_exit().success());

    // A server that lets anonymous members in, as the original did: it plays and is played,
    // sending the live-pusher's portrait stream.
    let mut server = Proc::start(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--rtmp-listen",
        "127.0.0.1:0",
        "--ephemeral",
        "--allow-anonymous",
    ]);
    let line = server.expect("room server: ");
    let url = line.trim_start_matches("room server: ").trim().to_owned();
    let mut ann = Proc::start(&[
        "bot", "--server", &url, "--create", "V1", "--name", "Ann", "--width", "320", "--height",
        "180",
    ]);
    let joined = ann.expect("joined room ");
    let room_id = joined.split_whitespace().nth(2).unwrap().to_owned();
    let mut old = Proc::start(&[
        "bot", "--server", &url, "--room", &room_id, "--name", "Old", "--v1",
    ]);
    old.expect("member Ann");
    old.expect("first picture from Ann");
    ann.expect("+ Old");
    ann.expect("first picture from Old");
    let figures = old.expect("stats: Ann");
    assert!(figures.contains("360×640 · 1000 kbps"), "{figures}");
    old.signal("-INT");
    old.expect("left room");
    assert!(old.wait_exit().success());
    ann.expect("- Old");
    ann.signal("-INT");
    assert!(ann.wait_exit().success());
    server.signal("-TERM");
    assert!(server.wait_exit().success());
}
