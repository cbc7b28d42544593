//! The call's body: one task owning the room session's events, the publisher and one player
//! per played member, turning all of them into [`CallEvent`]s and keeping the snapshot
//! handles read current. Publisher and players are in [`media`], the room's news in [`room`].

mod begin;
mod media;
mod room;

pub(super) use begin::{Beginning, begin};

use self::media::{MediaEvent, Playing, Sending};
use crate::call::CallError;
use crate::call::handle::Tile;
use crate::call::handle::{Change, Command, View};
use crate::config::{AudioInput, AudioOutputChoice, MediaSettings, VideoInput, processing_for};
use crate::device_watch::InUse;
use crate::event::{CallEvent, Participant, Placement};
use crate::keyframe::{self, Keyframes};
use crate::media_port::MediaStart;
use crate::receive::Receive;
use crate::sharing::{SharingTeller, is_sharing};
use crate::speaker::open_output;
use crate::streams::{self, LOOK_EVERY};
use crate::tile_watch::{OwnSide, Played, TILE_LOOK_EVERY, TileWatch};
use crate::tiles::TileAssignment;
use quartet_media::source::DeviceKind;
use quartet_media::{AudioMixer, AudioOutput, AudioProcessing, SoundTaps, VideoFrame};
use quartet_room::{LeaveMode, Member, SessionError, SessionEvent, SessionHandle};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::{broadcast, watch};

/// Whether the actor carries on after an event.
enum Flow {
    Continue,
    Closed(String),
}

struct Actor {
    /// Starts the publisher and the players.
    start: Arc<dyn MediaStart>,
    media: Arc<MediaSettings>,
    user_name: String,
    session: SessionHandle,
    session_events: mpsc::Receiver<SessionEvent>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<CallEvent>,
    media_tx: UnboundedSender<MediaEvent>,
    media_rx: UnboundedReceiver<MediaEvent>,
    publisher: Option<Sending>,
    players: HashMap<String, Playing>,
    /// Everyone in the room, us included, in the room's order then order of arrival.
    members: Vec<Member>,
    /// Every userID we have had: after a rejoin under a new identity the server may list the
    /// old one until it times out, and that is not someone to play.
    own_ids: HashSet<String>,
    tiles: TileAssignment,
    mixer: AudioMixer,
    own_sound: SoundTaps,
    output: Option<AudioOutput>,
    mic_muted: bool,
    camera_enabled: bool,
    video_input: VideoInput,
    audio_input: AudioInput,
    preview: watch::Sender<Option<Arc<VideoFrame>>>,
    /// Whether our pictures go to the preview (not while the camera is off).
    showing: Arc<AtomicBool>,
    view: watch::Sender<View>,
    generation: u64,
    /// When to ask our encoder for a keyframe again for a member who joined (see
    /// [`JOIN_KEYFRAME_AGAIN`]).
    keyframe_again: Option<tokio::time::Instant>,
    /// Members asking for our keyframe.
    keyframe_requests: broadcast::Receiver<String>,
    /// Players waiting for a keyframe, and the gate on forcing ours.
    keyframes: Keyframes,
    /// Which of the members' streams tiles receive.
    receive: Receive,
    /// The cleaning asked for our microphone.
    processing: AudioProcessing,
    /// Every tile's state.
    tile_watch: TileWatch,
    /// Camera switches so far (a switch's gap in pictures is no stall).
    camera_switches: u64,
    /// Tells the room whether we share a screen.
    sharing: SharingTeller,
    /// The speaker playing is the default, taken after the chosen one failed: if it fails
    /// too, the null sink follows rather than trying again every look.
    speaker_fallback: bool,
}

/// Runs a media object's blocking stop (it joins threads) off the runtime's threads.
async fn stop_blocking(stop: impl FnOnce() + Send + 'static) {
    if let Err(e) = tokio::task::spawn_blocking(stop).await {
        tracing::warn!("stopping media failed: {e}");
    }
}

async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Actor {
    async fn run(mut self) {
        let mut closed = None;
        let mut looks = tokio::time::interval(LOOK_EVERY);
        looks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tile_looks = tokio::time::interval(TILE_LOOK_EVERY);
        tile_looks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let reply = loop {
            let keyframe_due = self.keyframes.deadline(tokio::time::Instant::now());
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::Leave { mode, reply }) => break Some((mode, reply)),
                    Some(Command::Change { change, reply }) => {
                        self.change(change).await;
                        // The snapshot is current before the caller hears back.
                        self.publish_view();
                        let _ = reply.send(());
                    }
                    // Every handle is gone: nobody can leave for us, so leave now.
                    None => break None,
                },
                event = self.session_events.recv() => match event {
                    Some(event) => {
                        if let Flow::Closed(reason) = self.session_event(event).await {
                            closed = Some(reason);
                            break None;
                        }
                    }
                    None => {
                        closed = Some(String::from("session ended"));
                        break None;
                    }
                },
                Some(event) = self.media_rx.recv() => self.media_event(event),
                () = sleep_until_some(self.keyframe_again), if self.keyframe_again.is_some() => {
                    self.keyframe_again = None;
                    self.request_keyframe();
                }
                () = keyframe::next_request(&mut self.keyframe_requests) => {
                    if self.keyframes.requested(tokio::time::Instant::now()) {
                        self.force_keyframe();
                    }
                }
                () = sleep_until_some(keyframe_due), if keyframe_due.is_some() => self.keyframe_tick(),
                _ = looks.tick() => {
                    self.look_at_streams();
                    self.look_at_speaker().await;
                }
                _ = tile_looks.tick() => self.look_at_tiles(),
            }
        };
        self.teardown().await;
        // Dropped handles leave as a member would: nobody asked to end the call for everyone.
        let (mode, reply) = reply.map_or((LeaveMode::Leave, None), |(m, r)| (m, Some(r)));
        let left = match closed {
            Some(reason) => {
                self.emit(CallEvent::RoomClosed { reason });
                Ok(())
            }
            None => match self.session.leave(mode).await {
                Ok(()) | Err(SessionError::Closed) => Ok(()),
                Err(e) => Err(CallError::Room(e)),
            },
        };
        if let Err(e) = &left {
            tracing::warn!("leaving the room failed: {e}");
        }
        if let Some(reply) = reply {
            let _ = reply.send(left);
        }
    }

    /// A member joined and no keyframe request can reach us (see [`JOIN_KEYFRAME_AGAIN`]).
    fn request_keyframe(&self) {
        self.force_keyframe();
    }

    fn force_keyframe(&self) {
        if let Some(p) = &self.publisher {
            p.handle.request_keyframe();
        }
    }

    /// Asks for the keyframes players wait for, and forces ours when its turn has come.
    /// Moves each tile between its member's main and small stream as its link allows (see
    /// [`crate::receive`]); the player keeps its picture until the other stream's first one.
    fn look_at_streams(&mut self) {
        let mut moved = false;
        for p in self.players.values_mut() {
            let stats = p.handle.stats();
            if let Some(to) = p.stream.look(&p.member, &stats, LOOK_EVERY, self.receive) {
                tracing::info!(user_id = %p.member.user_id, stream = to.as_str(), "switching stream");
                if p.handle
                    .set_url(streams::url(&p.member, to).to_owned())
                    .is_ok()
                {
                    p.handle.reconnect();
                }
                moved = true;
            }
        }
        if moved {
            self.publish_view();
        }
    }

    /// Updates every tile's state (see [`crate::tile_watch`]).
    fn look_at_tiles(&mut self) {
        let own = OwnSide {
            publisher: self.publisher.as_ref().map(|p| p.handle.as_ref()),
            camera_off: !self.camera_enabled || self.video_input == VideoInput::None,
            switches: self.camera_switches,
        };
        let played = self.players.values().map(|p| Played {
            user_id: &p.member.user_id,
            player: p.handle.as_ref(),
            switches: p.stream.choice.switches,
        });
        self.tile_watch.look(&own, played);
    }

    /// A speaker that stopped mid-call (unplugged, taken by another program) is told to the
    /// user, and the system's default speaker takes its place; where there is none, the null
    /// sink does, so the mix, the echo reference and the players' timing go on.
    async fn look_at_speaker(&mut self) {
        let Some(why) = self.output.as_ref().and_then(AudioOutput::failure) else {
            return;
        };
        let lost = self.output.take();
        let name = lost
            .as_ref()
            .map(|o| o.describe().to_owned())
            .unwrap_or_default();
        tracing::warn!("{name} stopped playing: {why}");
        self.emit(CallEvent::DeviceError {
            kind: DeviceKind::Speaker,
            message: format!("{name} stopped playing: {why}"),
        });
        let again = std::mem::replace(&mut self.speaker_fallback, true);
        let default = if again {
            None
        } else {
            self.open_default_speaker().await
        };
        self.output = default.or_else(|| {
            AudioOutput::null(self.mixer.clone())
                .map_err(|e| tracing::warn!("no null sink either: {e}"))
                .ok()
        });
        if let Some(lost) = lost {
            tokio::task::spawn_blocking(move || lost.stop());
        }
    }

    /// The system's default speaker, opened on a blocking thread; `None` where there is none.
    async fn open_default_speaker(&self) -> Option<AudioOutput> {
        let mixer = self.mixer.clone();
        tokio::task::spawn_blocking(move || open_output(&AudioOutputChoice::Default, mixer))
            .await
            .ok()?
            .map_err(|e| tracing::info!("no default speaker: {e}"))
            .ok()
    }

    fn keyframe_tick(&mut self) {
        let due = self.keyframes.due(tokio::time::Instant::now());
        for user_id in due.ask {
            tracing::debug!(%user_id, "no keyframe yet: asking for one");
            if !self.session.request_keyframe(user_id) {
                tracing::debug!("the room session did not take a keyframe request");
            }
        }
        if due.force {
            self.force_keyframe();
        }
    }

    fn emit(&self, event: CallEvent) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(event) {
            // Not the event itself: it may carry signed stream URLs.
            tracing::warn!("call event dropped, the receiver is not keeping up");
        }
    }

    fn is_me(&self, member: &Member) -> bool {
        member.is_self || self.own_ids.contains(&member.user_id)
    }

    fn placement(&self, member: &Member) -> Placement {
        if self.is_me(member) {
            Placement::Own
        } else {
            self.tiles
                .slot_of(&member.user_id)
                .map_or(Placement::Listed, Placement::Tile)
        }
    }

    fn participant(&self, member: &Member) -> Participant {
        Participant {
            member: member.clone(),
            placement: self.placement(member),
        }
    }

    fn participants(&self) -> Vec<Participant> {
        let current = self.session.user_id();
        self.members
            .iter()
            // A former identity of ours is not a member to show.
            .filter(|m| m.user_id == current || !self.own_ids.contains(&m.user_id))
            .map(|m| self.participant(m))
            .collect()
    }

    fn publish_view(&self) {
        let mut tiles: Vec<Tile> = self
            .players
            .values()
            .map(|p| Tile {
                slot: p.slot,
                member: p.member.clone(),
                stream: p.stream.stream(),
                stream_switches: p.stream.choice.switches,
                player_id: p.generation,
                player: p.handle.clone(),
                states: self.tile_watch.subscribe(),
            })
            .collect();
        tiles.sort_by_key(|t| t.slot);
        self.view.send_replace(View {
            user_name: self.user_name.clone(),
            members: self.participants(),
            tiles,
            publisher: self.publisher.as_ref().map(|p| p.handle.clone()),
            mic_muted: self.mic_muted,
            camera_enabled: self.camera_enabled,
            has_video: self.video_input != VideoInput::None,
            ended: false,
            in_use: InUse {
                camera: match &self.video_input {
                    VideoInput::Camera(id) => id.clone(),
                    _ => None,
                },
                microphone: match &self.audio_input {
                    AudioInput::Microphone(name) => name.clone(),
                    _ => None,
                },
                speaker: None,
            },
        });
    }

    fn tell_sharing(&self) {
        self.sharing
            .set(is_sharing(&self.video_input, self.camera_enabled));
    }

    async fn change(&mut self, change: Change) {
        match change {
            Change::MicMuted(muted) => {
                self.mic_muted = muted;
                if let Some(p) = &self.publisher {
                    p.handle.set_audio_muted(muted);
                }
            }
            Change::CameraEnabled(enabled) => {
                self.camera_enabled = enabled;
                self.showing.store(enabled, Ordering::SeqCst);
                if let Some(p) = &self.publisher {
                    p.handle.set_video_enabled(enabled);
                }
                if !enabled {
                    self.preview.send_replace(None);
                }
                self.tell_sharing();
            }
            Change::Video { input, source } => {
                if source.is_none() {
                    self.preview.send_replace(None);
                }
                let source = source.map(|v| self.previewed(v));
                if let Some(p) = &self.publisher {
                    p.handle.set_video_content(input.content());
                    p.handle.replace_video_source(source);
                }
                self.video_input = input;
                self.camera_switches += 1;
                self.tell_sharing();
            }
            Change::Audio { input, source } => {
                if let Some(p) = &self.publisher {
                    p.handle
                        .set_audio_processing(processing_for(&input, self.processing));
                    p.handle.replace_audio_source(source);
                }
                self.audio_input = input;
            }
            Change::Receive(receive) => self.receive = receive,
            Change::Processing(processing) => {
                self.processing = processing;
                if let Some(p) = &self.publisher {
                    p.handle
                        .set_audio_processing(processing_for(&self.audio_input, processing));
                }
            }
            Change::Output(output) => {
                self.speaker_fallback = false;
                // The new speaker is running before the old one stops: no gap in the sound.
                if let Some(old) = self.output.replace(output) {
                    stop_blocking(move || old.stop()).await;
                }
            }
        }
    }

    /// Stops every player and the publisher and joins their threads, then the speaker's.
    async fn teardown(&mut self) {
        let playing: Vec<String> = self.players.keys().cloned().collect();
        for user_id in playing {
            self.stop_player(&user_id).await;
        }
        self.stop_publisher().await;
        if let Some(output) = self.output.take() {
            stop_blocking(move || output.stop()).await;
        }
        self.view.send_replace(View {
            user_name: self.user_name.clone(),
            members: Vec::new(),
            tiles: Vec::new(),
            publisher: None,
            mic_muted: self.mic_muted,
            camera_enabled: self.camera_enabled,
            has_video: false,
            ended: true,
            in_use: InUse::default(),
        });
    }
}
