//! The x264 encoder as the publisher sets it up, and its bitrate, changed while it runs.

use ffmpeg_next::format::Pixel;
use ffmpeg_next::{Dictionary, Rational, codec, encoder, threading};

use crate::ffi;
use crate::publish::{PublisherConfig, VideoContent, X264Tuning};

/// Builds the x264 encoder for `config`, set up for `content` (also used by the frame clock's
/// codec test).
pub(crate) fn open_video_encoder(
    config: &PublisherConfig,
    content: VideoContent,
) -> Result<encoder::Video, ffmpeg_next::Error> {
    open_x264(&X264Setup {
        width: config.width,
        height: config.height,
        fps: config.fps,
        kbps: config.video_kbps,
        keyint: crate::publish::encoder_keyint(config.fps, config.keyframe_interval),
        tuning: content.x264_tuning(&config.preset),
    })
}

/// What an x264 encoder is opened with.
pub(crate) struct X264Setup<'a> {
    /// Picture width.
    pub(crate) width: u32,
    /// Picture height.
    pub(crate) height: u32,
    /// Pictures per second.
    pub(crate) fps: u32,
    /// Bitrate cap, kbit/s.
    pub(crate) kbps: u32,
    /// x264's own keyframe interval, in pictures.
    pub(crate) keyint: u32,
    /// Preset, tune and rate factor.
    pub(crate) tuning: X264Tuning<'a>,
}

/// Builds an x264 encoder: constrained baseline, no B-frames, one thread, parameter sets in
/// the extradata.
pub(crate) fn open_x264(setup: &X264Setup<'_>) -> Result<encoder::Video, ffmpeg_next::Error> {
    let codec = encoder::find_by_name("libx264").ok_or(ffmpeg_next::Error::EncoderNotFound)?;
    let mut enc = codec::Context::new_with_codec(codec).encoder().video()?;
    enc.set_width(setup.width);
    enc.set_height(setup.height);
    enc.set_format(Pixel::YUV420P);
    enc.set_time_base(Rational::new(1, 1000));
    enc.set_frame_rate(Some(Rational::new(setup.fps as i32, 1)));
    set_video_bitrate(&mut enc, setup.kbps);
    let keyint = setup.keyint;
    enc.set_gop(keyint);
    enc.set_max_b_frames(0);
    // FLV carries SPS/PPS once, in the AVC sequence header, so x264 must put them in extradata.
    enc.set_flags(codec::Flags::GLOBAL_HEADER);
    // One thread: no frame-thread delay, and four encoders share two cores.
    enc.set_threading(threading::Config::count(1));
    let tuning = setup.tuning;
    let mut o = Dictionary::new();
    o.set("preset", tuning.preset);
    o.set("tune", tuning.tune);
    // Constrained baseline plays everywhere, WebCodecs included.
    o.set("profile", "baseline");
    o.set("forced-idr", "1");
    let mut params = format!(
        "keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes=0:rc-lookahead=0:sync-lookahead=0"
    );
    if let Some(crf) = tuning.crf {
        // Replaces average bitrate; the VBV cap of `set_video_bitrate` still holds, and the
        // uplink controller still lowers it.
        params.push_str(&format!(":crf={crf}"));
    }
    o.set("x264-params", &params);
    enc.open_with(o)
}

/// Asks the encoder for `kbps` of video: average, cap and a one-second VBV buffer. On an open
/// libx264 encoder this takes effect at the next frame (its reconfig path compares these fields
/// with x264's before every frame), without a restart or a keyframe.
pub(crate) fn set_video_bitrate(enc: &mut encoder::Encoder, kbps: u32) {
    let bps = kbps as usize * 1000;
    enc.set_bit_rate(bps);
    enc.set_max_bit_rate(bps);
    ffi::set_rc_buffer_size(enc, i32::try_from(bps).unwrap_or(i32::MAX));
}
