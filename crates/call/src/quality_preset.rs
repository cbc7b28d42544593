//! What we send, as a person chooses it: the usual call picture, or HD for a good uplink. Each
//! choice is a top rung for the publisher's adaptation, which steps down from it on a narrow
//! link (see `quartet_media::adapt::LADDER`).

use crate::config::{
    DEFAULT_FPS, DEFAULT_HEIGHT, DEFAULT_VIDEO_KBPS, DEFAULT_WIDTH, MediaSettings,
};

/// Video bitrate of 960×540 at 30 fps, kbit/s.
pub const KBPS_540P30: u32 = 1_200;
/// Video bitrate of 1280×720 at 15 fps, kbit/s.
pub const KBPS_720P15: u32 = 1_300;
/// Video bitrate of 1280×720 at 30 fps, kbit/s.
pub const KBPS_720P30: u32 = 2_000;

/// The picture we send, as offered in settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendQuality {
    /// 640×360 at 15 fps, 500 kbit/s: four members on modest links.
    #[default]
    Standard,
    /// 960×540 at 30 fps.
    Hd540p30,
    /// 1280×720 at 15 fps.
    Hd720p15,
    /// 1280×720 at 30 fps.
    Hd720p30,
}

impl SendQuality {
    /// Every choice, smallest first.
    pub const ALL: [SendQuality; 4] = [
        SendQuality::Standard,
        SendQuality::Hd540p30,
        SendQuality::Hd720p15,
        SendQuality::Hd720p30,
    ];

    /// Width, height, frames per second and video kbit/s.
    pub fn encoding(self) -> (u32, u32, u32, u32) {
        match self {
            SendQuality::Standard => (
                DEFAULT_WIDTH,
                DEFAULT_HEIGHT,
                DEFAULT_FPS,
                DEFAULT_VIDEO_KBPS,
            ),
            SendQuality::Hd540p30 => (960, 540, 30, KBPS_540P30),
            SendQuality::Hd720p15 => (1280, 720, 15, KBPS_720P15),
            SendQuality::Hd720p30 => (1280, 720, 30, KBPS_720P30),
        }
    }

    /// The name settings and the page use (`360p15`, `540p30`, `720p15`, `720p30`).
    pub fn as_str(self) -> &'static str {
        match self {
            SendQuality::Standard => "360p15",
            SendQuality::Hd540p30 => "540p30",
            SendQuality::Hd720p15 => "720p15",
            SendQuality::Hd720p30 => "720p30",
        }
    }

    /// The choice named `name`; `None` for a name not offered.
    pub fn from_name(name: &str) -> Option<SendQuality> {
        SendQuality::ALL.into_iter().find(|q| q.as_str() == name)
    }

    /// `media` sending this picture (the camera is asked for the same); what we receive stays.
    pub fn apply(self, media: &mut MediaSettings) {
        let (width, height, fps, kbps) = self.encoding();
        media.width = width;
        media.height = height;
        media.fps = fps;
        media.video_kbps = kbps;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_has_a_name_that_reads_back() {
        for q in SendQuality::ALL {
            assert_eq!(SendQuality::from_name(q.as_str()), Some(q));
        }
        assert_eq!(SendQuality::from_name("4k"), None);
    }

    #[test]
    fn a_choice_sets_what_we_send_and_stays_valid() {
        let mut media = MediaSettings::default();
        SendQuality::Hd720p30.apply(&mut media);
        assert_eq!((media.width, media.height, media.fps), (1280, 720, 30));
        assert_eq!(media.video_kbps, KBPS_720P30);
        assert_eq!(media.problem(), None);
        // Receiving is another matter: the tiles keep their size.
        assert_eq!(media.tile_width, MediaSettings::default().tile_width);
        let mut standard = MediaSettings::default();
        SendQuality::Standard.apply(&mut standard);
        assert_eq!(standard, MediaSettings::default());
    }

    #[test]
    fn more_pixels_get_more_bits() {
        let bits_per_pixel = |q: SendQuality| {
            let (w, h, fps, kbps) = q.encoding();
            f64::from(kbps) * 1000.0 / f64::from(w * h * fps)
        };
        let rates: Vec<u32> = SendQuality::ALL.iter().map(|q| q.encoding().3).collect();
        assert!(rates.windows(2).all(|w| w[0] < w[1]), "{rates:?}");
        // Larger pictures compress better: fewer bits per pixel, never more.
        assert!(bits_per_pixel(SendQuality::Hd720p30) <= bits_per_pixel(SendQuality::Standard));
    }
}
