//! What the lab's call tests share: the `quartet` binary, children that die with the test, and
//! free ports on the lab's addresses.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Child;

use anyhow::{Context, Result, ensure};

/// The `quartet` binary: `QUARTET_BIN`, or the one built beside this test.
pub fn quartet() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("QUARTET_BIN") {
        return Ok(bin.into());
    }
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("quartet"))
        .context("no target directory")?;
    ensure!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p quartet) or set QUARTET_BIN",
        bin.display()
    );
    Ok(bin)
}

/// A child killed when dropped, so a failing test leaves nothing running.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free port on `ip` (the lab's addresses are its own, so nothing else races for it).
pub fn free_port(ip: std::net::Ipv4Addr) -> Result<u16> {
    Ok(TcpListener::bind((ip, 0))?.local_addr()?.port())
}
