//! A `quartet bot` behind a 300 kbit/s uplink, talking to a server on the host's end of the lab.
//!
//! `cargo run -p quartet-netlab --example bot_behind_uplink -- target/debug/quartet` (as root).

use std::process::{Command, Stdio};
use std::time::Duration;

use quartet_netlab::{Direction, LinkProfile, NetLab};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quartet = std::env::args().nth(1).unwrap_or_else(|| "quartet".into());
    let lab = NetLab::new()?;
    lab.set(Direction::Uplink, &LinkProfile::kbps(300))?;
    let host = lab.host_addr();
    let mut server = Command::new(&quartet)
        .args(["server", "--listen", &format!("{host}:18080")])
        .args(["--rtmp-listen", &format!("{host}:11935")])
        .stdout(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_secs(1));
    let status = lab
        .command(&quartet)
        .args(["bot", "--server", &format!("http://{host}:18080")])
        .args(["--create", "lab", "--name", "weak", "--duration", "8"])
        .status();
    server.kill()?;
    server.wait()?;
    println!("bot behind {} kbit/s: {:?}", 300, status?);
    Ok(())
}
