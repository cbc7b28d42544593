//! `cargo xtask bundle`: the desktop app's installers, with FFmpeg's shared libraries inside.
//!
//! Tauri's bundler builds them (tauri-cli, installed on first use); this adds what it cannot
//! know: which FFmpeg libraries the build linked, and where each platform wants them.
//!
//! - Windows (NSIS installer): every DLL of FFmpeg's `bin` folder (FFmpeg's own and, from vcpkg,
//!   the codecs' it loads) installed beside `quartet-app.exe`, through `bundle.resources`.
//! - macOS (`.app` and `.dmg`): FFmpeg's dylibs and every non-system dylib they pull in, copied
//!   into `Contents/Frameworks` through `bundle.macOS.frameworks`, each renamed to
//!   `@rpath/<name>` (its id and every reference to it) with `install_name_tool`, so the app
//!   finds them through the `@executable_path/../Frameworks` rpath tauri-build adds.
//! - Linux (`.deb`): FFmpeg stays the system's; the package depends on the Debian packages that
//!   own the libraries the app links.
//!
//! The file lists change with FFmpeg's versions, so they go to a generated config under
//! `target/bundle-ffmpeg/` passed with `--config`; `tauri.conf.json` and the platform files hold
//! only what never changes. See docs/packaging.md.

mod macos;

use anyhow::{Context, Result, bail};
use macos::{file_name, macos};
#[cfg(test)]
use macos::{is_system_lib, parse_otool_deps, resolve_dep};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// tauri-cli's major version, like Tauri's.
const TAURI_CLI_VERSION: &str = "^2";
/// Where the staged libraries and the generated bundle config go.
const STAGE_DIR: &str = "target/bundle-ffmpeg";
/// FFmpeg's libraries the media crate links, by base name.
pub const FFMPEG_LIBS: &[&str] = &[
    "avcodec",
    "avdevice",
    "avfilter",
    "avformat",
    "avutil",
    "swresample",
    "swscale",
];
/// Packages tauri's deb bundler lists on its own.
const TAURI_DEB_DEPENDS: &[&str] = &["libwebkit2gtk-4.1-0", "libgtk-3-0"];
/// The app's executable, as cargo names it.
const APP_BIN: &str = "quartet-app";
/// Where the app's libraries are looked up inside the macOS bundle.
const RPATH_PREFIX: &str = "@rpath/";

/// What `cargo xtask bundle` does on Windows.
pub const WINDOWS_STEPS: &str = "\
On Windows (x64, with FFmpeg from vcpkg: FFMPEG_DIR=<vcpkg>\\installed\\x64-windows):
  1. list every DLL in %FFMPEG_DIR%\\bin (avcodec-*.dll, avformat-*.dll, avutil-*.dll,
     avdevice-*.dll, avfilter-*.dll, swscale-*.dll, swresample-*.dll and the codec DLLs they load)
  2. write target\\bundle-ffmpeg\\windows.json: bundle.resources maps each DLL to its bare file
     name, which the installer puts beside quartet-app.exe
  3. cargo tauri build --bundles nsis --config target\\bundle-ffmpeg\\windows.json
     -> target\\release\\bundle\\nsis\\Quartet_<version>_x64-setup.exe (English and 简体中文)";

/// What `cargo xtask bundle` does on macOS.
pub const MACOS_STEPS: &str = "\
On macOS (FFmpeg from Homebrew, found with pkg-config):
  1. collect FFmpeg's dylibs (pkg-config --variable=libdir libavcodec) and, walking otool -L,
     every non-system dylib they depend on
  2. copy them to target/bundle-ffmpeg/macos/; for each: install_name_tool -id @rpath/<name>,
     install_name_tool -change <old path> @rpath/<dep> for every dependency among them,
     codesign --force --sign - (or $APPLE_SIGNING_IDENTITY)
  3. write target/bundle-ffmpeg/macos.json: bundle.macOS.frameworks lists the staged dylibs
     (copied to Quartet.app/Contents/Frameworks; tauri-build adds the
     @executable_path/../Frameworks rpath)
  4. cargo tauri build --no-bundle --config target/bundle-ffmpeg/macos.json
  5. install_name_tool -change <Homebrew path> @rpath/<name> target/release/quartet-app for each
     staged dylib, then codesign --force --sign - target/release/quartet-app
  6. cargo tauri bundle --bundles app,dmg --config target/bundle-ffmpeg/macos.json
     -> target/release/bundle/dmg/Quartet_<version>_aarch64.dmg
  7. check with otool -L that nothing in the bundle points outside it or the system";

/// Builds this platform's installers.
pub fn bundle(root: &Path) -> Result<()> {
    let stage = root.join(STAGE_DIR);
    std::fs::create_dir_all(&stage)?;
    match std::env::consts::OS {
        "windows" => windows(root, &stage),
        "macos" => macos(root, &stage),
        "linux" => linux(root, &stage),
        other => bail!("installers are built on Windows, macOS or Linux, not on {other}"),
    }
}

/// `cargo tauri …` in src-tauri/.
fn tauri(root: &Path) -> Command {
    let mut c = crate::cargo();
    c.arg("tauri").current_dir(root.join("src-tauri"));
    c
}

/// Installs tauri-cli when `cargo tauri` is missing (only bundling needs it).
fn ensure_tauri_cli(root: &Path) -> Result<()> {
    let present = tauri(root)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    eprintln!("xtask: installing tauri-cli (cargo install, a few minutes)");
    crate::run(crate::cargo().args([
        "install",
        "tauri-cli",
        "--version",
        TAURI_CLI_VERSION,
        "--locked",
    ]))
}

fn write_config(path: &Path, config: &serde_json::Value) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(config)?)
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("xtask: bundle config written to {}", path.display());
    Ok(())
}

fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("could not start {}", crate::describe(cmd)))?;
    if !out.status.success() {
        bail!(
            "{} failed ({}): {}",
            crate::describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---------------------------------------------------------------------------------------------
// Windows

fn windows(root: &Path, stage: &Path) -> Result<()> {
    let bin = ffmpeg_bin_dir()?;
    let mut dlls = Vec::new();
    for entry in std::fs::read_dir(&bin).with_context(|| format!("reading {}", bin.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if is_dll(&name) {
            dlls.push((path, name));
        }
    }
    let names: Vec<&str> = dlls.iter().map(|(_, n)| n.as_str()).collect();
    let missing = missing_ffmpeg_dlls(&names);
    if !missing.is_empty() {
        bail!(
            "{} has no DLL for {}: point FFMPEG_DIR at a shared FFmpeg build (vcpkg's \
             installed\\x64-windows, or a \"shared\" release with bin\\avcodec-*.dll)",
            bin.display(),
            missing.join(", ")
        );
    }
    eprintln!(
        "xtask: shipping {} DLLs from {} beside quartet-app.exe",
        dlls.len(),
        bin.display()
    );
    let resources: serde_json::Map<String, serde_json::Value> = dlls
        .iter()
        .map(|(path, name)| (path.display().to_string(), json!(name)))
        .collect();
    let config = stage.join("windows.json");
    write_config(&config, &json!({ "bundle": { "resources": resources } }))?;
    ensure_tauri_cli(root)?;
    crate::run(
        tauri(root)
            .args(["build", "--bundles", "nsis", "--config"])
            .arg(&config),
    )?;
    eprintln!(
        "xtask: installer in {}",
        root.join("target/release/bundle/nsis").display()
    );
    Ok(())
}

/// FFmpeg's DLL folder: `%FFMPEG_DIR%\bin` (the same FFMPEG_DIR the build uses), else vcpkg's.
fn ffmpeg_bin_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("FFMPEG_DIR") {
        return Ok(PathBuf::from(dir).join("bin"));
    }
    if let Some(vcpkg) = std::env::var_os("VCPKG_ROOT") {
        let bin = PathBuf::from(vcpkg).join("installed/x64-windows/bin");
        if bin.is_dir() {
            return Ok(bin);
        }
    }
    bail!(
        "cannot find FFmpeg's DLLs: set FFMPEG_DIR to the FFmpeg the app was built with \
         (e.g. <vcpkg>\\installed\\x64-windows; see README.md, \"Building on Windows\")"
    )
}

fn is_dll(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".dll")
}

/// FFmpeg's libraries with no `<lib>-<major>.dll` among `names`.
fn missing_ffmpeg_dlls(names: &[&str]) -> Vec<&'static str> {
    FFMPEG_LIBS
        .iter()
        .copied()
        .filter(|lib| {
            let prefix = format!("{lib}-");
            !names
                .iter()
                .any(|n| n.to_ascii_lowercase().starts_with(&prefix) && is_dll(n))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// macOS

fn linux(root: &Path, stage: &Path) -> Result<()> {
    ensure_tauri_cli(root)?;
    crate::run(tauri(root).args(["build", "--no-bundle"]))?;
    let exe = root.join("target/release").join(APP_BIN);
    let needed = parse_needed(&output(Command::new("readelf").arg("-d").arg(&exe))?);
    let paths = parse_ldd(&output(Command::new("ldd").arg(&exe))?);
    let mut depends = BTreeSet::new();
    for lib in &needed {
        let path = paths
            .get(lib)
            .with_context(|| format!("{APP_BIN} needs {lib}, which ldd cannot find"))?;
        let owner = owner_candidates(path).into_iter().find_map(|candidate| {
            output(Command::new("dpkg-query").arg("-S").arg(&candidate))
                .ok()
                .and_then(|o| parse_dpkg_owner(&o))
        });
        match owner {
            Some(package) if TAURI_DEB_DEPENDS.contains(&package.as_str()) => {}
            Some(package) => {
                depends.insert(package);
            }
            None => eprintln!("xtask: no Debian package owns {path}; not listed as a dependency"),
        }
    }
    eprintln!(
        "xtask: the .deb depends on {}",
        depends.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    let config = stage.join("linux.json");
    write_config(
        &config,
        &json!({ "bundle": { "linux": { "deb": { "depends": depends } } } }),
    )?;
    crate::run(
        tauri(root)
            .args(["bundle", "--bundles", "deb", "--config"])
            .arg(&config),
    )?;
    eprintln!(
        "xtask: package in {}\n\
         (an AppImage needs linuxdeploy, which tauri-cli downloads; where that works: \
         `cargo tauri bundle --bundles appimage` in src-tauri/)\n\n\
         Installers for the other platforms are built on them, with the same command. There:\n\n\
         {WINDOWS_STEPS}\n\n{MACOS_STEPS}",
        root.join("target/release/bundle/deb").display()
    );
    Ok(())
}

/// Paths under which dpkg may know `path`: with merged /usr, ldd says `/lib/…` where the
/// package installed `/usr/lib/…`; and the link may be known only by its target.
fn owner_candidates(path: &str) -> Vec<String> {
    let mut candidates = vec![path.to_owned()];
    if path.starts_with("/lib") {
        candidates.push(format!("/usr{path}"));
    }
    if let Ok(real) = std::fs::canonicalize(path) {
        candidates.push(real.display().to_string());
    }
    candidates
}

/// The `NEEDED` libraries of `readelf -d`.
fn parse_needed(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| {
            let start = l.find('[')? + 1;
            let end = l[start..].find(']')? + start;
            Some(l[start..end].to_owned())
        })
        .collect()
}

/// Library name → path from `ldd` (`libfoo.so.1 => /lib/…/libfoo.so.1 (0x…)`, or the loader's
/// `/lib64/ld-linux-x86-64.so.2 (0x…)`).
fn parse_ldd(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let (name, rest) = match l.split_once(" => ") {
                Some((name, rest)) => (name.trim().to_owned(), rest),
                None => (file_name(l.split(" (").next()?)?, l),
            };
            let path = rest.split(" (").next()?.trim();
            path.starts_with('/').then(|| (name, path.to_owned()))
        })
        .collect()
}

/// The package of `dpkg-query -S` (`libavcodec59:amd64: /usr/lib/…`), without its architecture.
fn parse_dpkg_owner(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    let (owner, path) = line.split_once(": ")?;
    if !path.starts_with('/') {
        return None;
    }
    // Several owners are listed comma-separated (diversions); the first is the real one.
    let package = owner.split(',').next()?.trim();
    let package = package.split(':').next()?.trim();
    (!package.is_empty()).then(|| package.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_dlls_are_found_by_name_and_major_version() {
        let names = [
            "avcodec-61.dll",
            "AVFORMAT-61.DLL",
            "avutil-59.dll",
            "avdevice-61.dll",
            "avfilter-10.dll",
            "swscale-8.dll",
            "swresample-5.dll",
            "libx264-164.dll",
            "ffmpeg.exe",
        ];
        assert!(missing_ffmpeg_dlls(&names).is_empty());
        assert_eq!(
            missing_ffmpeg_dlls(&["avcodec-61.dll", "avcodec-61.lib"]),
            vec![
                "avdevice",
                "avfilter",
                "avformat",
                "avutil",
                "swresample",
                "swscale"
            ]
        );
        assert!(is_dll("zlib1.dll") && is_dll("X.DLL") && !is_dll("avcodec.lib"));
    }

    #[test]
    fn otool_lists_dependencies_without_the_file_itself() {
        let text = "/opt/homebrew/opt/ffmpeg/lib/libavcodec.61.dylib:\n\
            \t/opt/homebrew/opt/ffmpeg/lib/libavcodec.61.dylib (compatibility version 61.0.0, current version 61.19.100)\n\
            \t@rpath/libswresample.5.dylib (compatibility version 5.0.0, current version 5.3.100)\n\
            \t/opt/homebrew/opt/x264/lib/libx264.164.dylib (compatibility version 0.0.0, current version 0.0.0)\n\
            \t/System/Library/Frameworks/VideoToolbox.framework/Versions/A/VideoToolbox (compatibility version 1.0.0, current version 1.0.0)\n\
            \t/usr/lib/libSystem.B.dylib (compatibility version 1.0.0, current version 1345.100.2)\n";
        let deps = parse_otool_deps(text);
        assert_eq!(
            deps,
            vec![
                "/opt/homebrew/opt/ffmpeg/lib/libavcodec.61.dylib",
                "@rpath/libswresample.5.dylib",
                "/opt/homebrew/opt/x264/lib/libx264.164.dylib",
                "/System/Library/Frameworks/VideoToolbox.framework/Versions/A/VideoToolbox",
                "/usr/lib/libSystem.B.dylib",
            ]
        );
        let shipped: Vec<_> = deps.iter().filter(|d| !is_system_lib(d)).collect();
        assert_eq!(shipped.len(), 3);
    }

    #[test]
    fn relative_references_resolve_beside_the_loader() {
        let dir = Path::new("/opt/homebrew/Cellar/ffmpeg/7.1/lib");
        assert_eq!(
            resolve_dep("@rpath/libswresample.5.dylib", dir),
            dir.join("libswresample.5.dylib")
        );
        assert_eq!(
            resolve_dep("@loader_path/libavutil.59.dylib", dir),
            dir.join("libavutil.59.dylib")
        );
        assert_eq!(
            resolve_dep("/opt/homebrew/opt/x264/lib/libx264.164.dylib", dir),
            PathBuf::from("/opt/homebrew/opt/x264/lib/libx264.164.dylib")
        );
        assert_eq!(
            file_name("@rpath/libswresample.5.dylib").as_deref(),
            Some("libswresample.5.dylib")
        );
    }

    #[test]
    fn debian_dependencies_come_from_needed_libraries() {
        let readelf = " 0x0000000000000001 (NEEDED)             Shared library: [libavcodec.so.59]\n \
            0x0000000000000001 (NEEDED)             Shared library: [libasound.so.2]\n \
            0x000000000000000e (SONAME)             Library soname: [x]\n";
        assert_eq!(
            parse_needed(readelf),
            vec!["libavcodec.so.59", "libasound.so.2"]
        );
        let ldd = "\tlinux-vdso.so.1 (0x00007ffd)\n\
            \tlibavcodec.so.59 => /lib/x86_64-linux-gnu/libavcodec.so.59 (0x00007f00)\n\
            \tlibgone.so.1 => not found\n\
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f01)\n";
        let paths = parse_ldd(ldd);
        assert_eq!(
            paths.get("libavcodec.so.59").map(String::as_str),
            Some("/lib/x86_64-linux-gnu/libavcodec.so.59")
        );
        assert_eq!(
            paths.get("ld-linux-x86-64.so.2").map(String::as_str),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        assert_eq!(paths.len(), 2);
        assert_eq!(
            parse_dpkg_owner("libavcodec59:amd64: /lib/x86_64-linux-gnu/libavcodec.so.59\n")
                .as_deref(),
            Some("libavcodec59")
        );
        assert_eq!(
            parse_dpkg_owner("libc6:amd64, libc6-dev:amd64: /lib/x.so\n").as_deref(),
            Some("libc6")
        );
        assert_eq!(parse_dpkg_owner("dpkg-query: no path found\n"), None);
    }
}
