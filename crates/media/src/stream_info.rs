//! What a played stream carries, as a tester reads it: codecs, profiles, levels, picture and
//! sound shapes.

use crate::ffi;
use ffmpeg_next::{codec, media};

/// A stream's pictures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VideoInfo {
    /// FFmpeg's codec name (`h264`).
    pub codec: String,
    /// The profile (`High`, `Constrained Baseline`), when the stream says.
    pub profile: Option<String>,
    /// The level (`3.1`), when the stream says.
    pub level: Option<String>,
    /// Picture width as sent.
    pub width: u32,
    /// Picture height as sent.
    pub height: u32,
}

/// A stream's sound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioInfo {
    /// FFmpeg's codec name (`aac`).
    pub codec: String,
    /// The profile (`LC`, `HE-AAC`), when the stream says.
    pub profile: Option<String>,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u32,
}

/// Both halves of a stream, as far as they have been seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamInfo {
    /// The pictures, once a video stream was found.
    pub video: Option<VideoInfo>,
    /// The sound, once an audio stream was found.
    pub audio: Option<AudioInfo>,
}

/// An H.264 `level_idc` as people write it: 31 → "3.1", 9 → "1b" (H.264 Annex A).
pub fn h264_level(level_idc: i32) -> String {
    match level_idc {
        9 => "1b".to_owned(),
        n => format!("{}.{}", n / 10, n % 10),
    }
}

/// H.264 profile and level from an avcC record (ISO/IEC 14496-15): the stream's own word when
/// FFmpeg has not probed it.
pub fn h264_from_avcc(avcc: &[u8]) -> Option<(String, String)> {
    let (&version, &profile_idc, &constraints, &level_idc) =
        (avcc.first()?, avcc.get(1)?, avcc.get(2)?, avcc.get(3)?);
    if version != 1 {
        return None;
    }
    let constrained = constraints & 0x40 != 0;
    let profile = match profile_idc {
        66 if constrained => "Constrained Baseline".to_owned(),
        66 => "Baseline".to_owned(),
        77 => "Main".to_owned(),
        88 => "Extended".to_owned(),
        100 => "High".to_owned(),
        110 => "High 10".to_owned(),
        122 => "High 4:2:2".to_owned(),
        244 => "High 4:4:4 Predictive".to_owned(),
        n => format!("profile_idc {n}"),
    };
    Some((profile, h264_level(i32::from(level_idc))))
}

/// AAC profile, sample rate and channels from an AudioSpecificConfig (ISO/IEC 14496-3).
pub fn aac_from_asc(asc: &[u8]) -> Option<(String, u32, u32)> {
    const RATES: [u32; 13] = [
        96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025,
        8_000, 7_350,
    ];
    let bits = u16::from_be_bytes([*asc.first()?, *asc.get(1)?]);
    let object_type = bits >> 11;
    let rate_index = usize::from((bits >> 7) & 0x0f);
    let channels = u32::from((bits >> 3) & 0x0f);
    let profile = match object_type {
        1 => "Main".to_owned(),
        2 => "LC".to_owned(),
        3 => "SSR".to_owned(),
        4 => "LTP".to_owned(),
        5 => "HE-AAC".to_owned(),
        29 => "HE-AACv2".to_owned(),
        n => format!("object type {n}"),
    };
    Some((profile, *RATES.get(rate_index)?, channels))
}

impl StreamInfo {
    /// Takes in what `ctx` (made from a stream's parameters) says of its half of the stream.
    pub(crate) fn learn(&mut self, ctx: &codec::Context) {
        let shape = ffi::codec_shape(ctx);
        let extradata = ffi::extradata(ctx);
        let codec = ctx.id().name().to_owned();
        match ctx.medium() {
            media::Type::Video => {
                let level = shape.level.map(|l| match ctx.id() {
                    codec::Id::H264 => h264_level(l),
                    _ => l.to_string(),
                });
                let from_avcc = (ctx.id() == codec::Id::H264)
                    .then(|| h264_from_avcc(&extradata))
                    .flatten();
                let (profile, level) = match (shape.profile, level, from_avcc) {
                    (Some(p), Some(l), _) => (Some(p), Some(l)),
                    (_, _, Some((p, l))) => (Some(p), Some(l)),
                    (p, l, None) => (p, l),
                };
                self.video = Some(VideoInfo {
                    codec,
                    profile,
                    level,
                    width: shape.width,
                    height: shape.height,
                });
            }
            media::Type::Audio => {
                let from_asc = (ctx.id() == codec::Id::AAC)
                    .then(|| aac_from_asc(&extradata))
                    .flatten();
                let (profile, sample_rate, channels) = match from_asc {
                    Some((p, r, c)) if shape.sample_rate == 0 || shape.profile.is_none() => {
                        (Some(p), r, c)
                    }
                    _ => (shape.profile, shape.sample_rate, shape.channels),
                };
                self.audio = Some(AudioInfo {
                    codec,
                    profile,
                    sample_rate,
                    channels,
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_levels_read_as_people_write_them() {
        assert_eq!(h264_level(31), "3.1");
        assert_eq!(h264_level(40), "4.0");
        assert_eq!(h264_level(9), "1b");
        assert_eq!(h264_level(52), "5.2");
    }

    #[test]
    fn avcc_and_asc_say_what_the_stream_is() {
        // x264's zerolatency veryfast 640x360: Constrained Baseline would set 0x40.
        assert_eq!(
            h264_from_avcc(&[1, 100, 0, 31, 0xff]),
            Some(("High".to_owned(), "3.1".to_owned()))
        );
        assert_eq!(
            h264_from_avcc(&[1, 66, 0xc0, 30]),
            Some(("Constrained Baseline".to_owned(), "3.0".to_owned()))
        );
        assert_eq!(h264_from_avcc(&[0, 66, 0, 30]), None);
        assert_eq!(h264_from_avcc(&[1, 66]), None);
        // AAC LC, 48 kHz, mono: 00010 0011 0001 000.
        assert_eq!(
            aac_from_asc(&[0x11, 0x88]),
            Some(("LC".to_owned(), 48_000, 1))
        );
        // AAC LC, 44.1 kHz, stereo.
        assert_eq!(
            aac_from_asc(&[0x12, 0x10]),
            Some(("LC".to_owned(), 44_100, 2))
        );
        assert_eq!(aac_from_asc(&[0x17]), None);
    }
}
