//! The actor's publisher and players: starting, stopping and restarting them, and what their
//! events mean for the call.

use super::{Actor, stop_blocking};
use crate::config::{AudioInput, VideoInput, processing_for};
use crate::devices::{Previewed, error_kind, open_audio, open_video};
use crate::event::{
    CallEvent, Link, LinkState, PlayerState, PublisherState, link_transition, player_state,
    publisher_state,
};
use crate::media_port::{PlayControl, SendControl};
use crate::streams::{self, TileStream};
use quartet_media::source::DeviceKind;
use quartet_media::{
    AudioSource, PlayerConfig, PlayerEvent, PublishError, PublisherEvent, SourceError, VideoSource,
};
use quartet_room::Member;
use std::sync::Arc;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

/// A publisher's or player's event, tagged with whose it is.
pub(super) enum MediaEvent {
    Publisher {
        generation: u64,
        event: PublisherEvent,
    },
    Player {
        user_id: String,
        generation: u64,
        event: PlayerEvent,
    },
}

/// The publisher sending now.
pub(super) struct Sending {
    pub(super) handle: Arc<dyn SendControl>,
    pub(super) url: String,
    pub(super) generation: u64,
    pub(super) link: LinkState,
    pub(super) forward: JoinHandle<()>,
}

/// One member's player.
pub(super) struct Playing {
    pub(super) handle: Arc<dyn PlayControl>,
    pub(super) member: Member,
    pub(super) slot: usize,
    pub(super) generation: u64,
    pub(super) link: LinkState,
    pub(super) forward: JoinHandle<()>,
    /// Which of the member's streams it plays, and why.
    pub(super) stream: TileStream,
}

/// Hands a media object's events to the actor, tagged, until its last one.
fn forward<E: Send + 'static>(
    mut events: UnboundedReceiver<E>,
    to: UnboundedSender<MediaEvent>,
    is_last: fn(&E) -> bool,
    wrap: impl Fn(E) -> MediaEvent + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            let last = is_last(&e);
            if to.send(wrap(e)).is_err() || last {
                break;
            }
        }
    })
}

impl Actor {
    pub(super) fn start_publisher(
        &mut self,
        url: String,
        video: Option<Box<dyn VideoSource>>,
        audio: Option<Box<dyn AudioSource>>,
    ) -> Result<(), PublishError> {
        // Sources go in only once mute and camera are set, so not one chunk of sound or one
        // picture leaves before a "join muted" or "join with the camera off" takes effect.
        let small = self.media.small_stream(self.session.small_push_url());
        let mut config = self.media.publisher(&url);
        config.processing = processing_for(&self.audio_input, self.processing);
        let (handle, events) = self.start.publisher(config, small)?;
        handle.set_echo_reference(self.mixer.tap());
        handle.set_own_sound(self.own_sound.clone());
        handle.set_audio_muted(self.mic_muted);
        handle.set_video_enabled(self.camera_enabled);
        handle.set_video_content(self.video_input.content());
        if audio.is_some() {
            handle.replace_audio_source(audio);
        }
        if let Some(video) = video {
            handle.replace_video_source(Some(self.previewed(video)));
        }
        self.generation += 1;
        let generation = self.generation;
        let forward = forward(
            events,
            self.media_tx.clone(),
            |e| matches!(e, PublisherEvent::Stopped),
            move |event| MediaEvent::Publisher { generation, event },
        );
        self.publisher = Some(Sending {
            handle,
            url,
            generation,
            link: LinkState::default(),
            forward,
        });
        Ok(())
    }

    pub(super) fn previewed(&self, video: Box<dyn VideoSource>) -> Box<dyn VideoSource> {
        Box::new(Previewed::new(
            video,
            self.preview.clone(),
            Arc::clone(&self.showing),
        ))
    }

    pub(super) async fn stop_publisher(&mut self) {
        if let Some(p) = self.publisher.take() {
            p.forward.abort();
            stop_blocking(move || p.handle.stop()).await;
        }
        self.preview.send_replace(None);
    }

    /// Restarts sending to a new URL (after a rejoin with a new identity), with the same
    /// devices and the same mute and camera state.
    pub(super) async fn republish(&mut self, url: String) {
        self.stop_publisher().await;
        self.emit(CallEvent::PublisherState(PublisherState::Stopped));
        let (video_input, audio_input, media) = (
            self.video_input.clone(),
            self.audio_input.clone(),
            Arc::clone(&self.media),
        );
        let opened = tokio::task::spawn_blocking(move || {
            (open_video(&video_input, &media), open_audio(&audio_input))
        })
        .await;
        let (video, audio) = match opened {
            Ok((video, audio)) => (
                self.device_or_none(video, DeviceKind::Camera),
                self.device_or_none(audio, DeviceKind::Microphone),
            ),
            Err(e) => {
                self.emit(CallEvent::DeviceError {
                    kind: DeviceKind::Camera,
                    message: format!("opening devices failed: {e}"),
                });
                (None, None)
            }
        };
        if video.is_none() {
            self.video_input = VideoInput::None;
        }
        if audio.is_none() {
            self.audio_input = AudioInput::None;
        }
        if let Err(e) = self.start_publisher(url, video, audio) {
            tracing::error!("cannot restart sending: {e}");
            self.emit(CallEvent::PublisherState(PublisherState::Stopped));
        }
    }

    pub(super) fn device_or_none<T>(
        &self,
        opened: Result<Option<T>, SourceError>,
        kind: DeviceKind,
    ) -> Option<T> {
        opened.unwrap_or_else(|e| {
            self.emit(CallEvent::DeviceError {
                kind: error_kind(&e, kind),
                message: e.to_string(),
            });
            None
        })
    }

    pub(super) fn start_player(&mut self, member: &Member, slot: usize) {
        let stream = TileStream::start(member, self.receive);
        let mut config = PlayerConfig::new(
            streams::url(member, stream.stream()).to_owned(),
            self.media.tile_width,
            self.media.tile_height,
        )
        .with_mixer(self.mixer.clone());
        config.video = self.media.video_decoding;
        let started = self.start.player(config);
        let (handle, events) = match started {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(user_id = %member.user_id, "cannot play: {e}");
                self.emit(CallEvent::PlayerState {
                    user_id: member.user_id.clone(),
                    state: PlayerState::Failed {
                        reason: e.to_string(),
                    },
                });
                return;
            }
        };
        self.generation += 1;
        let generation = self.generation;
        let user_id = member.user_id.clone();
        let forward = forward(
            events,
            self.media_tx.clone(),
            |e| matches!(e, PlayerEvent::Stopped),
            move |event| MediaEvent::Player {
                user_id: user_id.clone(),
                generation,
                event,
            },
        );
        self.players.insert(
            member.user_id.clone(),
            Playing {
                handle,
                member: member.clone(),
                slot,
                generation,
                link: LinkState::default(),
                forward,
                stream,
            },
        );
    }

    pub(super) async fn stop_player(&mut self, user_id: &str) {
        self.keyframes.player_gone(user_id);
        if let Some(p) = self.players.remove(user_id) {
            p.forward.abort();
            stop_blocking(move || p.handle.stop()).await;
            self.emit(CallEvent::PlayerState {
                user_id: user_id.to_owned(),
                state: PlayerState::Stopped,
            });
        }
    }

    pub(super) fn media_event(&mut self, event: MediaEvent) {
        match event {
            MediaEvent::Publisher { generation, event } => {
                let Some(p) = self
                    .publisher
                    .as_mut()
                    .filter(|p| p.generation == generation)
                else {
                    return;
                };
                match &event {
                    PublisherEvent::VideoSourceFailed(e) => {
                        self.video_input = VideoInput::None;
                        self.preview.send_replace(None);
                        self.publish_view();
                        self.emit(CallEvent::DeviceError {
                            kind: error_kind(e, DeviceKind::Camera),
                            message: e.to_string(),
                        });
                        return;
                    }
                    PublisherEvent::UplinkLimited { rung, video_kbps } => {
                        self.emit(CallEvent::UplinkLimited {
                            width: rung.width,
                            height: rung.height,
                            fps: rung.fps,
                            video_kbps: *video_kbps,
                        });
                        return;
                    }
                    PublisherEvent::AudioSourceFailed(e) => {
                        self.audio_input = AudioInput::None;
                        self.emit(CallEvent::DeviceError {
                            kind: error_kind(e, DeviceKind::Microphone),
                            message: e.to_string(),
                        });
                        return;
                    }
                    _ => {}
                }
                let Some((state, up)) = publisher_state(&event) else {
                    return;
                };
                let news = up.and_then(|up| {
                    let (next, news) = link_transition(p.link, up);
                    p.link = next;
                    news
                });
                self.emit(CallEvent::PublisherState(state));
                match news {
                    Some(false) => self.emit(CallEvent::Reconnecting(Link::Publisher)),
                    Some(true) => self.emit(CallEvent::Reconnected(Link::Publisher)),
                    None => {}
                }
            }
            MediaEvent::Player {
                user_id,
                generation,
                event,
            } => {
                let Some(p) = self
                    .players
                    .get_mut(&user_id)
                    .filter(|p| p.generation == generation)
                else {
                    return;
                };
                self.keyframes
                    .player_event(&user_id, &event, tokio::time::Instant::now());
                let Some((state, up)) = player_state(&event) else {
                    return;
                };
                let news = up.and_then(|up| {
                    let (next, news) = link_transition(p.link, up);
                    p.link = next;
                    news
                });
                self.emit(CallEvent::PlayerState {
                    user_id: user_id.clone(),
                    state,
                });
                match news {
                    Some(false) => self.emit(CallEvent::Reconnecting(Link::Player(user_id))),
                    Some(true) => self.emit(CallEvent::Reconnected(Link::Player(user_id))),
                    None => {}
                }
            }
        }
    }
}
