//! Drawing an avatar: the initials in white on the key's colour, as a PNG of a fixed size.
//!
//! Glyphs come from a system font found at the first use (no font ships with Quartet: one that
//! covers Chinese is megabytes, and every desktop and server this runs on has one): Noto Sans
//! CJK on Debian (`fonts-noto-cjk`, which `cargo xtask setup` installs), Microsoft YaHei on
//! Windows, PingFang or Heiti on macOS, and a Latin-only font where no CJK font exists. A
//! grapheme no font covers is left out; with no font at all, the image is the colour alone.

use std::sync::OnceLock;

use ab_glyph::{Font, FontVec, GlyphId, OutlinedGlyph, PxScale, ScaleFont, point};
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use tokio::sync::Semaphore;
use unicode_segmentation::UnicodeSegmentation;

use super::{AvatarKey, PALETTE};

/// Width and height of every avatar, in pixels: a mini-program shows avatars at 40–80 px, so
/// this is sharp on a 2× screen, and it bounds what one request costs to draw.
pub const AVATAR_SIZE: u32 = 128;
/// Height of one initial, in pixels.
const ONE_INITIAL_PX: f32 = 68.0;
/// Height of each of two initials, in pixels.
const TWO_INITIALS_PX: f32 = 56.0;
/// Widest the initials may be, in pixels (they shrink to fit).
const MAX_TEXT_WIDTH: f32 = 104.0;
/// Avatars drawn at once, on blocking threads: the machine has few cores and the room API
/// comes first.
const MAX_CONCURRENT_RENDERS: usize = 2;

/// Fonts tried for glyphs, in order: (path, face index in a collection). Faces that cover
/// Chinese first, then Latin-only ones.
const FONT_CANDIDATES: &[(&str, u32)] = &[
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
/// Fonts kept loaded: the first that covers Chinese is a fallback for everything, so a second
/// one is only for a system without it.
const MAX_FONTS: usize = 2;

/// Why an avatar could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] image::ImageError),
    /// The drawing thread failed.
    #[error("avatar drawing failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

static RENDERS: Semaphore = Semaphore::const_new(MAX_CONCURRENT_RENDERS);
static FONTS: OnceLock<Vec<FontVec>> = OnceLock::new();

/// The first fonts of [`FONT_CANDIDATES`] that exist and parse, read once.
fn fonts() -> &'static [FontVec] {
    FONTS.get_or_init(|| {
        let fonts: Vec<FontVec> = FONT_CANDIDATES
            .iter()
            .filter_map(|(path, index)| {
                let data = std::fs::read(path).ok()?;
                FontVec::try_from_vec_and_index(data, *index).ok()
            })
            .take(MAX_FONTS)
            .collect();
        if fonts.is_empty() {
            tracing::warn!("no font found for avatars: default avatars show their colour only");
        }
        fonts
    })
}

/// Draws `key` as a PNG on a blocking thread, at most [`MAX_CONCURRENT_RENDERS`] at once.
pub(super) async fn png(key: AvatarKey) -> Result<Vec<u8>, RenderError> {
    // Never closed, so acquiring only waits.
    let _permit = RENDERS.acquire().await.ok();
    tokio::task::spawn_blocking(move || draw(&key, fonts())).await?
}

/// One grapheme's glyphs at their place, before centring.
struct Placed {
    glyphs: Vec<OutlinedGlyph>,
}

/// Lays the initials out at `px` from x = 0 on baseline 0; returns the outlines and the width.
fn layout(initials: &str, fonts: &[FontVec], px: f32) -> (Placed, f32) {
    let scale = PxScale::from(px);
    let mut glyphs = Vec::new();
    let mut x = 0.0;
    for grapheme in initials.graphemes(true) {
        let Some(base) = grapheme.chars().next() else {
            continue;
        };
        let Some(font) = fonts.iter().find(|f| f.glyph_id(base) != GlyphId(0)) else {
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
    (Placed { glyphs }, x)
}

/// Draws `key` with `fonts` and encodes it.
fn draw(key: &AvatarKey, fonts: &[FontVec]) -> Result<Vec<u8>, RenderError> {
    let [r, g, b] = PALETTE[key.colour % PALETTE.len()];
    let size = AVATAR_SIZE;
    let mut img = RgbImage::from_pixel(size, size, image::Rgb([r, g, b]));
    let count = key.initials.graphemes(true).count();
    let px = if count > 1 {
        TWO_INITIALS_PX
    } else {
        ONE_INITIAL_PX
    };
    let (mut placed, width) = layout(&key.initials, fonts, px);
    if width > MAX_TEXT_WIDTH {
        placed = layout(&key.initials, fonts, px * MAX_TEXT_WIDTH / width).0;
    }
    if let Some((min_x, min_y, max_x, max_y)) = bounds(&placed) {
        // Centre the ink itself, whatever the font's metrics.
        let dx = ((size as f32 - (max_x - min_x)) / 2.0 - min_x).round() as i64;
        let dy = ((size as f32 - (max_y - min_y)) / 2.0 - min_y).round() as i64;
        for glyph in &placed.glyphs {
            let at = glyph.px_bounds().min;
            glyph.draw(|x, y, coverage| {
                let px = i64::from(x) + at.x as i64 + dx;
                let py = i64::from(y) + at.y as i64 + dy;
                let (Ok(px), Ok(py)) = (u32::try_from(px), u32::try_from(py)) else {
                    return;
                };
                if px >= size || py >= size {
                    return;
                }
                let a = coverage.clamp(0.0, 1.0);
                let pixel = img.get_pixel_mut(px, py);
                for channel in pixel.0.iter_mut() {
                    *channel = (f32::from(*channel) * (1.0 - a) + 255.0 * a).round() as u8;
                }
            });
        }
    }
    let mut png = Vec::with_capacity(4 * 1024);
    image::codecs::png::PngEncoder::new(&mut png).write_image(
        img.as_raw(),
        size,
        size,
        ExtendedColorType::Rgb8,
    )?;
    Ok(png)
}

/// The union of the glyphs' pixel bounds, if any ink.
fn bounds(placed: &Placed) -> Option<(f32, f32, f32, f32)> {
    placed
        .glyphs
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pixels(png: &[u8]) -> image::RgbImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .unwrap()
            .to_rgb8()
    }

    fn key(colour: usize, initials: &str) -> AvatarKey {
        AvatarKey {
            colour,
            initials: initials.into(),
        }
    }

    /// Pixels that are not the background: the ink of the initials.
    fn ink(img: &image::RgbImage, colour: usize) -> usize {
        img.pixels().filter(|p| p.0 != PALETTE[colour]).count()
    }

    #[test]
    fn initials_are_drawn_centred_on_the_colour() {
        let fonts = fonts();
        assert!(!fonts.is_empty(), "no system font: install fonts-noto-cjk");
        for initials in ["A", "AL", "小A", "王"] {
            let img = pixels(&draw(&key(3, initials), fonts).unwrap());
            assert_eq!(img.dimensions(), (AVATAR_SIZE, AVATAR_SIZE));
            assert_eq!(img.get_pixel(0, 0).0, PALETTE[3], "{initials}");
            let ink = ink(&img, 3);
            assert!(ink > 300, "{initials}: {ink} pixels of ink");
            // Balanced: as much ink left of the middle as right of it, within a quarter.
            let half = AVATAR_SIZE / 2;
            let left = img
                .enumerate_pixels()
                .filter(|(x, _, p)| *x < half && p.0 != PALETTE[3])
                .count();
            let ratio = left as f64 / ink as f64;
            assert!((0.35..0.65).contains(&ratio), "{initials}: {ratio}");
        }
    }

    #[test]
    fn different_initials_or_colours_give_different_images() {
        let fonts = fonts();
        let a = draw(&key(0, "A"), fonts).unwrap();
        assert_ne!(a, draw(&key(0, "B"), fonts).unwrap());
        assert_ne!(a, draw(&key(1, "A"), fonts).unwrap());
        assert_ne!(
            draw(&key(0, "小A"), fonts).unwrap(),
            draw(&key(0, "小B"), fonts).unwrap()
        );
        assert_eq!(
            a,
            draw(&key(0, "A"), fonts).unwrap(),
            "drawing is deterministic"
        );
    }

    #[test]
    fn a_grapheme_no_font_has_is_left_out() {
        // A private-use character: in no font.
        let img = pixels(&draw(&key(2, "\u{E000}"), fonts()).unwrap());
        assert_eq!(ink(&img, 2), 0);
        let img = pixels(&draw(&key(2, "A"), &[]).unwrap());
        assert_eq!(ink(&img, 2), 0, "no fonts: the colour alone");
    }
}
