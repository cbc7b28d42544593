//! The call actor: it owns the room session's events, the publisher and one player per played
//! member, and turns all of them into [`CallEvent`]s; [`CallHandle`]s send it commands and read
//! a snapshot it keeps current.

use crate::config::{
    AudioInput, AudioOutputChoice, CallConfig, MediaSettings, VideoInput, processing_for,
};
use crate::device_watch::{DeviceFallback, DeviceList, FallbackInput, InUse, fallback_for};
use crate::devices::{FrameSlot, Previewed, error_kind, open_audio, open_video};
use crate::diagnostics::Diagnostics;
use crate::event::{
    CallEvent, Link, LinkState, Participant, Placement, PlayerState, PublisherState,
    link_transition, player_state, publisher_state,
};
use crate::grid_view::GridView;
use crate::keyframe::{self, KeyframeFigures, Keyframes};
use crate::layout::GridLayout;
use crate::leaving::LeaveOptions;
use crate::receive::{Receive, Stream};
use crate::sharing::{SharingTeller, is_sharing};
use crate::speaker::open_output;
use crate::stats::{CallStats, RemoteStats};
use crate::streams::{self, LOOK_EVERY, TileStream};
use crate::tile_state::TileState;
use crate::tile_watch::{OwnSide, Played, TILE_LOOK_EVERY, TileStates, TileWatch};
use crate::tiles::{TileAssignment, TileChange, assign_tiles, tile_changes};
use image::RgbaImage;
use quartet_media::source::DeviceKind;
use quartet_media::{
    AudioMixer, AudioOutError, AudioOutput, AudioProcessing, AudioSource, EncodedVideo, PlayError,
    Player, PlayerConfig, PlayerEvent, PlayerHandle, PlayerStats, PublishError, Publisher,
    PublisherEvent, PublisherHandle, SoundTaps, SourceError, VideoFrame, VideoSource,
};
use quartet_room::{
    LeaveMode, Member, MembershipSource, SessionError, SessionEvent, SessionHandle, same_stream,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;

/// Events buffered for a slow receiver before newer ones are dropped (the snapshot behind
/// [`CallHandle`] stays exact regardless).
pub const EVENT_QUEUE: usize = 256;
/// Commands from handles waiting for the actor.
pub const COMMAND_QUEUE: usize = 16;
/// Without an event channel (an original v1 server, which cannot carry the newcomer's own
/// keyframe request), after a member joins, when our encoder is asked for a keyframe a second
/// time. The first ask goes out as the room tells us, before the newcomer's player is playing,
/// and a server without a keyframe cache (nginx-rtmp, CDNs) would leave that player waiting up
/// to a whole GOP for the next one (963–1,054 ms measured). Joining, connecting and starting to
/// play take about 0.2 s on a good link; asking again 400 ms after the room's word lands once
/// it plays, for one more keyframe per join.
pub const JOIN_KEYFRAME_AGAIN: Duration = Duration::from_millis(400);
/// Placeholder note of a remote tile whose first picture has not come yet.
pub const NOTE_CONNECTING: &str = "connecting";
/// Placeholder note of a tile whose member turned the camera off (or has none).
pub const NOTE_CAMERA_OFF: &str = "camera off";

/// Why a call could not start or a request failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The settings are unusable.
    #[error("invalid call settings: {0}")]
    InvalidConfig(String),
    /// The room server refused or could not be reached.
    #[error("room: {0}")]
    Room(#[from] SessionError),
    /// Sending could not start.
    #[error("cannot start sending: {0}")]
    Publish(#[from] PublishError),
    /// A device or file could not be opened; nothing was changed.
    #[error("{0}")]
    Device(#[from] SourceError),
    /// A speaker could not be opened; the current one stays.
    #[error("{0}")]
    Speaker(#[from] AudioOutError),
    /// A blocking task (opening devices) died.
    #[error("opening devices failed: {0}")]
    Task(String),
    /// The call has ended.
    #[error("the call has ended")]
    Ended,
}

/// How long a snapshot waits for a full-size picture: several frames at the lowest rate we
/// send; a stalled tile's snapshot is its last picture instead.
pub const SNAPSHOT_WAIT: Duration = Duration::from_secs(1);

/// One played remote member: its tile, and its player's pictures, packets and figures.
#[derive(Clone)]
pub struct Tile {
    /// The tile, `0..REMOTE_TILES` (grid position `slot + 1`).
    pub slot: usize,
    /// Who is played here.
    pub member: Member,
    /// Which of the member's streams is played.
    pub stream: Stream,
    /// How often the tile moved between the member's streams.
    pub stream_switches: u64,
    player: PlayerHandle,
    states: watch::Receiver<TileStates>,
}

impl std::fmt::Debug for Tile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tile")
            .field("slot", &self.slot)
            .field("member", &self.member.user_id)
            .finish_non_exhaustive()
    }
}

impl Tile {
    /// The latest decoded picture at tile size (`None` before the first).
    pub fn frames(&self) -> watch::Receiver<Option<Arc<VideoFrame>>> {
        self.player.frames()
    }

    /// The tile's picture for a snapshot: the next one at the stream's own size (the tile's
    /// frames are scaled to the tile), or the latest at tile size when none comes within
    /// [`SNAPSHOT_WAIT`]; `None` before the first picture.
    pub async fn snapshot_frame(&self) -> Option<Arc<VideoFrame>> {
        match self.player.full_size_frame(SNAPSHOT_WAIT).await {
            Some(full) => Some(full),
            None => self.frames().borrow().clone(),
        }
    }

    /// The H.264 access units as they arrive (for decoding elsewhere, e.g. WebCodecs).
    pub fn packets(&self) -> broadcast::Receiver<EncodedVideo> {
        self.player.packets()
    }

    /// The player's figures.
    pub fn stats(&self) -> PlayerStats {
        self.player.stats()
    }

    /// What the tile honestly shows now (see [`crate::tile_state`]).
    pub fn state(&self) -> TileState {
        let states = self.states.borrow();
        states
            .remote
            .get(&self.member.user_id)
            .copied()
            .unwrap_or_default()
    }

    /// Changes the size of decoded pictures (e.g. when the window is resized).
    pub fn set_size(&self, width: u32, height: u32) {
        self.player.set_tile_size(width, height);
    }
}

/// What handles can see of the call at any time.
#[derive(Clone, Default)]
pub(crate) struct View {
    pub(crate) user_name: String,
    pub(crate) members: Vec<Participant>,
    pub(crate) tiles: Vec<Tile>,
    pub(crate) publisher: Option<PublisherHandle>,
    pub(crate) mic_muted: bool,
    pub(crate) camera_enabled: bool,
    pub(crate) has_video: bool,
    pub(crate) ended: bool,
    /// The named devices in use, for following the machine's devices.
    pub(crate) in_use: InUse,
}

enum Command {
    Change {
        change: Change,
        reply: oneshot::Sender<()>,
    },
    Leave {
        mode: LeaveMode,
        reply: oneshot::Sender<Result<(), CallError>>,
    },
}

enum Change {
    MicMuted(bool),
    CameraEnabled(bool),
    Video {
        input: VideoInput,
        source: Option<Box<dyn VideoSource>>,
    },
    Audio {
        input: AudioInput,
        source: Option<Box<dyn AudioSource>>,
    },
    Output(AudioOutput),
    Receive(Receive),
    Processing(AudioProcessing),
}

/// A cloneable handle to a running call. The call ends when [`CallHandle::leave`] is called,
/// the room closes, or every handle is dropped (which leaves the room too).
#[derive(Clone)]
pub struct CallHandle {
    commands: mpsc::Sender<Command>,
    view: watch::Receiver<View>,
    session: SessionHandle,
    preview: FrameSlot,
    mixer: AudioMixer,
    /// Our sound as sent, from whichever publisher is sending (a recording taps it).
    own_sound: SoundTaps,
    media: Arc<MediaSettings>,
    keyframes: Arc<keyframe::Counters>,
    tile_states: watch::Receiver<TileStates>,
    /// The recording under way, shared by every handle.
    pub(crate) recording: crate::recording::Slot,
    /// How the person sees the grid, for snapshots and recordings.
    layout: Arc<watch::Sender<GridLayout>>,
}

impl std::fmt::Debug for CallHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallHandle")
            .field("room_id", &self.session.room_id())
            .field("user_id", &self.session.user_id())
            .finish_non_exhaustive()
    }
}

impl CallHandle {
    /// Our userID.
    pub fn user_id(&self) -> String {
        self.session.user_id()
    }

    /// The room's ID.
    pub fn room_id(&self) -> String {
        self.session.room_id()
    }

    /// Everyone in the room and where each is shown.
    pub fn members(&self) -> Vec<Participant> {
        self.view.borrow().members.clone()
    }

    /// The remote tile `slot` (`0..REMOTE_TILES`), when someone is played there.
    pub fn tile(&self, slot: usize) -> Option<Tile> {
        self.view
            .borrow()
            .tiles
            .iter()
            .find(|t| t.slot == slot)
            .cloned()
    }

    /// The played remote members, in tile order.
    pub fn tiles(&self) -> Vec<Tile> {
        self.view.borrow().tiles.clone()
    }

    /// Whether our microphone is muted.
    pub fn is_mic_muted(&self) -> bool {
        self.view.borrow().mic_muted
    }

    /// Whether our camera is on.
    pub fn is_camera_enabled(&self) -> bool {
        self.view.borrow().camera_enabled
    }

    /// What our own tile honestly shows now: camera off without a camera, not a frozen
    /// picture (see [`crate::tile_state`]).
    pub fn own_tile_state(&self) -> TileState {
        self.tile_states.borrow().own
    }

    /// Whether we have a camera (or another picture source) to send from.
    pub fn has_camera(&self) -> bool {
        self.view.borrow().has_video
    }

    /// Whether the call has ended.
    pub fn is_ended(&self) -> bool {
        self.view.borrow().ended
    }

    /// The latest picture we send (`None` with the camera off or without a camera).
    pub fn preview(&self) -> FrameSlot {
        self.preview.clone()
    }

    /// The room API calls and event-channel frames so far, and every stream's figures.
    pub fn diagnostics(&self) -> Diagnostics {
        let journal = self.session.journal();
        Diagnostics {
            api_calls: journal.calls(),
            events: journal.events(),
            stats: self.stats(),
        }
    }

    /// Our publisher and every remote player, right now.
    pub fn stats(&self) -> CallStats {
        let view = self.view.borrow().clone();
        CallStats {
            publisher: view.publisher.as_ref().map(PublisherHandle::stats),
            remotes: view
                .tiles
                .iter()
                .map(|t| RemoteStats {
                    user_id: t.member.user_id.clone(),
                    user_name: t.member.user_name.clone(),
                    tile: t.slot,
                    player: t.stats(),
                    stream: t.stream,
                    stream_switches: t.stream_switches,
                    state: t.state(),
                })
                .collect(),
            own_state: self.own_tile_state(),
            listed: view
                .members
                .iter()
                .filter(|p| p.placement == Placement::Listed)
                .count(),
            mix_level: self.mixer.level(),
        }
    }

    /// Our microphone's level now (RMS after cleaning, before muting; 0.0 without a
    /// publisher), for a live meter and the "talking while muted" hint.
    pub fn mic_level(&self) -> f32 {
        self.view
            .borrow()
            .publisher
            .as_ref()
            .map_or(0.0, PublisherHandle::mic_level)
    }

    /// Keyframe requests we sent and received, and keyframes forced for them, so far.
    pub fn keyframe_figures(&self) -> KeyframeFigures {
        self.keyframes.figures()
    }

    /// The grid as one `width`×`height` picture, laid out as on screen ([`Self::set_layout`]):
    /// us first, then the remote tiles in order; name labels, and a placeholder where there
    /// is no picture.
    pub fn snapshot_grid(&self, width: u32, height: u32) -> RgbaImage {
        self.grid_view().picture(width, height)
    }

    /// The named camera and microphone in use (devices that follow the system default are not
    /// named), to notice when one goes away.
    pub fn in_use(&self) -> InUse {
        self.view.borrow().in_use.clone()
    }

    /// Switches from every device in use that `now` no longer lists to the system default, and
    /// says which: a headset unplugged mid-call leaves the call on the built-in microphone.
    pub async fn follow_devices(&self, now: &DeviceList) -> Vec<DeviceFallback> {
        let fallbacks = fallback_for(&self.in_use(), now);
        for f in &fallbacks {
            let switched = match &f.now {
                FallbackInput::Video(input) => self.switch_camera(input.clone()).await,
                FallbackInput::Audio(input) => self.switch_microphone(input.clone()).await,
                FallbackInput::Output(choice) => self.switch_speaker(choice.clone()).await,
            };
            if let Err(e) = switched {
                tracing::warn!(kind = %f.kind, error = %e, "no default to fall back to");
            }
        }
        fallbacks
    }

    /// Lays the grid out as the person sees it, for snapshots and recordings.
    pub fn set_layout(&self, layout: GridLayout) {
        self.layout.send_replace(layout);
    }

    /// How the grid is laid out.
    pub fn layout(&self) -> GridLayout {
        *self.layout.borrow()
    }

    /// Our display name.
    pub(crate) fn own_name(&self) -> String {
        self.view.borrow().user_name.clone()
    }

    /// The mix our speaker plays.
    pub(crate) fn mixer(&self) -> &AudioMixer {
        &self.mixer
    }

    /// Our sound as sent: cleaned, silent while muted.
    pub(crate) fn own_sound(&self) -> &SoundTaps {
        &self.own_sound
    }

    /// What the grid shows, for a reader that must not keep the call alive (a recording).
    pub(crate) fn grid_view(&self) -> GridView {
        GridView {
            view: self.view.clone(),
            preview: self.preview.clone(),
            layout: self.layout.subscribe(),
        }
    }

    /// Mutes or unmutes our microphone: muted, the others hear silence.
    pub async fn set_mic_muted(&self, muted: bool) -> Result<(), CallError> {
        self.change(Change::MicMuted(muted)).await
    }

    /// Which of the members' streams our tiles receive from now on ("data saver": small only).
    pub async fn set_receive(&self, receive: Receive) -> Result<(), CallError> {
        self.change(Change::Receive(receive)).await
    }

    /// Switches echo cancellation, noise suppression and gain control of our microphone.
    pub async fn set_audio_processing(&self, processing: AudioProcessing) -> Result<(), CallError> {
        self.change(Change::Processing(processing)).await
    }

    /// Turns our camera on or off without leaving: off, the others see "camera off".
    pub async fn set_camera_enabled(&self, enabled: bool) -> Result<(), CallError> {
        self.change(Change::CameraEnabled(enabled)).await
    }

    /// Sends pictures from `input` from now on. A device that cannot be opened is an error
    /// and the current source stays.
    pub async fn switch_camera(&self, input: VideoInput) -> Result<(), CallError> {
        let media = Arc::clone(&self.media);
        let wanted = input.clone();
        let source = tokio::task::spawn_blocking(move || open_video(&wanted, &media))
            .await
            .map_err(|e| CallError::Task(e.to_string()))??;
        self.change(Change::Video { input, source }).await
    }

    /// Sends sound from `input` from now on. A device that cannot be opened is an error and
    /// the current source stays.
    pub async fn switch_microphone(&self, input: AudioInput) -> Result<(), CallError> {
        let wanted = input.clone();
        let source = tokio::task::spawn_blocking(move || open_audio(&wanted))
            .await
            .map_err(|e| CallError::Task(e.to_string()))??;
        self.change(Change::Audio { input, source }).await
    }

    /// Plays the others' sound on `choice` from now on. A speaker that cannot be opened is an
    /// error and the current one stays.
    pub async fn switch_speaker(&self, choice: AudioOutputChoice) -> Result<(), CallError> {
        let mixer = self.mixer.clone();
        let output = tokio::task::spawn_blocking(move || open_output(&choice, mixer))
            .await
            .map_err(|e| CallError::Task(e.to_string()))??;
        self.change(Change::Output(output)).await
    }

    /// Sends a text message to the room.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), CallError> {
        Ok(self.session.send_text(text).await?)
    }

    /// Whether we host, whether leaving would hand the room over and to whom.
    pub fn leave_options(&self) -> LeaveOptions {
        LeaveOptions::of(&self.session)
    }

    /// Stops sending and playing, leaves the room as `mode` says and waits until every thread
    /// has ended. Leaving a call that has already ended succeeds.
    pub async fn leave(&self, mode: LeaveMode) -> Result<(), CallError> {
        // The file is finished before the pictures and sound it records go away.
        if let Err(e) = self.stop_recording().await {
            tracing::warn!(error = %e, "the recording did not finish cleanly");
        }
        let (reply, answer) = oneshot::channel();
        if self
            .commands
            .send(Command::Leave { mode, reply })
            .await
            .is_err()
        {
            return Ok(());
        }
        // A dropped reply means the call ended on its own, after tearing everything down.
        answer.await.unwrap_or(Ok(()))
    }

    async fn change(&self, change: Change) -> Result<(), CallError> {
        let (reply, answer) = oneshot::channel();
        if let Err(refused) = self.commands.send(Command::Change { change, reply }).await {
            // Devices join their threads when dropped: not on a runtime thread.
            let _ = tokio::task::spawn_blocking(move || drop(refused)).await;
            return Err(CallError::Ended);
        }
        answer.await.map_err(|_| CallError::Ended)
    }
}

/// Starts calls.
pub struct Call;

struct Opened {
    video: Option<Box<dyn VideoSource>>,
    audio: Option<Box<dyn AudioSource>>,
    output: Option<AudioOutput>,
    errors: Vec<(DeviceKind, String)>,
}

fn open_all(config: &CallConfig, mixer: AudioMixer) -> Opened {
    let mut errors = Vec::new();
    let video = open_video(&config.video, &config.media).unwrap_or_else(|e| {
        tracing::warn!("no video: {e}");
        errors.push((error_kind(&e, DeviceKind::Camera), e.to_string()));
        None
    });
    let audio = open_audio(&config.audio).unwrap_or_else(|e| {
        tracing::warn!("no sound: {e}");
        errors.push((error_kind(&e, DeviceKind::Microphone), e.to_string()));
        None
    });
    // A missing or failing speaker costs the call its sound, not the call, and the user is
    // told; the mix still plays (into the null sink) so the call's timing and taps go on.
    let output = open_output(&config.output, mixer.clone())
        .or_else(|e| {
            tracing::warn!("no sound output: {e}");
            errors.push((DeviceKind::Speaker, e.to_string()));
            AudioOutput::null(mixer)
        })
        .map_err(|e| tracing::warn!("no null sink either: {e}"))
        .ok();
    Opened {
        video,
        audio,
        output,
        errors,
    }
}

impl Call {
    /// Joins the room, opens the devices (a missing one is a [`CallEvent::DeviceError`], not
    /// a failure), starts sending and plays the members already there. The first event is
    /// [`CallEvent::Joined`].
    pub async fn start(
        config: CallConfig,
    ) -> Result<(CallHandle, mpsc::Receiver<CallEvent>), CallError> {
        if let Some(problem) = config.media.problem() {
            return Err(CallError::InvalidConfig(problem));
        }
        let mixer = AudioMixer::new();
        let opening = {
            let config = config.clone();
            let mixer = mixer.clone();
            tokio::task::spawn_blocking(move || open_all(&config, mixer))
        };
        // Devices open while we join: both can take a while.
        let (joined, opened) = tokio::join!(quartet_room::connect(config.session.clone()), opening);
        let opened = opened.map_err(|e| CallError::Task(e.to_string()))?;
        let (session, mut session_events) = match joined {
            Ok(j) => j,
            Err(e) => {
                // Microphones and speakers join their threads when dropped.
                let _ = tokio::task::spawn_blocking(move || drop(opened)).await;
                return Err(e.into());
            }
        };
        let members = match session_events.recv().await {
            Some(SessionEvent::Joined { members, .. }) => members,
            _ => session.members(),
        };

        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
        let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
        let (media_tx, media_rx) = mpsc::unbounded_channel();
        let (preview_tx, preview_rx) = watch::channel(None);
        let media = Arc::new(config.media.clone());
        let (view_tx, view_rx) = watch::channel(View::default());
        let keyframes = Keyframes::default();
        let keyframe_counters = keyframes.counters();
        let tile_watch = TileWatch::new(config.media.decode_video);
        let tile_states = tile_watch.subscribe();
        let own_sound = SoundTaps::new();
        let mut actor = Actor {
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
        actor.tell_sharing();
        if let Err(e) = actor.start_publisher(session.push_url(), opened.video, opened.audio) {
            actor.teardown().await;
            if let Err(left) = session.leave(LeaveMode::Leave).await {
                tracing::warn!("leaving after a failed start: {left}");
            }
            return Err(e.into());
        }
        actor.retile().await;
        actor.emit(CallEvent::Joined {
            room_id: session.room_id(),
            user_id: session.user_id(),
            members: actor.participants(),
        });
        for (kind, message) in opened.errors {
            actor.emit(CallEvent::DeviceError { kind, message });
        }
        actor.publish_view();
        tokio::spawn(actor.run());
        Ok((
            CallHandle {
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
            },
            events_rx,
        ))
    }
}

enum MediaEvent {
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

struct Sending {
    handle: PublisherHandle,
    url: String,
    generation: u64,
    link: LinkState,
    forward: JoinHandle<()>,
}

struct Playing {
    handle: PlayerHandle,
    member: Member,
    slot: usize,
    generation: u64,
    link: LinkState,
    forward: JoinHandle<()>,
    /// Which of the member's streams it plays, and why.
    stream: TileStream,
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

/// Whether the actor carries on after an event.
enum Flow {
    Continue,
    Closed(String),
}

struct Actor {
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
            publisher: self.publisher.as_ref().map(|p| &p.handle),
            camera_off: !self.camera_enabled || self.video_input == VideoInput::None,
            switches: self.camera_switches,
        };
        let played = self.players.values().map(|p| Played {
            user_id: &p.member.user_id,
            player: &p.handle,
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

    fn start_publisher(
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
        let (handle, events) = Publisher::start_with_small(config, small, None, None)?;
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

    fn previewed(&self, video: Box<dyn VideoSource>) -> Box<dyn VideoSource> {
        Box::new(Previewed::new(
            video,
            self.preview.clone(),
            Arc::clone(&self.showing),
        ))
    }

    async fn stop_publisher(&mut self) {
        if let Some(p) = self.publisher.take() {
            p.forward.abort();
            p.handle.stop_async().await;
        }
        self.preview.send_replace(None);
    }

    /// Restarts sending to a new URL (after a rejoin with a new identity), with the same
    /// devices and the same mute and camera state.
    async fn republish(&mut self, url: String) {
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

    fn device_or_none<T>(
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

    fn start_player(&mut self, member: &Member, slot: usize) {
        let stream = TileStream::start(member, self.receive);
        let mut config = PlayerConfig::new(
            streams::url(member, stream.stream()).to_owned(),
            self.media.tile_width,
            self.media.tile_height,
        )
        .with_mixer(self.mixer.clone());
        config.decode_video = self.media.decode_video;
        let started: Result<_, PlayError> = Player::start(config);
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

    async fn stop_player(&mut self, user_id: &str) {
        self.keyframes.player_gone(user_id);
        if let Some(p) = self.players.remove(user_id) {
            p.forward.abort();
            p.handle.stop_async().await;
            self.emit(CallEvent::PlayerState {
                user_id: user_id.to_owned(),
                state: PlayerState::Stopped,
            });
        }
    }

    /// Takes a member's new details; its player, if any, takes the new play URL.
    async fn member_changed(&mut self, member: &Member) {
        if let Some(m) = self
            .members
            .iter_mut()
            .find(|m| m.user_id == member.user_id)
        {
            *m = member.clone();
        }
        // The same player takes the new URL, so its pictures and whoever watches them carry
        // on: a new signature is used from the next connection, a moved stream is connected to
        // at once.
        let mut restart = None;
        if let Some(p) = self.players.get_mut(&member.user_id) {
            let stream = p.stream.stream();
            let (old, new) = (
                streams::url(&p.member, stream),
                streams::url(member, stream),
            );
            if old != new {
                match p.handle.set_url(new.to_owned()) {
                    Ok(()) if same_stream(old, new) => {}
                    Ok(()) => p.handle.reconnect(),
                    Err(_) => restart = Some(p.slot),
                }
            }
        }
        if let Some(slot) = restart {
            self.stop_player(&member.user_id).await;
            self.start_player(member, slot);
        } else if let Some(p) = self.players.get_mut(&member.user_id) {
            p.member = member.clone();
        }
    }

    /// Re-assigns the tiles to the members now present; stops and starts players to match.
    async fn retile(&mut self) -> Vec<TileChange> {
        let present: Vec<String> = self
            .members
            .iter()
            .filter(|m| !self.is_me(m))
            .map(|m| m.user_id.clone())
            .collect();
        let next = assign_tiles(&self.tiles, &present);
        let changes = tile_changes(&self.tiles, &next);
        self.tiles = next;
        for change in &changes {
            match change {
                TileChange::Freed { user_id, .. } => self.stop_player(user_id).await,
                TileChange::Played { user_id, slot } => {
                    if let Some(m) = self.members.iter().find(|m| &m.user_id == user_id) {
                        let m = m.clone();
                        self.start_player(&m, *slot);
                    }
                }
            }
        }
        changes
    }

    async fn session_event(&mut self, event: SessionEvent) -> Flow {
        match event {
            SessionEvent::Joined { members, .. } => {
                self.members = members;
                self.retile().await;
            }
            SessionEvent::MemberJoined(member) => {
                let me = self.is_me(&member);
                match self
                    .members
                    .iter_mut()
                    .find(|m| m.user_id == member.user_id)
                {
                    Some(m) => *m = member.clone(),
                    None => self.members.push(member.clone()),
                }
                if !me {
                    self.retile().await;
                    // With an event channel the newcomer's player asks for a keyframe once
                    // it plays (see `keyframe`), and an ask of ours now would only push its
                    // answer back by the forced-keyframe spacing (measured: 414–447 ms to a
                    // first picture through nginx-rtmp with these asks, 183–230 ms without).
                    // A v1 server carries no such request: then nginx-rtmp and CDNs, which
                    // cache no keyframe, would leave the newcomer waiting a GOP, so ask now
                    // (a polled server tells us late) and again once it likely plays.
                    if self.session.membership_source() == MembershipSource::Polling {
                        self.request_keyframe();
                        // Joins in a burst share one ask, after the last of them.
                        self.keyframe_again =
                            Some(tokio::time::Instant::now() + JOIN_KEYFRAME_AGAIN);
                    }
                    self.emit(CallEvent::MemberJoined(self.participant(&member)));
                }
            }
            SessionEvent::MemberLeft(member) => {
                let freed_tile = self.tiles.slot_of(&member.user_id);
                self.members.retain(|m| m.user_id != member.user_id);
                let changes = self.retile().await;
                if !self.is_me(&member) {
                    self.emit(CallEvent::MemberLeft { member, freed_tile });
                }
                for change in changes {
                    if let TileChange::Played { user_id, .. } = change
                        && let Some(m) = self.members.iter().find(|m| m.user_id == user_id)
                    {
                        self.emit(CallEvent::MemberPromoted(self.participant(m)));
                    }
                }
            }
            SessionEvent::MemberUpdated(member) => {
                self.member_changed(&member).await;
                self.emit(CallEvent::MemberUpdated(self.participant(&member)));
            }
            SessionEvent::PlayUrlRenewed(member) => self.member_changed(&member).await,
            SessionEvent::BecameCreator => {
                if let Some(me) = self.members.iter_mut().find(|m| m.is_self) {
                    me.is_creator = true;
                }
                self.emit(CallEvent::BecameHost);
            }
            SessionEvent::Text {
                user_id,
                nick_name,
                text,
                time,
                ..
            } => self.emit(CallEvent::Text {
                user_id,
                nick_name,
                text,
                time,
            }),
            SessionEvent::RoomClosed { reason } => return Flow::Closed(reason),
            SessionEvent::ConnectionLost => self.emit(CallEvent::Reconnecting(Link::Room)),
            SessionEvent::ConnectionRestored => self.emit(CallEvent::Reconnected(Link::Room)),
            SessionEvent::Rejoined { user_id, push_url } => {
                self.own_ids.insert(user_id);
                let current = self.publisher.as_ref().map(|p| p.url.as_str());
                if current != Some(push_url.as_str()) {
                    self.republish(push_url).await;
                }
                // Our identity may have changed: re-read who is who.
                self.members = self.session.members();
                self.retile().await;
                self.emit(CallEvent::Reconnected(Link::Room));
            }
        }
        self.publish_view();
        Flow::Continue
    }

    fn media_event(&mut self, event: MediaEvent) {
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
                        self.emit(CallEvent::DeviceError {
                            kind: error_kind(e, DeviceKind::Camera),
                            message: e.to_string(),
                        });
                        self.publish_view();
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
                    let _ = tokio::task::spawn_blocking(move || old.stop()).await;
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
            let _ = tokio::task::spawn_blocking(move || output.stop()).await;
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
