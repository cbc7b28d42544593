//! A camera in a corner of a shared screen: the presenter's face over the slides, in the one
//! stream every member (mini-program ones included) already plays.
//!
//! The camera is read on a thread of its own at its own pace; each screen picture gets the
//! camera's latest picture pasted into its bottom-right corner. A camera that stops delivering
//! leaves the screen alone after [`CORNER_STALE_AFTER`] rather than freezing a face over it.

use super::{Interrupter, SourceError, VideoSource};
use crate::convert::{Scaler, to_av};
use crate::frame::{VideoFrame, even};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The corner is this fraction of the screen picture's width (one fifth).
pub const CORNER_WIDTH_DIVISOR: u32 = 5;
/// Space between the corner and the picture's edges, as a fraction of its width (1/64).
pub const CORNER_MARGIN_DIVISOR: u32 = 64;
/// A camera picture older than this is no longer drawn: the camera stalled or was unplugged.
pub const CORNER_STALE_AFTER: Duration = Duration::from_secs(1);

/// Where the corner goes in a `width`×`height` picture for a camera of `cam_w`×`cam_h`:
/// bottom right, the camera's shape kept, even coordinates and sides as I420 needs.
pub fn corner_rect(
    width: u32,
    height: u32,
    cam_w: u32,
    cam_h: u32,
) -> Option<(u32, u32, u32, u32)> {
    if cam_w == 0 || cam_h == 0 {
        return None;
    }
    let w = even(width / CORNER_WIDTH_DIVISOR);
    let h = even((u64::from(w) * u64::from(cam_h) / u64::from(cam_w)) as u32);
    let margin = even(width / CORNER_MARGIN_DIVISOR);
    let x = width.checked_sub(w + margin)?;
    let y = height.checked_sub(h + margin)?;
    (w >= 16 && h >= 16).then_some((x & !1, y & !1, w, h))
}

/// Copies `src` into `dst` with its top-left at (`x`, `y`), both even; what falls outside is
/// cut.
pub fn paste(dst: &mut VideoFrame, src: &VideoFrame, x: u32, y: u32) {
    let (dw, dh) = (dst.width() as usize, dst.height() as usize);
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let (x, y) = ((x & !1) as usize, (y & !1) as usize);
    if x >= dw || y >= dh {
        return;
    }
    let (w, h) = (sw.min(dw - x), sh.min(dh - y));
    let (dy, du, dv) = dst.planes_mut();
    for (dplane, splane, scale) in [(dy, src.y(), 1), (du, src.u(), 2), (dv, src.v(), 2)] {
        let (dstride, sstride) = (dw / scale, sw / scale);
        for row in 0..h / scale {
            let d = (y / scale + row) * dstride + x / scale;
            let s = row * sstride;
            dplane[d..d + w / scale].copy_from_slice(&splane[s..s + w / scale]);
        }
    }
}

/// The camera's latest picture and when it came.
type Latest = Arc<Mutex<Option<(VideoFrame, Instant)>>>;

/// A screen (or any source) with a camera in its corner.
pub struct PictureInPicture {
    main: Box<dyn VideoSource>,
    latest: Latest,
    corner_name: String,
    stop: Arc<AtomicBool>,
    corner_interrupter: Option<Interrupter>,
    thread: Option<JoinHandle<()>>,
    scaler: Scaler,
    /// The latest camera picture scaled for the corner, and the time it came.
    scaled: Option<(VideoFrame, Instant)>,
}

impl PictureInPicture {
    /// `main` with `corner`'s pictures in its bottom-right corner; `corner` is read on a thread
    /// named `media-corner`, stopped and joined when this is dropped.
    pub fn new(
        main: Box<dyn VideoSource>,
        mut corner: Box<dyn VideoSource>,
    ) -> Result<PictureInPicture, SourceError> {
        let latest: Latest = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let corner_name = corner.describe();
        let corner_interrupter = corner.interrupter();
        let (slot, stopped) = (Arc::clone(&latest), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("media-corner".to_owned())
            .spawn(move || {
                while !stopped.load(Ordering::SeqCst) {
                    match corner.next_frame() {
                        Ok(Some(f)) => {
                            *slot.lock().unwrap_or_else(PoisonError::into_inner) =
                                Some((f, Instant::now()));
                        }
                        Ok(None) => {}
                        Err(SourceError::Interrupted) => break,
                        Err(e) => {
                            // The screen goes on without the face: it is what was shared.
                            tracing::warn!(error = %e, "the corner camera stopped");
                            break;
                        }
                    }
                }
            })
            .map_err(|e| SourceError::InvalidSettings(format!("corner thread: {e}")))?;
        Ok(PictureInPicture {
            main,
            latest,
            corner_name,
            stop,
            corner_interrupter,
            thread: Some(thread),
            scaler: Scaler::default(),
            scaled: None,
        })
    }

    fn draw_corner(&mut self, frame: &mut VideoFrame) -> Result<(), SourceError> {
        let latest = self
            .latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some((camera, at)) = latest else {
            return Ok(());
        };
        if at.elapsed() > CORNER_STALE_AFTER {
            return Ok(());
        }
        let Some((x, y, w, h)) = corner_rect(
            frame.width(),
            frame.height(),
            camera.width(),
            camera.height(),
        ) else {
            return Ok(());
        };
        let fresh = self
            .scaled
            .as_ref()
            .is_some_and(|(s, t)| *t == at && (s.width(), s.height()) == (w, h));
        if !fresh {
            let scaled = self.scaler.frame_at(&to_av(&camera), w, h)?;
            self.scaled = Some((scaled, at));
        }
        if let Some((scaled, _)) = &self.scaled {
            paste(frame, scaled, x, y);
        }
        Ok(())
    }
}

impl VideoSource for PictureInPicture {
    fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
        let Some(mut frame) = self.main.next_frame()? else {
            return Ok(None);
        };
        self.draw_corner(&mut frame)?;
        Ok(Some(frame))
    }

    fn describe(&self) -> String {
        format!(
            "{} with {} in a corner",
            self.main.describe(),
            self.corner_name
        )
    }

    fn interrupter(&self) -> Option<Interrupter> {
        self.main.interrupter()
    }
}

impl Drop for PictureInPicture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(i) = &self.corner_interrupter {
            i.interrupt();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SyntheticVideo;

    fn filled(w: u32, h: u32, luma: u8) -> VideoFrame {
        let mut f = VideoFrame::black(w, h);
        f.planes_mut().0.fill(luma);
        f
    }

    #[test]
    fn the_corner_sits_bottom_right_in_the_cameras_shape() {
        assert_eq!(
            corner_rect(1280, 720, 640, 360),
            Some((1004, 556, 256, 144))
        );
        assert_eq!(
            corner_rect(1920, 1080, 640, 480),
            Some((1506, 762, 384, 288))
        );
        assert_eq!(
            corner_rect(40, 20, 640, 360),
            None,
            "too small to show a face"
        );
        assert_eq!(corner_rect(1280, 720, 0, 0), None);
    }

    #[test]
    fn pasting_copies_every_plane_and_cuts_at_the_edge() {
        let mut dst = filled(64, 32, 16);
        paste(&mut dst, &filled(16, 8, 200), 56, 28);
        assert_eq!(dst.y()[28 * 64 + 56], 200);
        assert_eq!(dst.y()[31 * 64 + 63], 200);
        assert_eq!(dst.y()[27 * 64 + 56], 16);
        assert_eq!(dst.y()[28 * 64 + 55], 16);
        paste(&mut dst, &filled(16, 8, 200), 100, 100);
    }

    /// One grey picture, over and over: a screen where nothing moves.
    struct Still(VideoFrame);

    impl VideoSource for Still {
        fn next_frame(&mut self) -> Result<Option<VideoFrame>, SourceError> {
            std::thread::sleep(Duration::from_millis(10));
            Ok(Some(self.0.clone()))
        }
        fn describe(&self) -> String {
            "still".into()
        }
    }

    #[test]
    fn the_camera_shows_in_the_corner_of_every_picture_and_nowhere_else() {
        let page = filled(640, 360, 235);
        let camera = Box::new(SyntheticVideo::new("face", 320, 180, 30).unwrap());
        let mut pip = PictureInPicture::new(Box::new(Still(page.clone())), camera).unwrap();
        assert!(
            pip.describe()
                .starts_with("still with test pattern \"face\"")
        );
        let (x, y, w, h) = corner_rect(640, 360, 320, 180).unwrap();
        let start = Instant::now();
        let inside = |f: &VideoFrame| {
            (y..y + h).any(|r| {
                let at = (r * 640 + x) as usize;
                f.y()[at..at + w as usize].iter().any(|&l| l != 235)
            })
        };
        let frame = loop {
            let f = pip.next_frame().unwrap().unwrap();
            if inside(&f) || start.elapsed() > Duration::from_secs(5) {
                break f;
            }
        };
        assert!(inside(&frame), "the camera never showed in the corner");
        let mut outside = frame.clone();
        paste(&mut outside, &filled(w, h, 235), x, y);
        assert_eq!(
            outside.y(),
            page.y(),
            "the screen changed outside the corner"
        );
        drop(pip);
    }
}
