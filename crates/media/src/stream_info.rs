//! What a stream carries, as a tester reads it: codecs, profiles, levels, picture and sound
//! shapes. One description for the player's figures and for `quartet probe`.

use crate::ffi;
use ffmpeg_next::{Stream, codec, decoder, media};

/// The parameters of the video stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoFormat {
    /// FFmpeg's codec name, e.g. `h264`.
    pub codec: String,
    /// The profile, e.g. `High`.
    pub profile: Option<String>,
    /// The level, e.g. `3.1` (H.264 only).
    pub level: Option<String>,
    /// Width in pixels (0 until known).
    pub width: u32,
    /// Height in pixels (0 until known).
    pub height: u32,
    /// The frame rate the stream declares, if any.
    pub declared_fps: Option<f64>,
}

/// The parameters of the audio stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AudioFormat {
    /// FFmpeg's codec name, e.g. `aac`.
    pub codec: String,
    /// The profile, e.g. `LC`.
    pub profile: Option<String>,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u16,
}

/// Both halves of a played stream, as far as they have been seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamInfo {
    /// The pictures, once a video stream was found.
    pub video: Option<VideoFormat>,
    /// The sound, once an audio stream was found.
    pub audio: Option<AudioFormat>,
}

impl StreamInfo {
    /// Takes in what `stream` says of its half of the whole.
    pub(crate) fn learn(&mut self, stream: &Stream<'_>) {
        let Ok(ctx) = codec::Context::from_parameters(stream.parameters()) else {
            return;
        };
        match ctx.medium() {
            media::Type::Video => self.video = video_format(stream, ctx).map(|(f, _)| f),
            media::Type::Audio => self.audio = audio_format(ctx).map(|(f, _)| f),
            _ => {}
        }
    }
}

/// The video format of `stream` (whose codec context is `ctx`), with its decoder.
pub(crate) fn video_format(
    stream: &Stream<'_>,
    ctx: codec::Context,
) -> Option<(VideoFormat, decoder::Video)> {
    let extradata = ffi::extradata(&ctx);
    let codec = ctx.id().name().to_owned();
    let decoder = ctx.decoder().video().ok()?;
    // The stream's own avcC names profile and level even when FFmpeg has not probed it.
    let (profile, level) = match avc_profile_level(&extradata) {
        Some((p, l)) => (Some(p), Some(l)),
        None => (profile_name(decoder.profile()), None),
    };
    let declared_fps = [stream.avg_frame_rate(), stream.rate()]
        .into_iter()
        .find(|r| r.numerator() > 0 && r.denominator() > 0)
        .map(f64::from);
    let format = VideoFormat {
        codec,
        profile,
        level,
        width: decoder.width(),
        height: decoder.height(),
        declared_fps,
    };
    Some((format, decoder))
}

/// The audio format of a stream whose codec context is `ctx`, with its decoder.
pub(crate) fn audio_format(ctx: codec::Context) -> Option<(AudioFormat, decoder::Audio)> {
    let extradata = ffi::extradata(&ctx);
    let aac = ctx.id() == codec::Id::AAC;
    let codec = ctx.id().name().to_owned();
    let decoder = ctx.decoder().audio().ok()?;
    // FLV's own audio flags say 44.1 kHz stereo for every AAC stream: the AudioSpecificConfig
    // is the stream's real word.
    let format = match aac.then(|| aac_from_asc(&extradata)).flatten() {
        Some((profile, sample_rate, channels)) => AudioFormat {
            codec,
            profile: Some(profile),
            sample_rate,
            channels,
        },
        None => AudioFormat {
            codec,
            profile: profile_name(decoder.profile()),
            sample_rate: decoder.rate(),
            channels: decoder.channels(),
        },
    };
    Some((format, decoder))
}

/// The H.264 profile and level an avcC record (FLV's sequence header) names.
pub fn avc_profile_level(avcc: &[u8]) -> Option<(String, String)> {
    let [1, profile_idc, constraints, level_idc, ..] = *avcc else {
        return None;
    };
    let profile = match profile_idc {
        66 if constraints & 0x40 != 0 => "Constrained Baseline".to_owned(),
        66 => "Baseline".to_owned(),
        77 => "Main".to_owned(),
        88 => "Extended".to_owned(),
        100 => "High".to_owned(),
        110 => "High 10".to_owned(),
        122 => "High 4:2:2".to_owned(),
        244 => "High 4:4:4 Predictive".to_owned(),
        other => format!("profile_idc {other}"),
    };
    // Level 1b is signalled as 11 with constraint_set3 in Baseline and Main, and as 9 in the
    // High profiles (H.264 Annex A).
    let one_b = level_idc == 9
        || (level_idc == 11 && constraints & 0x10 != 0 && matches!(profile_idc, 66 | 77));
    let level = if one_b {
        "1b".to_owned()
    } else {
        format!("{}.{}", level_idc / 10, level_idc % 10)
    };
    Some((profile, level))
}

/// AAC profile, sample rate and channels from an AudioSpecificConfig (ISO/IEC 14496-3).
pub fn aac_from_asc(asc: &[u8]) -> Option<(String, u32, u16)> {
    const RATES: [u32; 13] = [
        96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025,
        8_000, 7_350,
    ];
    let bits = u16::from_be_bytes([*asc.first()?, *asc.get(1)?]);
    let object_type = bits >> 11;
    let rate_index = usize::from((bits >> 7) & 0x0f);
    let channels = (bits >> 3) & 0x0f;
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

/// FFmpeg's profile as a name (`LC` for AAC's low complexity), `None` when unknown.
fn profile_name(profile: codec::Profile) -> Option<String> {
    use codec::profile::AAC;
    match profile {
        codec::Profile::Unknown | codec::Profile::Reserved => None,
        codec::Profile::AAC(AAC::Low) => Some("LC".to_owned()),
        codec::Profile::AAC(AAC::HE) => Some("HE-AAC".to_owned()),
        codec::Profile::AAC(AAC::HEv2) => Some("HE-AACv2".to_owned()),
        other => Some(
            format!("{other:?}")
                .rsplit('(')
                .next()
                .unwrap_or_default()
                .trim_end_matches(')')
                .to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avc_records_name_their_profile_and_level() {
        let high_31 = [1, 100, 0, 31, 0xff];
        assert_eq!(
            avc_profile_level(&high_31),
            Some(("High".into(), "3.1".into()))
        );
        let cb_30 = [1, 66, 0xC0, 30];
        assert_eq!(
            avc_profile_level(&cb_30),
            Some(("Constrained Baseline".into(), "3.0".into()))
        );
        assert_eq!(avc_profile_level(&[1, 66, 0x10, 11]).unwrap().1, "1b");
        assert_eq!(avc_profile_level(&[0, 100, 0, 31]), None);
        assert_eq!(avc_profile_level(&[0, 66, 0, 30]), None);
        assert_eq!(avc_profile_level(&[1, 100]), None);
        assert_eq!(avc_profile_level(&[1, 66]), None);
        // Levels as people write them.
        let level = |idc| avc_profile_level(&[1, 100, 0, idc]).unwrap().1;
        assert_eq!(level(31), "3.1");
        assert_eq!(level(40), "4.0");
        assert_eq!(level(9), "1b");
        assert_eq!(level(52), "5.2");
    }

    #[test]
    fn an_audio_specific_config_says_what_the_sound_is() {
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
