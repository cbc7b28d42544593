//! Sync marks: a flash in the picture and a click in the sound at the same capture instants,
//! every [`MARK_PERIOD`] on the wall clock, and the meter that finds them again after encoding,
//! transport, decoding and playing, to measure how far sound and pictures are apart.
//!
//! The synthetic sources draw the marks ([`SyntheticVideo::with_sync_marks`],
//! [`SyntheticTone::with_sync_marks`]); [`SyncMeter`] watches the pictures a player hands out and
//! what its mixer plays ([`MixTap`]). Both halves of this contract live here, next to the
//! sources, so tests, benchmarks and bots measure lip sync the same way.
//!
//! [`SyntheticVideo::with_sync_marks`]: crate::SyntheticVideo::with_sync_marks
//! [`SyntheticTone::with_sync_marks`]: crate::SyntheticTone::with_sync_marks
//! [`MixTap`]: crate::MixTap

use crate::clock;
use crate::frame::{AUDIO_SAMPLE_RATE, VideoFrame};
use crate::mixer::{MixTap, PlayedBlock};
use crate::stats::percentile;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Marks fall on every multiple of this on the Unix clock: far enough apart that a mark is
/// never paired with its neighbour (pairing looks half a period either way), often enough for
/// ten pairs in 20 s.
pub const MARK_PERIOD: Duration = Duration::from_secs(2);
/// Pictures captured this long from a mark are flashes: at least one picture of any frame
/// rate of 7 fps and up, so a dropped frame does not lose a mark (the meter corrects for
/// which picture of the flash it saw by its frame clock).
pub const FLASH_LEN: Duration = Duration::from_millis(150);
/// Luma of a flash (video-range white).
pub const FLASH_LUMA: u8 = clock::WHITE;
/// How long a click lasts: long enough for AAC to keep it loud, short enough to be a clear
/// onset.
pub const CLICK_LEN: Duration = Duration::from_millis(30);
/// Pitch of a click: well apart from the synthetic tone's.
pub const CLICK_HZ: f64 = 1_000.0;
/// Amplitude of a click: far above a synthetic tone (`TONE_AMPLITUDE`, 0.2)
/// so the onset stands out even with two tones mixed under it.
pub const CLICK_AMPLITUDE: f32 = 0.9;
/// A picture whose mean luma (below the frame clock) reaches this is a flash; the test
/// pattern's mean stays near 120.
pub const FLASH_DETECT_LUMA: u32 = 200;
/// A played sample this loud is part of a click; the tone, and the encoder's pre-echo before
/// a click, stay below it.
pub const CLICK_DETECT: f32 = 0.5;
/// Every this many pixels (each way) are averaged when checking for a flash.
const FLASH_GRID_STEP: usize = 4;
/// How often [`SyncMeter::watch`] looks for a new picture: when a picture was shown is known to
/// within this.
pub const WATCH_POLL: Duration = Duration::from_millis(1);

fn period_us() -> i64 {
    MARK_PERIOD.as_micros() as i64
}

/// The mark at or before `time_us` (Unix µs).
pub fn mark_before(time_us: i64) -> i64 {
    time_us - time_us.rem_euclid(period_us())
}

/// Whether a picture captured at `time_us` shows a flash.
pub fn in_flash(time_us: i64) -> bool {
    time_us - mark_before(time_us) < FLASH_LEN.as_micros() as i64
}

/// Replaces the sound of `samples`, the first captured at `first_us`, with the click where one
/// falls.
pub fn add_clicks(samples: &mut [f32], first_us: i64) {
    let click_us = CLICK_LEN.as_micros() as i64;
    for (i, s) in samples.iter_mut().enumerate() {
        let t = first_us + i as i64 * 1_000_000 / i64::from(AUDIO_SAMPLE_RATE);
        let since = t - mark_before(t);
        if since < click_us {
            let phase = std::f64::consts::TAU * CLICK_HZ * since as f64 / 1e6;
            *s = CLICK_AMPLITUDE * phase.sin() as f32;
        }
    }
}

/// Turns a picture into a flash (white, with its frame clock left to burn over it).
pub fn flash(frame: &mut VideoFrame) {
    let (y, u, v) = frame.planes_mut();
    y.fill(FLASH_LUMA);
    u.fill(128);
    v.fill(128);
}

/// Whether a picture (as decoded) is a flash: its mean luma below the frame clock.
pub fn is_flash(frame: &VideoFrame) -> bool {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let top = clock::strip_height(frame.height()) as usize;
    let y = frame.y();
    let (mut sum, mut n) = (0u64, 0u64);
    for row in (top..h).step_by(FLASH_GRID_STEP) {
        for col in (0..w).step_by(FLASH_GRID_STEP) {
            sum += u64::from(y[row * w + col]);
            n += 1;
        }
    }
    n > 0 && sum / n >= u64::from(FLASH_DETECT_LUMA)
}

/// How far sound and pictures were apart over a run (ms; positive when sound leads, i.e. a
/// click is heard before its flash is shown).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AvOffsets {
    /// Median offset.
    pub p50_ms: f64,
    /// The offset 95 % of pairs were no further from sync than, with its sign.
    pub p95_ms: f64,
    /// Flash–click pairs measured.
    pub samples: usize,
}

impl AvOffsets {
    /// The figures of `offsets_ms`; `None` when empty.
    pub fn of(offsets_ms: &[f64]) -> Option<AvOffsets> {
        let p50_ms = percentile(offsets_ms, 50.0)?;
        let mut by_size = offsets_ms.to_vec();
        by_size.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
        let rank = (0.95 * by_size.len() as f64).ceil() as usize;
        let p95_ms = by_size[rank.saturating_sub(1).min(by_size.len() - 1)];
        Some(AvOffsets {
            p50_ms,
            p95_ms,
            samples: offsets_ms.len(),
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Flash {
    /// When it was shown, moved back by how long after its mark the picture seen was captured.
    mark_shown: Instant,
}

/// Finds flashes in shown pictures and clicks in played sound, and pairs them.
#[derive(Debug, Default)]
pub struct SyncMeter {
    flashes: Vec<Flash>,
    clicks: Vec<Instant>,
    in_flash: bool,
}

impl SyncMeter {
    /// An empty meter.
    pub fn new() -> SyncMeter {
        SyncMeter::default()
    }

    /// A picture was shown at `shown`. Only a flash's first picture seen counts; one without a
    /// frame clock cannot be placed and is passed over.
    pub fn on_frame(&mut self, frame: &VideoFrame, shown: Instant) {
        let flash = is_flash(frame);
        if flash
            && !self.in_flash
            && let Some(captured) = frame.capture_us
        {
            let late = (captured - mark_before(captured)).max(0) as u64;
            self.flashes.push(Flash {
                mark_shown: shown - Duration::from_micros(late),
            });
        }
        self.in_flash = flash;
    }

    /// A block the speaker played. A click's onset is its first loud sample after half a
    /// period of none.
    pub fn on_played(&mut self, block: &PlayedBlock) {
        for (i, s) in block.samples.iter().enumerate() {
            if s.abs() < CLICK_DETECT {
                continue;
            }
            let at = block.played_at
                + Duration::from_micros(i as u64 * 1_000_000 / u64::from(AUDIO_SAMPLE_RATE));
            if self.clicks.last().is_none_or(|&l| at > l + MARK_PERIOD / 2) {
                self.clicks.push(at);
            }
        }
    }

    /// Flashes seen so far.
    pub fn flashes(&self) -> usize {
        self.flashes.len()
    }

    /// Clicks heard so far.
    pub fn clicks(&self) -> usize {
        self.clicks.len()
    }

    /// The offset of each flash that has a click within half a period of it, ms (positive when
    /// the click came first).
    pub fn offsets_ms(&self) -> Vec<f64> {
        let half = MARK_PERIOD / 2;
        self.flashes
            .iter()
            .filter_map(|f| {
                let nearest = self
                    .clicks
                    .iter()
                    .map(|&c| signed_ms(f.mark_shown, c))
                    .min_by(|a, b| a.abs().total_cmp(&b.abs()))?;
                (nearest.abs() < half.as_secs_f64() * 1000.0).then_some(nearest)
            })
            .collect()
    }

    /// The figures so far; `None` before the first pair.
    pub fn offsets(&self) -> Option<AvOffsets> {
        AvOffsets::of(&self.offsets_ms())
    }

    /// Watches the pictures a player hands out (its latest-frame slot: a picture counts as shown
    /// when it lands there) and what a mixer plays, for `duration`; blocks the calling thread.
    pub fn watch(
        &mut self,
        frames: &mut watch::Receiver<Option<Arc<VideoFrame>>>,
        tap: &MixTap,
        duration: Duration,
    ) {
        let end = Instant::now() + duration;
        while Instant::now() < end {
            if frames.has_changed().unwrap_or(false) {
                let frame = frames.borrow_and_update().clone();
                if let Some(f) = frame {
                    self.on_frame(&f, Instant::now());
                }
            }
            for block in tap.drain() {
                self.on_played(&block);
            }
            std::thread::sleep(WATCH_POLL);
        }
    }
}

/// `a − b` in ms.
fn signed_ms(a: Instant, b: Instant) -> f64 {
    if a >= b {
        (a - b).as_secs_f64() * 1000.0
    } else {
        -((b - a).as_secs_f64() * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SyntheticVideo;

    const MARK: i64 = 1_763_974_800_000_000;

    #[test]
    fn marks_fall_on_the_wall_clock_grid() {
        assert_eq!(MARK % period_us(), 0);
        assert_eq!(mark_before(MARK + 5), MARK);
        assert_eq!(mark_before(MARK - 1), MARK - period_us());
        assert!(in_flash(MARK));
        assert!(in_flash(MARK + FLASH_LEN.as_micros() as i64 - 1));
        assert!(!in_flash(MARK - 1));
        assert!(!in_flash(MARK + FLASH_LEN.as_micros() as i64));
    }

    #[test]
    fn clicks_start_at_the_mark() {
        let mut s = vec![0.1f32; 960];
        // 10 ms before the mark: the second half of the 20 ms is click.
        add_clicks(&mut s, MARK - 10_000);
        assert!(s[..480].iter().all(|&x| x == 0.1));
        assert!(s[480..].iter().any(|&x| x.abs() > CLICK_DETECT));
        assert!(s[480..].iter().all(|&x| x.abs() <= CLICK_AMPLITUDE));
    }

    #[test]
    fn flashes_are_told_from_the_test_pattern() {
        let v = SyntheticVideo::new("bob", 320, 180, 15).unwrap();
        let plain = v.render(0, MARK - 500_000);
        assert!(!is_flash(&plain));
        let marked = SyntheticVideo::new("bob", 320, 180, 15)
            .unwrap()
            .with_sync_marks();
        let lit = marked.render(0, MARK + 10_000);
        assert!(is_flash(&lit));
        assert_eq!(
            clock::read_frame(&lit),
            Some(MARK + 10_000),
            "the clock survives"
        );
        assert!(!is_flash(&marked.render(1, MARK + 500_000)));
    }

    fn block(at: Instant, samples: Vec<f32>) -> PlayedBlock {
        PlayedBlock {
            samples,
            played_at: at,
        }
    }

    #[test]
    fn the_meter_pairs_flashes_with_clicks_and_signs_the_offset() {
        let v = SyntheticVideo::new("m", 320, 180, 15)
            .unwrap()
            .with_sync_marks();
        let t0 = Instant::now();
        let mut m = SyncMeter::new();
        for k in 0..3u32 {
            let base = t0 + MARK_PERIOD * k;
            let mark = MARK + i64::from(k) * period_us();
            // The click is heard at `base`; its flash's second picture (captured 66 ms after
            // the mark; the first was lost) is shown 40 ms + 66 ms later: sound leads by 40.
            let mut click = vec![0.0f32; 480];
            click[100] = 0.8;
            m.on_played(&block(base, click));
            m.on_played(&block(base + Duration::from_millis(10), vec![0.7; 480]));
            m.on_frame(&v.render(0, mark - 66_000), base);
            let lit = v.render(1, mark + 66_000);
            m.on_frame(&lit, base + Duration::from_millis(106));
            m.on_frame(&lit, base + Duration::from_millis(120));
        }
        assert_eq!((m.flashes(), m.clicks()), (3, 3));
        let click_at_ms = 100.0 / 48.0;
        for o in m.offsets_ms() {
            assert!((o - (40.0 - click_at_ms)).abs() < 0.01, "{o}");
        }
        let f = m.offsets().unwrap();
        assert_eq!(f.samples, 3);
        assert!(f.p50_ms > 0.0 && f.p95_ms > 0.0);
    }

    #[test]
    fn p95_keeps_the_sign_of_the_worst_side() {
        let mut v: Vec<f64> = (0..19).map(|i| f64::from(i) - 5.0).collect();
        v.push(-120.0);
        let f = AvOffsets::of(&v).unwrap();
        assert_eq!(f.samples, 20);
        assert_eq!(f.p50_ms, 3.0);
        assert_eq!(f.p95_ms, 13.0, "one pair in twenty may be worse");
        v.push(-130.0);
        assert_eq!(AvOffsets::of(&v).unwrap().p95_ms, -120.0);
        assert_eq!(AvOffsets::of(&[]), None);
    }
}
