//! The frame clock: a capture time burned into the top of a picture as large black and white
//! blocks, read back after encoding, transport, decoding and scaling to measure latency.
//!
//! 64 blocks in [`CLOCK_ROWS`] rows of [`CLOCK_COLUMNS`]: 56 bits of Unix µs, most significant
//! first, then a CRC-8 of those 7 bytes. Blocks are sized in proportion to the picture so the
//! clock survives scaling down to small tiles, and reading averages each block's middle so
//! compression noise at block edges does not matter.

use crate::frame::VideoFrame;

/// Blocks per row.
pub const CLOCK_COLUMNS: u32 = 32;
/// Rows of blocks.
pub const CLOCK_ROWS: u32 = 2;
/// Each row is this fraction (1/n) of the picture height.
pub const ROW_HEIGHT_DIVISOR: u32 = 20;
/// Bits of time carried (enough for Unix µs until the year 4253).
pub const TIME_BITS: u32 = 56;
/// Luma of a 0 bit (video-range black).
pub const BLACK: u8 = 16;
/// Luma of a 1 bit (video-range white).
pub const WHITE: u8 = 235;
/// Block means at or above this read as 1.
const THRESHOLD: u32 = (BLACK as u32 + WHITE as u32) / 2;
/// A block whose mean lies this far or further from both black and white is not a clock
/// block: natural pictures rarely have 64 saturated blocks in a row, so this (with the
/// checksum) keeps ordinary video from reading as a clock.
const MAX_DEVIATION: u32 = 64;
/// Pictures smaller than this carry no clock (blocks would be under 2 pixels).
pub const MIN_WIDTH: u32 = CLOCK_COLUMNS * 2;
/// Pictures lower than this carry no clock.
pub const MIN_HEIGHT: u32 = ROW_HEIGHT_DIVISOR * 2;

/// Height in rows of pixels that the clock covers at the top of a picture `height` high.
pub fn strip_height(height: u32) -> u32 {
    CLOCK_ROWS * height / ROW_HEIGHT_DIVISOR
}

/// CRC-8 (polynomial 0x07) over `bytes`.
pub fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Mixed into the checksum so that uniform pictures (all blocks black, or all white) never
/// read as a valid clock: a plain CRC of zeros is zero.
const CHECK_XOR: u8 = 0xA5;

fn check(t: u64) -> u8 {
    crc8(&t.to_be_bytes()[1..]) ^ CHECK_XOR
}

fn encode(time_us: i64) -> u64 {
    let t = (time_us as u64) & ((1u64 << TIME_BITS) - 1);
    (t << 8) | u64::from(check(t))
}

fn decode(word: u64) -> Option<i64> {
    let t = word >> 8;
    (t != 0 && check(t) == (word & 0xff) as u8).then_some(t as i64)
}

/// The pixel box of block `index`: (x0, x1, y0, y1), end-exclusive.
fn block(index: u32, width: u32, height: u32) -> (u32, u32, u32, u32) {
    let (col, row) = (index % CLOCK_COLUMNS, index / CLOCK_COLUMNS);
    (
        col * width / CLOCK_COLUMNS,
        (col + 1) * width / CLOCK_COLUMNS,
        row * height / ROW_HEIGHT_DIVISOR,
        (row + 1) * height / ROW_HEIGHT_DIVISOR,
    )
}

fn fits(luma_len: usize, stride: usize, width: u32, height: u32) -> bool {
    width >= MIN_WIDTH
        && height >= MIN_HEIGHT
        && stride >= width as usize
        && luma_len >= stride * strip_height(height) as usize
}

/// Writes `time_us` into the top of a luma plane; does nothing on pictures too small for it.
pub fn burn(luma: &mut [u8], stride: usize, width: u32, height: u32, time_us: i64) {
    if !fits(luma.len(), stride, width, height) {
        return;
    }
    let word = encode(time_us);
    for i in 0..CLOCK_COLUMNS * CLOCK_ROWS {
        let bit = (word >> (63 - i)) & 1 == 1;
        let (x0, x1, y0, y1) = block(i, width, height);
        for y in y0..y1 {
            let row = y as usize * stride;
            luma[row + x0 as usize..row + x1 as usize].fill(if bit { WHITE } else { BLACK });
        }
    }
}

/// Reads the time back from a luma plane; `None` when there is no valid clock.
pub fn read(luma: &[u8], stride: usize, width: u32, height: u32) -> Option<i64> {
    if !fits(luma.len(), stride, width, height) {
        return None;
    }
    let mut word = 0u64;
    for i in 0..CLOCK_COLUMNS * CLOCK_ROWS {
        let (x0, x1, y0, y1) = block(i, width, height);
        // The middle half of the block, never empty.
        let (mx0, mx1) = (x0 + (x1 - x0) / 4, (x1 - (x1 - x0) / 4).max(x0 + 1));
        let (my0, my1) = (y0 + (y1 - y0) / 4, (y1 - (y1 - y0) / 4).max(y0 + 1));
        let mut sum = 0u32;
        for y in my0..my1 {
            let row = y as usize * stride;
            sum += luma[row + mx0 as usize..row + mx1 as usize]
                .iter()
                .map(|&v| u32::from(v))
                .sum::<u32>();
        }
        let mean = sum / ((mx1 - mx0) * (my1 - my0));
        let bit = mean >= THRESHOLD;
        let target = if bit {
            u32::from(WHITE)
        } else {
            u32::from(BLACK)
        };
        if mean.abs_diff(target) >= MAX_DEVIATION {
            return None;
        }
        word = (word << 1) | u64::from(bit);
    }
    decode(word)
}

/// Burns `time_us` into a frame (neutral colour under the blocks) and records it as the
/// frame's capture time.
pub fn burn_frame(frame: &mut VideoFrame, time_us: i64) {
    let (w, h) = (frame.width(), frame.height());
    let strip = strip_height(h);
    let (y, u, v) = frame.planes_mut();
    burn(y, w as usize, w, h, time_us);
    let chroma_rows = (strip as usize).div_ceil(2) * (w as usize / 2);
    let (ul, vl) = (chroma_rows.min(u.len()), chroma_rows.min(v.len()));
    u[..ul].fill(128);
    v[..vl].fill(128);
    frame.capture_us = Some(time_us);
}

/// Reads the frame clock of a frame.
pub fn read_frame(frame: &VideoFrame) -> Option<i64> {
    read(
        frame.y(),
        frame.width() as usize,
        frame.width(),
        frame.height(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_763_974_800_123_456;

    #[test]
    fn round_trip_on_many_sizes() {
        for (w, h) in [(640, 360), (1280, 720), (320, 180), (64, 40), (333, 101)] {
            let mut luma = vec![90u8; (w * h) as usize];
            burn(&mut luma, w as usize, w, h, T);
            assert_eq!(read(&luma, w as usize, w, h), Some(T), "{w}x{h}");
        }
    }

    #[test]
    fn respects_stride() {
        let (w, h, stride) = (320u32, 180u32, 384usize);
        let mut luma = vec![0u8; stride * h as usize];
        burn(&mut luma, stride, w, h, T + 1);
        assert_eq!(read(&luma, stride, w, h), Some(T + 1));
    }

    #[test]
    fn a_picture_without_clock_reads_none() {
        let luma = vec![128u8; 640 * 360];
        assert_eq!(read(&luma, 640, 640, 360), None);
        let black = vec![16u8; 640 * 360];
        assert_eq!(read(&black, 640, 640, 360), None);
        let white = vec![235u8; 640 * 360];
        assert_eq!(read(&white, 640, 640, 360), None);
    }

    #[test]
    fn mid_grey_blocks_are_not_a_clock() {
        let (w, h) = (640u32, 360u32);
        let mut luma = vec![0u8; (w * h) as usize];
        burn(&mut luma, w as usize, w, h, T);
        // Wash the strip towards grey: the bits still threshold the same, but it is no clock.
        for v in luma.iter_mut() {
            *v = ((u32::from(*v) + 128 * 2) / 3) as u8;
        }
        assert_eq!(read(&luma, w as usize, w, h), None);
    }

    #[test]
    fn a_flipped_bit_fails_the_checksum() {
        let (w, h) = (640u32, 360u32);
        let mut luma = vec![0u8; (w * h) as usize];
        burn(&mut luma, w as usize, w, h, T);
        let (x0, x1, y0, y1) = block(20, w, h);
        let old = luma[(y0 * w + x0) as usize];
        let new = if old == WHITE { BLACK } else { WHITE };
        for y in y0..y1 {
            luma[(y * w + x0) as usize..(y * w + x1) as usize].fill(new);
        }
        assert_eq!(read(&luma, w as usize, w, h), None);
    }

    #[test]
    fn survives_noise_and_blur_at_edges() {
        let (w, h) = (640u32, 360u32);
        let mut luma = vec![0u8; (w * h) as usize];
        burn(&mut luma, w as usize, w, h, T);
        for (i, v) in luma.iter_mut().enumerate() {
            // ±40 of pseudo-random noise, well inside the black/white margin.
            let n = ((i as u64).wrapping_mul(2_654_435_761) >> 7) % 81;
            *v = (i32::from(*v) + n as i32 - 40).clamp(0, 255) as u8;
        }
        assert_eq!(read(&luma, w as usize, w, h), Some(T));
    }

    #[test]
    fn too_small_pictures_are_left_alone() {
        let mut luma = vec![7u8; 32 * 20];
        burn(&mut luma, 32, 32, 20, T);
        assert!(luma.iter().all(|&v| v == 7));
        assert_eq!(read(&luma, 32, 32, 20), None);
    }

    #[test]
    fn frame_helpers_set_the_capture_time() {
        let mut f = VideoFrame::black(320, 180);
        burn_frame(&mut f, T);
        assert_eq!(f.capture_us, Some(T));
        assert_eq!(read_frame(&f), Some(T));
    }

    #[test]
    fn crc8_known_value() {
        // CRC-8/SMBUS check value.
        assert_eq!(crc8(b"123456789"), 0xF4);
    }
}
