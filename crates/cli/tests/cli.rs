//! The `quartet` binary as a tester uses it: a server process, members in terminals typing
//! messages, the room list, leaving — over real HTTP and WebSocket on loopback.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions fail the test the same way

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Generous: these wait for events, they do not measure speed.
const WAIT: Duration = Duration::from_secs(30);

struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn start(args: &[&str]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_quartet"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Proc {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line (from now on) containing `needle`.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line containing {needle:?}; saw {:#?}", self.seen),
            }
        }
    }

    fn type_line(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{text}").unwrap();
        stdin.flush().unwrap();
    }

    fn close_stdin(&mut self) {
        self.stdin.take();
    }

    fn signal(&self, sig: &str) {
        Command::new("kill")
            .arg(sig)
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("process did not exit; saw {:#?}", self.seen);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_quartet"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn host_join_chat_leave_and_list_through_the_binary() {
    let mut server = Proc::start(&[
        "server",
        "--listen",
        "127.0.0.1:0",
        "--rtmp-listen",
        "127.0.0.1:0",
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

    let mut bob = Proc::start(&[
        "join", "--server", &url, "--room", &room_id, "--name", "Bob",
    ]);
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
}

#[test]
fn bad_invocations_fail_with_a_clear_message() {
    let (ok, _, err) = run(&["join", "--server", "http://127.0.0.1:9", "--name", "Ann"]);
    assert!(!ok && err.contains("--room"), "{err}");

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
