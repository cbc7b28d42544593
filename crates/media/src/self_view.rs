//! Our own picture as H.264 for the page to decode, instead of raw I420: a 640×360 picture at
//! 15 fps is 5 MB/s through the webview's IPC (and its copies, and a texture upload each time),
//! an x264 `ultrafast` stream of it ≈ 100 KB/s for about a millisecond of encoding a picture.
//!
//! Its own encoder, not the publisher's: the self view must not freeze while the publisher
//! reconnects, nor blur when the uplink controller lowers the bitrate for a narrow link.
//! Pictures are offered as they come; one that arrives while the encoder is still busy with
//! the last is dropped (the page wants the newest, not every one). A new reader gets a
//! keyframe at the next picture.

use crate::avc::{AvcError, avcc_record, length_prefixed};
use crate::convert::{Scaler, to_av};
use crate::ffi;
use crate::frame::VideoFrame;
use crate::play::EncodedVideo;
use crate::publish::{VideoContent, X264Setup, open_x264};
use crate::signal::Workers;
use ffmpeg_next::{Packet, encoder, picture};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;
use tokio::sync::broadcast;

/// x264 preset: the cheapest; the bitrate below keeps it sharp.
pub const SELF_VIEW_PRESET: &str = "ultrafast";
/// Bitrate cap, kbit/s: over IPC this costs nothing that matters, and at 640×360 it looks
/// like the camera.
pub const SELF_VIEW_KBPS: u32 = 1_500;
/// Time between keyframes: a new reader asks for its own at once, so this only bounds how long
/// a reader that fell behind (and skips to the next keyframe) waits.
pub const SELF_VIEW_KEYFRAME_INTERVAL: Duration = Duration::from_secs(2);
/// The largest self view sent: a shared 4K screen is shrunk to this first, since our own tile
/// is never shown larger, and encoding it whole would cost a core.
pub const SELF_VIEW_MAX: (u32, u32) = (1280, 720);
/// Pictures waiting for the encoder: one, so a slow encoder never adds delay.
pub const SELF_VIEW_QUEUE: usize = 1;
/// Access units held for each slow reader before it starts losing them.
pub const SELF_VIEW_TAP_CAPACITY: usize = 16;

/// Why the self view's encoder cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SelfViewError {
    /// Its thread could not start.
    #[error("cannot start the self view's encoder thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Encodes our own pictures for the page; dropping it stops and joins its thread.
pub struct SelfViewEncoder {
    pictures: Option<SyncSender<Arc<VideoFrame>>>,
    packets: broadcast::Sender<EncodedVideo>,
    keyframe: Arc<AtomicBool>,
    workers: Workers,
}

impl SelfViewEncoder {
    /// Starts the encoder thread for pictures coming at about `fps`.
    pub fn start(fps: u32) -> Result<SelfViewEncoder, SelfViewError> {
        crate::init();
        let (pictures, rx) = sync_channel(SELF_VIEW_QUEUE);
        let (packets, _) = broadcast::channel(SELF_VIEW_TAP_CAPACITY);
        let keyframe = Arc::new(AtomicBool::new(true));
        let workers = Workers::default();
        let thread = Encoding {
            fps: fps.max(1),
            packets: packets.clone(),
            keyframe: Arc::clone(&keyframe),
        };
        workers.spawn("media-self-view", move || thread.run(&rx))?;
        Ok(SelfViewEncoder {
            pictures: Some(pictures),
            packets,
            keyframe,
            workers,
        })
    }

    /// Offers a picture; false when the encoder is still busy and it was dropped.
    pub fn offer(&self, picture: Arc<VideoFrame>) -> bool {
        match self.pictures.as_ref().map(|p| p.try_send(picture)) {
            Some(Ok(())) => true,
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => false,
        }
    }

    /// The access units, from a keyframe at the next picture.
    pub fn packets(&self) -> broadcast::Receiver<EncodedVideo> {
        let reader = self.packets.subscribe();
        self.keyframe.store(true, Ordering::SeqCst);
        reader
    }

    /// Readers of [`Self::packets`] still there.
    pub fn readers(&self) -> usize {
        self.packets.receiver_count()
    }
}

impl Drop for SelfViewEncoder {
    fn drop(&mut self) {
        // The thread ends when its channel closes.
        self.pictures.take();
        self.workers.join();
    }
}

/// The encoder in force, the size of the pictures it was opened for, and what shrinks them.
struct Open {
    size: (u32, u32),
    encoder: encoder::Video,
    config: Arc<[u8]>,
    scaler: Scaler,
}

/// The size a `width`×`height` picture is encoded at: as it is, or shrunk into
/// [`SELF_VIEW_MAX`] in its own shape (even sides, at least 2).
pub fn self_view_size(width: u32, height: u32) -> (u32, u32) {
    let (max_w, max_h) = SELF_VIEW_MAX;
    if width <= max_w && height <= max_h {
        return (width, height);
    }
    let scale = (f64::from(max_w) / f64::from(width)).min(f64::from(max_h) / f64::from(height));
    let side = |v: u32| ((f64::from(v) * scale) as u32 & !1).max(2);
    (side(width), side(height))
}

/// The `media-self-view` thread's state.
struct Encoding {
    fps: u32,
    packets: broadcast::Sender<EncodedVideo>,
    keyframe: Arc<AtomicBool>,
}

impl Encoding {
    fn run(self, pictures: &Receiver<Arc<VideoFrame>>) {
        let mut open = None;
        let mut sent = 0i64;
        while let Ok(picture) = pictures.recv() {
            if let Err(e) = self.encode(&mut open, &picture, sent) {
                tracing::debug!("self view: {e}");
                open = None;
            }
            sent += 1;
        }
    }

    /// Encodes picture number `n`, opening an encoder for its size first when needed.
    fn encode(
        &self,
        open: &mut Option<Open>,
        picture: &VideoFrame,
        n: i64,
    ) -> Result<(), EncodeError> {
        let size = (picture.width(), picture.height());
        let o = match open.take().filter(|o| o.size == size) {
            Some(o) => open.insert(o),
            None => open.insert(self.open_for(size)?),
        };
        let mut av = to_av(picture);
        let target = self_view_size(size.0, size.1);
        if target != size {
            av = o.scaler.run(&av, target.0, target.1)?;
        }
        let key = self.keyframe.swap(false, Ordering::SeqCst);
        av.set_kind(if key {
            picture::Type::I
        } else {
            picture::Type::None
        });
        let ms = n * 1000 / i64::from(self.fps);
        av.set_pts(Some(ms));
        o.encoder.send_frame(&av)?;
        let mut packet = Packet::empty();
        while o.encoder.receive_packet(&mut packet).is_ok() {
            let Some(data) = packet.data() else { continue };
            let _ = self.packets.send(EncodedVideo {
                data: Arc::from(length_prefixed(data)),
                keyframe: packet.is_key(),
                pts_ms: packet.pts().unwrap_or(ms),
                dts_ms: packet.dts().unwrap_or(ms),
                config: Arc::clone(&o.config),
            });
        }
        Ok(())
    }

    fn open_for(&self, size: (u32, u32)) -> Result<Open, EncodeError> {
        let (width, height) = self_view_size(size.0, size.1);
        let encoder = open_x264(&X264Setup {
            width,
            height,
            fps: self.fps,
            kbps: SELF_VIEW_KBPS,
            keyint: keyint(self.fps),
            tuning: VideoContent::Camera.x264_tuning(SELF_VIEW_PRESET),
        })?;
        let config = avcc_record(&ffi::extradata(&encoder))?;
        Ok(Open {
            size,
            encoder,
            config: Arc::from(config),
            scaler: Scaler::default(),
        })
    }
}

/// x264's keyframe interval in pictures for [`SELF_VIEW_KEYFRAME_INTERVAL`] at `fps`.
fn keyint(fps: u32) -> u32 {
    ((SELF_VIEW_KEYFRAME_INTERVAL.as_secs_f64() * f64::from(fps)).round() as u32).max(1)
}

/// Why a picture could not be encoded.
#[derive(Debug, thiserror::Error)]
enum EncodeError {
    #[error("x264: {0}")]
    Ffmpeg(#[from] ffmpeg_next::Error),
    #[error("x264 gave unusable parameter sets: {0}")]
    Avc(#[from] AvcError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;
    use crate::source::SyntheticVideo;
    use ffmpeg_next::{codec, frame};
    use std::time::{Duration, Instant};

    /// More than one keyframe interval at 15 fps.
    const PICTURES: u64 = 40;

    /// Offers every picture (waiting while the encoder is busy) and gathers what comes out.
    fn encode_all(
        enc: &SelfViewEncoder,
        rx: &mut broadcast::Receiver<EncodedVideo>,
        from: u64,
    ) -> Vec<EncodedVideo> {
        let src = SyntheticVideo::new("me", 640, 360, 15).unwrap();
        let t0 = 1_763_974_800_000_000i64;
        let mut units = Vec::new();
        for i in from..from + PICTURES {
            let picture = Arc::new(src.render(i, t0 + i as i64 * 66_667));
            while !enc.offer(Arc::clone(&picture)) {
                std::thread::sleep(Duration::from_millis(1));
            }
            while let Ok(u) = rx.try_recv() {
                units.push(u);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while units.len() < PICTURES as usize && Instant::now() < deadline {
            match rx.try_recv() {
                Ok(u) => units.push(u),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        units
    }

    #[test]
    fn a_large_picture_is_shrunk_into_the_largest_self_view_in_its_shape() {
        assert_eq!(self_view_size(640, 360), (640, 360));
        assert_eq!(self_view_size(1280, 720), (1280, 720));
        assert_eq!(self_view_size(3840, 2160), (1280, 720));
        assert_eq!(self_view_size(2560, 1600), (1152, 720));
        assert_eq!(self_view_size(5000, 3), (1280, 2));
    }

    #[test]
    fn a_shared_screen_is_encoded_at_the_largest_self_view() {
        let enc = SelfViewEncoder::start(15).unwrap();
        let mut rx = enc.packets();
        let src = SyntheticVideo::new("screen", 1920, 1080, 15).unwrap();
        let picture = Arc::new(src.render(0, 1_000_000));
        while !enc.offer(Arc::clone(&picture)) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let unit = loop {
            match rx.try_recv() {
                Ok(u) => break u,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("no unit: {e}"),
            }
        };
        let codec = ffmpeg_next::decoder::find(codec::Id::H264).unwrap();
        let mut dec = codec::Context::new_with_codec(codec)
            .decoder()
            .video()
            .unwrap();
        let mut packet = Packet::copy(&unit.data);
        assert!(ffi::attach_new_extradata(&mut packet, &unit.config));
        dec.send_packet(&packet).unwrap();
        let mut out = frame::Video::empty();
        dec.receive_frame(&mut out).unwrap();
        assert_eq!((out.width(), out.height()), SELF_VIEW_MAX);
    }

    #[test]
    fn a_reader_starts_at_a_keyframe_and_every_unit_decodes_with_its_record() {
        let enc = SelfViewEncoder::start(15).unwrap();
        let mut rx = enc.packets();
        let units = encode_all(&enc, &mut rx, 0);
        assert_eq!(units.len(), PICTURES as usize, "one unit a picture");
        assert!(units[0].keyframe);
        let unasked: Vec<usize> = (1..units.len()).filter(|&i| units[i].keyframe).collect();
        assert_eq!(
            unasked,
            [keyint(15) as usize],
            "keyframes only on the interval"
        );
        assert_eq!(units[0].config.first(), Some(&1), "avcC version");

        let codec = ffmpeg_next::decoder::find(codec::Id::H264).unwrap();
        let mut dec = codec::Context::new_with_codec(codec)
            .decoder()
            .video()
            .unwrap();
        let mut out = frame::Video::empty();
        let mut clocks = Vec::new();
        for (i, u) in units.iter().enumerate() {
            let mut packet = Packet::copy(&u.data);
            if i == 0 {
                assert!(ffi::attach_new_extradata(&mut packet, &u.config));
            }
            dec.send_packet(&packet).unwrap();
            while dec.receive_frame(&mut out).is_ok() {
                assert_eq!((out.width(), out.height()), (640, 360));
                clocks.push(clock::read(out.data(0), out.stride(0), 640, 360));
            }
        }
        assert_eq!(clocks.len(), PICTURES as usize, "every unit decodes");
        assert!(clocks.iter().all(Option::is_some), "sharp enough to read");

        // A second reader asks for, and gets, a keyframe at the next picture.
        let mut late = enc.packets();
        let more = encode_all(&enc, &mut late, PICTURES);
        assert!(more[0].keyframe);
        assert_eq!(enc.readers(), 2);
    }
}
