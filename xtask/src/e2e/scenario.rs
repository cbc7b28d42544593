//! The real-window test's story, step by step: lobby, pre-join, a member typing, three bots
//! filling the grid with moving pictures, a snapshot, the screen picker, the feeds' figures,
//! and leaving as host.

use super::{
    BOT_DURATION_SECS, DEVICE_CHECK, E2eSetup, FEED_STATS_JS, MEASURE, MIN_CHANGED, MOTION_GAP,
    MOTION_TIMEOUT, Processes, SETTLE, STEP_TIMEOUT, TEXTER_TILE_JS, TILES_TIMEOUT, VIDEO_PATH_ENV,
    changed_share, choose, cpu, css, layout, screen_picker, screenshot, script, snapshot_path,
    wait_until,
};
use anyhow::{Context, Result, bail, ensure};
use fantoccini::{Client, Locator};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

pub(super) async fn scenario(
    client: &Client,
    setup: &E2eSetup,
    procs: &mut Processes,
    display: &str,
) -> Result<()> {
    let out = &setup.out;
    let server = lobby(client, out).await?;
    prejoin(client, out, display).await?;
    // The call.
    let room_id = css(client, "[data-testid=room-id]").await?.text().await?;
    eprintln!("e2e: in room {room_id}");
    css(client, "[data-testid=tile-0].live").await?;

    texter(client, setup, procs, &server, &room_id).await?;
    bots_fill_the_grid(client, setup, procs, &server, &room_id, display).await?;
    snapshot_grid(client, out).await?;
    screen_picker(client, out).await?;
    feed_figures(client, out).await?;
    leave_as_host(client, out, &room_id).await
}

/// Lobby: the app hosts on loopback by default and says where; returns that server's URL.
async fn lobby(client: &Client, out: &Path) -> Result<String> {
    // Lobby: the app hosts on loopback by default and says where.
    let host = css(client, "[data-testid=host-address][data-url]").await?;
    let server = host
        .attr("data-url")
        .await?
        .context("host address without URL")?;
    eprintln!("e2e: the app hosts a room server at {server}");
    if let Ok(path) = std::env::var(VIDEO_PATH_ENV) {
        css(client, "[data-testid=open-settings]")
            .await?
            .click()
            .await?;
        css(client, "[data-testid=video-path-select]").await?;
        choose(client, "video-path-select", &path).await?;
        css(client, "[data-testid=settings-done]")
            .await?
            .click()
            .await?;
    }
    css(client, "[data-testid=nickname]")
        .await?
        .send_keys("Presenter")
        .await?;
    css(client, "[data-testid=room-name]")
        .await?
        .send_keys("End to end")
        .await?;
    screenshot(client, &out.join("01-lobby.png")).await?;
    css(client, "[data-testid=create-room]")
        .await?
        .click()
        .await?;

    Ok(server)
}

/// Pre-join: no camera or microphone here, so the synthetic sources.
async fn prejoin(client: &Client, out: &Path, display: &str) -> Result<()> {
    // Pre-join: no camera or microphone here, so the synthetic sources.
    css(client, "[data-testid=join-now]").await?;
    wait_until("device lists", STEP_TIMEOUT, || async {
        let n = script(
            client,
            "return document.querySelector('[data-testid=camera-select]').options.length",
            vec![],
        )
        .await?;
        Ok((n.as_u64().unwrap_or(0) > 0).then_some(()))
    })
    .await?;
    // What a machine without camera or microphone shows before anything is chosen (taken from
    // the X server: a WebDriver screenshot of this still page has been seen to never answer).
    tokio::time::sleep(DEVICE_CHECK).await;
    let _ = Command::new("import")
        .args(["-display", display, "-window", "root"])
        .arg(out.join("02-prejoin-devices.png"))
        .status();
    choose(client, "camera-select", "synthetic").await?;
    choose(client, "microphone-select", "tone").await?;
    css(client, ".preview.live").await?;
    screenshot(client, &out.join("02-prejoin.png")).await?;
    css(client, "[data-testid=join-now]").await?.click().await?;

    Ok(())
}

/// A text message goes both ways with a member typing on a terminal, who then leaves.
async fn texter(
    client: &Client,
    setup: &E2eSetup,
    procs: &mut Processes,
    server: &str,
    room_id: &str,
) -> Result<()> {
    let out = &setup.out;
    // A text message goes round with a member typing on a terminal.
    let texter_out = out.join("texter.log");
    let texter = procs.spawn(
        "quartet join",
        Command::new(&setup.quartet)
            .args(["join", "--server", server, "--room", room_id])
            .args(["--name", "Texter"])
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&texter_out)?)
            .stderr(Stdio::null()),
    )?;
    let mut texter_in = texter.stdin.take().context("no stdin")?;
    wait_until("the texter to join", STEP_TIMEOUT, || async {
        Ok(std::fs::read_to_string(&texter_out)?
            .contains("joined room")
            .then_some(()))
    })
    .await?;
    // The texter joined but sends no stream: its tile waits for it, and says so.
    wait_until(
        "the texter's tile to wait for its stream",
        STEP_TIMEOUT,
        || async {
            let state = script(client, TEXTER_TILE_JS, vec![]).await?;
            Ok((state["state"].as_str() == Some("waitingForStream")).then_some(state))
        },
    )
    .await
    .and_then(|tile| {
        let text = tile["text"].as_str().unwrap_or_default();
        ensure!(
            text.contains("Waiting") && !text.contains("Reconnecting"),
            "the waiting tile reads {text:?}"
        );
        Ok(())
    })?;
    screenshot(client, &out.join("03-waiting.png")).await?;
    css(client, "[data-testid=toggle-chat]")
        .await?
        .click()
        .await?;
    css(client, "[data-testid=chat-input]")
        .await?
        .send_keys("hello from the app")
        .await?;
    css(client, "[data-testid=chat-send]")
        .await?
        .click()
        .await?;
    wait_until("the app's message at the texter", STEP_TIMEOUT, || async {
        Ok(std::fs::read_to_string(&texter_out)?
            .contains("hello from the app")
            .then_some(()))
    })
    .await?;
    writeln!(texter_in, "hello from a member")?;
    texter_in.flush()?;
    wait_until("the member's message in the app", STEP_TIMEOUT, || async {
        let shown = script(
            client,
            "return [...document.querySelectorAll('[data-testid=chat-message]')].map(e => e.textContent).join('\\n')",
            vec![],
        )
        .await?;
        Ok(shown
            .as_str()
            .is_some_and(|s| s.contains("hello from a member") && s.contains("Texter"))
            .then_some(()))
    })
    .await?;
    screenshot(client, &out.join("03-chat.png")).await?;
    layout::check_min_size(client, &out.join("03-smallest-window-chat.png")).await?;
    // End of input: the texter leaves, freeing the fourth place.
    drop(texter_in);
    procs.stop("quartet join");
    css(client, "[data-testid=toggle-chat]")
        .await?
        .click()
        .await?;

    Ok(())
}

/// Three bots fill the grid, and every tile shows a moving picture.
async fn bots_fill_the_grid(
    client: &Client,
    setup: &E2eSetup,
    procs: &mut Processes,
    server: &str,
    room_id: &str,
    display: &str,
) -> Result<()> {
    let out = &setup.out;
    // Three bots fill the grid.
    for i in 1..=3 {
        let name = format!("Bot {i}");
        let log = std::fs::File::create(out.join(format!("bot-{i}.log")))?;
        procs.spawn(
            &name,
            Command::new(&setup.quartet)
                .args([
                    "bot", "--server", server, "--room", room_id, "--name", &name,
                ])
                .args(["--duration", &BOT_DURATION_SECS.to_string()])
                .env_remove("DISPLAY")
                .stdout(log.try_clone()?)
                .stderr(log),
        )?;
    }
    wait_until("all four tiles to show pictures", TILES_TIMEOUT, || async {
        let live = script(
            client,
            "return document.querySelectorAll('.grid .tile.live:not(.video-off)').length",
            vec![],
        )
        .await?;
        Ok((live.as_u64() == Some(4)).then_some(()))
    })
    .await?;
    // Pictures flowing for a moment; then each tile must differ between the first screenshot
    // and a later one. A loaded machine may stall a tile briefly, so later shots are taken
    // until every tile has moved or time is up.
    tokio::time::sleep(MOTION_GAP).await;
    let first = screenshot(client, &out.join("04-call-a.png")).await?;
    let scale = f64::from(first.width())
        / script(client, "return window.innerWidth", vec![])
            .await?
            .as_f64()
            .unwrap_or(f64::from(first.width()));
    let mut rects = Vec::new();
    for i in 0..4 {
        let tile = css(client, &format!("[data-testid=tile-{i}]")).await?;
        rects.push(tile.rectangle().await?);
    }
    let mut moved = [None::<f64>; 4];
    let deadline = Instant::now() + MOTION_TIMEOUT;
    while moved.iter().any(Option::is_none) && Instant::now() < deadline {
        tokio::time::sleep(MOTION_GAP).await;
        let later = screenshot(client, &out.join("04-call-b.png")).await?;
        for (i, rect) in rects.iter().enumerate() {
            let changed = changed_share(&first, &later, *rect, scale);
            if moved[i].is_none() && changed >= MIN_CHANGED {
                eprintln!("e2e: tile {i}: {:.1} % of pixels changed", changed * 100.0);
                moved[i] = Some(changed);
            }
        }
    }
    let _ = Command::new("import")
        .args(["-display", display, "-window", "root"])
        .arg(out.join("05-screen.png"))
        .status();
    if let Some(still) = moved.iter().position(Option::is_none) {
        bail!("tile {still} shows no moving picture within {MOTION_TIMEOUT:?}");
    }
    Ok(())
}

/// The grid saved as a PNG, where the toast says.
async fn snapshot_grid(client: &Client, out: &Path) -> Result<()> {
    // The grid saved as a PNG, where the toast says.
    css(client, "[data-testid=snapshot-grid]")
        .await?
        .click()
        .await?;
    let saved = wait_until("the snapshot's toast", STEP_TIMEOUT, || async {
        let toasts = script(
            client,
            "return [...document.querySelectorAll('[data-testid=toast]')].map(e => e.textContent).join('\\n')",
            vec![],
        )
        .await?;
        Ok(toasts.as_str().and_then(snapshot_path))
    })
    .await?;
    let snapshot = image::open(&saved).with_context(|| format!("reading {}", saved.display()))?;
    eprintln!(
        "e2e: grid snapshot {}x{} at {}",
        snapshot.width(),
        snapshot.height(),
        saved.display()
    );
    std::fs::copy(&saved, out.join("08-grid-snapshot.png"))?;
    Ok(())
}

/// The transport's figures over a steady stretch, as the page measured them.
async fn feed_figures(client: &Client, out: &Path) -> Result<()> {
    css(client, "[data-testid=toggle-stats]")
        .await?
        .click()
        .await?;
    // The transport's figures over a steady stretch, as the page measured them, and the
    // app's CPU over the same stretch.
    let before = cpu::sample();
    tokio::time::sleep(MEASURE).await;
    let after = cpu::sample();
    let figures = script(client, FEED_STATS_JS, vec![]).await?;
    let figures = figures.as_str().unwrap_or("[]").to_owned();
    std::fs::write(out.join("feeds.json"), &figures)?;
    let feeds: Value = serde_json::from_str(&figures)?;
    for f in feeds.as_array().into_iter().flatten() {
        let num = |k: &str| f[k].as_f64().map_or("-".to_owned(), |v| format!("{v:.0}"));
        eprintln!(
            "e2e: feed {:<7} {:<5} {:>3} fps {:>5} KiB/s, sent→drawn p50 {} ms p95 {} ms ({} drawn of {}, decoder {})",
            f["feed"].as_str().unwrap_or("?"),
            f["encoding"].as_str().unwrap_or("?"),
            num("fps"),
            num("kibPerSecond"),
            num("sendToDrawMsP50"),
            num("sendToDrawMsP95"),
            num("frames"),
            num("received"),
            f["decoder"].as_str().unwrap_or("-"),
        );
    }
    report_cpu(&before, &after, out)?;
    screenshot(client, &out.join("06-stats.png")).await?;

    Ok(())
}

/// Leaving as host hands the room over; the lobby lists it with its new host.
async fn leave_as_host(client: &Client, out: &Path, room_id: &str) -> Result<()> {
    // Leave as host: asked, the room goes to the bot present longest and the others' call goes
    // on. The bots start together, so which of them joined first is the server's to say.
    css(client, "[data-testid=leave]").await?.click().await?;
    css(client, "[data-testid=leave-dialog]").await?;
    screenshot(client, &out.join("07-leave-dialog.png")).await?;
    css(client, "[data-testid=leave-hand-over]")
        .await?
        .click()
        .await?;
    css(client, "[data-testid=create-room]").await?;
    let heir = wait_until("a bot to become host", STEP_TIMEOUT, || async {
        Ok((1..=3).find(|i| {
            std::fs::read_to_string(out.join(format!("bot-{i}.log")))
                .is_ok_and(|log| log.contains("handed to us"))
        }))
    })
    .await?;
    eprintln!("e2e: the room went to Bot {heir}");
    let listed = format!("[data-testid=room][data-room-id=\"{room_id}\"]");
    let host_line = format!("Bot {heir}");
    wait_until(
        "the room listed with its new host",
        STEP_TIMEOUT,
        || async {
            css(client, "[data-testid=refresh-rooms]")
                .await?
                .click()
                .await?;
            tokio::time::sleep(SETTLE).await;
            let text = match client.find(Locator::Css(&listed)).await {
                Ok(room) => room.text().await?,
                Err(_) => return Ok(None),
            };
            Ok(text.contains(&host_line).then_some(()))
        },
    )
    .await?;
    screenshot(client, &out.join("07-left.png")).await?;
    Ok(())
}

/// Prints the app's CPU per process (a share of one core) and keeps it in `cpu.json`.
fn report_cpu(before: &cpu::Sample, after: &cpu::Sample, out: &Path) -> Result<()> {
    let (each, total) = cpu::shares(before, after);
    if each.is_empty() {
        eprintln!("e2e: app CPU: no /proc to read here");
        return Ok(());
    }
    let listed: Vec<String> = each.iter().map(|(n, v)| format!("{n} {v:.1}")).collect();
    eprintln!(
        "e2e: app CPU over {MEASURE:?}, % of one core: {}; total {total:.1}",
        listed.join(", ")
    );
    let threads = cpu::thread_shares(before, after);
    let busiest: Vec<String> = threads.iter().map(|(n, v)| format!("{n} {v:.1}")).collect();
    eprintln!(
        "e2e: busiest threads, % of one core: {}",
        busiest.join(", ")
    );
    let json = serde_json::json!({
        "seconds": MEASURE.as_secs_f64(),
        "percentOfOneCore": each.iter().map(|(n, v)| (n.clone(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
        "total": total,
        "threads": threads.iter().map(|(n, v)| (n.clone(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
    });
    std::fs::write(out.join("cpu.json"), json.to_string())?;
    Ok(())
}
