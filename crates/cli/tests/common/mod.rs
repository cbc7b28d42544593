//! The `quartet` binary as a child process: lines it prints, lines typed into it, signals.

#![allow(dead_code)] // each test file uses its own part
#![allow(clippy::unwrap_used)] // a failing helper fails its test the same way

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Generous: these wait for events, they do not measure speed.
pub const WAIT: Duration = Duration::from_secs(60);

/// A running `quartet` with its output read line by line.
pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    /// Starts `quartet args…` with standard input open for [`Proc::type_line`].
    pub fn start(args: &[&str]) -> Proc {
        let mut child = quartet(args)
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
    pub fn expect(&mut self, needle: &str) -> String {
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

    /// Types `text` and Enter.
    pub fn type_line(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{text}").unwrap();
        stdin.flush().unwrap();
    }

    /// Ends standard input (Ctrl-D).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Sends a signal such as `-INT`.
    pub fn signal(&self, sig: &str) {
        let sent = Command::new("kill")
            .arg(sig)
            .arg(self.child.id().to_string())
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "kill {sig} failed");
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
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

/// The `quartet` command with `args`, logging warnings only.
pub fn quartet(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quartet"));
    cmd.args(args).env("RUST_LOG", "warn");
    cmd
}

/// Runs `quartet args…` to the end: (succeeded, stdout, stderr).
pub fn run(args: &[&str]) -> (bool, String, String) {
    let out = quartet(args).stdin(Stdio::null()).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
