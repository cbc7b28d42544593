//! Project automation: `cargo xtask setup|run|test|e2e|bench|icons|cross-check|bundle`.
//!
//! Each command installs what it needs first, so a fresh Debian or Ubuntu machine needs nothing
//! but a Rust toolchain (and Node.js 20+ for the app's front end): system packages come from
//! apt-get, the front end's packages from `npm ci`, tauri-driver from `cargo install`, each
//! only when missing.

mod bundle;
mod cross;
mod e2e;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian packages the build and the tests need (see `shared/notes/stack-on-debian.md`).
const SYSTEM_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "clang",
    "libclang-dev",
    "libssl-dev",
    "libavcodec-dev",
    "libavformat-dev",
    "libavutil-dev",
    "libavdevice-dev",
    "libavfilter-dev",
    "libswscale-dev",
    "libswresample-dev",
    "libasound2-dev",
    "ffmpeg",
    "nginx",
    "libnginx-mod-rtmp",
    // The audio benchmark's speech and noise.
    "espeak-ng",
    "sox",
    // The desktop app, its H.264 decoding in the webview, and its real-window test.
    "libwebkit2gtk-4.1-dev",
    "gstreamer1.0-libav",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-bad",
    // The UI speaks zh-CN, and avatars, the test pattern and grid snapshots draw names with
    // a system font: without a CJK font, Chinese would render as boxes.
    "fonts-noto-cjk",
    "xvfb",
    "xauth",
    "imagemagick",
    "webkit2gtk-driver",
    // The network lab: random loss per direction (iproute2 brings ip and tc).
    "nftables",
];

/// Tests that need root (the network lab) are named with this and ignored in a plain run.
const ROOT_TESTS: &str = "netlab_";

/// tauri-driver, the WebDriver bridge of the real-window test (major version 2, like Tauri).
const TAURI_DRIVER_VERSION: &str = "^2";

#[derive(Parser)]
#[command(about = "Quartet's project automation")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install missing system packages.
    Setup,
    /// Set up, then run the main job: the desktop app hosting a call on this machine. With
    /// arguments, run the headless `quartet server` with them instead.
    Run {
        /// Arguments passed on to `quartet server` (none: start the desktop app).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Set up, then check formatting, lints and run every test, the real-window one last.
    Test,
    /// Set up, then run the desktop app's real-window test (screenshots in target/e2e/).
    E2e {
        /// Test release builds (to measure how fast pictures reach the screen).
        #[arg(long)]
        release: bool,
    },
    /// Render the app's icons from assets/icon.mvg (ImageMagick).
    Icons,
    /// Type-check the whole workspace for Windows and macOS (skips a target it cannot install).
    CrossCheck,
    /// Set up, then build this platform's installer with FFmpeg's libraries inside (NSIS on
    /// Windows, .app and .dmg on macOS, .deb on Linux); installs tauri-cli if missing. On Linux
    /// it also prints the steps it takes on Windows and macOS.
    Bundle,
    /// Set up, then run a benchmark against a release build and write target/bench/<name>.json.
    Bench {
        /// Which benchmark.
        #[arg(value_enum)]
        which: Bench,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Bench {
    /// Room server: 2,000 rooms × 4 members at v1 cadence plus create/join/leave bursts.
    Server,
    /// Embedded RTMP relay beside nginx-rtmp.
    Relay,
    /// A 4-member call through nginx-rtmp.
    Media,
    /// Every attack of docs/security.md against `quartet server` while a healthy call runs.
    Abuse,
    /// Calls with one member behind a narrow, lossy or stepping link of the network lab (root).
    Network,
    /// Echo cancellation, noise suppression, their CPU, and the audio–video offset in a call.
    Audio,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace_root()?;
    std::env::set_current_dir(&root)?;
    match cli.command {
        Cmd::Setup => setup(),
        Cmd::Run { args } if !args.is_empty() => {
            setup()?;
            run_server(&args)
        }
        Cmd::Run { .. } => {
            setup()?;
            run_app()
        }
        Cmd::Test => {
            setup()?;
            test(&root)
        }
        Cmd::E2e { release } => {
            setup()?;
            e2e(&root, release)
        }
        Cmd::Icons => icons(&root),
        Cmd::CrossCheck => {
            setup()?;
            cross_packages()?;
            cross::cross_check(&root)
        }
        Cmd::Bundle => {
            setup()?;
            bundle::bundle(&root)
        }
        Cmd::Bench { which } => {
            setup()?;
            bench(which, &root)
        }
    }
}

fn workspace_root() -> Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

/// Runs a command, failing with its name when it fails.
fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", describe(cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(cmd));
    }
    Ok(())
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn setup() -> Result<()> {
    system_packages()?;
    ui_packages()?;
    tauri_driver()
}

fn cross_packages() -> Result<()> {
    install_packages(cross::PACKAGES)
}

fn system_packages() -> Result<()> {
    install_packages(SYSTEM_PACKAGES)
}

/// Installs those of `packages` that are missing, through apt-get (sudo when not root).
fn install_packages(packages: &[&str]) -> Result<()> {
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
        "xtask: installing missing system packages: {}",
        missing.join(" ")
    );
    let sudo = !is_root();
    let apt = |args: &[&str]| {
        let mut c = if sudo {
            Command::new("sudo")
        } else {
            Command::new("apt-get")
        };
        if sudo {
            c.arg("apt-get");
        }
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt(&["update", "-qq"]))?;
    run(apt(&["install", "-y", "-qq", "--no-install-recommends"]).args(&missing))
}

/// `npm ci` in ui/ when its packages are missing (the app's build embeds ui/dist).
fn ui_packages() -> Result<()> {
    if Path::new("ui/node_modules").is_dir() {
        return Ok(());
    }
    if Command::new(npm()).arg("--version").output().is_err() {
        bail!(
            "the desktop app's front end needs Node.js 20 or newer with npm: install it \
             (e.g. from nodejs.org or your package manager) and run this again"
        );
    }
    eprintln!("xtask: installing the front end's packages (npm ci in ui/)");
    run(Command::new(npm())
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir("ui"))
}

fn npm() -> &'static str {
    if cfg!(windows) { "npm.cmd" } else { "npm" }
}

/// tauri-driver for the real-window test (Linux only: it drives WebKitGTK).
fn tauri_driver() -> Result<()> {
    if std::env::consts::OS != "linux" || e2e::tauri_driver().is_some() {
        return Ok(());
    }
    eprintln!("xtask: installing tauri-driver (cargo install, about a minute)");
    run(cargo().args([
        "install",
        "tauri-driver",
        "--version",
        TAURI_DRIVER_VERSION,
        "--locked",
    ]))
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run_server(args: &[String]) -> Result<()> {
    eprintln!(
        "xtask: hosting a call on this machine (room server + RTMP relay).\n\
         Point clients at the room server address printed below; `quartet rooms --server URL` lists rooms."
    );
    run(cargo()
        .args(["run", "--release", "-p", "quartet", "--", "server"])
        .args(args))
}

/// Whether a window can be opened here.
fn has_display() -> bool {
    if cfg!(any(windows, target_os = "macos")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

fn run_app() -> Result<()> {
    if !has_display() {
        bail!(
            "there is no display here (neither DISPLAY nor WAYLAND_DISPLAY is set), so the desktop \
             app cannot open its window.\n\
             Run a whole call headless instead — a room server, an RTMP relay and three bots:\n    \
             cargo run --release -p quartet -- demo\n\
             and join it from another machine's app, or host only with `cargo xtask run -- --listen 0.0.0.0:8080`."
        );
    }
    eprintln!("xtask: starting the Quartet app; it hosts a call on this machine (see its lobby).");
    run(cargo().args(["run", "--release", "-p", "quartet-app"]))
}

fn test(root: &Path) -> Result<()> {
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args(["test", "--workspace", "--locked"]))?;
    root_tests()?;
    // Windows and macOS code paths compile only for their targets: check them here too.
    cross_packages()?;
    cross::cross_check(root)?;
    run(Command::new(npm()).args(["test"]).current_dir("ui"))?;
    e2e(root, false)
}

/// Runs the tests that need root, which the plain run above counted as ignored; without root
/// they stay skipped, and this says so.
fn root_tests() -> Result<()> {
    if !is_root() {
        eprintln!("xtask: tests named {ROOT_TESTS}* need root (network lab): skipped");
        return Ok(());
    }
    run(cargo()
        .args([
            "test",
            "--workspace",
            "--locked",
            "--lib",
            "--bins",
            "--tests",
        ])
        .args(["--", "--ignored", ROOT_TESTS]))
}

fn e2e(root: &Path, release: bool) -> Result<()> {
    let mut build = cargo();
    build.args(["build", "--locked", "-p", "quartet-app", "-p", "quartet"]);
    if release {
        build.arg("--release");
    }
    run(&mut build)?;
    let exe = std::env::consts::EXE_SUFFIX;
    let profile = if release { "release" } else { "debug" };
    let setup = e2e::E2eSetup {
        app: root.join(format!("target/{profile}/quartet-app{exe}")),
        quartet: root.join(format!("target/{profile}/quartet{exe}")),
        out: root.join("target/e2e"),
    };
    if e2e::run(&setup)? {
        eprintln!(
            "xtask: end-to-end test passed; screenshots in {}",
            setup.out.display()
        );
    }
    Ok(())
}

/// Renders the app's icons from the vector source with ImageMagick.
fn icons(root: &Path) -> Result<()> {
    let source = root.join("assets/icon.mvg");
    let dir = root.join("src-tauri/icons");
    // ImageMagick 7 calls it `magick`; 6 `convert` (Debian's real one lives in /usr/bin).
    let program = ["magick", "/usr/bin/convert"]
        .into_iter()
        .find(|p| Command::new(p).arg("-version").output().is_ok())
        .unwrap_or("convert");
    let convert = |size: Option<u32>, out: &str| {
        let mut c = Command::new(program);
        c.args(["-background", "none"])
            .arg(format!("mvg:{}", source.display()))
            .args(["-depth", "8"]);
        match size {
            Some(s) => {
                c.args(["-resize", &format!("{s}x{s}")])
                    .arg(format!("PNG32:{}", dir.join(out).display()));
            }
            None => {
                c.args(["-define", "icon:auto-resize=256,64,48,32,24,16"])
                    .arg(dir.join(out));
            }
        }
        c
    };
    for (size, name) in [
        (Some(512), "icon.png"),
        (Some(32), "32x32.png"),
        (Some(128), "128x128.png"),
        (Some(256), "128x128@2x.png"),
        (None, "icon.ico"),
    ] {
        run(&mut convert(size, name))?;
    }
    std::fs::copy(dir.join("128x128.png"), root.join("ui/public/icon.png"))?;
    Ok(())
}

fn bench(which: Bench, root: &Path) -> Result<()> {
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let (package, example, file) = match which {
        Bench::Server => ("quartet-tests", "bench_server", "server.json"),
        Bench::Relay => ("quartet-relay", "relay_bench", "relay.json"),
        Bench::Media => ("quartet-media", "media_bench", "media.json"),
        Bench::Abuse => ("quartet-tests", "bench_abuse", "abuse.json"),
        Bench::Network => ("quartet-tests", "bench_network", "network.json"),
        Bench::Audio => ("quartet-tests", "bench_audio", "audio.json"),
    };
    if matches!(which, Bench::Server | Bench::Abuse | Bench::Network) {
        // The server under test runs as its own process, as users run it.
        run(cargo().args(["build", "--release", "-p", "quartet"]))?;
    }
    let out_file = out.join(file);
    run(cargo()
        .args([
            "run",
            "--release",
            "-p",
            package,
            "--example",
            example,
            "--",
            "--out",
        ])
        .arg(&out_file))?;
    eprintln!("xtask: figures written to {}", out_file.display());
    Ok(())
}
