//! A recorded media file as FFmpeg's CLI reads it: its streams and length, whether it decodes to
//! the end without complaint, and how loud its sound is.

use crate::{TestkitError, output_of, require};
use std::path::Path;
use std::process::{Command, Stdio};

/// One stream of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStream {
    /// `video` or `audio`.
    pub kind: String,
    /// The codec, e.g. `h264`.
    pub codec: String,
    /// Picture size, for video.
    pub size: Option<(u64, u64)>,
}

/// What ffprobe found in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileProbe {
    /// Its streams, in order.
    pub streams: Vec<FileStream>,
    /// Its length in seconds (0 when ffprobe gave none).
    pub duration_s: f64,
}

impl FileProbe {
    /// Whether a stream of `kind` uses `codec`.
    pub fn has(&self, kind: &str, codec: &str) -> bool {
        self.streams
            .iter()
            .any(|s| s.kind == kind && s.codec == codec)
    }
}

/// The streams and length of `file`, as ffprobe reads them.
pub fn probe_file(file: &Path) -> Result<FileProbe, TestkitError> {
    let ffprobe = require("ffprobe", "Debian package ffmpeg")?;
    let mut cmd = Command::new(ffprobe);
    cmd.args([
        "-v",
        "error",
        "-show_entries",
        "stream=codec_type,codec_name,width,height",
    ])
    .args(["-show_entries", "format=duration", "-of", "json"])
    .arg(file);
    let out = output_of("ffprobe", &mut cmd).map_err(|e| match e {
        TestkitError::Failed { program, detail } => TestkitError::Failed {
            program,
            detail: format!("{}: {detail}", file.display()),
        },
        e => e,
    })?;
    let json: serde_json::Value =
        serde_json::from_slice(&out).map_err(|e| TestkitError::Failed {
            program: "ffprobe",
            detail: e.to_string(),
        })?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let streams = json["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| FileStream {
            kind: text(&s["codec_type"]),
            codec: text(&s["codec_name"]),
            size: s["width"].as_u64().zip(s["height"].as_u64()),
        })
        .collect();
    let duration_s = json["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    Ok(FileProbe {
        streams,
        duration_s,
    })
}

/// `file`'s sound decoded by FFmpeg's CLI, as 48 kHz mono f32 samples.
pub fn sound_of(file: &Path) -> Result<Vec<f32>, TestkitError> {
    let out = output_of(
        "ffmpeg",
        Command::new(require("ffmpeg", "Debian package ffmpeg")?)
            .args(["-v", "error", "-i"])
            .arg(file)
            .args(["-vn", "-ac", "1", "-ar", "48000", "-f", "f32le", "-"]),
    )?;
    Ok(out
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Makes `seconds` of a `hz` sine at `amplitude` as a WAV file at `path` (FFmpeg's CLI).
pub fn write_tone(path: &Path, hz: u32, amplitude: f32, seconds: u32) -> Result<(), TestkitError> {
    output_of(
        "ffmpeg",
        Command::new(require("ffmpeg", "Debian package ffmpeg")?)
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!(
                "aevalsrc={amplitude}*sin(2*PI*{hz}*t):s=48000:d={seconds}"
            ))
            .arg(path),
    )
    .map(drop)
}

/// Runs `ffmpeg -i file {args}`; fails when FFmpeg cannot read the file, else its stderr.
fn ffmpeg_over(file: &Path, before: &[&str], args: &[&str]) -> Result<String, TestkitError> {
    let out = Command::new(require("ffmpeg", "Debian package ffmpeg")?)
        .args(before)
        .arg("-i")
        .arg(file)
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(TestkitError::Failed {
            program: "ffmpeg",
            detail: format!("could not read {}", file.display()),
        });
    }
    Ok(String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The times of `file`'s video pictures, in seconds, in file order (ffprobe's packet times).
pub fn picture_times(file: &Path) -> Result<Vec<f64>, TestkitError> {
    let ffprobe = require("ffprobe", "Debian package ffmpeg")?;
    let mut cmd = Command::new(ffprobe);
    cmd.args(["-v", "error", "-select_streams", "v", "-show_entries"])
        .args(["packet=pts_time", "-of", "csv=p=0"])
        .arg(file);
    let out = output_of("ffprobe", &mut cmd)?;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect())
}

/// Decodes all of `file`; FFmpeg's complaints, empty when there were none.
///
/// Pictures keep their own times (`-fps_mode vfr`): by default the CLI stamps the decoded
/// pictures in ticks of the guessed frame rate, and two pictures less than a tick apart (a
/// stream's first pictures, moved up to its first packet) then collide in its own null output,
/// which it reports as an error though the file is sound.
pub fn decode_errors(file: &Path) -> Result<String, TestkitError> {
    ffmpeg_over(
        file,
        &["-v", "error"],
        &["-fps_mode", "vfr", "-f", "null", "-"],
    )
}

/// The mean volume of `file`'s sound in dB (FFmpeg's `volumedetect`); −∞ when it reports none.
pub fn mean_volume_db(file: &Path) -> Result<f64, TestkitError> {
    let report = ffmpeg_over(
        file,
        &["-hide_banner", "-nostats"],
        &["-vn", "-af", "volumedetect", "-f", "null", "-"],
    )?;
    Ok(report
        .lines()
        .find_map(|l| l.split("mean_volume:").nth(1))
        .and_then(|v| v.trim().trim_end_matches("dB").trim().parse().ok())
        .unwrap_or(f64::NEG_INFINITY))
}
