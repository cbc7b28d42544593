//! A publisher and players that record what the call asks of them and send nothing: the call's
//! rules are tested against a real room server without FFmpeg.

use crate::media_port::{Later, MediaStart, PlayControl, Receiver, SendControl, Sender};
use quartet_media::publish::VideoContent;
use quartet_media::{
    AudioProcessing, AudioSource, EncodedVideo, MixTap, PlayError, PlayerConfig, PlayerEvent,
    PlayerStats, PublishError, PublisherConfig, PublisherEvent, PublisherStats, SmallStreamConfig,
    SoundTaps, VideoFrame, VideoSource,
};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::{broadcast, watch};

/// What a fake publisher was told, in order of the last word on each.
#[derive(Debug, Default)]
pub(super) struct SentState {
    pub(super) url: String,
    pub(super) muted: bool,
    pub(super) video_enabled: bool,
    pub(super) content: Option<VideoContent>,
    /// Whether a picture source is in (the last replacement's `is_some`).
    pub(super) has_video: bool,
    pub(super) has_audio: bool,
    pub(super) video_replacements: usize,
    pub(super) keyframes: usize,
    pub(super) stopped: bool,
}

/// A publisher that keeps what it is told.
pub(super) struct FakeSender {
    pub(super) state: Mutex<SentState>,
    pub(super) events: UnboundedSender<PublisherEvent>,
}

impl FakeSender {
    fn with<T>(&self, f: impl FnOnce(&mut SentState) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// A copy of one field's word, read under the lock.
    pub(super) fn read<T>(&self, f: impl FnOnce(&SentState) -> T) -> T {
        f(&self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl SendControl for FakeSender {
    fn stats(&self) -> PublisherStats {
        PublisherStats::default()
    }
    fn mic_level(&self) -> f32 {
        0.0
    }
    fn request_keyframe(&self) {
        self.with(|s| s.keyframes += 1);
    }
    fn set_echo_reference(&self, _tap: MixTap) {}
    fn set_own_sound(&self, _taps: SoundTaps) {}
    fn set_audio_muted(&self, muted: bool) {
        self.with(|s| s.muted = muted);
    }
    fn set_video_enabled(&self, enabled: bool) {
        self.with(|s| s.video_enabled = enabled);
    }
    fn set_video_content(&self, content: VideoContent) {
        self.with(|s| s.content = Some(content));
    }
    fn set_audio_processing(&self, _processing: AudioProcessing) {}
    fn replace_video_source(&self, source: Option<Box<dyn VideoSource>>) {
        self.with(|s| {
            s.has_video = source.is_some();
            s.video_replacements += 1;
        });
    }
    fn replace_audio_source(&self, source: Option<Box<dyn AudioSource>>) {
        self.with(|s| s.has_audio = source.is_some());
    }
    fn stop(&self) {
        self.with(|s| s.stopped = true);
    }
}

/// A player that keeps its URL and never shows a picture.
pub(super) struct FakePlayer {
    pub(super) url: Mutex<String>,
    pub(super) reconnects: AtomicUsize,
    pub(super) stopped: AtomicBool,
    pub(super) events: UnboundedSender<PlayerEvent>,
    frames: watch::Sender<Option<Arc<VideoFrame>>>,
    packets: broadcast::Sender<EncodedVideo>,
}

impl FakePlayer {
    /// Who holds its pictures (and would make a real player decode every one).
    pub(super) fn picture_readers(&self) -> usize {
        self.frames.receiver_count()
    }

    /// The URL it plays now.
    pub(super) fn url(&self) -> String {
        self.url
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl PlayControl for FakePlayer {
    fn frames(&self) -> watch::Receiver<Option<Arc<VideoFrame>>> {
        self.frames.subscribe()
    }
    fn latest_frame(&self) -> Option<Arc<VideoFrame>> {
        self.frames.borrow().clone()
    }
    fn full_size_frame(&self, _wait: Duration) -> Later<'_, Option<Arc<VideoFrame>>> {
        Box::pin(async { None })
    }
    fn packets(&self) -> broadcast::Receiver<EncodedVideo> {
        self.packets.subscribe()
    }
    fn set_tile_size(&self, _width: u32, _height: u32) {}
    fn set_url(&self, url: String) -> Result<(), PlayError> {
        *self.url.lock().unwrap_or_else(PoisonError::into_inner) = url;
        Ok(())
    }
    fn reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::SeqCst);
    }
    fn stats(&self) -> PlayerStats {
        PlayerStats::default()
    }
    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }
}

/// Starts fakes and keeps every one it started.
#[derive(Default)]
pub(super) struct FakeMedia {
    pub(super) senders: Mutex<Vec<Arc<FakeSender>>>,
    pub(super) players: Mutex<Vec<Arc<FakePlayer>>>,
    /// Players refuse to start, as FFmpeg does for a URL it cannot parse.
    pub(super) refuse_players: AtomicBool,
    /// Publishers refuse to start.
    pub(super) refuse_publishers: AtomicBool,
}

impl FakeMedia {
    /// Every publisher started so far.
    pub(super) fn senders(&self) -> Vec<Arc<FakeSender>> {
        self.senders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every player started so far.
    pub(super) fn players(&self) -> Vec<Arc<FakePlayer>> {
        self.players
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The players not stopped, by URL.
    pub(super) fn playing(&self) -> Vec<String> {
        let mut urls: Vec<String> = self
            .players()
            .iter()
            .filter(|p| !p.stopped.load(Ordering::SeqCst))
            .map(|p| p.url())
            .collect();
        urls.sort();
        urls
    }
}

impl MediaStart for FakeMedia {
    fn publisher(
        &self,
        config: PublisherConfig,
        _small: Option<SmallStreamConfig>,
    ) -> Result<Sender, PublishError> {
        if self.refuse_publishers.load(Ordering::SeqCst) {
            return Err(PublishError::InvalidConfig("refused by the test".into()));
        }
        let (events, rx) = unbounded_channel();
        let sender = Arc::new(FakeSender {
            state: Mutex::new(SentState {
                url: config.url.clone(),
                video_enabled: true,
                ..SentState::default()
            }),
            events,
        });
        self.senders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&sender));
        Ok((sender, rx))
    }

    fn player(&self, config: PlayerConfig) -> Result<Receiver, PlayError> {
        if self.refuse_players.load(Ordering::SeqCst) {
            return Err(PlayError::InvalidConfig("refused by the test".into()));
        }
        let (events, rx) = unbounded_channel();
        let player = Arc::new(FakePlayer {
            url: Mutex::new(config.url.clone()),
            reconnects: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            events,
            frames: watch::Sender::new(None),
            packets: broadcast::Sender::new(4),
        });
        self.players
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&player));
        Ok((player, rx))
    }
}
