//! What the call needs of a publisher and a player: the call's rules (tiles, mute, device
//! switches, re-joins) drive these traits, [`FfmpegMedia`] starts the real FFmpeg ones, and the
//! actor's unit tests start fakes, so those rules are tested without encoding a picture.

use quartet_media::publish::VideoContent;
use quartet_media::{
    AudioProcessing, AudioSource, EncodedVideo, MixTap, PlayError, Player, PlayerConfig,
    PlayerEvent, PlayerHandle, PlayerStats, PublishError, Publisher, PublisherConfig,
    PublisherEvent, PublisherHandle, PublisherStats, SmallStreamConfig, SoundTaps, VideoFrame,
    VideoSource,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::{broadcast, watch};

/// A future a trait object can return.
pub(crate) type Later<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A running publisher as the call drives it (see [`PublisherHandle`] for each method).
pub(crate) trait SendControl: Send + Sync {
    /// The publisher's figures.
    fn stats(&self) -> PublisherStats;
    /// The microphone's level after cleaning, before muting.
    fn mic_level(&self) -> f32;
    /// Asks the encoder for a keyframe now.
    fn request_keyframe(&self);
    /// What the speaker plays, for echo cancellation.
    fn set_echo_reference(&self, tap: MixTap);
    /// Where our sound as sent is tapped.
    fn set_own_sound(&self, taps: SoundTaps);
    /// Silence instead of the microphone.
    fn set_audio_muted(&self, muted: bool);
    /// A placeholder instead of the camera's pictures.
    fn set_video_enabled(&self, enabled: bool);
    /// What the pictures show (a camera or a screen), for the encoder's tuning.
    fn set_video_content(&self, content: VideoContent);
    /// The microphone's cleaning.
    fn set_audio_processing(&self, processing: AudioProcessing);
    /// Another picture source, or none.
    fn replace_video_source(&self, source: Option<Box<dyn VideoSource>>);
    /// Another sound source, or none.
    fn replace_audio_source(&self, source: Option<Box<dyn AudioSource>>);
    /// Stops sending and joins the publisher's threads: blocking.
    fn stop(&self);
}

/// A running player as the call drives it (see [`PlayerHandle`] for each method).
pub(crate) trait PlayControl: Send + Sync {
    /// The latest picture at tile size; while a receiver lives, every picture is decoded.
    fn frames(&self) -> watch::Receiver<Option<Arc<VideoFrame>>>;
    /// The latest picture at tile size, read without asking for more.
    fn latest_frame(&self) -> Option<Arc<VideoFrame>>;
    /// The next picture at the stream's own size, if one comes within `wait`.
    fn full_size_frame(&self, wait: Duration) -> Later<'_, Option<Arc<VideoFrame>>>;
    /// The H.264 access units as they arrive.
    fn packets(&self) -> broadcast::Receiver<EncodedVideo>;
    /// The size pictures are scaled to.
    fn set_tile_size(&self, width: u32, height: u32);
    /// The URL of the next connection.
    fn set_url(&self, url: String) -> Result<(), PlayError>;
    /// Drops the connection and connects again at once.
    fn reconnect(&self);
    /// The player's figures.
    fn stats(&self) -> PlayerStats;
    /// Stops playing and joins the player's threads: blocking.
    fn stop(&self);
}

/// A started publisher and its events.
pub(crate) type Sender = (Arc<dyn SendControl>, UnboundedReceiver<PublisherEvent>);
/// A started player and its events.
pub(crate) type Receiver = (Arc<dyn PlayControl>, UnboundedReceiver<PlayerEvent>);

/// Starts publishers and players.
pub(crate) trait MediaStart: Send + Sync {
    /// Starts sending as `config` says, with the small stream when there is one.
    fn publisher(
        &self,
        config: PublisherConfig,
        small: Option<SmallStreamConfig>,
    ) -> Result<Sender, PublishError>;
    /// Starts playing as `config` says.
    fn player(&self, config: PlayerConfig) -> Result<Receiver, PlayError>;
}

/// Publishers and players through FFmpeg: what a call uses.
pub(crate) struct FfmpegMedia;

impl MediaStart for FfmpegMedia {
    fn publisher(
        &self,
        config: PublisherConfig,
        small: Option<SmallStreamConfig>,
    ) -> Result<Sender, PublishError> {
        let (handle, events) = Publisher::start_with_small(config, small, None, None)?;
        Ok((Arc::new(handle), events))
    }

    fn player(&self, config: PlayerConfig) -> Result<Receiver, PlayError> {
        let (handle, events) = Player::start(config)?;
        Ok((Arc::new(handle), events))
    }
}

impl SendControl for PublisherHandle {
    fn stats(&self) -> PublisherStats {
        PublisherHandle::stats(self)
    }
    fn mic_level(&self) -> f32 {
        PublisherHandle::mic_level(self)
    }
    fn request_keyframe(&self) {
        PublisherHandle::request_keyframe(self);
    }
    fn set_echo_reference(&self, tap: MixTap) {
        PublisherHandle::set_echo_reference(self, tap);
    }
    fn set_own_sound(&self, taps: SoundTaps) {
        PublisherHandle::set_own_sound(self, taps);
    }
    fn set_audio_muted(&self, muted: bool) {
        PublisherHandle::set_audio_muted(self, muted);
    }
    fn set_video_enabled(&self, enabled: bool) {
        PublisherHandle::set_video_enabled(self, enabled);
    }
    fn set_video_content(&self, content: VideoContent) {
        PublisherHandle::set_video_content(self, content);
    }
    fn set_audio_processing(&self, processing: AudioProcessing) {
        PublisherHandle::set_audio_processing(self, processing);
    }
    fn replace_video_source(&self, source: Option<Box<dyn VideoSource>>) {
        PublisherHandle::replace_video_source(self, source);
    }
    fn replace_audio_source(&self, source: Option<Box<dyn AudioSource>>) {
        PublisherHandle::replace_audio_source(self, source);
    }
    fn stop(&self) {
        PublisherHandle::stop(self);
    }
}

impl PlayControl for PlayerHandle {
    fn frames(&self) -> watch::Receiver<Option<Arc<VideoFrame>>> {
        PlayerHandle::frames(self)
    }
    fn latest_frame(&self) -> Option<Arc<VideoFrame>> {
        PlayerHandle::latest_frame(self)
    }
    fn full_size_frame(&self, wait: Duration) -> Later<'_, Option<Arc<VideoFrame>>> {
        Box::pin(PlayerHandle::full_size_frame(self, wait))
    }
    fn packets(&self) -> broadcast::Receiver<EncodedVideo> {
        PlayerHandle::packets(self)
    }
    fn set_tile_size(&self, width: u32, height: u32) {
        PlayerHandle::set_tile_size(self, width, height);
    }
    fn set_url(&self, url: String) -> Result<(), PlayError> {
        PlayerHandle::set_url(self, url)
    }
    fn reconnect(&self) {
        PlayerHandle::reconnect(self);
    }
    fn stats(&self) -> PlayerStats {
        PlayerHandle::stats(self)
    }
    fn stop(&self) {
        PlayerHandle::stop(self);
    }
}
