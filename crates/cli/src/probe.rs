//! `quartet probe URL`: what a stream carries, read as a player would (RTMP or HTTP-FLV), for a
//! tester checking a publisher or a relay: codecs and parameters, first-frame time, bitrate
//! over the window and, when the pictures carry Quartet's frame clock, latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use quartet_media::probe::{self, DEFAULT_PROBE_TIMEOUT, ProbeError, ProbeReport};
use serde_json::{Value, json};

/// Seconds of media counted unless told otherwise.
const DEFAULT_SECONDS: u64 = 5;
/// Longest window accepted: a probe is a look, not a recording.
const MAX_SECONDS: u64 = 3_600;

/// Flags of `quartet probe`.
#[derive(Args)]
pub struct ProbeArgs {
    /// The stream: rtmp://host/live/STREAM?… or http://host:port/live/STREAM.flv?…
    url: String,
    /// Seconds of media to count after the stream opened.
    #[arg(long, default_value_t = DEFAULT_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    seconds: u64,
    /// Seconds to wait for the stream to open, and for any one read after.
    #[arg(long, default_value_t = DEFAULT_PROBE_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Probes until the window ends, the stream ends, or Ctrl-C; prints the report.
pub async fn run(args: ProbeArgs) -> Result<()> {
    probe::check_url(&args.url)?;
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread = {
        let stop = Arc::clone(&stop);
        let (url, window) = (args.url.clone(), Duration::from_secs(args.seconds));
        let timeout = Duration::from_secs(args.timeout);
        std::thread::Builder::new()
            .name("quartet-probe".into())
            .spawn(move || {
                let report =
                    probe::probe(&url, window, timeout, move || stop.load(Ordering::Relaxed));
                let _ = tx.send(report);
            })
            .context("cannot start the probe thread")?
    };
    let outcome = tokio::select! {
        report = rx => report.map_err(|_| anyhow!("the probe thread failed")),
        () = crate::shutdown_signal() => {
            stop.store(true, Ordering::Relaxed);
            Ok(Err(ProbeError::Interrupted))
        }
    };
    // The stop flag ends FFmpeg's waits at once (its interrupt callback), so this is prompt.
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    let report = outcome??;
    if args.json {
        println!("{}", to_json(&args.url, &report));
    } else {
        print!("{}", to_text(&report));
    }
    Ok(())
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The report as one JSON object (figures rounded to 0.1).
pub fn to_json(url: &str, r: &ProbeReport) -> Value {
    // The URL's query is its signature: not for a file attached to a bug report.
    let shown = url.split_once('?').map_or(url, |(u, _)| u);
    json!({
        "url": shown,
        "video": r.video.as_ref().map(|v| json!({
            "codec": v.codec, "profile": v.profile, "level": v.level,
            "width": v.width, "height": v.height,
            "declaredFps": v.declared_fps.map(round),
        })),
        "audio": r.audio.as_ref().map(|a| json!({
            "codec": a.codec, "profile": a.profile,
            "sampleRate": a.sample_rate, "channels": a.channels,
        })),
        "openMs": round(r.open_ms),
        "firstFrameMs": r.first_frame_ms.map(round),
        "windowS": round(r.window_s),
        "bytes": r.bytes,
        "kbps": round(r.kbps),
        "videoKbps": round(r.video_kbps),
        "audioKbps": round(r.audio_kbps),
        "videoFrames": r.video_frames,
        "keyframes": r.keyframes,
        "fps": r.fps.map(round),
        "keyframeIntervalS": r.keyframe_interval_s.map(round),
        "latency": r.latency.as_ref().map(|l| json!({
            "samples": l.samples, "p50Ms": round(l.p50_ms), "p95Ms": round(l.p95_ms),
            "minMs": round(l.min_ms), "maxMs": round(l.max_ms),
        })),
    })
}

/// The report as lines for a person.
pub fn to_text(r: &ProbeReport) -> String {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let mut out = String::new();
    match &r.video {
        Some(v) => out.push_str(&format!(
            "video:      {} {} level {}, {}x{}, {} fps\n",
            v.codec,
            or_dash(v.profile.clone()),
            or_dash(v.level.clone()),
            v.width,
            v.height,
            or_dash(r.fps.or(v.declared_fps).map(|f| format!("{f:.1}"))),
        )),
        None => out.push_str("video:      none\n"),
    }
    match &r.audio {
        Some(a) => out.push_str(&format!(
            "audio:      {} {}, {} Hz, {} channel(s)\n",
            a.codec,
            or_dash(a.profile.clone()),
            a.sample_rate,
            a.channels
        )),
        None => out.push_str("audio:      none\n"),
    }
    out.push_str(&format!("opened in:  {:.0} ms\n", r.open_ms));
    out.push_str(&format!(
        "first frame: {}\n",
        or_dash(r.first_frame_ms.map(|m| format!("{m:.0} ms")))
    ));
    out.push_str(&format!(
        "bitrate:    {:.0} kbit/s (video {:.0}, audio {:.0}) over {:.1} s\n",
        r.kbps, r.video_kbps, r.audio_kbps, r.window_s
    ));
    out.push_str(&format!(
        "frames:     {} video, {} keyframes, a keyframe every {}\n",
        r.video_frames,
        r.keyframes,
        or_dash(r.keyframe_interval_s.map(|s| format!("{s:.1} s")))
    ));
    out.push_str(&match &r.latency {
        Some(l) => format!(
            "latency:    {:.0} ms median, {:.0} ms p95 ({}..{} ms, {} frames; capture → decoded here)\n",
            l.p50_ms, l.p95_ms, l.min_ms as i64, l.max_ms as i64, l.samples
        ),
        None => "latency:    - (no Quartet frame clock in the pictures)\n".into(),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use quartet_media::probe::{AudioFormat, VideoFormat};

    #[test]
    fn reports_hide_the_signature_and_name_missing_figures() {
        let report = ProbeReport {
            video: Some(VideoFormat {
                codec: "h264".into(),
                profile: Some("High".into()),
                level: Some("3.0".into()),
                width: 640,
                height: 360,
                declared_fps: Some(15.0),
            }),
            audio: Some(AudioFormat {
                codec: "aac".into(),
                profile: Some("LC".into()),
                sample_rate: 48_000,
                channels: 1,
            }),
            kbps: 812.34,
            ..ProbeReport::default()
        };
        let v = to_json("http://h/live/s.flv?txSecret=abc&txTime=1", &report);
        assert_eq!(v["url"], "http://h/live/s.flv");
        assert_eq!(v["video"]["level"], "3.0");
        assert_eq!(v["audio"]["sampleRate"], 48_000);
        assert_eq!(v["kbps"], 812.3);
        assert!(v["latency"].is_null() && v["firstFrameMs"].is_null());
        let text = to_text(&report);
        assert!(
            text.contains("h264 High level 3.0, 640x360, 15.0 fps"),
            "{text}"
        );
        assert!(text.contains("aac LC, 48000 Hz, 1 channel(s)"), "{text}");
        assert!(text.contains("no Quartet frame clock"), "{text}");
    }
}
