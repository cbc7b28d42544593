//! Comparing pictures as a viewer would: structural similarity (SSIM) of luma planes, and the
//! luma FFmpeg's scaler gives an RGB picture, so a decoded frame can be held against the
//! picture that was captured.

/// Side of the square windows SSIM is measured over.
pub const SSIM_WINDOW: usize = 8;
/// Step between windows: overlapping by half, as common fast SSIM variants do.
pub const SSIM_STEP: usize = 4;
/// SSIM's stabilising constants for 8-bit samples: (0.01·255)² and (0.03·255)².
const C1: f64 = 6.5025;
const C2: f64 = 58.5225;

/// Mean SSIM of two `width`×`height` luma planes (row-major, one byte per sample) over
/// [`SSIM_WINDOW`]-sized windows every [`SSIM_STEP`] samples: 1 for identical planes, near 0
/// for unrelated ones. `None` when the planes are smaller than a window or not that size.
pub fn ssim(a: &[u8], b: &[u8], width: usize, height: usize) -> Option<f64> {
    if width < SSIM_WINDOW || height < SSIM_WINDOW {
        return None;
    }
    let len = width.checked_mul(height)?;
    if a.len() < len || b.len() < len {
        return None;
    }
    let (mut total, mut windows) = (0.0, 0usize);
    for y in (0..=height - SSIM_WINDOW).step_by(SSIM_STEP) {
        for x in (0..=width - SSIM_WINDOW).step_by(SSIM_STEP) {
            total += window_ssim(a, b, width, x, y);
            windows += 1;
        }
    }
    Some(total / windows as f64)
}

fn window_ssim(a: &[u8], b: &[u8], stride: usize, x: usize, y: usize) -> f64 {
    let n = (SSIM_WINDOW * SSIM_WINDOW) as f64;
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for row in y..y + SSIM_WINDOW {
        let start = row * stride + x;
        for (&pa, &pb) in a[start..start + SSIM_WINDOW]
            .iter()
            .zip(&b[start..start + SSIM_WINDOW])
        {
            let (pa, pb) = (f64::from(pa), f64::from(pb));
            sa += pa;
            sb += pb;
            saa += pa * pa;
            sbb += pb * pb;
            sab += pa * pb;
        }
    }
    let (ma, mb) = (sa / n, sb / n);
    let (va, vb) = (saa / n - ma * ma, sbb / n - mb * mb);
    let cov = sab / n - ma * mb;
    ((2.0 * ma * mb + C1) * (2.0 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2))
}

/// The luma plane of packed RGB (3 bytes a pixel) as FFmpeg's scaler makes it for H.264:
/// BT.601, limited range (16–235).
pub fn luma_bt601(rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(3)
        .map(|p| {
            let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
            (16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0).round() as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(width: usize, height: usize, seed: u32) -> Vec<u8> {
        let mut state = seed;
        (0..width * height)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn a_picture_is_wholly_like_itself() {
        let p = pattern(64, 48, 1);
        let s = ssim(&p, &p, 64, 48).unwrap();
        assert!((s - 1.0).abs() < 1e-9, "{s}");
    }

    #[test]
    fn unrelated_noise_is_unlike_and_slight_noise_is_nearly_alike() {
        let (a, b) = (pattern(64, 48, 1), pattern(64, 48, 2));
        assert!(ssim(&a, &b, 64, 48).unwrap() < 0.1);
        let smooth: Vec<u8> = (0..64 * 48)
            .map(|i| ((i % 64) * 3 + (i / 64)) as u8)
            .collect();
        let noisy: Vec<u8> = smooth
            .iter()
            .enumerate()
            .map(|(i, &v)| v.saturating_add((i % 3) as u8))
            .collect();
        let s = ssim(&smooth, &noisy, 64, 48).unwrap();
        assert!(s > 0.8 && s < 1.0, "{s}");
    }

    #[test]
    fn planes_too_small_or_short_have_no_score() {
        assert_eq!(ssim(&[0; 49], &[0; 49], 7, 7), None);
        assert_eq!(ssim(&[0; 10], &[0; 64], 8, 8), None);
    }

    #[test]
    fn luma_spans_the_limited_range() {
        assert_eq!(luma_bt601(&[0, 0, 0, 255, 255, 255]), vec![16, 235]);
    }
}
