//! A moving test pattern with the member's name and a burned-in frame clock.
//!
//! The name is drawn with a system font that covers Chinese ([`quartet_fonts`]), rasterised once
//! when the source is made; where the system has no font, with the built-in ASCII font.

use super::{SourceError, VideoSource, pace_until};
use crate::clock;
use crate::frame::{VideoFrame, even, unix_micros};
use crate::sync_marks;
use quartet_fonts::{FontVec, Mask};
use std::time::{Duration, Instant};

/// Highest frame rate a synthetic source offers.
pub const MAX_FPS: u32 = 60;
/// Smallest picture (the frame clock needs room).
pub const MIN_SIZE: (u32, u32) = (clock::MIN_WIDTH, clock::MIN_HEIGHT);
/// When the source falls this many frames behind (a stalled machine), it skips ahead instead of
/// delivering a burst of late frames.
const MAX_FRAMES_BEHIND: u32 = 2;
/// Pixels the background scrolls per frame.
const SCROLL_PER_FRAME: usize = 3;
/// Luma of the name and the moving box.
const BRIGHT: u8 = 225;
/// Luma of the name's shadow.
const SHADOW: u8 = 20;
/// Height of the name in a system font, as a fraction of the picture's height (1/this).
const NAME_HEIGHTS_PER_PICTURE: u32 = 8;
/// Widest the name may be, in tenths of the picture's width (it shrinks to fit).
const NAME_MAX_WIDTH_TENTHS: u32 = 9;
/// Where the name's top is, in tenths of the picture's height: between the clock and the box.
const NAME_TOP_TENTHS: u32 = 3;

/// A synthetic camera: scrolling colour gradient, a bouncing box, the name, and the frame clock.
#[derive(Debug)]
pub struct SyntheticVideo {
    name: String,
    width: u32,
    height: u32,
    fps: u32,
    chroma: (u8, u8),
    index: u64,
    start: Option<Instant>,
    schedule_base: u64,
    ramp: Vec<u8>,
    sync_marks: bool,
    /// The name drawn with a system font; `None` draws it with the built-in font.
    name_mask: Mask,
}

fn name_hash(name: &str) -> u32 {
    // FNV-1a: a stable colour per name.
    name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

impl SyntheticVideo {
    /// A pattern of `width`×`height` (rounded to even) at `fps` showing `name`.
    pub fn new(
        name: &str,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<SyntheticVideo, SourceError> {
        Self::with_fonts(name, width, height, fps, quartet_fonts::system())
    }

    /// The same, with the name drawn in `fonts` (none: the built-in font).
    fn with_fonts(
        name: &str,
        width: u32,
        height: u32,
        fps: u32,
        fonts: &[FontVec],
    ) -> Result<SyntheticVideo, SourceError> {
        if width < MIN_SIZE.0 || height < MIN_SIZE.1 {
            return Err(SourceError::InvalidSettings(format!(
                "synthetic video needs at least {}x{}, got {width}x{height}",
                MIN_SIZE.0, MIN_SIZE.1
            )));
        }
        if fps == 0 || fps > MAX_FPS {
            return Err(SourceError::InvalidSettings(format!(
                "fps {fps} not in 1..={MAX_FPS}"
            )));
        }
        let (width, height) = (even(width), even(height));
        let h = name_hash(name);
        let chroma = (64 + (h & 0x7f) as u8, 64 + ((h >> 8) & 0x7f) as u8);
        // A triangle ramp long enough for any row offset plus scrolling.
        let len = (width + height) as usize + 256;
        let ramp = (0..len)
            .map(|i| {
                let t = (i % 256) as i32;
                (48 + (if t < 128 { t } else { 255 - t })) as u8
            })
            .collect();
        let (name_height, name_width) = (
            height / NAME_HEIGHTS_PER_PICTURE,
            width * NAME_MAX_WIDTH_TENTHS / 10,
        );
        let name_mask = Mask::fitted(name, fonts, name_height as f32, name_width as f32)
            .unwrap_or_else(|| Mask::bitmap_fitted(name, name_height, name_width));
        Ok(SyntheticVideo {
            name: name.to_owned(),
            width,
            height,
            fps,
            chroma,
            index: 0,
            start: None,
            schedule_base: 0,
            ramp,
            sync_marks: false,
            name_mask,
        })
    }

    /// The same, with a white flash in pictures captured at the [`sync_marks`] instants (paired
    /// with [`SyntheticTone::with_sync_marks`](super::SyntheticTone::with_sync_marks)'s clicks
    /// to measure lip sync).
    pub fn with_sync_marks(mut self) -> SyntheticVideo {
        self.sync_marks = true;
        self
    }

    /// Draws frame number `index` captured at `time_us` (no pacing): the pattern is a pure
    /// function of these, which tests and benchmarks rely on.
    pub fn render(&self, index: u64, time_us: i64) -> VideoFrame {
        let mut f = VideoFrame::black(self.width, self.height);
        let (w, h) = (self.width as usize, self.height as usize);
        let phase = (index as usize * SCROLL_PER_FRAME) % 256;
        {
            let (y, u, v) = f.planes_mut();
            for row in 0..h {
                let off = (row + phase) % 256;
                y[row * w..row * w + w].copy_from_slice(&self.ramp[off..off + w]);
            }
            u.fill(self.chroma.0);
            v.fill(self.chroma.1);
            // A box bouncing left and right across the lower half.
            let size = (h / 5).max(4);
            let span = w.saturating_sub(size).max(1);
            let step = (index as usize * 8) % (2 * span);
            let bx = if step < span { step } else { 2 * span - step };
            let by = h * 3 / 5;
            for row in by..(by + size).min(h) {
                y[row * w + bx..row * w + (bx + size).min(w)].fill(BRIGHT);
            }
            self.draw_name(y, &self.name_mask);
        }
        if self.sync_marks && sync_marks::in_flash(time_us) {
            sync_marks::flash(&mut f);
        }
        clock::burn_frame(&mut f, time_us);
        f
    }

    /// Blends the name's mask into the luma plane, centred, over its shadow.
    fn draw_name(&self, luma: &mut [u8], mask: &Mask) {
        let (w, h) = (self.width, self.height);
        let left = w.saturating_sub(mask.width) / 2;
        let top = h * NAME_TOP_TENTHS / 10;
        let shadow = (mask.height / 16).max(1);
        for (offset, value) in [(shadow, SHADOW), (0, BRIGHT)] {
            for my in 0..mask.height {
                let py = top + my + offset;
                if py >= h {
                    break;
                }
                for mx in 0..mask.width {
                    let px = left + mx + offset;
                    let a = mask.at(mx, my);
                    if px >= w || a == 0 {
                        continue;
                    }
                    let i = (py * w + px) as usize;
                    luma[i] = quartet_fonts::blend(luma[i], value, a);
                }
            }
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(1) / self.fps
    }
}

impl VideoSource for SyntheticVideo {
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        let start = *self.start.get_or_insert_with(Instant::now);
        let due = start + self.interval() * (self.index - self.schedule_base) as u32;
        let now = Instant::now();
        if now > due + self.interval() * MAX_FRAMES_BEHIND {
            // Start a new schedule from now rather than catching up with a burst.
            self.start = Some(now);
            self.schedule_base = self.index;
        } else if !pace_until(due) {
            return Ok(None);
        }
        let frame = self.render(self.index, unix_micros());
        self.index += 1;
        Ok(Some(frame))
    }

    fn describe(&self) -> String {
        let marks = if self.sync_marks {
            " with sync marks"
        } else {
            ""
        };
        format!(
            "test pattern \"{}\" {}x{}@{}{marks}",
            self.name, self.width, self.height, self.fps
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_their_capture_time_and_move() {
        let s = SyntheticVideo::new("alice", 640, 360, 15).unwrap();
        let a = s.render(0, 1_000_000);
        let b = s.render(1, 1_066_666);
        assert_eq!(clock::read_frame(&a), Some(1_000_000));
        assert_eq!(clock::read_frame(&b), Some(1_066_666));
        assert_ne!(a.y(), b.y(), "the pattern must move");
    }

    #[test]
    fn the_name_is_drawn() {
        let with = SyntheticVideo::new("WWWW", 320, 180, 15)
            .unwrap()
            .render(0, 0);
        let without = SyntheticVideo::new("    ", 320, 180, 15)
            .unwrap()
            .render(0, 0);
        let differing = with
            .y()
            .iter()
            .zip(without.y())
            .filter(|(a, b)| a != b)
            .count();
        assert!(differing > 500, "{differing}");
    }

    /// Pixels of the luma planes that differ.
    fn differing(a: &VideoFrame, b: &VideoFrame) -> usize {
        a.y().iter().zip(b.y()).filter(|(a, b)| a != b).count()
    }

    /// The pattern of `name`, drawn with `fonts`, with the colour of one fixed name so only the
    /// name's pixels can differ.
    fn pattern(name: &str, fonts: &[FontVec]) -> VideoFrame {
        let mut s = SyntheticVideo::with_fonts(name, 320, 180, 15, fonts).unwrap();
        s.chroma = (128, 128);
        s.render(0, 0)
    }

    #[test]
    fn a_chinese_name_is_drawn_in_its_own_glyphs() {
        let fonts = quartet_fonts::system();
        assert!(
            quartet_fonts::covers_chinese(fonts),
            "no system font covers Chinese: install fonts-noto-cjk"
        );
        let blank = pattern("  ", fonts);
        let xiaoming = pattern("小明", fonts);
        let dahai = pattern("大海", fonts);
        assert!(differing(&xiaoming, &blank) > 300, "the name has ink");
        assert!(
            differing(&xiaoming, &dahai) > 100,
            "different names, different glyphs"
        );
        // The built-in font draws both as two boxes: the same pixels, which is the bug.
        assert_eq!(differing(&pattern("小明", &[]), &pattern("大海", &[])), 0);
    }

    #[test]
    fn without_a_system_font_the_builtin_font_draws_the_name() {
        let source = SyntheticVideo::with_fonts("WWWW", 320, 180, 15, &[]).unwrap();
        assert_eq!(
            source.name_mask,
            Mask::bitmap_fitted(
                "WWWW",
                180 / NAME_HEIGHTS_PER_PICTURE,
                320 * NAME_MAX_WIDTH_TENTHS / 10
            )
        );
        let with = pattern("WWWW", &[]);
        let without = pattern("    ", &[]);
        assert!(differing(&with, &without) > 500);
    }

    #[test]
    fn a_long_name_fits_the_picture() {
        let fonts = quartet_fonts::system();
        let s = SyntheticVideo::with_fonts(
            "王小明 Ann Marie Lee-Featherstonehaugh",
            320,
            180,
            15,
            fonts,
        )
        .unwrap();
        let mask = &s.name_mask;
        assert!(mask.width <= 320 * 9 / 10 + 2, "{}", mask.width);
        // Drawing it stays inside the frame.
        assert!(s.render(0, 0).y().len() == 320 * 180);
    }

    #[test]
    fn members_get_different_colours() {
        let a = SyntheticVideo::new("alice", 320, 180, 15)
            .unwrap()
            .render(0, 0);
        let b = SyntheticVideo::new("bob", 320, 180, 15)
            .unwrap()
            .render(0, 0);
        assert_ne!(a.u()[a.u().len() - 1], b.u()[b.u().len() - 1]);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(matches!(
            SyntheticVideo::new("x", 16, 16, 15),
            Err(SourceError::InvalidSettings(_))
        ));
        assert!(matches!(
            SyntheticVideo::new("x", 640, 360, 0),
            Err(SourceError::InvalidSettings(_))
        ));
    }

    #[test]
    fn paces_at_its_frame_rate() {
        let mut s = SyntheticVideo::new("pace", 64, 40, 50).unwrap();
        let t0 = Instant::now();
        let mut n = 0;
        while n < 6 {
            if s.next_frame().unwrap().is_some() {
                n += 1;
            }
        }
        // Six frames at 50 fps take at least five intervals; no upper bound (slow machines).
        assert!(t0.elapsed() >= Duration::from_millis(100));
    }
}
