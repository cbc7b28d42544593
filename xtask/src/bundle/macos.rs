//! The macOS bundle: FFmpeg's dylibs and what they pull in, copied into `Contents/Frameworks`
//! and renamed to `@rpath/<name>`.

use super::{APP_BIN, FFMPEG_LIBS, RPATH_PREFIX, ensure_tauri_cli, output, tauri, write_config};
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(super) fn macos(root: &Path, stage: &Path) -> Result<()> {
    let libdir = output(Command::new("pkg-config").args(["--variable=libdir", "libavcodec"]))
        .context("FFmpeg not found by pkg-config: `brew install ffmpeg pkg-config`")?;
    let libdir = PathBuf::from(libdir.trim());
    let seeds = FFMPEG_LIBS
        .iter()
        .map(|lib| {
            let path = libdir.join(format!("lib{lib}.dylib"));
            std::fs::canonicalize(&path).with_context(|| format!("{} is missing", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    let libs = dylib_closure(&seeds)?;
    let dir = stage.join("macos");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let identity = std::env::var("APPLE_SIGNING_IDENTITY").unwrap_or_else(|_| "-".to_owned());
    let mut staged = Vec::new();
    for (name, lib) in &libs {
        let copy = dir.join(name);
        std::fs::copy(&lib.path, &copy)
            .with_context(|| format!("copying {}", lib.path.display()))?;
        make_writable(&copy)?;
        let mut fix = Command::new("install_name_tool");
        fix.arg("-id").arg(format!("{RPATH_PREFIX}{name}"));
        for dep in &lib.deps {
            if let Some(dep_name) = file_name(dep).filter(|n| libs.contains_key(n)) {
                fix.arg("-change")
                    .arg(dep)
                    .arg(format!("{RPATH_PREFIX}{dep_name}"));
            }
        }
        crate::run(fix.arg(&copy))?;
        crate::run(
            Command::new("codesign")
                .args(["--force", "--sign", &identity])
                .arg(&copy),
        )?;
        staged.push(copy.display().to_string());
    }
    eprintln!(
        "xtask: {} dylibs staged in {} for Contents/Frameworks",
        staged.len(),
        dir.display()
    );
    let config = stage.join("macos.json");
    write_config(
        &config,
        &json!({ "bundle": { "macOS": { "frameworks": staged } } }),
    )?;
    ensure_tauri_cli(root)?;
    crate::run(
        tauri(root)
            .args(["build", "--no-bundle", "--config"])
            .arg(&config),
    )?;

    let exe = root.join("target/release").join(APP_BIN);
    let deps = parse_otool_deps(&output(Command::new("otool").arg("-L").arg(&exe))?);
    let mut fix = Command::new("install_name_tool");
    let mut changed = 0;
    for dep in &deps {
        if let Some(name) = file_name(dep).filter(|n| libs.contains_key(n))
            && !dep.starts_with(RPATH_PREFIX)
        {
            fix.arg("-change")
                .arg(dep)
                .arg(format!("{RPATH_PREFIX}{name}"));
            changed += 1;
        }
    }
    if changed > 0 {
        crate::run(fix.arg(&exe))?;
    }
    crate::run(
        Command::new("codesign")
            .args(["--force", "--sign", "-"])
            .arg(&exe),
    )?;
    crate::run(
        tauri(root)
            .args(["bundle", "--bundles", "app,dmg", "--config"])
            .arg(&config),
    )?;
    verify_app_bundle(root)?;
    eprintln!(
        "xtask: app and disk image in {}",
        root.join("target/release/bundle").display()
    );
    Ok(())
}

/// Homebrew's dylibs are read-only; install_name_tool rewrites the copy in place.
#[cfg(unix)]
pub(super) fn make_writable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(DYLIB_MODE))
        .with_context(|| format!("making {} writable", path.display()))
}

#[cfg(not(unix))]
pub(super) fn make_writable(_: &Path) -> Result<()> {
    Ok(())
}

/// rwxr-xr-x, as Homebrew installs libraries it does not protect.
#[cfg(unix)]
pub(super) const DYLIB_MODE: u32 = 0o755;

/// A dylib to ship: where it is now and what it references.
pub(super) struct Dylib {
    path: PathBuf,
    deps: Vec<String>,
}

/// `seeds` and every non-system dylib they reach, by file name.
pub(super) fn dylib_closure(seeds: &[PathBuf]) -> Result<BTreeMap<String, Dylib>> {
    let mut found = BTreeMap::new();
    let mut todo: Vec<PathBuf> = seeds.to_vec();
    while let Some(path) = todo.pop() {
        let Some(name) = file_name(&path.to_string_lossy()) else {
            continue;
        };
        if found.contains_key(&name) {
            continue;
        }
        let deps = parse_otool_deps(&output(Command::new("otool").arg("-L").arg(&path))?);
        let loader = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for dep in &deps {
            if is_system_lib(dep) || file_name(dep).as_deref() == Some(name.as_str()) {
                continue;
            }
            let resolved = resolve_dep(dep, &loader);
            let real = std::fs::canonicalize(&resolved).with_context(|| {
                format!(
                    "{} needs {dep}, which is not at {}",
                    path.display(),
                    resolved.display()
                )
            })?;
            todo.push(real);
        }
        found.insert(name, Dylib { path, deps });
    }
    Ok(found)
}

/// Fails when the bundled executable or a bundled dylib still points outside the bundle.
pub(super) fn verify_app_bundle(root: &Path) -> Result<()> {
    let app = root.join("target/release/bundle/macos/Quartet.app/Contents");
    let mut files = vec![app.join("MacOS").join(APP_BIN)];
    for entry in std::fs::read_dir(app.join("Frameworks"))? {
        files.push(entry?.path());
    }
    let mut stray = Vec::new();
    for file in &files {
        for dep in parse_otool_deps(&output(Command::new("otool").arg("-L").arg(file))?) {
            if !is_system_lib(&dep) && !dep.starts_with('@') {
                stray.push(format!("{} -> {dep}", file.display()));
            }
        }
    }
    if !stray.is_empty() {
        bail!(
            "the app bundle still loads libraries from outside it:\n  {}",
            stray.join("\n  ")
        );
    }
    Ok(())
}

/// The libraries `otool -L` lists (its first line names the file itself).
pub(super) fn parse_otool_deps(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with(['\t', ' ']))
        .filter_map(|l| l.trim().split(" (compatibility").next())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Part of macOS itself, present on every Mac.
pub(super) fn is_system_lib(path: &str) -> bool {
    path.starts_with("/usr/lib/") || path.starts_with("/System/")
}

/// Where `dep`, as referenced by a library in `loader_dir`, is on disk (Homebrew's bottles use
/// absolute paths, `@loader_path/…` or `@rpath/…` pointing beside the referencing library).
pub(super) fn resolve_dep(dep: &str, loader_dir: &Path) -> PathBuf {
    match dep
        .strip_prefix("@loader_path/")
        .or_else(|| dep.strip_prefix(RPATH_PREFIX))
    {
        Some(rest) => loader_dir.join(rest),
        None => PathBuf::from(dep),
    }
}

pub(super) fn file_name(path: &str) -> Option<String> {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
}

// ---------------------------------------------------------------------------------------------
// Linux
