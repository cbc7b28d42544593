//! The actor's first moments: its state from what the call opened, sending started, the
//! members there already played, and the handle the caller gets.

use super::Actor;
use crate::call::handle::{CallHandle, View};
use crate::call::{COMMAND_QUEUE, CallError, EVENT_QUEUE, Opened};
use crate::config::{AudioInput, CallConfig, VideoInput};
use crate::event::CallEvent;
use crate::keyframe::Keyframes;
use crate::layout::GridLayout;
use crate::media_port::MediaStart;
use crate::sharing::SharingTeller;
use crate::tile_watch::TileWatch;
use crate::tiles::TileAssignment;
use quartet_media::source::DeviceKind;
use quartet_media::{AudioMixer, AudioSource, SoundTaps, VideoSource};
use quartet_room::{LeaveMode, Member, SessionEvent, SessionHandle};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::sync::{mpsc, watch};

/// What the call has when its actor begins.
pub(in crate::call) struct Beginning {
    /// The call's settings.
    pub(in crate::call) config: CallConfig,
    /// Starts the publisher and the players.
    pub(in crate::call) start: Arc<dyn MediaStart>,
    /// The mix the speaker plays.
    pub(in crate::call) mixer: AudioMixer,
    /// The joined room.
    pub(in crate::call) session: SessionHandle,
    /// The room's news, its first (`Joined`) already read.
    pub(in crate::call) session_events: mpsc::Receiver<SessionEvent>,
    /// The members as joined.
    pub(in crate::call) members: Vec<Member>,
    /// The devices as opened.
    pub(in crate::call) opened: Opened,
}

/// Starts the actor: sending, the members' players, the first events; on a failure to send,
/// everything started is stopped and the room left.
pub(in crate::call) async fn begin(
    b: Beginning,
) -> Result<(CallHandle, mpsc::Receiver<CallEvent>), CallError> {
    let Beginning {
        config,
        start,
        mixer,
        session,
        session_events,
        members,
        opened,
    } = b;
    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
    let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
    let (media_tx, media_rx) = mpsc::unbounded_channel();
    let (preview_tx, preview_rx) = watch::channel(None);
    let media = Arc::new(config.media.clone());
    let (view_tx, view_rx) = watch::channel(View::default());
    let keyframes = Keyframes::default();
    let keyframe_counters = keyframes.counters();
    let tile_watch = TileWatch::new(config.media.video_decoding);
    let tile_states = tile_watch.subscribe();
    let own_sound = SoundTaps::new();
    let mut actor = Actor {
        start,
        media: Arc::clone(&media),
        user_name: config.session.user_name.clone(),
        session: session.clone(),
        session_events,
        commands: commands_rx,
        events: events_tx,
        media_tx,
        media_rx,
        publisher: None,
        players: HashMap::new(),
        members,
        own_ids: HashSet::from([session.user_id()]),
        tiles: TileAssignment::default(),
        mixer: mixer.clone(),
        own_sound: own_sound.clone(),
        output: opened.output,
        mic_muted: config.start_muted,
        camera_enabled: !config.start_camera_off,
        video_input: if opened.video.is_some() {
            config.video.clone()
        } else {
            VideoInput::None
        },
        audio_input: if opened.audio.is_some() {
            config.audio.clone()
        } else {
            AudioInput::None
        },
        preview: preview_tx,
        showing: Arc::new(AtomicBool::new(!config.start_camera_off)),
        view: view_tx,
        generation: 0,
        keyframe_again: None,
        keyframe_requests: session.keyframe_requests(),
        receive: config.media.receive,
        processing: config.media.processing,
        keyframes,
        tile_watch,
        camera_switches: 0,
        sharing: SharingTeller::start(session.clone()),
        speaker_fallback: false,
    };
    actor
        .first_moves(opened.video, opened.audio, opened.errors)
        .await?;
    tokio::spawn(actor.run());
    let handle = CallHandle {
        commands: commands_tx,
        view: view_rx,
        session,
        preview: preview_rx,
        mixer,
        own_sound,
        media,
        keyframes: keyframe_counters,
        tile_states,
        recording: crate::recording::Slot::default(),
        layout: Arc::new(watch::channel(GridLayout::Grid).0),
    };
    Ok((handle, events_rx))
}

impl Actor {
    /// Starts sending, plays the members there and tells the first events; when sending
    /// cannot start, stops what started and leaves the room.
    async fn first_moves(
        &mut self,
        video: Option<Box<dyn VideoSource>>,
        audio: Option<Box<dyn AudioSource>>,
        errors: Vec<(DeviceKind, String)>,
    ) -> Result<(), CallError> {
        let session = self.session.clone();
        self.tell_sharing();
        if let Err(e) = self.start_publisher(session.push_url(), video, audio) {
            self.teardown().await;
            if let Err(left) = session.leave(LeaveMode::Leave).await {
                tracing::warn!("leaving after a failed start: {left}");
            }
            return Err(e.into());
        }
        self.retile().await;
        self.emit(CallEvent::Joined {
            room_id: session.room_id(),
            user_id: session.user_id(),
            members: self.participants(),
        });
        for (kind, message) in errors {
            self.emit(CallEvent::DeviceError { kind, message });
        }
        self.publish_view();
        Ok(())
    }
}
