//! Drawing an avatar: the initials in white on the key's colour, as a PNG of a fixed size.
//!
//! Glyphs come from the system fonts [`quartet_fonts`] finds (Noto Sans CJK on Debian, YaHei on
//! Windows, PingFang on macOS). A grapheme no font covers is left out; with no font at all, the
//! image is the colour alone.

use image::{ExtendedColorType, ImageEncoder, RgbImage};
use quartet_fonts::{FontVec, Mask};
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
/// Colour of the initials.
const INK: u8 = 255;

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

/// Draws `key` as a PNG on a blocking thread, at most [`MAX_CONCURRENT_RENDERS`] at once.
pub(super) async fn png(key: AvatarKey) -> Result<Vec<u8>, RenderError> {
    // Never closed, so acquiring only waits.
    let _permit = RENDERS.acquire().await.ok();
    tokio::task::spawn_blocking(move || draw(&key, quartet_fonts::system())).await?
}

/// Draws `key` with `fonts` and encodes it.
fn draw(key: &AvatarKey, fonts: &[FontVec]) -> Result<Vec<u8>, RenderError> {
    let [r, g, b] = PALETTE[key.colour % PALETTE.len()];
    let size = AVATAR_SIZE;
    let mut img = RgbImage::from_pixel(size, size, image::Rgb([r, g, b]));
    let px = if key.initials.graphemes(true).count() > 1 {
        TWO_INITIALS_PX
    } else {
        ONE_INITIAL_PX
    };
    if let Some(mask) = Mask::fitted(&key.initials, fonts, px, MAX_TEXT_WIDTH) {
        // Centre the ink itself, whatever the font's metrics.
        let dx = size.saturating_sub(mask.width) / 2;
        let dy = size.saturating_sub(mask.height) / 2;
        for y in 0..mask.height.min(size) {
            for x in 0..mask.width.min(size) {
                let a = mask.at(x, y);
                if a == 0 || x + dx >= size || y + dy >= size {
                    continue;
                }
                let pixel = img.get_pixel_mut(x + dx, y + dy);
                for channel in pixel.0.iter_mut() {
                    *channel = quartet_fonts::blend(*channel, INK, a);
                }
            }
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

    fn fonts() -> &'static [FontVec] {
        quartet_fonts::system()
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
