//! Sharing a screen under Xvfb: a member publishes the virtual screen (FFmpeg's x11grab) showing
//! a known, text-like picture through the embedded relay, and what another member decodes holds
//! against that picture (luma SSIM), at 1280×720 and 5 fps within 800 kbit/s. Needs Xvfb and
//! ImageMagick (`cargo xtask test` installs both).

#![cfg(target_os = "linux")]

use anyhow::{Context, Result, ensure};
use image::{Rgb, RgbImage};
use quartet_call::{CallEvent, GridLayout, Link, MediaSettings, VideoInput};
use quartet_media::VideoFrame;
use quartet_media::source::{corner_rect, screen_thumbnail};
use quartet_room::JoinTarget;
use quartet_testkit::picture::{luma_bt601, ssim};
use quartet_testkit::require;
use quartet_tests::xvfb::{self, Xvfb};
use quartet_tests::{
    DEADLINE, Host, TEST_HEIGHT, TEST_WIDTH, TestMember, eventually, init_tracing, member_config,
};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
const FPS: u32 = 5;
const KBPS: u32 = 800;
/// Median legibility asked of a shared screen at these settings. Measured 0.974 with a shared
/// screen's keyframe spacing; 0.871 with a camera's 2 s GOP, whose every keyframe fell to 0.72.
const MIN_SSIM: f64 = 0.95;
/// Most keyframes a still screen may send in this test: the first, and one for the viewer.
const MAX_KEYFRAMES: u64 = 3;
/// How long the viewer's picture is scored once it arrives at full size.
const MEASURE: Duration = Duration::from_secs(6);
/// How often it is scored.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

fn start_xvfb() -> Result<Xvfb> {
    xvfb::start_xvfb(WIDTH, HEIGHT)
}

/// A screen of text: lines of word-like dark blocks on a light page, a coloured sidebar.
fn text_page() -> RgbImage {
    RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        if x < 200 {
            return Rgb([40, 60, (100 + y / 8) as u8]);
        }
        let (line, in_line) = (y / 24, y % 24);
        let word = (x / 9).wrapping_mul(2_654_435_761).wrapping_add(line * 97) % 7;
        let glyph = in_line > 6 && in_line < 18 && word != 0 && (x % 9) < 7 && (x + y) % 5 != 0;
        if glyph {
            Rgb([20, 20, 30])
        } else {
            Rgb([245, 245, 240])
        }
    })
}

/// Shows `picture` on the root window of `display` (ImageMagick's `display`, which exits
/// non-zero once the root is set since it has no window of its own to keep).
fn show_on_root(display: &str, picture: &Path) -> Result<()> {
    let show = require("display", "Debian package imagemagick")?;
    Command::new(show)
        .args(["-window", "root"])
        .arg(picture)
        .env("DISPLAY", display)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    Ok(())
}

fn media(width: u32, height: u32) -> MediaSettings {
    MediaSettings {
        width,
        height,
        fps: FPS,
        video_kbps: KBPS,
        tile_width: width,
        tile_height: height,
        send_small: false,
        keyframe_interval: quartet_media::publish::MAX_KEYFRAME_INTERVAL,
        ..MediaSettings::default()
    }
}

/// An Xvfb screen showing [`text_page`], and that page's luma to score pictures against.
fn screen_showing_text() -> Result<(Xvfb, Vec<u8>)> {
    let x = start_xvfb()?;
    let dir = tempfile::tempdir()?;
    let page = text_page();
    let file = dir.path().join("page.png");
    page.save(&file)?;
    show_on_root(&x.name, &file)?;
    Ok((x, luma_bt601(page.as_raw())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_screen_reaches_another_member_legible() -> Result<()> {
    init_tracing();
    let (x, want) = screen_showing_text()?;

    let host = Host::with_relay(|_| {}).await?;
    let mut sharer = member_config(
        &host.url,
        JoinTarget::Create {
            room_name: "Screens".into(),
        },
        "Presenter",
    );
    sharer.video = VideoInput::Screen(Some(x.name.clone()));
    sharer.media = media(WIDTH, HEIGHT);
    let sharer = TestMember::start(sharer).await?;
    let mut viewer = member_config(
        &host.url,
        JoinTarget::Join {
            room_id: sharer.call.room_id(),
        },
        "Viewer",
    );
    viewer.media = media(320, 180);
    viewer.media.tile_width = WIDTH;
    viewer.media.tile_height = HEIGHT;
    let viewer = TestMember::start(viewer).await?;

    let id = sharer.user_id();
    let started = Instant::now();
    let mut scores = Vec::new();
    let mut measuring_since = None::<Instant>;
    while measuring_since.is_none_or(|t| t.elapsed() < MEASURE) {
        ensure!(
            started.elapsed() < DEADLINE,
            "the viewer saw no {WIDTH}x{HEIGHT} picture of the screen"
        );
        tokio::time::sleep(SAMPLE_EVERY).await;
        let Some(frame) = viewer
            .tile_of(&id)
            .and_then(|t| t.frames().borrow().clone())
        else {
            continue;
        };
        if (frame.width(), frame.height()) != (WIDTH, HEIGHT) {
            continue;
        }
        measuring_since.get_or_insert_with(Instant::now);
        scores.push(ssim(frame.y(), &want, WIDTH as usize, HEIGHT as usize).unwrap_or(0.0));
    }
    let sent = sharer
        .call
        .stats()
        .publisher
        .context("the sharer has no publisher")?;
    viewer.leave().await?;
    sharer.leave().await?;
    host.stop().await?;
    // In time order: how the picture sharpens between the encoder's dips.
    eprintln!(
        "SSIM in time order: {:?}",
        scores
            .iter()
            .map(|s| (s * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>()
    );
    scores.sort_by(f64::total_cmp);
    let median = scores[scores.len() / 2];
    eprintln!(
        "shared screen at {WIDTH}x{HEIGHT}, {FPS} fps, {KBPS} kbit/s: SSIM min {:.3} median {median:.3} max {:.3} over {} looks",
        scores[0],
        scores[scores.len() - 1],
        scores.len()
    );
    eprintln!(
        "sharer sent {:.0} kbit/s, {} keyframes in {} frames, {:.1} ms per encode",
        sent.kbps,
        sent.keyframes,
        sent.frames_encoded,
        sent.encode_ms_mean.unwrap_or(0.0)
    );
    ensure!(
        sent.keyframes <= MAX_KEYFRAMES,
        "a still screen sent {} keyframes",
        sent.keyframes
    );
    ensure!(
        median >= MIN_SSIM,
        "the shared screen is not legible: median SSIM {median:.3} < {MIN_SSIM}"
    );
    Ok(())
}

#[test]
fn the_picture_shown_before_sharing_is_the_screen() -> Result<()> {
    let (x, _) = screen_showing_text()?;
    let page = text_page();
    let thumb = screen_thumbnail(Some(&x.name), 480, 270)?;
    ensure!((thumb.width(), thumb.height()) == (480, 270), "{thumb:?}");
    let small = image::imageops::resize(&page, 480, 270, image::imageops::FilterType::Triangle);
    let want = luma_bt601(small.as_raw());
    let score = ssim(thumb.y(), &want, 480, 270).unwrap_or(0.0);
    eprintln!("thumbnail SSIM {score:.3}");
    // A scaled-down page of fine text: the shapes must match, not every glyph.
    ensure!(
        score >= 0.6,
        "the thumbnail is not the screen: SSIM {score:.3}"
    );
    Ok(())
}

/// Mean luma of `rect` (x, y, width, height) of `img`.
fn mean_luma(img: &image::RgbaImage, (x0, y0, w, h): (u32, u32, u32, u32)) -> f64 {
    let mut sum = 0.0;
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            let [r, g, b, _] = img.get_pixel(x, y).0;
            sum += 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
        }
    }
    sum / f64::from(w * h)
}

/// How much the viewer's latest picture of `id` looks like `want`: `None` before any picture,
/// 0 for a picture of another size.
fn likeness(viewer: &TestMember, id: &str, want: &[u8]) -> Option<f64> {
    let frame = viewer.tile_of(id)?.frames().borrow().clone()?;
    if (frame.width(), frame.height()) != (WIDTH, HEIGHT) {
        return Some(0.0);
    }
    Some(ssim(frame.y(), want, WIDTH as usize, HEIGHT as usize).unwrap_or(0.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_mid_call_tells_the_room_and_keeps_the_others_playing() -> Result<()> {
    init_tracing();
    let (x, want) = screen_showing_text()?;

    let host = Host::with_relay(|_| {}).await?;
    let target = JoinTarget::Create {
        room_name: "Switch".into(),
    };
    // Ann's camera is small; her screen goes out at its own size.
    let ann = TestMember::start(member_config(&host.url, target, "Ann")).await?;
    let mut viewer = member_config(
        &host.url,
        JoinTarget::Join {
            room_id: ann.call.room_id(),
        },
        "Ben",
    );
    (viewer.media.tile_width, viewer.media.tile_height) = (WIDTH, HEIGHT);
    let ben = TestMember::start(viewer).await?;
    let id = ann.user_id();
    eventually("Ben sees Ann's camera", || {
        ben.tile_of(&id)
            .is_some_and(|t| t.frames().borrow().is_some())
    })
    .await?;

    let mark = ben.mark();
    ann.call
        .switch_camera(VideoInput::Screen(Some(x.name.clone())))
        .await?;
    let sharing = |on: bool| {
        let id = id.clone();
        move |e: &CallEvent| {
            matches!(e, CallEvent::MemberUpdated(p)
                if p.member.user_id == id && p.member.sharing_screen == on)
        }
    };
    ben.event_since(mark, "Ann sharing", sharing(true)).await?;
    eventually("Ben sees Ann's screen, at its own size", || {
        likeness(&ben, &id, &want).is_some_and(|l| l > 0.8)
    })
    .await?;

    // Shown large, the screen fills what would be an empty quadrant of the grid.
    let slot = ben.tile_of(&id).context("Ann has no tile")?.slot;
    let below_left = (400, 380, 200, 70);
    let grid = ben.call.snapshot_grid(WIDTH, HEIGHT);
    ben.call.set_layout(GridLayout::Spotlight(slot + 1));
    let spotlit = ben.call.snapshot_grid(WIDTH, HEIGHT);
    let (in_grid, in_spotlight) = (
        mean_luma(&grid, below_left),
        mean_luma(&spotlit, below_left),
    );
    eprintln!("luma under the spotlight's picture: grid {in_grid:.0}, spotlight {in_spotlight:.0}");
    ensure!(
        in_grid < 60.0 && in_spotlight > 150.0,
        "the spotlight does not show the screen large"
    );

    // With her camera in the corner, the page shows around it and her face in it.
    ann.call
        .switch_camera(VideoInput::ScreenWithCorner {
            screen: Some(x.name.clone()),
            corner: Box::new(VideoInput::Synthetic { name: "Ann".into() }),
        })
        .await?;
    let (cx, cy, cw, ch) =
        corner_rect(WIDTH, HEIGHT, TEST_WIDTH, TEST_HEIGHT).context("no corner at this size")?;
    let corner_differs = |f: &VideoFrame| {
        let mut differing = 0usize;
        for y in cy..cy + ch {
            for x in cx..cx + cw {
                let at = (y * WIDTH + x) as usize;
                differing += usize::from(f.y()[at].abs_diff(want[at]) > 40);
            }
        }
        differing as f64 / f64::from(cw * ch)
    };
    eventually("Ben sees Ann's face in the corner of her screen", || {
        ben.tile_of(&id)
            .and_then(|t| t.frames().borrow().clone())
            .filter(|f| (f.width(), f.height()) == (WIDTH, HEIGHT))
            .is_some_and(|f| {
                corner_differs(&f) > 0.3 && likeness(&ben, &id, &want).is_some_and(|l| l > 0.6)
            })
    })
    .await?;

    ann.call
        .switch_camera(VideoInput::Synthetic { name: "Ann".into() })
        .await?;
    ben.event_since(mark, "Ann no longer sharing", sharing(false))
        .await?;
    eventually("Ben sees Ann's camera again", || {
        likeness(&ben, &id, &want).is_some_and(|l| l < 0.5)
    })
    .await?;
    let reconnects: Vec<_> = ben.events()[mark..]
        .iter()
        .filter(|e| matches!(e, CallEvent::Reconnecting(Link::Player(p)) if *p == id))
        .cloned()
        .collect();
    ensure!(
        reconnects.is_empty(),
        "Ben's player of Ann reconnected: {reconnects:?}"
    );
    ben.leave().await?;
    ann.leave().await?;
    host.stop().await?;
    Ok(())
}
