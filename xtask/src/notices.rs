//! The Rust crates compiled into Quartet and their licences, as `licenses/rust-crates.md`: written
//! by `cargo xtask notices` from Cargo.lock, and checked by `cargo xtask test`, so a dependency
//! added without its notice fails the suite.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Where the list is kept (and bundled, see `src-tauri/tauri.conf.json`).
pub const CRATE_NOTICES: &str = "licenses/rust-crates.md";

/// One crate of the dependency graph that is not ours.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Crate {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its SPDX licence expression, as it declares it.
    pub license: String,
    /// Where its source lives, if it says.
    pub repository: String,
}

/// Every crate of `cargo metadata`'s JSON that comes from a registry, sorted.
pub fn crates(metadata: &Value) -> Vec<Crate> {
    let text = |p: &Value, k: &str| p[k].as_str().unwrap_or("").to_owned();
    let mut list: Vec<Crate> = metadata["packages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        // Path crates (source null) are the workspace's own.
        .filter(|p| p["source"].is_string())
        .map(|p| Crate {
            name: text(p, "name"),
            version: text(p, "version"),
            license: p["license"]
                .as_str()
                .unwrap_or("see its repository")
                .to_owned(),
            repository: text(p, "repository"),
        })
        .collect();
    list.sort();
    list
}

/// The list as Markdown.
pub fn render(crates: &[Crate]) -> String {
    let mut out = String::from(
        "# Rust crates in Quartet\n\n\
         Every crate of Cargo.lock that Quartet is built from (on any platform), with the licence \
         it declares. Written by `cargo xtask notices`; `cargo xtask test` fails when it is out \
         of date. FFmpeg, x264 and the system's web view are in `THIRD-PARTY-NOTICES.md`.\n\n\
         | crate | version | licence | source |\n|---|---|---|---|\n",
    );
    for c in crates {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            c.name,
            c.version,
            c.license.replace('|', "\\|"),
            c.repository
        ));
    }
    out
}

fn current() -> Result<String> {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .context("could not run cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let metadata: Value = serde_json::from_slice(&out.stdout)?;
    Ok(render(&crates(&metadata)))
}

/// Writes the list.
pub fn write(root: &Path) -> Result<()> {
    std::fs::write(root.join(CRATE_NOTICES), current()?)?;
    eprintln!("xtask: wrote {CRATE_NOTICES}");
    Ok(())
}

/// Fails when the list does not match Cargo.lock.
pub fn check(root: &Path) -> Result<()> {
    let kept = std::fs::read_to_string(root.join(CRATE_NOTICES)).unwrap_or_default();
    if kept != current()? {
        bail!("{CRATE_NOTICES} is out of date with Cargo.lock: run `cargo xtask notices`");
    }
    Ok(())
}

/// `cargo deny`: licences, banned crates and sources must pass; advisories too, when the
/// advisory database can be fetched (a machine without GitHub says it skipped them).
pub fn deny() -> Result<()> {
    let cargo = || Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    crate::run(cargo().args(["deny", "--locked", "check", "licenses", "bans", "sources"]))?;
    let fetched = cargo()
        .args(["deny", "fetch", "db"])
        .output()
        .context("could not run cargo deny fetch")?;
    if !fetched.status.success() {
        let why = String::from_utf8_lossy(&fetched.stderr);
        let why = why
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        eprintln!("xtask: advisories skipped: the advisory database cannot be fetched ({why})");
        return Ok(());
    }
    crate::run(cargo().args(["deny", "--locked", "check", "--disable-fetch", "advisories"]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_registry_crates_are_listed_in_order_with_their_licence() {
        let metadata = json!({"packages": [
            {"name": "zeta", "version": "1.0.0", "license": "MIT", "source": "registry+x", "repository": "r"},
            {"name": "quartet-call", "version": "0.1.0", "license": "MIT OR Apache-2.0", "source": null},
            {"name": "alpha", "version": "0.2.0", "license": null, "source": "registry+x"},
        ]});
        let list = crates(&metadata);
        assert_eq!(
            list.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["alpha", "zeta"]
        );
        assert_eq!(list[0].license, "see its repository");
        assert!(render(&list).contains("| zeta | 1.0.0 | MIT | r |"));
    }
}
