//! Raw media passed between sources, the publisher and players.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The one sample rate inside the pipeline: sources deliver it, players resample to it.
pub const AUDIO_SAMPLE_RATE: u32 = 48_000;

/// Samples at [`AUDIO_SAMPLE_RATE`] in `d` (to the microsecond, rounded down).
pub const fn samples_in(d: Duration) -> usize {
    (d.as_micros() as usize) * (AUDIO_SAMPLE_RATE as usize) / 1_000_000
}

/// Below this mean luma a picture with no frame clock counts as a "camera off" frame.
const BLANK_MAX_LUMA: u32 = 24;
/// Samples per axis when checking whether a frame is blank.
const BLANK_GRID: u32 = 16;

/// Microseconds since the Unix epoch: the time base of every capture time.
pub fn unix_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// One picture in I420 (planar Y, then U and V at half resolution), tightly packed.
#[derive(Clone, PartialEq, Eq)]
pub struct VideoFrame {
    width: u32,
    height: u32,
    data: Vec<u8>,
    /// When the picture was captured, in Unix µs: set by sources, or read back from the frame
    /// clock by players (`None` when the picture carries no clock).
    pub capture_us: Option<i64>,
}

impl std::fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("capture_us", &self.capture_us)
            .finish_non_exhaustive()
    }
}

/// Rounds a dimension down to an even number of at least 2, as I420 requires.
pub fn even(value: u32) -> u32 {
    (value & !1).max(2)
}

impl VideoFrame {
    /// A black frame of `width`×`height` (rounded down to even sizes).
    pub fn black(width: u32, height: u32) -> VideoFrame {
        let (width, height) = (even(width), even(height));
        let luma = (width * height) as usize;
        let mut data = vec![16u8; luma + luma / 2];
        data[luma..].fill(128);
        VideoFrame {
            width,
            height,
            data,
            capture_us: None,
        }
    }

    /// Builds a frame from packed I420 bytes; `None` when the sizes do not match.
    pub fn from_i420(width: u32, height: u32, data: Vec<u8>) -> Option<VideoFrame> {
        let luma = (width as usize) * (height as usize);
        (width.is_multiple_of(2)
            && height.is_multiple_of(2)
            && width > 0
            && height > 0
            && data.len() == luma * 3 / 2)
            .then_some(VideoFrame {
                width,
                height,
                data,
                capture_us: None,
            })
    }

    /// Width in pixels (even).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (even).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// All three planes, Y then U then V.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    fn luma_len(&self) -> usize {
        (self.width as usize) * (self.height as usize)
    }

    /// The luma plane (stride = width).
    pub fn y(&self) -> &[u8] {
        &self.data[..self.luma_len()]
    }

    /// The U plane (stride = width / 2).
    pub fn u(&self) -> &[u8] {
        let l = self.luma_len();
        &self.data[l..l + l / 4]
    }

    /// The V plane (stride = width / 2).
    pub fn v(&self) -> &[u8] {
        let l = self.luma_len();
        &self.data[l + l / 4..]
    }

    /// The three planes, mutable.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let l = self.luma_len();
        let (y, chroma) = self.data.split_at_mut(l);
        let (u, v) = chroma.split_at_mut(l / 4);
        (y, u, v)
    }

    /// True for a dark, clock-less picture: what a publisher sends while the camera is off.
    pub fn is_blank(&self) -> bool {
        if self.capture_us.is_some() {
            return false;
        }
        let y = self.y();
        let mut sum = 0u32;
        for gy in 0..BLANK_GRID {
            for gx in 0..BLANK_GRID {
                let px = (gx * 2 + 1) * self.width / (BLANK_GRID * 2);
                let py = (gy * 2 + 1) * self.height / (BLANK_GRID * 2);
                let v = u32::from(y[(py * self.width + px) as usize]);
                if v > BLANK_MAX_LUMA * 2 {
                    return false;
                }
                sum += v;
            }
        }
        sum / (BLANK_GRID * BLANK_GRID) <= BLANK_MAX_LUMA
    }
}

/// A run of mono sound at [`AUDIO_SAMPLE_RATE`], samples in -1.0..=1.0.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioChunk {
    /// The samples.
    pub samples: Vec<f32>,
    /// When the first sample was captured, in Unix µs.
    pub capture_us: i64,
}

impl AudioChunk {
    /// How long the chunk plays, in µs.
    pub fn duration_us(&self) -> i64 {
        self.samples.len() as i64 * 1_000_000 / i64::from(AUDIO_SAMPLE_RATE)
    }

    /// Root mean square level, 0.0 for silence.
    pub fn rms(&self) -> f32 {
        rms(&self.samples)
    }
}

/// Root mean square of `samples` (0.0 when empty).
pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_frames_are_blank_and_sized_even() {
        let f = VideoFrame::black(641, 361);
        assert_eq!((f.width(), f.height()), (640, 360));
        assert_eq!(f.data().len(), 640 * 360 * 3 / 2);
        assert!(f.is_blank());
    }

    #[test]
    fn a_bright_or_clocked_frame_is_not_blank() {
        let mut f = VideoFrame::black(64, 64);
        f.planes_mut().0[32 * 64 + 30..32 * 64 + 40].fill(200);
        f.planes_mut().0.fill(120);
        assert!(!f.is_blank());
        let mut g = VideoFrame::black(64, 64);
        g.capture_us = Some(1);
        assert!(!g.is_blank());
    }

    #[test]
    fn from_i420_checks_sizes() {
        assert!(VideoFrame::from_i420(4, 4, vec![0; 24]).is_some());
        assert!(VideoFrame::from_i420(4, 4, vec![0; 23]).is_none());
        assert!(VideoFrame::from_i420(3, 4, vec![0; 18]).is_none());
    }

    #[test]
    fn rms_of_a_full_scale_square_is_one() {
        assert_eq!(rms(&[1.0, -1.0, 1.0, -1.0]), 1.0);
        assert_eq!(rms(&[]), 0.0);
    }
}
