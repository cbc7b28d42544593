//! Text drawn with a system font that covers Chinese: the room server's default avatars and the
//! test pattern's name use it, so a member called 小明 is not shown as boxes.
//!
//! No font ships with Quartet (one that covers Chinese is megabytes, and every desktop and server
//! this runs on has one): Noto Sans CJK on Debian (`fonts-noto-cjk`, which `cargo xtask setup`
//! installs), Microsoft YaHei on Windows, PingFang or Heiti on macOS, and a Latin-only font where
//! no CJK font exists. The fonts are found once per process, at the first use.
//!
//! A line is drawn into a [`Mask`] (coverage only, tight around the ink), which each user blends
//! into its own pixels: luma planes in media, RGB in the avatar renderer and the grid. A
//! grapheme no font covers is left out; where no font draws anything, [`Mask::bitmap`] draws
//! the line in the built-in 8×8 font instead, into the same kind of mask.

mod bitmap;

pub use bitmap::{GLYPH, MAX_BITMAP_CHARS};

use std::sync::OnceLock;

use ab_glyph::{Font, GlyphId, OutlinedGlyph, PxScale, ScaleFont, point};
use unicode_segmentation::UnicodeSegmentation;

pub use ab_glyph::FontVec;

/// Fonts tried for glyphs, in order: (path, face index in a collection). Faces that cover
/// Chinese first, then Latin-only ones.
pub const FONT_CANDIDATES: &[(&str, u32)] = &[
    // Debian / Ubuntu: fonts-noto-cjk (face 2 is Simplified Chinese).
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    (
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        0,
    ),
    // Windows: Microsoft YaHei, SimHei.
    ("C:\\Windows\\Fonts\\msyhbd.ttc", 0),
    ("C:\\Windows\\Fonts\\msyh.ttc", 0),
    ("C:\\Windows\\Fonts\\simhei.ttf", 0),
    // macOS: PingFang, Heiti, Hiragino Sans GB.
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("/System/Library/Fonts/STHeiti Medium.ttc", 0),
    ("/System/Library/Fonts/Hiragino Sans GB.ttc", 0),
    // Latin only.
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 0),
    ("C:\\Windows\\Fonts\\segoeuib.ttf", 0),
    ("C:\\Windows\\Fonts\\arialbd.ttf", 0),
    ("/System/Library/Fonts/Supplemental/Arial Bold.ttf", 0),
];
/// Most fonts kept loaded: each is megabytes, and a font that covers Chinese covers Latin too.
pub const MAX_FONTS: usize = 2;
/// The character a font must have to count as covering Chinese ("middle", in every CJK font).
const CHINESE_PROBE: char = '中';

static SYSTEM: OnceLock<Vec<FontVec>> = OnceLock::new();

/// The system's fonts from [`FONT_CANDIDATES`], read once; empty where none exists.
pub fn system() -> &'static [FontVec] {
    SYSTEM.get_or_init(|| {
        let fonts = load(FONT_CANDIDATES);
        if fonts.is_empty() {
            tracing::warn!("no system font found: names are drawn with the built-in ASCII font");
        } else if !covers_chinese(&fonts) {
            tracing::warn!("no system font covers Chinese: install fonts-noto-cjk");
        }
        fonts
    })
}

/// The first of `candidates` that exist and parse, up to and including the first that covers
/// Chinese (it is a fallback for everything after it), at most [`MAX_FONTS`].
pub fn load(candidates: &[(&str, u32)]) -> Vec<FontVec> {
    let mut fonts = Vec::new();
    for (path, index) in candidates {
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        let Ok(font) = FontVec::try_from_vec_and_index(data, *index) else {
            continue;
        };
        let chinese = has_glyph(&font, CHINESE_PROBE);
        fonts.push(font);
        if chinese || fonts.len() >= MAX_FONTS {
            break;
        }
    }
    fonts
}

/// Whether any of `fonts` has Chinese characters.
pub fn covers_chinese(fonts: &[FontVec]) -> bool {
    fonts.iter().any(|f| has_glyph(f, CHINESE_PROBE))
}

fn has_glyph(font: &FontVec, c: char) -> bool {
    font.glyph_id(c) != GlyphId(0)
}

/// One line of text as coverage: `alpha[y * width + x]` is 0 (no ink) to 255 (full ink), the
/// box tight around the ink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Coverage, row by row.
    pub alpha: Vec<u8>,
}

impl Mask {
    /// `text` drawn at `px` pixels per em with `fonts`, each grapheme with the first font that
    /// has it; `None` when nothing of it could be drawn.
    pub fn of(text: &str, fonts: &[FontVec], px: f32) -> Option<Mask> {
        rasterize(&layout(text, fonts, px))
    }

    /// The same, shrunk until the line is at most `max_width` pixels wide.
    pub fn fitted(text: &str, fonts: &[FontVec], px: f32, max_width: f32) -> Option<Mask> {
        let line = layout(text, fonts, px);
        let line = match ink_bounds(&line.glyphs) {
            Some((min_x, _, max_x, _)) if max_x - min_x > max_width && max_width > 0.0 => {
                layout(text, fonts, px * max_width / (max_x - min_x))
            }
            _ => line,
        };
        rasterize(&line)
    }

    /// Coverage at (`x`, `y`), 0 outside the mask.
    pub fn at(&self, x: u32, y: u32) -> u8 {
        if x >= self.width || y >= self.height {
            return 0;
        }
        self.alpha[(y * self.width + x) as usize]
    }

    /// Pixels with any ink.
    pub fn ink(&self) -> usize {
        self.alpha.iter().filter(|a| **a > 0).count()
    }
}

/// `under` covered by `over` to the extent `alpha` (0–255).
pub fn blend(under: u8, over: u8, alpha: u8) -> u8 {
    let a = u16::from(alpha);
    ((u16::from(under) * (255 - a) + u16::from(over) * a + 127) / 255) as u8
}

/// A line's glyph outlines, placed from x = 0 on baseline 0.
struct Line {
    glyphs: Vec<OutlinedGlyph>,
}

fn layout(text: &str, fonts: &[FontVec], px: f32) -> Line {
    let scale = PxScale::from(px);
    let mut glyphs = Vec::new();
    let mut x = 0.0;
    for grapheme in text.graphemes(true) {
        let Some(base) = grapheme.chars().next() else {
            continue;
        };
        if base.is_whitespace() {
            // Whitespace has no ink, but it has width: take it from any font.
            if let Some(font) = fonts.first() {
                x += font.as_scaled(scale).h_advance(font.glyph_id(' '));
            }
            continue;
        }
        let Some(font) = fonts.iter().find(|f| has_glyph(f, base)) else {
            continue;
        };
        for c in grapheme.chars() {
            let id = font.glyph_id(c);
            if let Some(outline) =
                font.outline_glyph(id.with_scale_and_position(scale, point(x, 0.0)))
            {
                glyphs.push(outline);
            }
        }
        x += font.as_scaled(scale).h_advance(font.glyph_id(base));
    }
    Line { glyphs }
}

/// The union of the glyphs' pixel bounds (min x, min y, max x, max y), if any ink.
fn ink_bounds(glyphs: &[OutlinedGlyph]) -> Option<(f32, f32, f32, f32)> {
    glyphs
        .iter()
        .map(OutlinedGlyph::px_bounds)
        .fold(None, |acc, r| {
            let (a, b, c, d) = acc.unwrap_or((r.min.x, r.min.y, r.max.x, r.max.y));
            Some((
                a.min(r.min.x),
                b.min(r.min.y),
                c.max(r.max.x),
                d.max(r.max.y),
            ))
        })
}

fn rasterize(line: &Line) -> Option<Mask> {
    let (min_x, min_y, max_x, max_y) = ink_bounds(&line.glyphs)?;
    let (x0, y0) = (min_x.floor(), min_y.floor());
    let width = (max_x.ceil() - x0).max(0.0) as u32;
    let height = (max_y.ceil() - y0).max(0.0) as u32;
    if width == 0 || height == 0 {
        return None;
    }
    let mut mask = Mask {
        width,
        height,
        alpha: vec![0; (width * height) as usize],
    };
    for glyph in &line.glyphs {
        let at = glyph.px_bounds().min;
        let (gx, gy) = ((at.x - x0) as i64, (at.y - y0) as i64);
        glyph.draw(|x, y, coverage| {
            let (px, py) = (gx + i64::from(x), gy + i64::from(y));
            let (Ok(px), Ok(py)) = (u32::try_from(px), u32::try_from(py)) else {
                return;
            };
            if px >= width || py >= height {
                return;
            }
            let a = (coverage.clamp(0.0, 1.0) * 255.0).round() as u8;
            let cell = &mut mask.alpha[(py * width + px) as usize];
            // Overlapping glyphs (a letter and its accent) keep the stronger ink.
            *cell = (*cell).max(a);
        });
    }
    (mask.ink() > 0).then_some(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_name_is_drawn_in_distinct_glyphs() {
        let fonts = system();
        assert!(
            covers_chinese(fonts),
            "no system font covers Chinese: install fonts-noto-cjk"
        );
        let xiaoming = Mask::of("小明", fonts, 40.0).unwrap();
        let dahai = Mask::of("大海", fonts, 40.0).unwrap();
        assert!(xiaoming.ink() > 200, "{} pixels of ink", xiaoming.ink());
        assert_ne!(xiaoming, dahai, "different names draw differently");
        // Not one glyph repeated (what a box for each would be): the halves differ.
        let half = xiaoming.width / 2;
        let left: Vec<u8> = (0..xiaoming.height)
            .flat_map(|y| (0..half).map(move |x| (x, y)))
            .map(|(x, y)| xiaoming.at(x, y))
            .collect();
        let right: Vec<u8> = (0..xiaoming.height)
            .flat_map(|y| (0..half).map(move |x| (x, y)))
            .map(|(x, y)| xiaoming.at(x + xiaoming.width - half, y))
            .collect();
        assert_ne!(left, right);
    }

    #[test]
    fn a_mixed_name_keeps_its_spaces_and_latin() {
        let fonts = system();
        let joined = Mask::of("小明Ann", fonts, 32.0).unwrap();
        let spaced = Mask::of("小明 Ann", fonts, 32.0).unwrap();
        assert!(spaced.width > joined.width, "the space has width");
        assert!(Mask::of("Ann", fonts, 32.0).is_some());
    }

    #[test]
    fn fitting_shrinks_a_long_line() {
        let fonts = system();
        let wide = Mask::of("王小明 Ann Marie Lee", fonts, 40.0).unwrap();
        let fitted = Mask::fitted("王小明 Ann Marie Lee", fonts, 40.0, 120.0).unwrap();
        assert!(wide.width > 120);
        assert!(fitted.width <= 122, "{}", fitted.width);
        assert!(fitted.height < wide.height);
    }

    #[test]
    fn nothing_to_draw_gives_no_mask() {
        assert_eq!(Mask::of("小明", &[], 40.0), None, "no fonts");
        assert_eq!(Mask::of("   ", system(), 40.0), None, "no ink");
        // A private-use character: in no font.
        assert_eq!(Mask::of("\u{E000}", system(), 40.0), None);
    }

    #[test]
    fn loading_skips_missing_files_and_stops_at_chinese() {
        assert!(load(&[("/nonexistent/font.ttf", 0)]).is_empty());
        let fonts = load(FONT_CANDIDATES);
        assert!(fonts.len() <= MAX_FONTS);
        if covers_chinese(&fonts) {
            assert!(has_glyph(&fonts[fonts.len() - 1], CHINESE_PROBE));
        }
    }

    #[test]
    fn blending_goes_from_under_to_over() {
        assert_eq!(blend(10, 200, 0), 10);
        assert_eq!(blend(10, 200, 255), 200);
        assert_eq!(blend(0, 254, 128), 127);
    }

    #[test]
    fn coverage_outside_the_mask_is_none() {
        let m = Mask::of("A", system(), 20.0).unwrap();
        assert_eq!(m.at(m.width, 0), 0);
        assert_eq!(m.at(0, m.height), 0);
    }
}
