//! The call's public face: [`CallHandle`], [`Tile`], and the snapshot of the call they read.

use super::CallError;
use crate::config::{AudioInput, AudioOutputChoice, MediaSettings, VideoInput};
use crate::device_watch::{DeviceFallback, DeviceList, FallbackInput, InUse, fallback_for};
use crate::devices::{FrameSlot, open_audio, open_video};
use crate::diagnostics::Diagnostics;
use crate::event::{Participant, Placement};
use crate::grid_view::GridView;
use crate::keyframe::{self, KeyframeFigures};
use crate::layout::GridLayout;
use crate::leaving::LeaveOptions;
use crate::media_port::{PlayControl, SendControl};
use crate::member_watch::MemberWatch;
use crate::receive::{Receive, Stream};
use crate::speaker::open_output;
use crate::stats::{CallStats, RemoteStats};
use crate::tile_state::TileState;
use crate::tile_watch::TileStates;
use image::RgbaImage;
use quartet_media::{
    AudioMixer, AudioOutput, AudioProcessing, AudioSource, EncodedVideo, PlayerStats, SoundTaps,
    VideoFrame, VideoSource,
};
use quartet_room::{LeaveMode, Member, SessionHandle};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

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
    /// Which player plays the tile (see [`Tile::player_id`]).
    pub(super) player_id: u64,
    pub(super) player: Arc<dyn PlayControl>,
    pub(super) states: watch::Receiver<TileStates>,
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
    /// Which player plays the tile: a player that replaces the member's (after a re-join, or
    /// one that had to be restarted) has another ID, so its watchers know to move on to it.
    pub fn player_id(&self) -> u64 {
        self.player_id
    }

    /// The latest decoded picture at tile size (`None` before the first); while a receiver
    /// lives, every picture of the tile is decoded.
    pub fn frames(&self) -> watch::Receiver<Option<Arc<VideoFrame>>> {
        self.player.frames()
    }

    /// The latest decoded picture at tile size, read without asking for every picture to be
    /// decoded (decoding on demand, it may be the latest keyframe's).
    pub fn latest_frame(&self) -> Option<Arc<VideoFrame>> {
        self.player.latest_frame()
    }

    /// The tile's picture for a snapshot: the next one at the stream's own size (the tile's
    /// frames are scaled to the tile), or the latest at tile size when none comes within
    /// [`SNAPSHOT_WAIT`]; `None` before the first picture.
    pub async fn snapshot_frame(&self) -> Option<Arc<VideoFrame>> {
        match self.player.full_size_frame(SNAPSHOT_WAIT).await {
            Some(full) => Some(full),
            None => self.latest_frame(),
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
    pub(crate) publisher: Option<Arc<dyn SendControl>>,
    pub(crate) mic_muted: bool,
    pub(crate) camera_enabled: bool,
    pub(crate) has_video: bool,
    pub(crate) ended: bool,
    /// The named devices in use, for following the machine's devices.
    pub(crate) in_use: InUse,
}

/// What handles ask of the actor.
pub(super) enum Command {
    Change {
        change: Change,
        reply: oneshot::Sender<()>,
    },
    Leave {
        mode: LeaveMode,
        reply: oneshot::Sender<Result<(), CallError>>,
    },
}

/// A change to the call's devices or settings.
pub(super) enum Change {
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
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) view: watch::Receiver<View>,
    pub(super) session: SessionHandle,
    pub(super) preview: FrameSlot,
    pub(super) mixer: AudioMixer,
    /// Our sound as sent, from whichever publisher is sending (a recording taps it).
    pub(super) own_sound: SoundTaps,
    pub(super) media: Arc<MediaSettings>,
    pub(super) keyframes: Arc<keyframe::Counters>,
    pub(super) tile_states: watch::Receiver<TileStates>,
    /// The recording under way, shared by every handle.
    pub(crate) recording: crate::recording::Slot,
    /// How the person sees the grid, for snapshots and recordings.
    pub(super) layout: Arc<watch::Sender<GridLayout>>,
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

    /// The tile playing member `user_id`, when it is played.
    pub fn played(&self, user_id: &str) -> Option<Tile> {
        self.view
            .borrow()
            .tiles
            .iter()
            .find(|t| t.member.user_id == user_id)
            .cloned()
    }

    /// Follows member `user_id`: whether it is played and by which player, listed, or gone.
    /// The watch keeps no call alive.
    pub fn watch_member(&self, user_id: &str) -> MemberWatch {
        MemberWatch::new(self.view.clone(), user_id)
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
            publisher: view.publisher.as_ref().map(|p| p.stats()),
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
            .map_or(0.0, |p| p.mic_level())
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

    /// Brings every tile's latest picture up to date before a snapshot: a player decoding on
    /// demand holds its latest keyframe's picture, up to a few seconds old, until someone asks
    /// for more. Waits for each tile's next picture, at most [`SNAPSHOT_WAIT`] in all.
    pub async fn refresh_pictures(&self) {
        let mut asked: Vec<_> = self
            .tiles()
            .iter()
            .map(|t| {
                let mut frames = t.frames();
                frames.mark_unchanged();
                frames
            })
            .collect();
        let deadline = tokio::time::Instant::now() + SNAPSHOT_WAIT;
        for frames in &mut asked {
            let _ = tokio::time::timeout_at(deadline, frames.changed()).await;
        }
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
            watched: None,
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
