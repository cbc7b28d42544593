//! Choosing what to share under Xvfb: another X client's window (made here with x11rb, named
//! with `_NET_WM_NAME`, white on its left half and black on its right) is listed by its title and
//! shared alone; monitors (RandR, set here as a window manager would find them) grab their own
//! part of the screen; a window closed or shrunk mid-share ends the share with an error saying
//! so. Needs Xvfb.

#![cfg(target_os = "linux")]

use anyhow::{Context, Result, ensure};
use quartet_call::{ScreenKind, shareable_screens};
use quartet_media::source::{ScreenSource, SourceError, list_screen_sources_on, screen_thumbnail};
use quartet_media::{VideoFrame, VideoSource};
use quartet_tests::xvfb::{Xvfb, start_xvfb};
use std::time::{Duration, Instant};
use x11rb::connection::Connection;
use x11rb::protocol::randr::{ConnectionExt as _, MonitorInfo};
use x11rb::protocol::xproto::{
    AtomEnum, ChangeWindowAttributesAux, ConnectionExt as _, CreateGCAux, CreateWindowAux,
    PropMode, Rectangle, Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
/// The test window's place and size on the screen.
const WINDOW: (i16, i16, u16, u16) = (100, 80, 200, 120);
const TITLE: &str = "Quartet test window: 草稿";
/// Longest the first picture of a grab may take (a loaded machine; one comes in ~0.1 s).
const FIRST_FRAME: Duration = Duration::from_secs(10);
/// Longest a share may go on once its window is closed.
const END_AFTER_CLOSE: Duration = Duration::from_secs(10);
const DARK_ROOT: u32 = 0x20_40_c0;

/// A second X client with one window on screen.
struct Client {
    conn: RustConnection,
    root: Window,
    window: Window,
}

fn atom(conn: &RustConnection, name: &str) -> Result<u32> {
    Ok(conn.intern_atom(false, name.as_bytes())?.reply()?.atom)
}

/// Connects to `x`, paints the root dark blue, puts the pointer in the bottom-right corner
/// (out of every region these tests grab), and shows a window at [`WINDOW`]: white left half,
/// black right half, named [`TITLE`].
fn client(x: &Xvfb) -> Result<Client> {
    let (conn, screen) = x11rb::connect(Some(&x.name))?;
    let root = conn.setup().roots[screen].root;
    conn.change_window_attributes(
        root,
        &ChangeWindowAttributesAux::new().background_pixel(DARK_ROOT),
    )?;
    conn.clear_area(false, root, 0, 0, 0, 0)?;
    conn.warp_pointer(
        x11rb::NONE,
        root,
        0,
        0,
        0,
        0,
        WIDTH as i16 - 1,
        HEIGHT as i16 - 1,
    )?;
    let (wx, wy, ww, wh) = WINDOW;
    let window = conn.generate_id()?;
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        window,
        root,
        wx,
        wy,
        ww,
        wh,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().background_pixel(0xff_ff_ff),
    )?;
    let utf8 = atom(&conn, "UTF8_STRING")?;
    conn.change_property8(
        PropMode::REPLACE,
        window,
        atom(&conn, "_NET_WM_NAME")?,
        utf8,
        TITLE.as_bytes(),
    )?;
    conn.change_property8(
        PropMode::REPLACE,
        window,
        AtomEnum::WM_NAME,
        AtomEnum::STRING,
        b"Quartet test window",
    )?;
    conn.map_window(window)?;
    // A round trip: the window is shown before anything is drawn on it.
    conn.get_input_focus()?.reply()?;
    let gc = conn.generate_id()?;
    conn.create_gc(gc, window, &CreateGCAux::new().foreground(0))?;
    conn.poly_fill_rectangle(
        window,
        gc,
        &[Rectangle {
            x: ww as i16 / 2,
            y: 0,
            width: ww / 2,
            height: wh,
        }],
    )?;
    conn.get_input_focus()?.reply()?;
    Ok(Client { conn, root, window })
}

fn first_frame(source: &mut ScreenSource) -> Result<VideoFrame> {
    let started = Instant::now();
    loop {
        if let Some(frame) = source.next_frame()? {
            return Ok(frame);
        }
        ensure!(started.elapsed() < FIRST_FRAME, "no picture came");
    }
}

/// Mean luma of the columns `from..to` of `frame`.
fn mean_luma(frame: &VideoFrame, from: u32, to: u32) -> f64 {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let y = frame.y();
    let mut sum = 0u64;
    for row in 0..h {
        for col in from as usize..to as usize {
            sum += u64::from(y[row * w + col]);
        }
    }
    sum as f64 / ((to - from) as usize * h) as f64
}

#[test]
fn a_window_is_listed_by_its_title_and_shared_alone() -> Result<()> {
    let x = start_xvfb(WIDTH, HEIGHT)?;
    let client = client(&x)?;
    let listed = list_screen_sources_on(Some(&x.name))?;
    eprintln!("listed: {listed:?}");
    ensure!(
        listed.first().map(|s| (s.kind, s.width, s.height))
            == Some((ScreenKind::Desktop, WIDTH, HEIGHT)),
        "the whole screen comes first"
    );
    let window = listed
        .iter()
        .find(|s| s.kind == ScreenKind::Window)
        .context("the window is not listed")?;
    ensure!(window.label == TITLE, "listed as {:?}", window.label);
    ensure!((window.width, window.height) == (200, 120), "{window:?}");

    let id = window.id.to_string();
    let mut source = ScreenSource::open(Some(&id), 10)?;
    let frame = first_frame(&mut source)?;
    ensure!(
        (frame.width(), frame.height()) == (200, 120),
        "the window's picture is {}x{}",
        frame.width(),
        frame.height()
    );
    let (left, right) = (mean_luma(&frame, 0, 100), mean_luma(&frame, 100, 200));
    ensure!(
        left > 200.0 && right < 40.0,
        "not the window's picture: left {left:.0}, right {right:.0}"
    );

    // What the person chooses by: the window's picture, its shape kept.
    let thumbnail = screen_thumbnail(Some(&id), 160, 160)?;
    ensure!(
        (thumbnail.width(), thumbnail.height()) == (160, 96),
        "thumbnail {}x{}",
        thumbnail.width(),
        thumbnail.height()
    );
    let started = Instant::now();
    let choices = shareable_screens(Some(&x.name), 160, 90)?;
    eprintln!(
        "{} choices with pictures in {:?}",
        choices.len(),
        started.elapsed()
    );
    ensure!(
        choices.iter().all(|c| c.thumbnail.is_some()) && choices.len() == listed.len(),
        "every source comes with its picture"
    );
    drop(client);
    Ok(())
}

#[test]
fn each_monitor_grabs_its_own_part_of_the_screen() -> Result<()> {
    let x = start_xvfb(WIDTH, HEIGHT)?;
    let client = client(&x)?;
    let screens = |listed: &[quartet_call::ShareableScreen]| {
        listed
            .iter()
            .filter(|s| s.kind != ScreenKind::Window)
            .map(|s| (s.kind, s.label.clone(), s.width, s.height))
            .collect::<Vec<_>>()
    };
    let one = list_screen_sources_on(Some(&x.name))?;
    ensure!(
        screens(&one).len() == 1 && one[0].kind == ScreenKind::Desktop,
        "one screen is offered once: {:?}",
        screens(&one)
    );

    // Two monitors side by side, as RandR reports a two-screen desk; a white window covers
    // the left one, the right one shows the dark root.
    let half = (WIDTH / 2) as u16;
    for (name, x0) in [("LEFT", 0), ("RIGHT", half as i16)] {
        let monitor = MonitorInfo {
            name: atom(&client.conn, name)?,
            primary: name == "RIGHT",
            automatic: false,
            x: x0,
            y: 0,
            width: half,
            height: HEIGHT as u16,
            width_in_millimeters: 0,
            height_in_millimeters: 0,
            outputs: Vec::new(),
        };
        client.conn.randr_set_monitor(client.root, monitor)?;
    }
    let cover = client.conn.generate_id()?;
    client.conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        cover,
        client.root,
        0,
        0,
        half,
        HEIGHT as u16,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().background_pixel(0xff_ff_ff),
    )?;
    client.conn.map_window(cover)?;
    client.conn.get_input_focus()?.reply()?;

    let two = list_screen_sources_on(Some(&x.name))?;
    eprintln!("listed: {:?}", screens(&two));
    let monitors: Vec<_> = two
        .iter()
        .filter(|s| s.kind == ScreenKind::Monitor)
        .collect();
    ensure!(
        two[0].kind == ScreenKind::Desktop && two[0].width == WIDTH,
        "all screens come first"
    );
    let labels: Vec<_> = monitors.iter().map(|m| m.label.as_str()).collect();
    ensure!(
        labels.starts_with(&["RIGHT"]) && labels.contains(&"LEFT"),
        "the primary monitor first, then the others: {labels:?}"
    );
    for monitor in monitors
        .iter()
        .filter(|m| m.label == "LEFT" || m.label == "RIGHT")
    {
        let mut source = ScreenSource::open(Some(&monitor.id.to_string()), 10)?;
        let frame = first_frame(&mut source)?;
        ensure!(
            (frame.width(), frame.height()) == (WIDTH / 2, HEIGHT),
            "{} grabs {}x{}",
            monitor.label,
            frame.width(),
            frame.height()
        );
        let luma = mean_luma(&frame, 0, frame.width());
        let white = monitor.label == "LEFT";
        ensure!(
            if white { luma > 200.0 } else { luma < 120.0 },
            "{} shows another part of the screen: mean luma {luma:.0}",
            monitor.label
        );
    }
    Ok(())
}

/// The test window listed on `x`, shared, with its first picture in.
fn share_the_window(x: &Xvfb) -> Result<ScreenSource> {
    let window = list_screen_sources_on(Some(&x.name))?
        .into_iter()
        .find(|s| s.kind == ScreenKind::Window)
        .context("the window is not listed")?;
    let mut source = ScreenSource::open(Some(&window.id.to_string()), 10)?;
    first_frame(&mut source)?;
    Ok(source)
}

/// `source` ends within [`END_AFTER_CLOSE`] of its window being `what` (closed, made
/// smaller), with a failure that says so.
fn ends_saying(mut source: ScreenSource, what: &str) -> Result<()> {
    let since = Instant::now();
    let error = loop {
        ensure!(
            since.elapsed() < END_AFTER_CLOSE,
            "the share went on after its window was {what}"
        );
        match source.next_frame() {
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    eprintln!(
        "ended {:?} after the window was {what}: {error}",
        since.elapsed()
    );
    ensure!(
        matches!(error, SourceError::Failed { .. }) && error.to_string().contains(what),
        "unclear error: {error}"
    );
    Ok(())
}

#[test]
fn a_window_closed_mid_share_ends_the_share_with_an_error() -> Result<()> {
    let x = start_xvfb(WIDTH, HEIGHT)?;
    let client = client(&x)?;
    let source = share_the_window(&x)?;
    client.conn.destroy_window(client.window)?;
    client.conn.get_input_focus()?.reply()?;
    ends_saying(source, "closed")
}

#[test]
fn a_window_made_smaller_mid_share_ends_the_share_with_an_error() -> Result<()> {
    let x = start_xvfb(WIDTH, HEIGHT)?;
    let client = client(&x)?;
    let source = share_the_window(&x)?;
    client.conn.configure_window(
        client.window,
        &x11rb::protocol::xproto::ConfigureWindowAux::new()
            .width(100)
            .height(60),
    )?;
    client.conn.get_input_focus()?.reply()?;
    ends_saying(source, "made smaller")
}
