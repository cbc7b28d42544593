//! `cargo xtask cross-check`: type-checks the whole workspace for Windows and macOS from
//! Debian, so every platform branch (dshow and avfoundation cameras, WASAPI and CoreAudio,
//! the app's permission paths) at least compiles. Real builds happen on those systems with
//! their own FFmpeg; this only proves the Rust code is right for them.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The platforms our users run, besides the Linux we build on.
const TARGETS: &[&str] = &["x86_64-pc-windows-msvc", "aarch64-apple-darwin"];

/// Debian packages the cross-check needs: Windows C headers for bindgen, and llvm-ar.
pub const PACKAGES: &[&str] = &["mingw-w64-x86-64-dev", "llvm", "clang", "libclang-dev"];

/// FFmpeg's libraries whose headers bindgen reads.
const FFMPEG_LIBS: &[&str] = &[
    "libavcodec",
    "libavdevice",
    "libavfilter",
    "libavformat",
    "libavutil",
    "libpostproc",
    "libswresample",
    "libswscale",
];

/// Where Debian keeps FFmpeg's headers.
const FFMPEG_INCLUDE: &str = "/usr/include/x86_64-linux-gnu";

/// Checks every target whose standard library can be installed; says plainly which it skips.
pub fn cross_check(root: &Path) -> Result<()> {
    let ffmpeg_dir = ffmpeg_headers_only(root)?;
    let mut skipped = Vec::new();
    for target in TARGETS {
        let added = Command::new("rustup")
            .args(["target", "add", target])
            .status();
        if !matches!(added, Ok(s) if s.success()) {
            eprintln!(
                "xtask: SKIPPING the {target} check: its standard library could not be installed \
                 (`rustup target add {target}` failed; offline or no rustup?)"
            );
            skipped.push(*target);
            continue;
        }
        let mut check = crate::cargo();
        check
            .args([
                "check",
                "--workspace",
                "--all-targets",
                "--locked",
                "--target",
                target,
            ])
            .arg("--target-dir")
            .arg(root.join("target/cross"))
            .env("FFMPEG_DIR", &ffmpeg_dir);
        for (key, value) in target_env(target) {
            check.env(key, value);
        }
        crate::run(&mut check).with_context(|| format!("the {target} check failed"))?;
    }
    if !skipped.is_empty() {
        eprintln!("xtask: cross-check skipped {}", skipped.join(", "));
    }
    Ok(())
}

/// Hints that let bindgen and cc work for `target` on Linux (see shared/notes/stack-on-debian.md).
fn target_env(target: &str) -> Vec<(&'static str, &'static str)> {
    match target {
        "x86_64-pc-windows-msvc" => vec![(
            "BINDGEN_EXTRA_CLANG_ARGS_x86_64_pc_windows_msvc",
            "--target=x86_64-w64-mingw32 -I/usr/x86_64-w64-mingw32/include -D__AMXINTRIN_H",
        )],
        "aarch64-apple-darwin" => vec![
            (
                "BINDGEN_EXTRA_CLANG_ARGS_aarch64_apple_darwin",
                "--target=x86_64-linux-gnu",
            ),
            ("CC_aarch64_apple_darwin", "clang"),
            ("AR_aarch64_apple_darwin", "llvm-ar"),
        ],
        _ => Vec::new(),
    }
}

/// An FFMPEG_DIR whose `include/` is Debian's FFmpeg headers and whose `lib/` is empty: enough
/// for bindgen, and nothing is linked by `cargo check`.
fn ffmpeg_headers_only(root: &Path) -> Result<PathBuf> {
    let dir = root.join("target/cross/ffmpeg");
    let include = dir.join("include");
    std::fs::create_dir_all(&include)?;
    std::fs::create_dir_all(dir.join("lib"))?;
    for lib in FFMPEG_LIBS {
        let link = include.join(lib);
        let source = Path::new(FFMPEG_INCLUDE).join(lib);
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
