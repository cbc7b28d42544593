//! The `quartet` binary as a tester uses it: a server process, members in terminals typing
//! messages, the room list, leaving — over real HTTP and WebSocket on loopback.

mod common;

use common::{Proc, run};

#[test]
fn host_join_chat_leave_and_list_through_the_binary() {
    // The server keeps its rooms where a tester's would: in a data directory of its own.
    let data = std::env::temp_dir().join(format!("quartet-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut server = Proc::start(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--rtmp-listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().expect("a UTF-8 temp path"),
    ]);
    let relay = server.expect("RTMP relay:");
    assert!(relay.contains("rtmp://127.0.0.1:"), "{relay}");
    let line = server.expect("room server: ");
    let url = line.trim_start_matches("room server: ").trim().to_owned();

    let (ok, out, _) = run(&["rooms", "--server", &url]);
    assert!(ok && out.contains("no multi_room rooms"), "{out}");

    let mut ann = Proc::start(&[
        "join", "--server", &url, "--create", "Standup", "--name", "Ann",
    ]);
    let joined = ann.expect("joined room ");
    let room_id = joined.split_whitespace().nth(2).unwrap().to_owned();
    assert!(room_id.starts_with("room_"), "{joined}");

    let (ok, out, _) = run(&["rooms", "--server", &url]);
    assert!(
        ok && out.contains(&room_id) && out.contains("1/4") && out.contains("Standup"),
        "{out}"
    );

    // Bob joins by the invite link the app copies.
    let link = format!(
        "quartet://join?server={}&room={room_id}",
        url.replace(':', "%3A").replace('/', "%2F")
    );
    let mut bob = Proc::start(&["join", "--link", &link, "--name", "Bob"]);
    bob.expect("joined room ");
    bob.expect("member Ann");
    ann.expect("+ Bob");

    bob.type_line("hello from bob");
    ann.expect("hello from bob");
    bob.expect("hello from bob");

    // End of input means "leave", as when a tester pipes a script in.
    bob.close_stdin();
    bob.expect("left room");
    assert!(bob.wait_exit().success());
    ann.expect("- Bob");

    // Ctrl-C leaves too; the creator leaving closes the room.
    ann.signal("-INT");
    ann.expect("left room");
    assert!(ann.wait_exit().success());
    let (ok, out, _) = run(&["rooms", "--server", &url]);
    assert!(ok && !out.contains(&room_id), "{out}");

    server.signal("-TERM");
    assert!(server.wait_exit().success());
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn bad_invocations_fail_with_a_clear_message() {
    let (ok, _, err) = run(&["join", "--server", "http://127.0.0.1:9", "--name", "Ann"]);
    assert!(!ok && err.contains("--room"), "{err}");
    let bad = "quartet://join?server=file:///etc/passwd&room=r";
    let (ok, _, err) = run(&["join", "--link", bad, "--name", "Ann"]);
    assert!(!ok && err.contains("not an http(s) address"), "{err}");

    let (ok, _, err) = run(&["server", "--no-relay"]);
    assert!(!ok && err.contains("--rtmp-base"), "{err}");

    let (ok, _, err) = run(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--rtmp-listen",
        "0.0.0.0:0",
    ]);
    assert!(!ok && err.contains("--rtmp-base rtmp://"), "{err}");

    let (ok, _, err) = run(&[
        "bot",
        "--server",
        "http://127.0.0.1:9",
        "--room",
        "r",
        "--video",
        "window",
    ]);
    assert!(!ok && err.contains("screen:NAME"), "{err}");

    // A recording directory that cannot exist (under a file) is refused before anything listens.
    let file = std::env::temp_dir().join(format!("quartet-cli-file-{}", std::process::id()));
    std::fs::write(&file, b"not a directory").expect("a temp file");
    let under_file = file.join("recordings");
    let (ok, _, err) = run(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--rtmp-listen",
        "127.0.0.1:0",
        "--ephemeral",
        "--record",
        under_file.to_str().expect("a UTF-8 temp path"),
    ]);
    let _ = std::fs::remove_file(&file);
    assert!(!ok && err.contains("cannot record into"), "{err}");

    // Nothing listens on port 9 (discard): a clear connection error, not a hang or a panic.
    let (ok, _, err) = run(&["rooms", "--server", "http://127.0.0.1:9"]);
    assert!(!ok && err.contains("could not list rooms"), "{err}");

    let (ok, _, err) = run(&[
        "join",
        "--server",
        "http://127.0.0.1:9",
        "--room",
        "room_1",
        "--name",
        "Ann",
    ]);
    assert!(!ok && err.contains("could not join"), "{err}");
}
