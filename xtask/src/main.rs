//! Project automation: `cargo xtask setup|run|test|e2e|bench|icons|cross-check|bundle`.
//!
//! Each command installs what it needs first ([`setup`]), so a fresh Debian or Ubuntu machine
//! needs nothing but rustup and a C compiler: `run` installs what building and running need,
//! `test` the test tools as well.

mod bundle;
mod cross;
mod e2e;
mod house;
mod notices;
mod setup;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use setup::{Need, is_root, npm, setup};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Tests that need root (the network lab) are named with this and ignored in a plain run.
const ROOT_TESTS: &str = "netlab_";

#[derive(Parser)]
#[command(about = "Quartet's project automation")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install everything the tests need (a superset of what running needs).
    Setup,
    /// Set up, then run the main job: the desktop app hosting a call on this machine. With
    /// arguments, run the headless `quartet server` with them instead.
    Run {
        /// Arguments passed on to `quartet server` (none: start the desktop app).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Set up, then check formatting, lints and run every test, the real-window one last.
    Test {
        /// The edit–test loop: formatting, lints, the workspace's tests and the page's, without
        /// the root-only tests, the Windows and macOS check, licences or the real window.
        #[arg(long)]
        quick: bool,
    },
    /// Set up, then run the desktop app's real-window test (screenshots in target/e2e/).
    E2e {
        /// Test release builds (to measure how fast pictures reach the screen).
        #[arg(long)]
        release: bool,
    },
    /// Render the app's icons from assets/icon.mvg (ImageMagick).
    Icons,
    /// Check the house limits: lines per source file and per Rust function.
    House,
    /// Write licenses/rust-crates.md, the Rust crates Quartet is built from and their licences.
    Notices,
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
        /// `server` only: two server processes sharing one Redis (writes server-redis.json).
        #[arg(long)]
        redis: bool,
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
        Cmd::Setup => setup(Need::Test),
        Cmd::Run { args } if !args.is_empty() => {
            setup(Need::Run)?;
            run_server(&args)
        }
        Cmd::Run { .. } => {
            setup(Need::Run)?;
            run_app()
        }
        Cmd::Test { quick: true } => {
            setup(Need::Test)?;
            quick_test(&root)
        }
        Cmd::Test { quick: false } => {
            setup(Need::Test)?;
            test(&root)
        }
        Cmd::E2e { release } => {
            setup(Need::Test)?;
            e2e(&root, release)
        }
        Cmd::Icons => icons(&root),
        Cmd::House => house::check(&root),
        Cmd::Notices => notices::write(&root),
        Cmd::CrossCheck => {
            setup(Need::Run)?;
            cross_packages()?;
            cross::cross_check(&root)
        }
        Cmd::Bundle => {
            setup(Need::Run)?;
            bundle::bundle(&root)
        }
        Cmd::Bench { which, redis } => {
            setup(Need::Test)?;
            bench(which, redis, &root)
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

fn cross_packages() -> Result<()> {
    setup::install_packages(cross::PACKAGES)
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

/// What `test --quick` runs: the checks and tests that need neither root, nor other targets,
/// nor a window.
fn quick_test(root: &Path) -> Result<()> {
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    house::check(root)?;
    lints_and_tests()?;
    page_tests()
}

fn test(root: &Path) -> Result<()> {
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    house::check(root)?;
    notices::check(root)?;
    notices::deny()?;
    lints_and_tests()?;
    root_tests()?;
    // Windows and macOS code paths compile only for their targets: check them here too.
    cross_packages()?;
    cross::cross_check(root)?;
    page_tests()?;
    e2e(root, false)
}

/// Clippy with warnings as errors, then every test of the workspace (the app included).
fn lints_and_tests() -> Result<()> {
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
    // The room server's suite once more, each server keeping its rooms in a real Redis: every
    // rule must hold the same on the shared store as on the embedded one.
    run(cargo()
        .args(["test", "--locked", "-p", "quartet-server", "--tests"])
        .env(SHARED_STORE_ENV, "1"))
}

/// Set for the room server's tests to run them on the shared store (Redis); read by
/// `crates/server/tests/common`.
const SHARED_STORE_ENV: &str = "QUARTET_TEST_REDIS";

/// The page's linter and formatter check (Biome), then its own tests (Vitest).
fn page_tests() -> Result<()> {
    run(Command::new(npm()).args(["run", "lint"]).current_dir("ui"))?;
    run(Command::new(npm()).args(["test"]).current_dir("ui"))
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

fn bench(which: Bench, redis: bool, root: &Path) -> Result<()> {
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    if redis && !matches!(which, Bench::Server) {
        bail!("--redis is an option of `bench server` only");
    }
    let (package, example, file) = match which {
        Bench::Server if redis => ("quartet-tests", "bench_server", "server-redis.json"),
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
        .arg(&out_file)
        .args(redis.then_some("--redis")))?;
    eprintln!("xtask: figures written to {}", out_file.display());
    Ok(())
}
