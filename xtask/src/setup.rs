//! What a fresh machine needs, installed when missing: Debian's packages through apt-get, the
//! front end's packages through `npm ci`, tauri-driver through `cargo install`. Running the app
//! needs less than testing it, so `run` installs only its own part (see `docs/fresh-machine.md`).

use crate::{cargo, e2e, run};
use anyhow::{Result, bail};
use std::path::Path;
use std::process::Command;

/// Debian packages that building and running Quartet need.
pub const RUN_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "clang",
    "libclang-dev",
    // The room client speaks HTTPS to any room server through the system's TLS.
    "libssl-dev",
    "libavcodec-dev",
    "libavformat-dev",
    "libavutil-dev",
    "libavdevice-dev",
    "libavfilter-dev",
    "libswscale-dev",
    "libswresample-dev",
    "libasound2-dev",
    // The desktop app and its H.264 decoding in the webview.
    "libwebkit2gtk-4.1-dev",
    "gstreamer1.0-libav",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-bad",
    // The UI speaks zh-CN, and avatars, the test pattern and grid snapshots draw names with
    // a system font: without a CJK font, Chinese would render as boxes.
    "fonts-noto-cjk",
];

/// Debian packages only the tests and benchmarks need (see `shared/notes/stack-on-debian.md`).
pub const TEST_PACKAGES: &[&str] = &[
    "ffmpeg",
    "nginx",
    "libnginx-mod-rtmp",
    // The shared room store's tests and benchmark run a real Redis.
    "redis-server",
    // The audio benchmark's speech and noise.
    "espeak-ng",
    "sox",
    // The real-window test and screen sharing under a virtual display.
    "xvfb",
    "xauth",
    "imagemagick",
    "webkit2gtk-driver",
    // The network lab: random loss per direction (iproute2 brings ip and tc).
    "nftables",
];

/// Debian's Node.js and npm, installed when the machine has no `node` at all.
pub const NODE_PACKAGES: &[&str] = &["nodejs", "npm"];

/// The oldest Node.js the front end's tools run on (Vite 6, Vitest 3, jsdom 26): Debian 12's
/// and Ubuntu 24.04's own.
pub const MIN_NODE: (u32, u32) = (18, 0);

/// tauri-driver, the WebDriver bridge of the real-window test (major version 2, like Tauri).
const TAURI_DRIVER_VERSION: &str = "^2";

/// How much of the machine a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Building and running: the app, the server, an installer.
    Run,
    /// Everything the tests and benchmarks use as well.
    Test,
}

/// Installs what `need` asks for that is missing.
pub fn setup(need: Need) -> Result<()> {
    let mut packages = RUN_PACKAGES.to_vec();
    if need == Need::Test {
        packages.extend_from_slice(TEST_PACKAGES);
    }
    if node_version().is_none() {
        packages.extend_from_slice(NODE_PACKAGES);
    }
    install_packages(&packages)?;
    ui_packages()?;
    if need == Need::Test {
        tauri_driver()?;
        cargo_deny()?;
    }
    Ok(())
}

/// cargo-deny, which checks licences, sources and advisories in `cargo xtask test`.
const CARGO_DENY_VERSION: &str = "^0.20";

fn cargo_deny() -> Result<()> {
    let present = cargo()
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    cargo_install("cargo-deny", CARGO_DENY_VERSION, "a few minutes")
}

/// `v20.19.2` → (20, 19).
pub fn parse_node_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

fn node_version() -> Option<(u32, u32)> {
    let out = Command::new("node").arg("--version").output().ok()?;
    parse_node_version(&String::from_utf8_lossy(&out.stdout))
}

/// Installs those of `packages` that are missing, through apt-get (sudo when not root).
pub fn install_packages(packages: &[&str]) -> Result<()> {
    if !Path::new("/usr/bin/dpkg-query").exists() {
        eprintln!(
            "xtask: this is not a Debian or Ubuntu system, so nothing is installed automatically.\n\
             Install these (or your system's equivalents) yourself: {}\n\
             See README.md for Windows and macOS.",
            packages.join(" ")
        );
        return Ok(());
    }
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask: installing {} missing system packages (a few minutes on a fresh machine): {}",
        missing.len(),
        missing.join(" ")
    );
    run(&mut apt(&["update"]))?;
    // A package that starts a service when installed (nginx would take port 80) must not: the
    // tests start their own. Debian's invoke-rc.d asks policy-rc.d, and 101 means "not now".
    let hold = !Path::new(POLICY_RC_D).exists();
    if hold {
        run(&mut privileged(&[
            "sh",
            "-c",
            &format!("printf '#!/bin/sh\\nexit 101\\n' > {POLICY_RC_D} && chmod 755 {POLICY_RC_D}"),
        ]))?;
    }
    let installed = run(apt(&["install", "-y", "--no-install-recommends"]).args(&missing));
    if hold {
        run(&mut privileged(&["rm", "-f", POLICY_RC_D]))?;
    }
    installed
}

/// Debian's hook that decides whether installing a package may start its service.
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// `args` as root: directly when we are, through sudo otherwise.
fn privileged(args: &[&str]) -> Command {
    let mut c = if is_root() {
        Command::new(args[0])
    } else {
        let mut c = Command::new("sudo");
        c.arg(args[0]);
        c
    };
    c.args(&args[1..]);
    c
}

/// apt-get with `args`, its progress one line per step (no terminal tricks in a CI log).
fn apt(args: &[&str]) -> Command {
    let mut c = privileged(&["apt-get", "-o", "Dpkg::Use-Pty=0", "-q"]);
    c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    c
}

/// `npm ci` in ui/ when its packages are missing (the app's build embeds ui/dist).
fn ui_packages() -> Result<()> {
    match node_version() {
        None => bail!(
            "the desktop app's front end needs Node.js {}.{} or newer with npm, and there is no \
             `node` here: install it (your package manager's nodejs and npm, or nodejs.org) \
             and run this again",
            MIN_NODE.0,
            MIN_NODE.1
        ),
        Some(v) if v < MIN_NODE => bail!(
            "Node.js {}.{} is too old for the front end's tools, which need {}.{} or newer: \
             install a newer one (nodejs.org, or nvm) and run this again",
            v.0,
            v.1,
            MIN_NODE.0,
            MIN_NODE.1
        ),
        Some(_) => {}
    }
    if packages_current() {
        return Ok(());
    }
    eprintln!("xtask: installing the front end's packages (npm ci in ui/)");
    run(Command::new(npm())
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir("ui"))
}

/// Whether ui/node_modules holds what ui/package-lock.json asks for: npm records what it
/// installed in node_modules/.package-lock.json, so a lock file changed since (a new tool)
/// means installing again.
fn packages_current() -> bool {
    let modified = |p: &str| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified("ui/node_modules/.package-lock.json"),
        modified("ui/package-lock.json"),
    ) {
        (Some(installed), Some(wanted)) => installed >= wanted,
        _ => false,
    }
}

/// npm's name on this system.
pub fn npm() -> &'static str {
    if cfg!(windows) { "npm.cmd" } else { "npm" }
}

/// tauri-driver for the real-window test (Linux only: it drives WebKitGTK).
fn tauri_driver() -> Result<()> {
    if std::env::consts::OS != "linux" || e2e::tauri_driver().is_some() {
        return Ok(());
    }
    cargo_install("tauri-driver", TAURI_DRIVER_VERSION, "about a minute")
}

/// `cargo install` of `krate` at `version` from its lock file; `takes` says how long, for the
/// person waiting.
fn cargo_install(krate: &str, version: &str, takes: &str) -> Result<()> {
    eprintln!("xtask: installing {krate} (cargo install, {takes})");
    run(cargo().args(["install", krate, "--version", version, "--locked"]))
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_versions_are_read_as_node_prints_them() {
        assert_eq!(parse_node_version("v18.19.0\n"), Some((18, 19)));
        assert_eq!(parse_node_version("v20.20.2"), Some((20, 20)));
        assert_eq!(parse_node_version("node"), None);
        assert!(parse_node_version("v18.19.0").unwrap() >= MIN_NODE);
        assert!(parse_node_version("v16.20.0").unwrap() < MIN_NODE);
    }

    #[test]
    fn running_needs_no_test_tool() {
        for p in [
            "nginx",
            "xvfb",
            "imagemagick",
            "webkit2gtk-driver",
            "ffmpeg",
        ] {
            assert!(!RUN_PACKAGES.contains(&p), "{p}");
            assert!(TEST_PACKAGES.contains(&p), "{p}");
        }
    }
}
