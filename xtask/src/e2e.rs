//! The real-window test: the desktop app under Xvfb, driven through tauri-driver and
//! WebKitWebDriver. It creates a room, exchanges text with a member, lets three `quartet bot`s
//! join, checks that all four tiles show moving pictures, and leaves; on the way, that nothing
//! in the call overlaps at the window's smallest size with the chat open. Screenshots stay in
//! `target/e2e/`.

mod cpu;
mod invite;
mod layout;
mod scenario;

use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Screen of the virtual display.
const SCREEN: &str = "1280x800x24";
/// Displays tried for Xvfb (the first free one is used).
const DISPLAYS: std::ops::Range<u32> = 90..160;
/// Time for Xvfb and tauri-driver to come up.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Time for a screen of the app to show what is expected.
const STEP_TIMEOUT: Duration = Duration::from_secs(45);
/// Time for every tile to show pictures once the bots are started (they build nothing,
/// but join, publish and get played on a 2-core machine running a debug app).
const TILES_TIMEOUT: Duration = Duration::from_secs(90);
/// Between the two screenshots compared for motion.
const MOTION_GAP: Duration = Duration::from_millis(1500);
/// Longest wait for every tile to show a changed picture.
const MOTION_TIMEOUT: Duration = Duration::from_secs(20);
/// A pixel whose channels moved by more than this (of 255) counts as changed.
const PIXEL_DELTA: u8 = 24;
/// Share of a tile's pixels that must change between the screenshots.
const MIN_CHANGED: f64 = 0.002;
/// How long the bots stay before leaving on their own (the test stops them sooner).
const BOT_DURATION_SECS: u32 = 300;
/// Time for the window to show what the page painted before a screenshot.
const SETTLE: Duration = Duration::from_millis(600);
/// Set to `webgl` or `webcodecs` to choose how the page gets pictures (default: automatic).
const VIDEO_PATH_ENV: &str = "QUARTET_E2E_VIDEO_PATH";
/// How long the page's video figures are gathered at the end.
const MEASURE: Duration = Duration::from_secs(8);
/// Time for the pre-join screen to try the default devices.
const DEVICE_CHECK: Duration = Duration::from_millis(1500);
/// Longest wait for the WebDriver session to close.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the whole scenario may take: a WebDriver command that never answers fails the test
/// instead of hanging it.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(360);
/// The screen captured when the scenario fails.
const FAILURE_PNG: &str = "failure.png";
/// Lines printed from the end of each log when the scenario fails.
const FAILURE_LOG_LINES: usize = 40;
/// The page's figures for every open video feed, as JSON.
const FEED_STATS_JS: &str = "return JSON.stringify(window.__quartet.feedStats())";
/// How often conditions are polled.
const POLL: Duration = Duration::from_millis(250);

/// Child processes stopped (SIGTERM, then waited for) when dropped, in reverse order.
#[derive(Default)]
struct Processes(Vec<(String, Child)>);

impl Processes {
    fn spawn(&mut self, name: &str, cmd: &mut Command) -> Result<&mut Child> {
        let child = cmd
            .spawn()
            .with_context(|| format!("could not start {name}"))?;
        self.0.push((name.to_owned(), child));
        Ok(&mut self.0.last_mut().context("just pushed")?.1)
    }

    fn stop(&mut self, name: &str) {
        if let Some(i) = self.0.iter().position(|(n, _)| n == name) {
            let (name, child) = self.0.remove(i);
            terminate(&name, child);
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        while let Some((name, child)) = self.0.pop() {
            terminate(&name, child);
        }
    }
}

/// SIGTERM (tauri-driver must not be SIGKILLed: it would leave WebKitWebDriver behind), then
/// a bounded wait, then SIGKILL.
fn terminate(name: &str, mut child: Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("e2e: {name} ignored SIGTERM; killing it");
    let _ = child.kill();
    let _ = child.wait();
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

/// tauri-driver from PATH or cargo's bin folder.
pub fn tauri_driver() -> Option<PathBuf> {
    which("tauri-driver").or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        Some(home.join("bin/tauri-driver")).filter(|p| p.is_file())
    })
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn free_display() -> Option<u32> {
    DISPLAYS.into_iter().find(|n| {
        !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
    })
}

async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = probe().await;
        match last {
            Ok(Some(v)) => return Ok(v),
            Ok(None) if Instant::now() < deadline => {}
            Err(e) if Instant::now() < deadline => {
                let _ = e;
            }
            Ok(None) => bail!("timed out after {timeout:?} waiting for {what}"),
            Err(e) => return Err(e.context(format!("waiting for {what}"))),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Everything the test needs from the build.
pub struct E2eSetup {
    /// The debug build of the app.
    pub app: PathBuf,
    /// The `quartet` binary (for bots and `quartet join`).
    pub quartet: PathBuf,
    /// Where screenshots go.
    pub out: PathBuf,
}

/// Runs the test; `Ok(false)` when it was skipped (a tool is missing outside CI).
pub fn run(setup: &E2eSetup) -> Result<bool> {
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let mut missing = Vec::new();
    if which("Xvfb").is_none() {
        missing.push("Xvfb (apt: xvfb)");
    }
    if which("WebKitWebDriver").is_none() {
        missing.push("WebKitWebDriver (apt: webkit2gtk-driver)");
    }
    if tauri_driver().is_none() {
        missing.push("tauri-driver (cargo install tauri-driver --version ^2 --locked)");
    }
    if !missing.is_empty() {
        let message = format!(
            "the end-to-end test needs {}; run `cargo xtask setup`",
            missing.join(", ")
        );
        if in_ci {
            bail!(message);
        }
        eprintln!("xtask: SKIPPING the end-to-end test: {message}");
        return Ok(false);
    }
    if std::env::consts::OS != "linux" {
        eprintln!(
            "xtask: SKIPPING the end-to-end test: tauri-driver drives WebKitGTK on Linux only"
        );
        return Ok(false);
    }
    // Pictures and logs of an earlier run would pass for this run's.
    let _ = std::fs::remove_dir_all(&setup.out);
    std::fs::create_dir_all(&setup.out)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(drive(setup))?;
    Ok(true)
}

async fn drive(setup: &E2eSetup) -> Result<()> {
    let mut procs = Processes::default();
    let display = free_display().context("no free X display number")?;
    let display_name = format!(":{display}");
    let xvfb_log = std::fs::File::create(setup.out.join("xvfb.log"))?;
    procs.spawn(
        "Xvfb",
        Command::new("Xvfb")
            .args([&display_name, "-screen", "0", SCREEN, "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(xvfb_log),
    )?;
    let socket = PathBuf::from(format!("/tmp/.X11-unix/X{display}"));
    wait_until("Xvfb", START_TIMEOUT, || {
        let up = socket.exists();
        async move { Ok(up.then_some(())) }
    })
    .await?;

    // A fresh profile: no settings or logs from earlier runs.
    let home = setup.out.join("profile");
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home)?;
    let driver_port = free_port()?;
    let native_port = free_port()?;
    let driver_log = std::fs::File::create(setup.out.join("app.log"))?;
    let driver = tauri_driver().context("tauri-driver vanished")?;
    procs.spawn(
        "tauri-driver",
        Command::new(driver)
            .args(["--port", &driver_port.to_string()])
            .args(["--native-port", &native_port.to_string()])
            .env("DISPLAY", &display_name)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_PICTURES_DIR", home.join("pictures"))
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdout(driver_log.try_clone()?)
            .stderr(driver_log),
    )?;
    // tauri-driver forwards every request to WebKitWebDriver, which it starts itself and which
    // comes up later on a busy machine; a request sent before both listen is dropped unanswered.
    for (what, port) in [
        ("tauri-driver", driver_port),
        ("WebKitWebDriver", native_port),
    ] {
        wait_until(what, START_TIMEOUT, || async move {
            Ok(std::net::TcpStream::connect(("127.0.0.1", port))
                .is_ok()
                .then_some(()))
        })
        .await?;
    }

    let client = open_app(&setup.app, &[], driver_port).await?;
    let outcome = match tokio::time::timeout(
        SCENARIO_TIMEOUT,
        scenario::scenario(&client, setup, &mut procs, &display_name),
    )
    .await
    {
        Ok(outcome) => outcome,
        Err(_) => Err(anyhow::anyhow!(
            "the scenario did not finish within {SCENARIO_TIMEOUT:?}"
        )),
    };
    if outcome.is_err() {
        let _ = Command::new("import")
            .args(["-display", &display_name, "-window", "root"])
            .arg(setup.out.join(FAILURE_PNG))
            .status();
        report_failure(&client, &setup.out).await;
    }
    if outcome.is_ok() {
        // Left at this size, the app opens at it next time (the window-state plugin).
        let (w, h) = invite::LEFT_AT;
        let _ = client.set_window_size(w, h).await;
        tokio::time::sleep(SETTLE).await;
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, client.close()).await;
    let outcome = match outcome {
        Ok(()) => tokio::time::timeout(
            SCENARIO_TIMEOUT,
            invite::launched_by_link(&setup.app, driver_port, &setup.out),
        )
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the app started by a link did not open"))),
        failed => failed,
    };
    drop(procs);
    outcome
}

/// Starts the app at `app` with `args` through tauri-driver on `driver_port`.
async fn open_app(app: &Path, args: &[&str], driver_port: u16) -> Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({ "application": app.display().to_string(), "args": args }),
    );
    // Plain HTTP to the driver on loopback: no TLS stack to build or configure.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .with_context(|| format!("could not open the app through tauri-driver with {args:?}"))
}

/// Prints what a failed run leaves to read, since CI keeps only the output: the tiles as the
/// page shows them and the end of every log.
async fn report_failure(client: &Client, out: &Path) {
    let tiles = "return [...document.querySelectorAll('.grid .tile')].map(t => \
                 `${t.dataset.testid} [${t.className}] user=${t.dataset.userId || '-'}: \
                 ${t.innerText.replace(/\\s+/g, ' ').trim()}`).join('\\n')";
    for (what, js) in [("tiles", tiles), ("feeds", FEED_STATS_JS)] {
        match tokio::time::timeout(CLOSE_TIMEOUT, script(client, js, vec![])).await {
            Ok(Ok(v)) => eprintln!("e2e: {what} at the failure:\n{}", v.as_str().unwrap_or("?")),
            Ok(Err(e)) => eprintln!("e2e: could not read the {what}: {e:#}"),
            Err(_) => eprintln!("e2e: the page did not answer for the {what}"),
        }
    }
    let mut logs: Vec<PathBuf> = std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    for log in logs {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with("ALSA lib"))
            .collect();
        let tail = &lines[lines.len().saturating_sub(FAILURE_LOG_LINES)..];
        eprintln!("e2e: ---- end of {} ----", log.display());
        for line in tail {
            eprintln!("{line}");
        }
    }
}

async fn css(client: &Client, selector: &str) -> Result<fantoccini::elements::Element> {
    client
        .wait()
        .at_most(STEP_TIMEOUT)
        .for_element(Locator::Css(selector))
        .await
        .with_context(|| format!("no element {selector}"))
}

async fn script(client: &Client, js: &str, args: Vec<Value>) -> Result<Value> {
    client
        .execute(js, args)
        .await
        .with_context(|| format!("script failed: {js}"))
}

async fn screenshot(client: &Client, path: &Path) -> Result<image::RgbaImage> {
    // The screenshot is of the last painted frame: give the page a moment to paint.
    tokio::time::sleep(SETTLE).await;
    let png = client.screenshot().await.context("taking a screenshot")?;
    std::fs::write(path, &png)?;
    Ok(image::load_from_memory(&png)?.to_rgba8())
}

/// Sets a select's value as a person choosing it would.
async fn choose(client: &Client, testid: &str, value: &str) -> Result<()> {
    script(
        client,
        "const s = document.querySelector(`[data-testid=\"${arguments[0]}\"]`);\
         s.value = arguments[1]; s.dispatchEvent(new Event('change')); return s.value;",
        vec![json!(testid), json!(value)],
    )
    .await?;
    Ok(())
}

/// Opens "Share my screen" mid-call: what this display offers comes with pictures, its whole
/// screen first; Cancel shares nothing and puts the camera list back.
async fn screen_picker(client: &Client, out: &Path) -> Result<()> {
    css(client, "[data-testid=toggle-devices]")
        .await?
        .click()
        .await?;
    let before = wait_until(
        "the camera list to offer the screen",
        STEP_TIMEOUT,
        || async {
            let value = script(client, CAMERA_SELECT_JS, vec![]).await?;
            Ok(value.as_str().map(str::to_owned))
        },
    )
    .await?;
    choose(client, "call-camera-select", "screen").await?;
    let cards = wait_until("the screen picker's cards", STEP_TIMEOUT, || async {
        let cards = script(client, SCREEN_CARDS_JS, vec![]).await?;
        Ok(cards.as_array().filter(|c| !c.is_empty()).map(|c| {
            c.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        }))
    })
    .await?;
    eprintln!("e2e: the screen picker offers {cards:?}");
    ensure!(
        cards.first().is_some_and(|c| c.starts_with("desktop ")),
        "the whole screen is not offered first: {cards:?}"
    );
    ensure!(
        cards.iter().all(|c| c.ends_with(" picture")),
        "a source came without its picture: {cards:?}"
    );
    screenshot(client, &out.join("08-screen-picker.png")).await?;
    css(client, "[data-testid=screen-cancel]")
        .await?
        .click()
        .await?;
    wait_until("the camera list put back", STEP_TIMEOUT, || async {
        let value = script(client, CAMERA_SELECT_JS, vec![]).await?;
        let gone = script(
            client,
            "return !document.querySelector('[data-testid=screen-dialog]')",
            vec![],
        )
        .await?;
        Ok((value.as_str() == Some(before.as_str()) && gone.as_bool() == Some(true)).then_some(()))
    })
    .await?;
    css(client, "[data-testid=toggle-devices]")
        .await?
        .click()
        .await?;
    Ok(())
}

/// The call's camera list's value, once it offers the screen (null before).
const CAMERA_SELECT_JS: &str = "const s = document.querySelector('[data-testid=call-camera-select]');\
    return s && s.querySelector('option[value=screen]') ? s.value : null;";

/// Each card of the screen picker as "kind label picture|none".
const SCREEN_CARDS_JS: &str = "return [...document.querySelectorAll('[data-testid=screen-source]')]\
    .map(c => `${c.dataset.kind} ${c.textContent} ${c.querySelector('img') ? 'picture' : 'none'}`);";

/// The texter's tile: its state and what it reads.
const TEXTER_TILE_JS: &str = "const t = [...document.querySelectorAll('.grid .tile')]\
    .find(t => t.textContent.includes('Texter'));\
    return t ? { state: t.dataset.state ?? null, text: t.textContent } : {};";

/// The PNG path in a toast such as "Snapshot saved to /x/quartet-grid-1.png".
fn snapshot_path(toasts: &str) -> Option<PathBuf> {
    let end = toasts.find(".png")? + ".png".len();
    let start = toasts[..end]
        .rfind(|c: char| c.is_whitespace())
        .map_or(0, |i| i + 1);
    Some(PathBuf::from(&toasts[start..end]))
}

/// Share of pixels inside `rect` (CSS pixels: x, y, w, h) that changed between two shots.
fn changed_share(
    a: &image::RgbaImage,
    b: &image::RgbaImage,
    rect: (f64, f64, f64, f64),
    scale: f64,
) -> f64 {
    let (x, y, w, h) = rect;
    let clamp = |v: f64, max: u32| (v * scale).round().clamp(0.0, f64::from(max)) as u32;
    let (x0, x1) = (clamp(x, a.width()), clamp(x + w, a.width()));
    let (y0, y1) = (clamp(y, a.height()), clamp(y + h, a.height()));
    let (mut changed, mut total) = (0u64, 0u64);
    for py in y0..y1.min(b.height()) {
        for px in x0..x1.min(b.width()) {
            let (p, q) = (a.get_pixel(px, py), b.get_pixel(px, py));
            total += 1;
            if (0..3).any(|c| p[c].abs_diff(q[c]) > PIXEL_DELTA) {
                changed += 1;
            }
        }
    }
    if total == 0 {
        0.0
    } else {
        changed as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_path_is_read_from_its_toast() {
        assert_eq!(
            snapshot_path("Ben joined\nSnapshot saved to /tmp/p/quartet-grid-1.png"),
            Some(PathBuf::from("/tmp/p/quartet-grid-1.png"))
        );
        assert_eq!(
            snapshot_path("截图已保存到 /a/quartet-grid-2.png"),
            Some(PathBuf::from("/a/quartet-grid-2.png"))
        );
        assert_eq!(snapshot_path("Ben joined"), None);
    }

    #[test]
    fn motion_is_measured_inside_the_rectangle_only() {
        let a = image::RgbaImage::new(20, 10);
        let mut b = a.clone();
        for x in 10..20 {
            for y in 0..10 {
                b.put_pixel(x, y, image::Rgba([255, 255, 255, 255]));
            }
        }
        assert_eq!(changed_share(&a, &b, (0.0, 0.0, 10.0, 10.0), 1.0), 0.0);
        assert_eq!(changed_share(&a, &b, (10.0, 0.0, 10.0, 10.0), 1.0), 1.0);
        assert_eq!(changed_share(&a, &b, (5.0, 0.0, 10.0, 10.0), 1.0), 0.5);
        // Device pixels twice the CSS pixels.
        assert_eq!(changed_share(&a, &b, (5.0, 0.0, 5.0, 5.0), 2.0), 1.0);
    }
}
