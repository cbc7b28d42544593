//! The four-up grid as one picture: our own picture and up to three remote tiles, each with a
//! name label, and a placeholder where there is no picture (camera off, not yet playing).
//! Bots write it as a PNG; the app uses it for "snapshot the grid".
//!
//! Text is drawn with a system font that covers Chinese ([`quartet_fonts`]), and with the
//! built-in 8×8 font where the system has none.

use crate::layout::{GRID_TILES, GridLayout, Rect, cell_rects};
use image::{Rgba, RgbaImage};
use quartet_fonts::{FontVec, GLYPH, Mask};
use quartet_media::VideoFrame;

/// Background of a tile nobody holds.
const EMPTY: Rgba<u8> = Rgba([18, 20, 24, 255]);
/// Letterbox bars around a picture of another shape than its tile.
const BARS: Rgba<u8> = Rgba([0, 0, 0, 255]);
/// Text colour.
const TEXT: Rgba<u8> = Rgba([240, 240, 240, 255]);
/// How much of the picture under the label band shows through, out of 255.
const BAND_SHOW_THROUGH: u16 = 90;
/// Font pixels (8×8 glyphs) per label line, as a fraction of the tile height.
const LABEL_LINES_PER_TILE: u32 = 10;
/// Pixels between the label text and the band's edge.
const LABEL_PAD: u32 = 3;

/// What one tile shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct GridCell<'a> {
    /// The name on the tile; `None` for a tile nobody holds.
    pub label: Option<&'a str>,
    /// The picture; `None` (or a camera-off frame) shows a placeholder.
    pub frame: Option<&'a VideoFrame>,
    /// Why there is no picture ("camera off", "connecting"), shown on the placeholder.
    pub note: Option<&'a str>,
}

/// Draws up to [`GRID_TILES`] cells, row by row, into a `width`×`height` picture.
pub fn compose_grid(width: u32, height: u32, cells: &[GridCell<'_>]) -> RgbaImage {
    compose_layout(width, height, GridLayout::Grid, cells)
}

/// Draws up to [`GRID_TILES`] cells arranged as `layout` into a `width`×`height` picture.
pub fn compose_layout(
    width: u32,
    height: u32,
    layout: GridLayout,
    cells: &[GridCell<'_>],
) -> RgbaImage {
    compose_with(width, height, layout, cells, quartet_fonts::system())
}

/// The same, with text drawn in `fonts` (none: the built-in font).
fn compose_with(
    width: u32,
    height: u32,
    layout: GridLayout,
    cells: &[GridCell<'_>],
    fonts: &[FontVec],
) -> RgbaImage {
    // Room for a strip of three under a spotlight, however small the picture asked for.
    let (width, height) = (width.max(GRID_TILES as u32), height.max(GRID_TILES as u32));
    let mut img = RgbaImage::from_pixel(width, height, EMPTY);
    let rects = cell_rects(layout, width, height);
    for (cell, rect) in cells.iter().zip(rects) {
        draw_cell(&mut img, rect, cell, fonts);
    }
    img
}

fn draw_cell(img: &mut RgbaImage, rect: Rect, cell: &GridCell<'_>, fonts: &[FontVec]) {
    let Some(label) = cell.label else {
        fill(img, rect, EMPTY);
        return;
    };
    let scale = (rect.h / (GLYPH * LABEL_LINES_PER_TILE)).max(1);
    match cell.frame.filter(|f| !f.is_blank()) {
        Some(frame) => {
            fill(img, rect, BARS);
            draw_frame(img, fit(frame.width(), frame.height(), rect), frame);
        }
        None => {
            fill(img, rect, placeholder_colour(label));
            // The initial, large, in the middle: who this is even without a picture.
            let initial: String = label.chars().take(1).collect();
            let big = (rect.h / (GLYPH * 3)).max(1);
            let initial = Line::new(&initial, big, rect.w, fonts);
            let x = rect.x + rect.w.saturating_sub(initial.width()) / 2;
            let y = rect.y + rect.h.saturating_sub(GLYPH * big) / 2;
            initial.draw(img, rect, x, y);
            if let Some(note) = cell.note {
                let note = Line::new(note, scale, rect.w, fonts);
                let x = rect.x + rect.w.saturating_sub(note.width()) / 2;
                note.draw(img, rect, x, y + GLYPH * big + GLYPH * scale);
            }
        }
    }
    let band_h = (GLYPH * scale + 2 * LABEL_PAD).min(rect.h);
    let band = Rect {
        x: rect.x,
        y: rect.y + rect.h - band_h,
        w: rect.w,
        h: band_h,
    };
    darken(img, band);
    Line::new(label, scale, rect.w.saturating_sub(2 * LABEL_PAD), fonts).draw(
        img,
        rect,
        band.x + LABEL_PAD,
        band.y + LABEL_PAD,
    );
}

/// One line of text, ready to draw in a box [`GLYPH`]` × scale` pixels high: in a system font,
/// or the built-in one where none has it.
struct Line {
    mask: Mask,
    box_height: u32,
}

impl Line {
    /// `text` at `scale`, shrunk to at most `max_width` pixels when drawn with a system font.
    fn new(text: &str, scale: u32, max_width: u32, fonts: &[FontVec]) -> Line {
        let box_height = GLYPH * scale;
        let mask = Mask::fitted(text, fonts, box_height as f32, max_width as f32)
            .unwrap_or_else(|| Mask::bitmap(text, scale));
        Line { mask, box_height }
    }

    /// Width in pixels.
    fn width(&self) -> u32 {
        self.mask.width
    }

    /// Draws the line with its box's top-left at (`x`, `y`), clipped to `clip`.
    fn draw(&self, img: &mut RgbaImage, clip: Rect, x: u32, y: u32) {
        let mask = &self.mask;
        // The ink is centred in the box, whatever the font's metrics.
        let y = y + self.box_height.saturating_sub(mask.height) / 2;
        for my in 0..mask.height {
            for mx in 0..mask.width {
                let (px, py) = (x + mx, y + my);
                let a = mask.at(mx, my);
                if a == 0 || px >= clip.x + clip.w || py >= clip.y + clip.h {
                    continue;
                }
                let p = img.get_pixel_mut(px, py);
                for (c, t) in p.0[..3].iter_mut().zip(TEXT.0) {
                    *c = quartet_fonts::blend(*c, t, a);
                }
            }
        }
    }
}

/// The largest rectangle of the picture's shape that fits in `rect`, centred.
fn fit(fw: u32, fh: u32, rect: Rect) -> Rect {
    let (fw, fh) = (u64::from(fw.max(1)), u64::from(fh.max(1)));
    let (rw, rh) = (u64::from(rect.w), u64::from(rect.h));
    let (w, h) = if rw * fh <= rh * fw {
        (rw, (rw * fh / fw).max(1))
    } else {
        ((rh * fw / fh).max(1), rh)
    };
    Rect {
        x: rect.x + ((rw - w) / 2) as u32,
        y: rect.y + ((rh - h) / 2) as u32,
        w: w as u32,
        h: h as u32,
    }
}

/// BT.601 limited-range YUV to RGB, in integers (the publisher encodes BT.601).
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = 298 * (i32::from(y) - 16);
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clip = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
    [
        clip(c + 409 * e),
        clip(c - 100 * d - 208 * e),
        clip(c + 516 * d),
    ]
}

/// Nearest-neighbour scaling straight from I420: grids are small and made once a second.
fn draw_frame(img: &mut RgbaImage, dst: Rect, frame: &VideoFrame) {
    let (fw, fh) = (frame.width(), frame.height());
    let (ys, us, vs) = (frame.y(), frame.u(), frame.v());
    let (fwu, cw) = (fw as usize, (fw / 2) as usize);
    let map_x: Vec<usize> = (0..dst.w)
        .map(|x| ((u64::from(x) * u64::from(fw) / u64::from(dst.w)) as usize).min(fwu - 1))
        .collect();
    for dy in 0..dst.h {
        let sy = ((u64::from(dy) * u64::from(fh) / u64::from(dst.h)) as usize).min(fh as usize - 1);
        for (dx, &sx) in map_x.iter().enumerate() {
            let ci = (sy / 2) * cw + sx / 2;
            let [r, g, b] = yuv_to_rgb(ys[sy * fwu + sx], us[ci], vs[ci]);
            img.put_pixel(dst.x + dx as u32, dst.y + dy, Rgba([r, g, b, 255]));
        }
    }
}

fn fill(img: &mut RgbaImage, rect: Rect, colour: Rgba<u8>) {
    for y in rect.y..rect.y + rect.h {
        for x in rect.x..rect.x + rect.w {
            img.put_pixel(x, y, colour);
        }
    }
}

fn darken(img: &mut RgbaImage, rect: Rect) {
    for y in rect.y..rect.y + rect.h {
        for x in rect.x..rect.x + rect.w {
            let p = img.get_pixel_mut(x, y);
            for c in &mut p.0[..3] {
                *c = (u16::from(*c) * BAND_SHOW_THROUGH / 255) as u8;
            }
        }
    }
}

/// A muted colour per name, so placeholders tell members apart.
fn placeholder_colour(name: &str) -> Rgba<u8> {
    // FNV-1a: stable across runs and platforms.
    let h = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let channel = |shift: u32| 40 + ((h >> shift) & 0x3f) as u8;
    Rgba([channel(0), channel(8), channel(16), 255])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(w: u32, h: u32, luma: u8) -> VideoFrame {
        let mut f = VideoFrame::black(w, h);
        f.planes_mut().0.fill(luma);
        f
    }

    fn distinct_colours(img: &RgbaImage, rect: Rect) -> usize {
        let mut seen = std::collections::HashSet::new();
        for y in rect.y..rect.y + rect.h {
            for x in rect.x..rect.x + rect.w {
                seen.insert(img.get_pixel(x, y).0);
            }
        }
        seen.len()
    }

    #[test]
    fn colour_conversion_matches_bt601() {
        assert_eq!(yuv_to_rgb(16, 128, 128), [0, 0, 0]);
        assert_eq!(yuv_to_rgb(235, 128, 128), [255, 255, 255]);
        let [r, g, b] = yuv_to_rgb(81, 90, 240);
        assert!(r > 230 && g < 20 && b < 20, "red: {r} {g} {b}");
    }

    #[test]
    fn pictures_land_in_their_quadrant_with_a_label() {
        let white = grey(64, 36, 235);
        let cells = [
            GridCell {
                label: Some("me"),
                frame: Some(&white),
                note: None,
            },
            GridCell::default(),
            GridCell {
                label: Some("Bob"),
                frame: None,
                note: Some("camera off"),
            },
        ];
        let img = compose_grid(320, 180, &cells);
        assert_eq!(img.dimensions(), (320, 180));
        // Top-left: the white picture, above its label band.
        assert_eq!(img.get_pixel(80, 10).0, [255, 255, 255, 255]);
        let band_y = 90 - 1;
        assert!(img.get_pixel(150, band_y).0[0] < 255, "the band darkens");
        // Top-right: nobody.
        assert_eq!(img.get_pixel(240, 45), &EMPTY);
        assert_eq!(
            distinct_colours(
                &img,
                Rect {
                    x: 160,
                    y: 0,
                    w: 160,
                    h: 90
                }
            ),
            1
        );
        // Bottom-left: a placeholder with an initial and a note, not a plain fill.
        let q = Rect {
            x: 0,
            y: 90,
            w: 160,
            h: 90,
        };
        assert!(distinct_colours(&img, q) >= 3);
        assert_eq!(img.get_pixel(2, 92), &placeholder_colour("Bob"));
    }

    /// The label band of the top-left tile of a 320×180 grid showing `name`, with `fonts`.
    fn label_band(name: &str, fonts: &[FontVec]) -> Vec<[u8; 4]> {
        let white = grey(64, 36, 235);
        let img = compose_with(
            320,
            180,
            GridLayout::Grid,
            &[GridCell {
                label: Some(name),
                frame: Some(&white),
                note: None,
            }],
            fonts,
        );
        (70..90)
            .flat_map(|y| (0..160).map(move |x| (x, y)))
            .map(|(x, y)| img.get_pixel(x, y).0)
            .collect()
    }

    #[test]
    fn chinese_labels_are_drawn_in_their_own_glyphs() {
        let fonts = quartet_fonts::system();
        assert!(
            quartet_fonts::covers_chinese(fonts),
            "no system font covers Chinese: install fonts-noto-cjk"
        );
        let xiaoming = label_band("小明", fonts);
        assert_ne!(xiaoming, label_band("  ", fonts), "the name has ink");
        assert_ne!(xiaoming, label_band("大海", fonts));
        // The built-in font draws both as boxes: the same pixels.
        assert_eq!(label_band("小明", &[]), label_band("大海", &[]));
        assert_ne!(label_band("Ann", &[]), label_band("Bob", &[]));
    }

    #[test]
    fn a_spotlight_draws_its_cell_large_and_the_others_in_the_strip() {
        let (white, dark) = (grey(160, 90, 235), grey(64, 36, 126));
        let cell = |label, frame| GridCell {
            label: Some(label),
            frame: Some(frame),
            note: None,
        };
        let cells = [cell("me", &dark), cell("Ann", &white), cell("Bob", &dark)];
        let img = compose_layout(300, 200, GridLayout::Spotlight(1), &cells);
        // Ann's screen fills the top, well past where a quadrant would end.
        assert_eq!(img.get_pixel(280, 20).0, [255, 255, 255, 255]);
        // Us and Bob in the strip; the third strip cell holds nobody.
        let grey = yuv_to_rgb(126, 128, 128);
        assert_eq!(img.get_pixel(50, 160).0[..3], grey);
        assert_eq!(img.get_pixel(150, 160).0[..3], grey);
        assert_eq!(img.get_pixel(250, 160), &EMPTY);
    }

    #[test]
    fn camera_off_frames_show_the_placeholder() {
        let off = VideoFrame::black(64, 36);
        let img = compose_grid(
            200,
            200,
            &[GridCell {
                label: Some("Ann"),
                frame: Some(&off),
                note: Some("camera off"),
            }],
        );
        assert_eq!(img.get_pixel(1, 1), &placeholder_colour("Ann"));
    }

    #[test]
    fn pictures_keep_their_shape() {
        let r = Rect {
            x: 0,
            y: 0,
            w: 100,
            h: 100,
        };
        assert_eq!(
            fit(160, 90, r),
            Rect {
                x: 0,
                y: 22,
                w: 100,
                h: 56
            }
        );
        assert_eq!(
            fit(90, 160, r),
            Rect {
                x: 22,
                y: 0,
                w: 56,
                h: 100
            }
        );
        let white = grey(16, 16, 235);
        let img = compose_grid(
            400,
            100,
            &[GridCell {
                label: Some("x"),
                frame: Some(&white),
                note: None,
            }],
        );
        // A square picture in a 200×50 tile: bars left and right.
        assert_eq!(img.get_pixel(5, 10), &BARS);
        assert_eq!(img.get_pixel(100, 10).0, [255, 255, 255, 255]);
    }

    #[test]
    fn text_is_drawn_and_clipped() {
        let mut img = RgbaImage::from_pixel(40, 10, EMPTY);
        let clip = Rect {
            x: 0,
            y: 0,
            w: 20,
            h: 10,
        };
        Line::new("WWWWW", 1, 40, &[]).draw(&mut img, clip, 0, 0);
        let lit = |x0: u32, x1: u32| {
            (x0..x1)
                .flat_map(|x| (0..10).map(move |y| (x, y)))
                .filter(|&(x, y)| img.get_pixel(x, y) == &TEXT)
                .count()
        };
        assert!(lit(0, 20) > 10);
        assert_eq!(lit(20, 40), 0, "nothing drawn past the clip");
    }

    #[test]
    fn tiny_grids_do_not_panic() {
        let f = grey(16, 16, 100);
        let cell = GridCell {
            label: Some("a long name"),
            frame: Some(&f),
            note: Some("x"),
        };
        for (w, h) in [(0, 0), (1, 1), (2, 2), (3, 7), (33, 17)] {
            let img = compose_grid(w, h, &[cell, cell, cell, cell, cell]);
            assert!(img.width() >= 2 && img.height() >= 2);
        }
    }
}
