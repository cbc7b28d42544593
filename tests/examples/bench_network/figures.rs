//! What a scenario's samples and figures come to: pure functions of the bots' output.

use crate::procs::Sample;
use serde_json::Value;

/// The latency people start to perceive (SRS's figure), ms: the line a step down must get back
/// under.
pub const PERCEIVED_MS: f64 = 400.0;
/// Share of the bitrate before a step down that counts as regained after the step up.
pub const REGAINED_SHARE: f64 = 0.8;
/// Seconds of samples before a step down that make the bitrate to regain.
pub const BASELINE_SECONDS: f64 = 6.0;

/// One tile's figures over time: (seconds, fps, latency ms, kbps).
pub fn series(samples: &[Sample], name: &str) -> Vec<(f64, f64, Option<f64>, f64)> {
    samples
        .iter()
        .filter_map(|s| {
            let t = s.tiles.iter().find(|t| t.name == name)?;
            Some((s.at, t.fps, t.latency_ms, t.kbps))
        })
        .collect()
}

/// Mean fps and kbps of the samples at or after `from` seconds.
pub fn steady_rates(series: &[(f64, f64, Option<f64>, f64)], from: f64) -> (f64, f64) {
    let tail: Vec<_> = series.iter().filter(|s| s.0 >= from).collect();
    if tail.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = tail.len() as f64;
    (
        tail.iter().map(|s| s.1).sum::<f64>() / n,
        tail.iter().map(|s| s.3).sum::<f64>() / n,
    )
}

/// Seconds after `down` from which latency stayed under [`PERCEIVED_MS`] until `until`;
/// `None` if it never did.
pub fn back_under(series: &[(f64, f64, Option<f64>, f64)], down: f64, until: f64) -> Option<f64> {
    let phase: Vec<_> = series
        .iter()
        .filter(|s| s.0 >= down && s.0 < until)
        .collect();
    let last_over = phase
        .iter()
        .rposition(|s| s.2.is_none_or(|l| l >= PERCEIVED_MS));
    let first_ok = match last_over {
        None => phase.first()?,
        Some(i) => phase.get(i + 1)?,
    };
    Some(first_ok.0 - down)
}

/// Seconds after `up` until the bitrate reached [`REGAINED_SHARE`] of its mean in the
/// [`BASELINE_SECONDS`] before `down`; `None` if it never did.
pub fn regained(series: &[(f64, f64, Option<f64>, f64)], down: f64, up: f64) -> Option<f64> {
    let before: Vec<f64> = series
        .iter()
        .filter(|s| s.0 >= down - BASELINE_SECONDS && s.0 < down)
        .map(|s| s.3)
        .collect();
    if before.is_empty() {
        return None;
    }
    let baseline = before.iter().sum::<f64>() / before.len() as f64;
    series
        .iter()
        .find(|s| s.0 >= up && s.3 >= REGAINED_SHARE * baseline)
        .map(|s| s.0 - up)
}

/// The `(p50, p95)` a bot's `--stats-json` gives for member `name`.
pub fn latency_of(json: &Value, name: &str) -> (Option<f64>, Option<f64>) {
    json["remote"]
        .as_array()
        .and_then(|r| r.iter().find(|m| m["userName"] == name))
        .map_or((None, None), |m| {
            (m["latencyMsP50"].as_f64(), m["latencyMsP95"].as_f64())
        })
}

/// The longest audio gap a bot's `--stats-json` gives for member `name`, ms.
pub fn audio_gap_of(json: &Value, name: &str) -> Option<f64> {
    json["remote"]
        .as_array()
        .and_then(|r| r.iter().find(|m| m["userName"] == name))
        .and_then(|m| m["audioMaxGapMs"].as_f64())
}

/// The stream the observer's tile of `name` played at exit and how often it switched, from
/// its `--stats-json` (e.g. `small/1`).
pub fn stream_of(json: &Value, name: &str) -> Option<String> {
    json["remote"]
        .as_array()
        .and_then(|r| r.iter().find(|m| m["userName"] == name))
        .map(|m| {
            format!(
                "{}/{}",
                m["stream"].as_str().unwrap_or("?"),
                m["streamSwitches"].as_u64().unwrap_or(0)
            )
        })
}

/// The share of one core a bot used from `from` seconds on (its CPU time over that span), %.
pub fn cpu_percent(samples: &[Sample], from: f64) -> Option<f64> {
    let timed: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.at >= from)
        .filter_map(|s| Some((s.at, s.cpu_s?)))
        .collect();
    let (first, last) = (timed.first()?, timed.last()?);
    (last.0 > first.0).then(|| (last.1 - first.1) / (last.0 - first.0) * 100.0)
}
