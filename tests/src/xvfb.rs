//! A virtual X display of a test's own, for what captures screens and windows.

use anyhow::{Context, Result, bail};
use quartet_testkit::require;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Longest an Xvfb takes to be ready.
pub const XVFB_START: Duration = Duration::from_secs(10);

/// An Xvfb of our own, ended when dropped.
pub struct Xvfb {
    child: Child,
    /// Its display name (`:N`).
    pub name: String,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // A terminated Xvfb removes its socket and lock file; a killed one would leave them
        // for every later run to step around.
        let pid = rustix::process::Pid::from_child(&self.child);
        if rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_err() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Starts Xvfb with one `width`×`height` screen on a display number it finds free itself
/// (`-displayfd`), so tests that run at once never race for the same one.
pub fn start_xvfb(width: u32, height: u32) -> Result<Xvfb> {
    let xvfb = require("Xvfb", "Debian package xvfb")?;
    let mut child = Command::new(xvfb)
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            &format!("{width}x{height}x24"),
            "-nolisten",
            "tcp",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("Xvfb's output")?;
    // Xvfb prints its display number once it accepts clients, or exits (closing its output).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let number = rx.recv_timeout(XVFB_START).unwrap_or_default();
    let number = number.trim();
    let x = Xvfb {
        child,
        name: format!(":{number}"),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        bail!("Xvfb did not start");
    }
    Ok(x)
}
