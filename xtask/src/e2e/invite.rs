//! The app started by an invite link, as the system starts it when a `quartet://join?…` link is
//! clicked: it opens at the pre-join of that room, on the link's server.

use super::{SETTLE, css, open_app, screenshot};
use anyhow::{Result, ensure};
use fantoccini::Client;
use std::path::Path;

/// The size the first run leaves its window at, which the app must open at again.
pub const LEFT_AT: (u32, u32) = (1000, 700);
/// The room the link names; no server answers there, which the pre-join does not need.
const ROOM: &str = "room_e2e_invite";
/// The link, as "Copy invite link" writes it.
const LINK: &str =
    "quartet://join?server=http%3A%2F%2F127.0.0.1%3A9&room=room_e2e_invite&kind=multi_room";

/// Starts the app at `app` with the link through the driver on `driver_port`, and checks where
/// it opens; a screenshot goes to `out`.
pub async fn launched_by_link(app: &Path, driver_port: u16, out: &Path) -> Result<()> {
    let client = open_app(app, &[LINK], driver_port).await?;
    let outcome = check(&client, out).await;
    let _ = tokio::time::timeout(SETTLE * 10, client.close()).await;
    outcome
}

async fn check(client: &Client, out: &Path) -> Result<()> {
    let room = css(client, "[data-testid=prejoin-room]")
        .await?
        .text()
        .await?;
    screenshot(client, &out.join("10-invite-link.png")).await?;
    ensure!(
        room.contains(ROOM),
        "the link opened {room:?}, not room {ROOM}"
    );
    css(client, "[data-testid=join-now]").await?;
    eprintln!("e2e: an invite link opened the pre-join of {ROOM}");
    let size = client.get_window_size().await?;
    eprintln!("e2e: the window opened at {size:?}, left at {LEFT_AT:?}");
    ensure!(
        (size.0 as u32, size.1 as u32) == LEFT_AT,
        "the window opened at {size:?}, not where it was left ({LEFT_AT:?})"
    );
    Ok(())
}
