//! The built-in font, for a machine with no system font: `font8x8`'s 8×8 glyphs (ASCII and
//! Latin-1; anything else a box, so a name in another script still shows its length), drawn
//! into the same [`Mask`] as system fonts so every caller blends text one way.

use crate::Mask;

/// Glyph width and height of the built-in font, in font pixels.
pub const GLYPH: u32 = 8;
/// The longest text drawn with it, in characters: a label is never longer, and a hostile name
/// cannot make a mask of unbounded size.
pub const MAX_BITMAP_CHARS: usize = 256;

/// The 8×8 glyph of `c`, rows top first, bit 0 the leftmost pixel.
fn glyph(c: char) -> [u8; 8] {
    const BOX: [u8; 8] = [0x7E, 0x42, 0x42, 0x42, 0x42, 0x42, 0x7E, 0x00];
    let code = c as usize;
    match code {
        0x20..=0x7E => font8x8::legacy::BASIC_LEGACY[code],
        0xA0..=0xFF => font8x8::legacy::LATIN_LEGACY[code - 0xA0],
        _ => BOX,
    }
}

impl Mask {
    /// `text` in the built-in font, each font pixel a `scale`² square (the box is the glyph
    /// cells, not tight around the ink).
    pub fn bitmap(text: &str, scale: u32) -> Mask {
        let scale = scale.max(1);
        let chars: Vec<char> = text.chars().take(MAX_BITMAP_CHARS).collect();
        let width = chars.len() as u32 * GLYPH * scale;
        let height = GLYPH * scale;
        let mut alpha = vec![0u8; (width * height) as usize];
        for (i, c) in chars.iter().enumerate() {
            for (row, bits) in glyph(*c).iter().enumerate() {
                for col in 0..GLYPH {
                    if bits & (1 << col) == 0 {
                        continue;
                    }
                    let x0 = (i as u32 * GLYPH + col) * scale;
                    for y in row as u32 * scale..(row as u32 + 1) * scale {
                        let start = (y * width + x0) as usize;
                        alpha[start..start + scale as usize].fill(u8::MAX);
                    }
                }
            }
        }
        Mask {
            width,
            height,
            alpha,
        }
    }

    /// `text` in the built-in font at the largest scale that is at most `max_height` pixels
    /// high and `max_width` wide (scale 1 when even that is too wide).
    pub fn bitmap_fitted(text: &str, max_height: u32, max_width: u32) -> Mask {
        let chars = text.chars().take(MAX_BITMAP_CHARS).count().max(1) as u32;
        let by_height = max_height / GLYPH;
        let by_width = max_width / (chars * GLYPH);
        Mask::bitmap(text, by_height.min(by_width).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glyph_lands_where_its_bits_say_at_any_scale() {
        // 'I' in font8x8: first row 0x1E (columns 1..=4 lit).
        let m = Mask::bitmap("I", 1);
        assert_eq!((m.width, m.height), (8, 8));
        let row: Vec<u8> = (0..8).map(|x| m.at(x, 0)).collect();
        assert_eq!(row, [0, 255, 255, 255, 255, 0, 0, 0]);
        let big = Mask::bitmap("I", 3);
        assert_eq!((big.width, big.height), (24, 24));
        assert_eq!(big.ink(), m.ink() * 9);
    }

    #[test]
    fn unknown_characters_are_boxes_and_length_is_bounded() {
        assert_eq!(
            Mask::bitmap("小", 1).ink(),
            Mask::bitmap("\u{2603}", 1).ink()
        );
        assert!(Mask::bitmap("小", 1).ink() > 0);
        let long = "x".repeat(MAX_BITMAP_CHARS * 4);
        assert_eq!(
            Mask::bitmap(&long, 1).width,
            MAX_BITMAP_CHARS as u32 * GLYPH
        );
        assert_eq!(Mask::bitmap("", 2).ink(), 0);
    }

    #[test]
    fn fitting_picks_the_largest_scale_within_both_limits() {
        assert_eq!(Mask::bitmap_fitted("ab", 40, 1000).height, 40);
        assert_eq!(Mask::bitmap_fitted("ab", 40, 48).height, 24);
        assert_eq!(Mask::bitmap_fitted("abcdefgh", 40, 10).height, 8);
    }
}
