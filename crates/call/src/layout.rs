//! Where each of the grid's cells goes in a picture: two by two, or one cell large (a shared
//! screen, or the one the user pinned) above a strip of the others, as the page lays them out.

/// Tiles across and down in the two-by-two grid.
pub const GRID_COLUMNS: u32 = 2;
/// Tiles in the grid.
pub const GRID_TILES: usize = 4;
/// Share of the height, in percent, that the strip under a spotlight takes (the page's own).
pub const STRIP_HEIGHT_PERCENT: u32 = 24;

/// How the grid's cells are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GridLayout {
    /// Two by two: us top left, then the remote tiles row by row.
    #[default]
    Grid,
    /// Cell `n` (0 is us, 1.. the remote tiles) large, the others in a strip below it.
    Spotlight(usize),
}

/// A rectangle of a picture, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rect {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) w: u32,
    pub(crate) h: u32,
}

/// Where each of [`GRID_TILES`] cells goes in a `width`×`height` picture.
pub(crate) fn cell_rects(layout: GridLayout, width: u32, height: u32) -> [Rect; GRID_TILES] {
    let big = match layout {
        GridLayout::Spotlight(n) if n < GRID_TILES => n,
        _ => return quadrants(width, height),
    };
    let strip_h = height * STRIP_HEIGHT_PERCENT / 100;
    let strip_w = width / (GRID_TILES as u32 - 1);
    let mut rects = [Rect {
        x: 0,
        y: 0,
        w: width,
        h: height - strip_h,
    }; GRID_TILES];
    for (column, i) in (0..GRID_TILES).filter(|&i| i != big).enumerate() {
        rects[i] = Rect {
            x: column as u32 * strip_w,
            y: height - strip_h,
            w: strip_w,
            h: strip_h,
        };
    }
    rects
}

fn quadrants(width: u32, height: u32) -> [Rect; GRID_TILES] {
    let (w, h) = (width / GRID_COLUMNS, height / GRID_COLUMNS);
    std::array::from_fn(|i| {
        let i = i as u32;
        Rect {
            x: (i % GRID_COLUMNS) * w,
            y: (i / GRID_COLUMNS) * h,
            w,
            h,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(r: Rect, width: u32, height: u32) -> bool {
        r.x + r.w <= width && r.y + r.h <= height && r.w > 0 && r.h > 0
    }

    fn overlap(a: Rect, b: Rect) -> bool {
        a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
    }

    #[test]
    fn the_grid_is_four_quadrants() {
        let r = cell_rects(GridLayout::Grid, 1280, 720);
        assert_eq!(
            r[0],
            Rect {
                x: 0,
                y: 0,
                w: 640,
                h: 360
            }
        );
        assert_eq!(
            r[3],
            Rect {
                x: 640,
                y: 360,
                w: 640,
                h: 360
            }
        );
    }

    #[test]
    fn a_spotlight_is_full_width_above_the_others_in_order() {
        let r = cell_rects(GridLayout::Spotlight(2), 1280, 720);
        assert_eq!(
            r[2],
            Rect {
                x: 0,
                y: 0,
                w: 1280,
                h: 548
            }
        );
        assert_eq!((r[0].x, r[1].x, r[3].x), (0, 426, 852));
        for (i, a) in r.iter().enumerate() {
            assert!(inside(*a, 1280, 720), "{a:?}");
            for b in &r[i + 1..] {
                assert!(!overlap(*a, *b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn a_spotlight_on_no_cell_is_the_grid() {
        assert_eq!(
            cell_rects(GridLayout::Spotlight(9), 640, 360),
            cell_rects(GridLayout::Grid, 640, 360)
        );
    }
}
