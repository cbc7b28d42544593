//! Capture, encode and push, pull and decode, audio mix and output. The only FFmpeg user.
//!
//! - [`source`]: where pictures and sound come from — cameras and microphones, synthetic twins
//!   (a moving test pattern with a burned-in [`clock`], a tone) and looping files.
//! - [`publish`]: H.264 + AAC in FLV over RTMP, with reconnect, keyframes on demand and stats,
//!   and optionally a small second stream of the same frames.
//! - [`play`]: pull RTMP with low-latency options, decode, scale to a tile, hand out the latest
//!   frame, tap the H.264 packets, and feed decoded sound to an [`mixer::AudioMixer`]; pictures
//!   wait for their sound (lip sync).
//! - [`sync_marks`]: flashes and clicks at the same capture instants, and the meter that
//!   measures how far sound and pictures are apart after the whole chain.
//!
//! Everything blocking runs on named std threads that are joined when their handle stops; the
//! handles are cheap to clone and usable from async code. Nothing here knows about rooms or UI.

pub mod adapt;
pub mod audio_out;
pub mod avc;
pub mod backoff;
pub mod clock;
mod convert;
mod ffi;
pub mod frame;
pub mod mixer;
pub mod play;
pub mod probe;
pub mod processing;
pub mod publish;
pub mod record;
pub mod resample;
pub mod self_view;
mod signal;
pub mod source;
pub mod stats;
pub mod stream_info;
mod stream_thread;
pub mod sync_marks;

pub use audio_out::{AudioOutError, AudioOutput};
pub use frame::{AUDIO_SAMPLE_RATE, AudioChunk, VideoFrame, samples_in, unix_micros};
pub use mixer::{AudioMixer, MixTap, MixerInput, PlayedBlock, SoundTaps};
pub use play::{
    EncodedVideo, PlayError, Player, PlayerConfig, PlayerEvent, PlayerHandle, PlayerStats,
    VideoDecoding,
};
pub use processing::{AudioProcessing, ProcessingStats};
pub use publish::{
    PublishError, Publisher, PublisherConfig, PublisherEvent, PublisherHandle, PublisherStats,
    SmallStreamConfig, SmallStreamStats, StreamKind,
};
pub use record::{
    FileRecorder, RecordConfig, RecordError, RecordSound, RecordSummary, RgbaPicture,
};
pub use self_view::{SelfViewEncoder, SelfViewError};
pub use source::{
    AudioDeviceInfo, AudioSource, CameraInfo, CameraSource, DeviceKind, FileAudioSource,
    FileVideoSource, Interrupter, Microphone, PictureInPicture, ScreenSource, SourceError,
    SyntheticTone, SyntheticVideo, VideoSource, list_cameras, list_microphones,
};
pub use stream_info::{AudioFormat, StreamInfo, VideoFormat};
pub use sync_marks::{AvOffsets, SyncMeter};

use std::sync::Once;

static INIT: Once = Once::new();

/// Environment variable that raises FFmpeg's own logging (`warning`, `info`, `debug`, `trace`)
/// when diagnosing a stream; by default FFmpeg only reports errors.
pub const FFMPEG_LOG_ENV: &str = "QUARTET_FFMPEG_LOG";

/// The FFmpeg libraries this process runs with and their licence, for a log's start-up line
/// (e.g. `libavcodec 59.37.100, libavformat 59.27.100, libavutil 57.28.100 (GPL version 2 or
/// later)`): a stream that decodes here and not elsewhere often differs in this.
pub fn ffmpeg_versions() -> String {
    let v = |n: u32| format!("{}.{}.{}", n >> 16, (n >> 8) & 0xff, n & 0xff);
    format!(
        "libavcodec {}, libavformat {}, libavutil {} ({})",
        v(ffmpeg_next::codec::version()),
        v(ffmpeg_next::format::version()),
        v(ffmpeg_next::util::version()),
        ffmpeg_next::util::license()
    )
}

/// Initialises FFmpeg once per process (networking, devices) and sets its log level.
///
/// Every entry point calls this; calling it again is free.
pub fn init() {
    INIT.call_once(|| {
        if let Err(e) = ffmpeg_next::init() {
            tracing::error!("FFmpeg failed to initialise: {e}");
        }
        ffmpeg_next::format::network::init();
        use ffmpeg_next::log::Level;
        let level = match std::env::var(FFMPEG_LOG_ENV).as_deref() {
            Ok("warning") => Level::Warning,
            Ok("info") => Level::Info,
            Ok("debug") => Level::Debug,
            Ok("trace") => Level::Trace,
            _ => Level::Error,
        };
        ffmpeg_next::log::set_level(level);
    });
}
