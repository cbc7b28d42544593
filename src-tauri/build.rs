//! Builds the web front end (when its sources changed) so `cargo build` embeds a current
//! `ui/dist`, then lets Tauri generate its context.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set to skip building the front end (e.g. when `ui/dist` was built by other means).
const SKIP_ENV: &str = "QUARTET_SKIP_UI_BUILD";

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let ui = manifest.join("../ui");
    for input in [
        "src",
        "public",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
    ] {
        println!("cargo:rerun-if-changed={}", ui.join(input).display());
    }
    println!("cargo:rerun-if-env-changed={SKIP_ENV}");
    if std::env::var_os(SKIP_ENV).is_none()
        && let Err(message) = build_ui(&ui)
    {
        if ui.join("dist/index.html").exists() {
            println!("cargo:warning=using the existing ui/dist: {message}");
        } else {
            panic!("{message}");
        }
    }
    tauri_build::build();
}

fn build_ui(ui: &Path) -> Result<(), String> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if !ui.join("node_modules").exists() {
        npm_run(ui, npm, &["ci", "--no-audit", "--no-fund"])?;
    }
    npm_run(ui, npm, &["run", "build"])
}

fn npm_run(ui: &Path, npm: &str, args: &[&str]) -> Result<(), String> {
    let status = Command::new(npm)
        .args(args)
        .current_dir(ui)
        // A build script's stdout carries directives to cargo, so npm talks on stderr.
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| {
            format!(
                "cannot run `{npm} {}` in ui/ ({e}): install Node.js 20+ and npm, or run `cargo xtask setup`",
                args.join(" ")
            )
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{npm} {}` in ui/ failed ({status})",
            args.join(" ")
        ))
    }
}
