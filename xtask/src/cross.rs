//! `cargo xtask cross-check`: type-checks the whole workspace for Windows and macOS from
//! Debian, so every platform branch (dshow and avfoundation cameras, WASAPI and CoreAudio,
//! the app's permission paths, its Windows resources) at least compiles. Real builds happen on
//! those systems with their own FFmpeg; this only proves the Rust code is right for them.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The platforms our users run, besides the Linux we build on.
pub const TARGETS: &[&str] = &["x86_64-pc-windows-msvc", "aarch64-apple-darwin"];

/// Debian packages the cross-check needs: Windows C headers for bindgen, clang to preprocess
/// the app's Windows resource script, llvm-rc to compile it, and llvm-ar.
pub const PACKAGES: &[&str] = &["mingw-w64-x86-64-dev", "llvm", "clang", "libclang-dev"];

/// Headers bindgen reads beside those of the libraries the app links
/// ([`crate::bundle::FFMPEG_LIBS`]).
const BINDGEN_ONLY_LIBS: &[&str] = &["postproc"];

/// Where Debian keeps FFmpeg's headers.
const FFMPEG_INCLUDE: &str = "/usr/include/x86_64-linux-gnu";

/// The app's build script builds the page unless this is set.
const SKIP_UI_BUILD_ENV: &str = "QUARTET_SKIP_UI_BUILD";

/// Where the checks keep their build state, apart from the native `target/debug`.
const CROSS_DIR: &str = "target/cross";

/// Checks every target whose standard library is (or can be) installed; says plainly which it
/// skips and why.
pub fn cross_check(root: &Path) -> Result<()> {
    if std::env::consts::OS != "linux" {
        eprintln!(
            "xtask: SKIPPING the cross-check: it runs on Linux (with Debian's FFmpeg headers); \
             here the native build and tests check this platform"
        );
        return Ok(());
    }
    let ffmpeg_dir = ffmpeg_headers_only(root)?;
    // Nothing else compiles these targets' cfg branches, so a warning there would go unseen.
    let rustflags = match std::env::var("RUSTFLAGS") {
        Ok(flags) if !flags.trim().is_empty() => format!("{flags} -D warnings"),
        _ => "-D warnings".to_owned(),
    };
    // The page is only embedded, never type-checked, so an existing build of it will do and
    // saves an npm build per target; without one the app's build script makes it.
    let skip_ui = root.join("ui/dist/index.html").is_file();
    let installed = installed_targets();
    let mut skipped = Vec::new();
    for target in TARGETS {
        if !installed.iter().any(|t| t == target) && !add_target(target) {
            eprintln!(
                "xtask: SKIPPING the {target} check: its standard library is not installed and \
                 `rustup target add {target}` failed (offline, or a toolchain not managed by rustup)"
            );
            skipped.push(*target);
            continue;
        }
        let mut check = crate::cargo();
        check
            .args([
                "check",
                "--workspace",
                // The network lab drives Linux's namespaces, tc and nftables: Linux only.
                "--exclude",
                "quartet-netlab",
                "--all-targets",
                "--locked",
                "--target",
                target,
            ])
            .arg("--target-dir")
            .arg(root.join(CROSS_DIR))
            .env("FFMPEG_DIR", &ffmpeg_dir)
            .env("RUSTFLAGS", &rustflags);
        if skip_ui {
            check.env(SKIP_UI_BUILD_ENV, "1");
        }
        for (key, value) in target_env(target) {
            check.env(key, value);
        }
        crate::run(&mut check).with_context(|| format!("the {target} check failed"))?;
    }
    if skipped.is_empty() {
        eprintln!("xtask: cross-check passed for {}", TARGETS.join(", "));
    } else {
        eprintln!(
            "xtask: cross-check SKIPPED {} (see above)",
            skipped.join(", ")
        );
    }
    Ok(())
}

/// The targets rustup has a standard library for (none when rustup is missing).
fn installed_targets() -> Vec<String> {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn add_target(target: &str) -> bool {
    eprintln!("$ rustup target add {target}");
    Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .is_ok_and(|s| s.success())
}

/// What lets the build scripts of `target` run on Linux (see shared/notes/stack-on-debian.md).
pub fn target_env(target: &str) -> Vec<(&'static str, &'static str)> {
    match target {
        "x86_64-pc-windows-msvc" => vec![
            (
                "BINDGEN_EXTRA_CLANG_ARGS_x86_64_pc_windows_msvc",
                "--target=x86_64-w64-mingw32 -I/usr/x86_64-w64-mingw32/include -D__AMXINTRIN_H",
            ),
            // tauri-build compiles the app's icon and manifest into a resource with llvm-rc,
            // after a C preprocessor pass; gcc would do it too but cc-rs warns that it does
            // not speak to MSVC targets.
            ("CC_x86_64_pc_windows_msvc", "clang"),
        ],
        "aarch64-apple-darwin" => vec![
            (
                "BINDGEN_EXTRA_CLANG_ARGS_aarch64_apple_darwin",
                "--target=x86_64-linux-gnu",
            ),
            ("CC_aarch64_apple_darwin", "clang"),
            ("AR_aarch64_apple_darwin", "llvm-ar"),
            // The notification plugin's and objc2's small Objective-C shims need Apple's SDK,
            // which Linux lacks; their build scripts skip them under DOCS_RS (as on docs.rs,
            // which builds on Linux too). `cargo check` links nothing, so nothing is missed.
            ("DOCS_RS", "1"),
        ],
        _ => Vec::new(),
    }
}

/// An FFMPEG_DIR whose `include/` is Debian's FFmpeg headers and whose `lib/` is empty: enough
/// for bindgen, and nothing is linked by `cargo check`.
fn ffmpeg_headers_only(root: &Path) -> Result<PathBuf> {
    let dir = root.join(CROSS_DIR).join("ffmpeg");
    let include = dir.join("include");
    std::fs::create_dir_all(&include)?;
    std::fs::create_dir_all(dir.join("lib"))?;
    for lib in crate::bundle::FFMPEG_LIBS.iter().chain(BINDGEN_ONLY_LIBS) {
        let lib = format!("lib{lib}");
        let link = include.join(&lib);
        let source = Path::new(FFMPEG_INCLUDE).join(&lib);
        if !source.is_dir() {
            continue;
        }
        if link.symlink_metadata().is_ok() {
            std::fs::remove_file(&link)?;
        }
        symlink(&source, &link)?;
    }
    Ok(dir)
}

#[cfg(unix)]
fn symlink(source: &Path, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(source, link).with_context(|| format!("linking {}", link.display()))
}

#[cfg(not(unix))]
fn symlink(_: &Path, _: &Path) -> Result<()> {
    anyhow::bail!("the cross-check runs on Linux only; build natively on Windows and macOS")
}
