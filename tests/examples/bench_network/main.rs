//! Network benchmark: `quartet bot`s in a call through a release `quartet server`, one member
//! behind a narrow, lossy or slow link of the network lab, and what the others see of the
//! stream across that link (and what it sees of theirs): frame-clock latency p50/p95, delivered
//! fps and kbit/s, and after a step of the link how long latency and bitrate take to recover.
//!
//! Needs root (the lab's namespace, veth pair, `tc` and nftables) and so Linux.

#[cfg(target_os = "linux")]
mod figures;
#[cfg(target_os = "linux")]
mod peer;
#[cfg(target_os = "linux")]
mod procs;
#[cfg(target_os = "linux")]
mod run;

/// The network lab exists on Linux only.
#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("bench_network needs Linux: its lab is made of network namespaces, tc and nftables");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
fn main() -> anyhow::Result<()> {
    run::main()
}
