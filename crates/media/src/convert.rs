//! Moving pictures between our packed I420 frames and FFmpeg's frames, with scaling.

use crate::ffi::SendableScaler;
use crate::frame::{AUDIO_SAMPLE_RATE, VideoFrame, even};
use ffmpeg_next::ChannelLayout;
use ffmpeg_next::format::{Pixel, Sample, sample};
use ffmpeg_next::software::resampling;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{Error, frame};

/// Bilinear is sharp enough for tiles and keeps the frame clock's block edges clean.
const SCALE_FLAGS: scaling::Flags = scaling::Flags::BILINEAR;

fn copy_plane(
    dst: &mut [u8],
    dst_stride: usize,
    src: &[u8],
    src_stride: usize,
    w: usize,
    h: usize,
) {
    for row in 0..h {
        dst[row * dst_stride..row * dst_stride + w]
            .copy_from_slice(&src[row * src_stride..row * src_stride + w]);
    }
}

/// Copies a frame into a new FFmpeg YUV420P frame.
pub(crate) fn to_av(src: &VideoFrame) -> frame::Video {
    let (w, h) = (src.width() as usize, src.height() as usize);
    let mut out = frame::Video::new(Pixel::YUV420P, src.width(), src.height());
    for (i, plane, pw, ph) in [
        (0, src.y(), w, h),
        (1, src.u(), w / 2, h / 2),
        (2, src.v(), w / 2, h / 2),
    ] {
        let stride = out.stride(i);
        copy_plane(out.data_mut(i), stride, plane, pw, pw, ph);
    }
    out
}

/// Copies an FFmpeg YUV420P frame (any strides, even size) into a packed frame.
pub(crate) fn from_av(src: &frame::Video) -> Option<VideoFrame> {
    if src.format() != Pixel::YUV420P && src.format() != Pixel::YUVJ420P {
        return None;
    }
    let (w, h) = (src.width() as usize, src.height() as usize);
    if w % 2 != 0 || h % 2 != 0 || w == 0 || h == 0 {
        return None;
    }
    let mut data = vec![0u8; w * h * 3 / 2];
    let (y, chroma) = data.split_at_mut(w * h);
    let (u, v) = chroma.split_at_mut(w * h / 4);
    copy_plane(y, w, src.data(0), src.stride(0), w, h);
    copy_plane(u, w / 2, src.data(1), src.stride(1), w / 2, h / 2);
    copy_plane(v, w / 2, src.data(2), src.stride(2), w / 2, h / 2);
    VideoFrame::from_i420(w as u32, h as u32, data)
}

/// Converts and scales pictures to YUV420P of a chosen size, rebuilding its FFmpeg context
/// only when the input or output geometry changes.
/// Input format and size, output size.
type Geometry = (Pixel, u32, u32, u32, u32);

#[derive(Default)]
pub(crate) struct Scaler {
    ctx: Option<(SendableScaler, Geometry)>,
}

impl Scaler {
    /// `src` as YUV420P at `width`×`height` (rounded to even sizes).
    pub(crate) fn run(
        &mut self,
        src: &frame::Video,
        width: u32,
        height: u32,
    ) -> Result<frame::Video, Error> {
        let (width, height) = (even(width), even(height));
        let key = (src.format(), src.width(), src.height(), width, height);
        if self.ctx.as_ref().map(|(_, k)| *k) != Some(key) {
            let ctx = scaling::Context::get(
                key.0,
                key.1,
                key.2,
                Pixel::YUV420P,
                width,
                height,
                SCALE_FLAGS,
            )?;
            self.ctx = Some((SendableScaler(ctx), key));
        }
        let mut out = frame::Video::empty();
        if let Some((ctx, _)) = self.ctx.as_mut() {
            ctx.0.run(src, &mut out)?;
        }
        Ok(out)
    }

    /// `src` as a packed frame at `width`×`height`; copies without scaling when nothing changes.
    pub(crate) fn frame_at(
        &mut self,
        src: &frame::Video,
        width: u32,
        height: u32,
    ) -> Result<VideoFrame, Error> {
        let (width, height) = (even(width), even(height));
        if src.format() == Pixel::YUV420P && src.width() == width && src.height() == height {
            return from_av(src).ok_or(Error::InvalidData);
        }
        let scaled = self.run(src, width, height)?;
        from_av(&scaled).ok_or(Error::InvalidData)
    }
}

/// Resamples any decoded audio frame to mono f32 at [`AUDIO_SAMPLE_RATE`], rebuilding the
/// resampler when the input format changes.
pub(crate) fn to_mono_48k(
    resampler: &mut Option<(resampling::Context, (Sample, u64, u32))>,
    input: &frame::Audio,
) -> Result<Vec<f32>, Error> {
    let layout = if input.channel_layout().is_empty() {
        ChannelLayout::default(i32::from(input.channels()))
    } else {
        input.channel_layout()
    };
    let key = (input.format(), layout.bits(), input.rate());
    if resampler.as_ref().map(|(_, k)| *k) != Some(key) {
        let ctx = resampling::Context::get(
            input.format(),
            layout,
            input.rate(),
            Sample::F32(sample::Type::Packed),
            ChannelLayout::MONO,
            AUDIO_SAMPLE_RATE,
        )?;
        *resampler = Some((ctx, key));
    }
    let mut out = frame::Audio::empty();
    let mut samples = Vec::new();
    if let Some((ctx, _)) = resampler.as_mut() {
        // The resampler reads the layout from the frame; some decoders leave it unset.
        let mut input = crate::ffi::audio_ref(input)?;
        input.set_channel_layout(layout);
        ctx.run(&input, &mut out)?;
        samples.extend(
            out.data(0)
                .chunks_exact(4)
                .take(out.samples())
                .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;

    #[test]
    fn round_trips_through_ffmpeg_frames() {
        crate::init();
        let mut f = VideoFrame::black(320, 180);
        f.planes_mut().1.fill(90);
        clock::burn_frame(&mut f, 42_000_000);
        let back = from_av(&to_av(&f)).unwrap();
        assert_eq!(back.data(), f.data());
    }

    #[test]
    fn the_clock_survives_scaling_to_a_small_tile() {
        crate::init();
        let mut f = VideoFrame::black(640, 360);
        clock::burn_frame(&mut f, 1_763_974_800_654_321);
        let mut s = Scaler::default();
        let small = s.frame_at(&to_av(&f), 160, 90).unwrap();
        assert_eq!((small.width(), small.height()), (160, 90));
        assert_eq!(clock::read_frame(&small), Some(1_763_974_800_654_321));
    }
}
