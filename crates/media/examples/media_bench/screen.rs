//! A shared screen: an Xvfb screen showing a text-like page, captured with x11grab, encoded as a
//! shared screen (keyframes far apart), through nginx-rtmp, decoded at full size by a player.
//! For each size and rate: the bitrate sent (video and audio, the mean over the run and the
//! highest over 2 s), the encoder's time per frame, this process's CPU, and how legible the
//! viewer's picture is (luma SSIM against the page, median over the run).

use super::JOIN_DEADLINE;
use super::cpu_seconds;
use anyhow::{Context, Result, bail};
use quartet_media::publish::VideoContent;
use quartet_media::publish::{screen_kbps, screen_rung};
use quartet_media::{Player, PlayerConfig, Publisher, PublisherConfig, ScreenSource};
use quartet_testkit::picture::{luma_bt601, ssim};
use quartet_testkit::{NginxRtmp, require};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Screen sizes and rates measured; each is sent at the bitrate the publisher gives a screen of
/// that size and rate (`screen_kbps`).
const CASES: [(u32, u32, u32); 4] = [
    (1280, 720, 5),
    (1280, 720, 15),
    (1920, 1080, 5),
    (1920, 1080, 15),
];
/// Time after the viewer's first picture before measuring: the first keyframe's picture sharpens
/// over the next P-frames, as anyone joining a share sees.
const WARMUP: Duration = Duration::from_secs(2);
/// How long each case is measured.
const MEASURE: Duration = Duration::from_secs(6);
/// X display numbers tried.
const DISPLAYS: std::ops::Range<u32> = 240..300;

/// An Xvfb and its display number, freed when dropped.
struct Xvfb(Child, u32);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        quartet_testkit::forget_x_display(self.1);
    }
}

/// A text-like page: lines of word-like dark blocks on a light background, a coloured sidebar.
fn page(width: u32, height: u32) -> Vec<u8> {
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let px = if x < width / 6 {
                [40, 60, (100 + y / 8 % 100) as u8]
            } else {
                let (line, in_line) = (y / 24, y % 24);
                let word = (x / 9).wrapping_mul(2_654_435_761).wrapping_add(line * 97) % 7;
                let glyph =
                    in_line > 6 && in_line < 18 && word != 0 && (x % 9) < 7 && (x + y) % 5 != 0;
                if glyph { [20, 20, 30] } else { [245, 245, 240] }
            };
            rgb.extend_from_slice(&px);
        }
    }
    rgb
}

fn start_screen(width: u32, height: u32, dir: &Path) -> Result<(Xvfb, String, Vec<u8>)> {
    let n = DISPLAYS
        .clone()
        .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
        .context("no free X display")?;
    let name = format!(":{n}");
    let x = Xvfb(
        Command::new(require("Xvfb", "Debian package xvfb")?)
            .args([
                &name,
                "-screen",
                "0",
                &format!("{width}x{height}x24"),
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
        n,
    );
    let started = Instant::now();
    while !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
        if started.elapsed() > JOIN_DEADLINE {
            bail!("Xvfb did not start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let rgb = page(width, height);
    let file = dir.join(format!("page-{width}.ppm"));
    let mut ppm = format!("P6\n{width} {height}\n255\n").into_bytes();
    ppm.extend_from_slice(&rgb);
    std::fs::write(&file, ppm)?;
    // ImageMagick's `display` sets the root window and exits (non-zero: it has no window).
    Command::new(require("display", "Debian package imagemagick")?)
        .args(["-window", "root"])
        .arg(&file)
        .env("DISPLAY", &name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    Ok((x, name, luma_bt601(&rgb)))
}

/// One case's figures.
fn measure_case(
    nginx: &NginxRtmp,
    dir: &Path,
    (w, h, fps): (u32, u32, u32),
) -> Result<serde_json::Value> {
    let kbps = screen_kbps(screen_rung(w, h, fps));
    let (_x, display, want) = start_screen(w, h, dir)?;
    let stream = format!("screen{w}x{fps}");
    let config = PublisherConfig {
        width: w,
        height: h,
        fps,
        video_kbps: kbps,
        keyframe_interval: Duration::from_secs(2),
        ..PublisherConfig::new(nginx.url(&stream))
    };
    let source = ScreenSource::open(Some(&display), fps)?;
    let (publisher, mut events) = Publisher::start(config, Some(Box::new(source)), None)?;
    publisher.set_video_content(VideoContent::Screen);
    super::wait_connected(&mut events)?;
    let (player, _events) = Player::start(PlayerConfig::new(nginx.url(&stream), w, h))?;
    let frames = player.frames();
    let started = Instant::now();
    while frames
        .borrow()
        .as_ref()
        .is_none_or(|f| (f.width(), f.height()) != (w, h))
    {
        if started.elapsed() > JOIN_DEADLINE {
            bail!("no {w}x{h} picture of the screen");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(WARMUP);
    let (cpu0, t0) = (cpu_seconds("self")?, Instant::now());
    let (mut scores, mut rates) = (Vec::new(), Vec::new());
    while t0.elapsed() < MEASURE {
        std::thread::sleep(Duration::from_millis(250));
        if let Some(f) = frames.borrow().clone() {
            scores.push(ssim(f.y(), &want, w as usize, h as usize).unwrap_or(0.0));
        }
        rates.push(publisher.stats().kbps);
    }
    let cpu = (cpu_seconds("self")? - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
    let sent = publisher.stats();
    player.stop();
    publisher.stop();
    scores.sort_by(f64::total_cmp);
    // The publisher's rate is over its last 2 s: sampled evenly, their mean is the stretch's
    // mean, and the highest is the burst a keyframe makes (the VBV buffer lets one take up to
    // a second's worth of the cap on top).
    let sent_mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    let sent_peak = rates.iter().copied().fold(0.0, f64::max);
    let median = scores.get(scores.len() / 2).copied().unwrap_or(f64::NAN);
    Ok(serde_json::json!({
        "video": format!("{w}x{h}@{fps}"),
        "cap_kbps": kbps,
        "sent_kbps": sent_mean,
        "sent_kbps_peak_2s": sent_peak,
        "encode_ms_mean": sent.encode_ms_mean,
        "cpu_percent": cpu,
        "ssim_median": median,
        "ssim_min": scores.first(),
        "keyframes": sent.keyframes,
    }))
}

/// Every case, printed; the figures as JSON.
pub fn measure(nginx: &NginxRtmp) -> Result<serde_json::Value> {
    let dir = tempfile::tempdir()?;
    println!("screen share of a text page (x11grab → nginx-rtmp → decoded at full size):");
    println!(
        "  {:<14} {:>8} {:>9} {:>9} {:>10} {:>9} {:>8}",
        "picture", "cap kb/s", "sent kb/s", "peak 2 s", "encode ms", "CPU %", "SSIM"
    );
    let mut all = Vec::new();
    for case in CASES {
        let f = measure_case(nginx, dir.path(), case)?;
        let num = |k: &str| f[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "  {:<14} {:>8.0} {:>9.0} {:>9.0} {:>10.1} {:>9.1} {:>8.3}",
            f["video"].as_str().unwrap_or("?"),
            num("cap_kbps"),
            num("sent_kbps"),
            num("sent_kbps_peak_2s"),
            num("encode_ms_mean"),
            num("cpu_percent"),
            num("ssim_median")
        );
        all.push(f);
    }
    Ok(serde_json::Value::Array(all))
}
