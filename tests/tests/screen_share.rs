//! Sharing a screen under Xvfb: a member publishes the virtual screen (FFmpeg's x11grab) showing
//! a known, text-like picture through the embedded relay, and what another member decodes holds
//! against that picture (luma SSIM), at 1280×720 and 5 fps within 800 kbit/s. Needs Xvfb and
//! ImageMagick (`cargo xtask test` installs both).

#![cfg(target_os = "linux")]

use anyhow::{Context, Result, ensure};
use image::{Rgb, RgbImage};
use quartet_call::{MediaSettings, VideoInput};
use quartet_media::source::screen_thumbnail;
use quartet_room::JoinTarget;
use quartet_testkit::picture::{luma_bt601, ssim};
use quartet_testkit::require;
use quartet_tests::xvfb::{self, Xvfb};
use quartet_tests::{DEADLINE, Host, TestMember, init_tracing, member_config};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_screen_reaches_another_member_legible() -> Result<()> {
    init_tracing();
    let x = start_xvfb()?;
    let dir = tempfile::tempdir()?;
    let page = text_page();
    let file = dir.path().join("page.png");
    page.save(&file)?;
    show_on_root(&x.name, &file)?;
    let want = luma_bt601(page.as_raw());

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
    let x = start_xvfb()?;
    let dir = tempfile::tempdir()?;
    let page = text_page();
    let file = dir.path().join("page.png");
    page.save(&file)?;
    show_on_root(&x.name, &file)?;
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
