//! The call as the page sees it: what it asks for (a [`JoinRequest`]), the events it gets
//! back (an [`EventDto`] per [`CallEvent`]) and the figures of the stats overlay. All the work
//! is `quartet-call`'s; this module only translates and keeps the current call.

use crate::error::AppError;
use crate::lobby::{DEFAULT_AVATAR, DEFAULT_CREATE_KIND, parse_server_url, room_kind};
use crate::preview::device_word;
use quartet_call::{
    AudioInput, AudioOutputChoice, AudioProcessing, Call, CallConfig, CallEvent, CallHandle,
    CallStats, LeaveMode, LeaveOptions, Link, MediaSettings, Participant, Placement, PlayerState,
    PublisherState, QualityTracker, Receive, SendQuality, VideoInput,
};
use quartet_proto::RoomKind;
use quartet_room::{JoinTarget, SessionConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, mpsc};

/// Which room to be in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TargetChoice {
    /// Create a room with this name.
    #[serde(rename_all = "camelCase")]
    Create {
        /// The new room's name.
        room_name: String,
        /// Its kind; [`DEFAULT_CREATE_KIND`] when absent.
        #[serde(default)]
        room_kind: Option<RoomKind>,
    },
    /// Join the room with this ID.
    #[serde(rename_all = "camelCase")]
    Join {
        /// The room's ID.
        room_id: String,
        /// The kind it is listed under; asked of the server when absent (an ID typed in).
        #[serde(default)]
        room_kind: Option<RoomKind>,
    },
}

impl TargetChoice {
    /// The room kind this target names, if it names one (a new room always does).
    pub fn known_kind(&self) -> Option<RoomKind> {
        match self {
            TargetChoice::Create { room_kind, .. } => {
                Some(room_kind.unwrap_or(DEFAULT_CREATE_KIND))
            }
            TargetChoice::Join { room_kind, .. } => *room_kind,
        }
    }
}

/// Where our pictures come from, as the pre-join offers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum VideoChoice {
    /// A camera (the first one when `id` is absent).
    Camera {
        /// The camera's id.
        id: Option<String>,
    },
    /// The moving test pattern with our name.
    Synthetic,
    /// A screen or window, shared (the main screen when `id` is absent).
    Screen {
        /// Its id, as `screen_sources` lists it.
        id: Option<String>,
        /// A camera (or the test pattern) shown in the screen's corner.
        #[serde(default)]
        corner: Option<Box<VideoChoice>>,
    },
    /// No camera.
    None,
}

/// Where our sound comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AudioChoice {
    /// A microphone (the default one when `name` is absent).
    Microphone {
        /// The microphone's name.
        name: Option<String>,
    },
    /// A steady test tone.
    Tone,
    /// No microphone.
    None,
}

impl VideoChoice {
    /// The call's input for this choice; the test pattern shows `nickname`.
    pub fn input(&self, nickname: &str) -> VideoInput {
        match self {
            VideoChoice::Camera { id } => VideoInput::Camera(id.clone()),
            VideoChoice::Synthetic => VideoInput::Synthetic {
                name: nickname.to_owned(),
            },
            VideoChoice::Screen { id, corner: None } => VideoInput::Screen(id.clone()),
            VideoChoice::Screen {
                id,
                corner: Some(corner),
            } => VideoInput::ScreenWithCorner {
                screen: id.clone(),
                corner: Box::new(corner.input(nickname)),
            },
            VideoChoice::None => VideoInput::None,
        }
    }
}

impl AudioChoice {
    /// The call's input for this choice.
    pub fn input(&self) -> AudioInput {
        match self {
            AudioChoice::Microphone { name } => AudioInput::Microphone(name.clone()),
            AudioChoice::Tone => AudioInput::Tone,
            AudioChoice::None => AudioInput::None,
        }
    }
}

/// Everything the pre-join screen decided.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    /// The room server's address.
    pub server: String,
    /// Our nickname.
    pub nickname: String,
    /// The room.
    pub target: TargetChoice,
    /// Camera choice.
    pub video: VideoChoice,
    /// Microphone choice.
    pub audio: AudioChoice,
    /// The speaker's name; the default one when absent.
    pub speaker: Option<String>,
    /// Join with the microphone muted.
    #[serde(default)]
    pub start_muted: bool,
    /// Join with the camera off.
    #[serde(default)]
    pub start_camera_off: bool,
    /// Data saver: play the others' small streams only.
    #[serde(default)]
    pub data_saver: bool,
    /// How the microphone is cleaned; everything on when absent.
    #[serde(default)]
    pub audio_processing: AudioProcessingDto,
    /// The picture we send (`360p15`, `540p30`, `720p15`, `720p30`); the usual one when absent.
    #[serde(default)]
    pub send_quality: Option<String>,
}

/// The microphone cleaning switches, as the page sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioProcessingDto {
    /// Echo cancellation.
    pub echo_cancellation: bool,
    /// Noise suppression.
    pub noise_suppression: bool,
    /// Automatic gain control.
    pub gain_control: bool,
}

impl Default for AudioProcessingDto {
    fn default() -> Self {
        AudioProcessingDto::from(AudioProcessing::ALL)
    }
}

impl From<AudioProcessing> for AudioProcessingDto {
    fn from(p: AudioProcessing) -> Self {
        AudioProcessingDto {
            echo_cancellation: p.echo_cancellation,
            noise_suppression: p.noise_suppression,
            gain_control: p.gain_control,
        }
    }
}

impl From<AudioProcessingDto> for AudioProcessing {
    fn from(p: AudioProcessingDto) -> Self {
        AudioProcessing {
            echo_cancellation: p.echo_cancellation,
            noise_suppression: p.noise_suppression,
            gain_control: p.gain_control,
        }
    }
}

/// What tiles receive with the data saver on or off.
pub fn receive_for(data_saver: bool) -> Receive {
    if data_saver {
        Receive::Small
    } else {
        Receive::Auto
    }
}

impl JoinRequest {
    /// The call configuration for this request, in a room of `kind`.
    pub fn config(&self, kind: RoomKind) -> Result<CallConfig, AppError> {
        let nickname = self.nickname.trim();
        if nickname.is_empty() {
            return Err(AppError::InvalidInput("the nickname is empty".into()));
        }
        let target = match &self.target {
            TargetChoice::Create { room_name, .. } if !room_name.trim().is_empty() => {
                JoinTarget::Create {
                    room_name: room_name.trim().to_owned(),
                }
            }
            TargetChoice::Join { room_id, .. } if !room_id.trim().is_empty() => JoinTarget::Join {
                room_id: room_id.trim().to_owned(),
            },
            _ => return Err(AppError::InvalidInput("no room was chosen".into())),
        };
        let session = SessionConfig::new(
            parse_server_url(&self.server)?,
            kind,
            target,
            nickname,
            DEFAULT_AVATAR,
        );
        let mut media = MediaSettings {
            receive: receive_for(self.data_saver),
            processing: self.audio_processing.into(),
            ..MediaSettings::default()
        };
        let quality = match self.send_quality.as_deref() {
            None => SendQuality::default(),
            Some(name) => SendQuality::from_name(name).ok_or_else(|| {
                AppError::InvalidInput(format!("no such picture quality: {name}"))
            })?,
        };
        quality.apply(&mut media);
        Ok(CallConfig {
            media,
            video: self.video.input(nickname),
            audio: self.audio.input(),
            output: speaker_choice(self.speaker.clone()),
            start_muted: self.start_muted,
            start_camera_off: self.start_camera_off,
            ..CallConfig::new(session)
        })
    }
}

/// A member as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberDto {
    /// The member's userID.
    pub user_id: String,
    /// Nickname.
    pub user_name: String,
    /// Created the room.
    pub is_creator: bool,
    /// This is us.
    pub is_self: bool,
    /// The remote tile it is played in (`0..3`), if any.
    pub tile: Option<usize>,
    /// Its stream shows a shared screen.
    pub sharing_screen: bool,
}

impl From<&Participant> for MemberDto {
    fn from(p: &Participant) -> Self {
        MemberDto {
            user_id: p.member.user_id.clone(),
            user_name: p.member.user_name.clone(),
            is_creator: p.member.is_creator,
            is_self: p.placement == Placement::Own || p.member.is_self,
            tile: match p.placement {
                Placement::Tile(slot) => Some(slot),
                Placement::Own | Placement::Listed => None,
            },
            sharing_screen: p.member.sharing_screen,
        }
    }
}

/// A connection that can drop and come back: `room`, `publisher` or a member's `player`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkDto {
    /// `room`, `publisher` or `player`.
    pub kind: &'static str,
    /// Whose player.
    pub user_id: Option<String>,
}

impl From<Link> for LinkDto {
    fn from(link: Link) -> Self {
        match link {
            Link::Room => LinkDto {
                kind: "room",
                user_id: None,
            },
            Link::Publisher => LinkDto {
                kind: "publisher",
                user_id: None,
            },
            Link::Player(id) => LinkDto {
                kind: "player",
                user_id: Some(id),
            },
        }
    }
}

/// A call event as the page gets it (`type` tells which).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum EventDto {
    /// We are in the room.
    #[serde(rename_all = "camelCase")]
    Joined {
        /// The room.
        room_id: String,
        /// Our userID.
        user_id: String,
        /// Everyone, us included.
        members: Vec<MemberDto>,
    },
    /// Someone joined.
    MemberJoined {
        /// Who, and where shown.
        member: MemberDto,
    },
    /// Someone left.
    #[serde(rename_all = "camelCase")]
    MemberLeft {
        /// Who.
        member: MemberDto,
        /// The tile they held.
        freed_tile: Option<usize>,
    },
    /// The host left and handed the room to us.
    BecameHost,
    /// A listed member got a tile.
    MemberPromoted {
        /// Who, and which tile.
        member: MemberDto,
    },
    /// Someone's name, avatar, role or stream changed.
    MemberUpdated {
        /// Who, as now.
        member: MemberDto,
    },
    /// A text message.
    #[serde(rename_all = "camelCase")]
    Text {
        /// Sender.
        user_id: String,
        /// Sender's nickname.
        nick_name: String,
        /// The text.
        text: String,
        /// Unix ms.
        time: u64,
    },
    /// The room is gone; the call has ended.
    RoomClosed {
        /// The server's reason.
        reason: String,
    },
    /// A link dropped and is being retried.
    Reconnecting {
        /// Which.
        link: LinkDto,
    },
    /// A link is back.
    Reconnected {
        /// Which.
        link: LinkDto,
    },
    /// A device is missing or failed; the call goes on without it.
    DeviceError {
        /// `camera`, `microphone` or `speaker`.
        device: &'static str,
        /// The system's words.
        message: String,
    },
    /// Our uplink is too narrow: we now send this much.
    #[serde(rename_all = "camelCase")]
    UplinkLimited {
        /// Width sent.
        width: u32,
        /// Height sent.
        height: u32,
        /// Frames per second sent.
        fps: u32,
        /// Video bitrate asked of the encoder, kbit/s.
        video_kbps: u32,
    },
    /// Our stream's state.
    PublisherState {
        /// `connecting`, `live`, `disconnected` or `stopped`.
        state: &'static str,
    },
    /// A member's stream state.
    #[serde(rename_all = "camelCase")]
    PlayerState {
        /// Whose.
        user_id: String,
        /// `connecting`, `playing`, `firstFrame`, `disconnected`, `failed` or `stopped`.
        state: &'static str,
    },
}

impl From<CallEvent> for EventDto {
    fn from(event: CallEvent) -> Self {
        match event {
            CallEvent::Joined {
                room_id,
                user_id,
                members,
            } => EventDto::Joined {
                room_id,
                user_id,
                members: members.iter().map(MemberDto::from).collect(),
            },
            CallEvent::MemberJoined(p) => EventDto::MemberJoined {
                member: (&p).into(),
            },
            CallEvent::MemberLeft { member, freed_tile } => EventDto::MemberLeft {
                member: MemberDto {
                    user_id: member.user_id,
                    user_name: member.user_name,
                    is_creator: member.is_creator,
                    is_self: member.is_self,
                    tile: None,
                    sharing_screen: false,
                },
                freed_tile,
            },
            CallEvent::MemberPromoted(p) => EventDto::MemberPromoted {
                member: (&p).into(),
            },
            CallEvent::MemberUpdated(p) => EventDto::MemberUpdated {
                member: (&p).into(),
            },
            CallEvent::Text {
                user_id,
                nick_name,
                text,
                time,
            } => EventDto::Text {
                user_id,
                nick_name,
                text,
                time,
            },
            CallEvent::BecameHost => EventDto::BecameHost,
            CallEvent::RoomClosed { reason } => EventDto::RoomClosed { reason },
            CallEvent::Reconnecting(link) => EventDto::Reconnecting { link: link.into() },
            CallEvent::Reconnected(link) => EventDto::Reconnected { link: link.into() },
            CallEvent::DeviceError { kind, message } => EventDto::DeviceError {
                device: device_word(kind),
                message,
            },
            CallEvent::UplinkLimited {
                width,
                height,
                fps,
                video_kbps,
            } => EventDto::UplinkLimited {
                width,
                height,
                fps,
                video_kbps,
            },
            CallEvent::PublisherState(s) => EventDto::PublisherState {
                state: match s {
                    PublisherState::Connecting { .. } => "connecting",
                    PublisherState::Live => "live",
                    PublisherState::Disconnected { .. } => "disconnected",
                    PublisherState::Stopped => "stopped",
                },
            },
            CallEvent::PlayerState { user_id, state } => EventDto::PlayerState {
                user_id,
                state: match state {
                    PlayerState::Connecting { .. } => "connecting",
                    PlayerState::Playing => "playing",
                    PlayerState::FirstFrame { .. } => "firstFrame",
                    PlayerState::Disconnected { .. } => "disconnected",
                    PlayerState::Failed { .. } => "failed",
                    PlayerState::Stopped => "stopped",
                },
            },
        }
    }
}

/// The call as it is when the page starts showing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallInfo {
    /// The room.
    pub room_id: String,
    /// Our userID.
    pub user_id: String,
    /// Everyone, us included.
    pub members: Vec<MemberDto>,
    /// Our microphone is muted.
    pub mic_muted: bool,
    /// Our camera is on.
    pub camera_enabled: bool,
    /// We have a camera (or another picture source) to send from.
    pub has_camera: bool,
}

impl CallInfo {
    /// The current state of `call`.
    pub fn of(call: &CallHandle) -> CallInfo {
        CallInfo {
            room_id: call.room_id(),
            user_id: call.user_id(),
            members: call.members().iter().map(MemberDto::from).collect(),
            mic_muted: call.is_mic_muted(),
            camera_enabled: call.is_camera_enabled(),
            has_camera: call.has_camera(),
        }
    }
}

/// Our stream's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublisherStatsDto {
    /// Connected to the RTMP server.
    pub connected: bool,
    /// Frames encoded per second.
    pub fps: f64,
    /// kbit/s sent.
    pub kbps: f64,
    /// Frames dropped because encoding or the network fell behind.
    pub dropped_frames: u64,
    /// Level of the microphone's latest sound, muted or not (0.0 silence).
    pub mic_level: f32,
    /// Width sent (less than configured while our uplink is narrow).
    pub width: u32,
    /// Height sent.
    pub height: u32,
    /// Video bitrate asked of the encoder, kbit/s.
    pub target_kbps: u32,
    /// Sending less than configured because our own uplink cannot carry it.
    pub uplink_limited: bool,
}

/// One remote tile's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteStatsDto {
    /// Whose.
    pub user_id: String,
    /// The tile.
    pub tile: usize,
    /// Connected to the RTMP server.
    pub connected: bool,
    /// Frames shown per second.
    pub fps: f64,
    /// kbit/s received.
    pub kbps: f64,
    /// Capture → shown latency, median, ms.
    pub latency_ms_p50: Option<f64>,
    /// Capture → shown latency, 95th percentile, ms.
    pub latency_ms_p95: Option<f64>,
    /// Level of their latest sound (0.0 silence).
    pub audio_level: f32,
    /// Frames decoded since start.
    pub frames_decoded: u64,
    /// Their latest picture is a "camera off" frame.
    pub video_off: bool,
    /// Connection quality of the tile: `good`, `poor` or `bad` (`quartet_call::quality`).
    pub quality: &'static str,
    /// Which of the member's streams the tile plays: `main` or `small`.
    pub stream: &'static str,
    /// What the tile shows (`quartet_call::TileState`): `connecting`, `waitingForStream`,
    /// `live`, `cameraOff`, `stalled`, `reconnecting` or `gone`.
    pub state: &'static str,
}

/// The call's figures for the stats overlay and the speaking highlight.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsDto {
    /// Our stream.
    pub publisher: Option<PublisherStatsDto>,
    /// Each played member.
    pub remotes: Vec<RemoteStatsDto>,
    /// Members listed but not played.
    pub listed: usize,
    /// What our own tile shows, named as a remote tile's `state`.
    pub own_state: &'static str,
    /// We have a camera (or another picture source) to send from.
    pub has_camera: bool,
}

impl StatsDto {
    /// The figures of `call`, with each tile's camera-off state read from its latest picture.
    pub fn of(call: &CallHandle) -> StatsDto {
        let mut dto = StatsDto::from(call.stats());
        dto.has_camera = call.has_camera();
        for tile in call.tiles() {
            let off = tile
                .frames()
                .borrow()
                .as_ref()
                .is_some_and(|f| f.is_blank());
            if let Some(r) = dto.remotes.iter_mut().find(|r| r.tile == tile.slot) {
                r.video_off = off;
            }
        }
        dto
    }

    /// The figures of `call` with each tile's connection quality, which `tracker` keeps
    /// steady from one look to the next.
    pub fn with_quality(call: &CallHandle, tracker: &mut QualityTracker) -> StatsDto {
        let stats = call.stats();
        let mut dto = StatsDto::of(call);
        // What a sender means to send is not known here (a v1 client, another size, a publisher
        // adapting to its uplink, a still scene that encodes small), so bitrate does not judge:
        // latency and skipped frames do.
        let quality = tracker.update(&stats, |_| None, std::time::Instant::now());
        for r in &mut dto.remotes {
            if let Some(q) = quality.get(&r.user_id) {
                r.quality = q.as_str();
            }
        }
        dto
    }
}

/// The speaker named `name`, or the system default.
pub fn speaker_choice(name: Option<String>) -> AudioOutputChoice {
    name.map_or(AudioOutputChoice::Default, AudioOutputChoice::Device)
}

impl From<CallStats> for StatsDto {
    fn from(s: CallStats) -> Self {
        StatsDto {
            publisher: s.publisher.map(|p| PublisherStatsDto {
                connected: p.connected,
                fps: p.fps,
                kbps: p.kbps,
                dropped_frames: p.dropped_frames,
                mic_level: p.mic_level,
                width: p.rung.width,
                height: p.rung.height,
                target_kbps: p.target_kbps,
                uplink_limited: p.uplink_limited,
            }),
            remotes: s
                .remotes
                .into_iter()
                .map(|r| RemoteStatsDto {
                    user_id: r.user_id,
                    tile: r.tile,
                    connected: r.player.connected,
                    fps: r.player.fps,
                    kbps: r.player.kbps,
                    latency_ms_p50: r.player.latency_ms_p50,
                    latency_ms_p95: r.player.latency_ms_p95,
                    audio_level: r.player.audio_level,
                    frames_decoded: r.player.frames_decoded,
                    video_off: false,
                    quality: quartet_call::Quality::Good.as_str(),
                    stream: r.stream.as_str(),
                    state: r.state.as_str(),
                })
                .collect(),
            listed: s.listed,
            own_state: s.own_state.as_str(),
            // Known to the handle, not the figures: `StatsDto::of` fills it in.
            has_camera: true,
        }
    }
}

struct Active {
    call: CallHandle,
    server: String,
    kind: RoomKind,
    demo: Vec<CallHandle>,
}

/// The current call (one at a time) and the demo members it brought.
#[derive(Default)]
pub struct CallService {
    active: Mutex<Option<Active>>,
    /// Each tile's quality indicator, kept between the page's looks at the figures.
    quality: std::sync::Mutex<QualityTracker>,
}

impl CallService {
    /// Starts a call; its events go to `on_event` until it ends.
    pub async fn start(
        &self,
        request: JoinRequest,
        on_event: impl Fn(EventDto) -> bool + Send + 'static,
    ) -> Result<CallInfo, AppError> {
        let mut active = self.active.lock().await;
        if active.as_ref().is_some_and(|a| !a.call.is_ended()) {
            return Err(AppError::AlreadyInCall);
        }
        let kind = match &request.target {
            TargetChoice::Join {
                room_id,
                room_kind: known,
            } => room_kind(&request.server, room_id.trim(), *known).await?,
            create => create.known_kind().unwrap_or(DEFAULT_CREATE_KIND),
        };
        let config = request.config(kind)?;
        let (call, events) = Call::start(config).await?;
        tokio::spawn(forward(events, on_event));
        let info = CallInfo::of(&call);
        *active = Some(Active {
            call,
            server: request.server,
            kind,
            demo: Vec::new(),
        });
        Ok(info)
    }

    /// The current call.
    pub async fn current(&self) -> Result<CallHandle, AppError> {
        match self.active.lock().await.as_ref() {
            Some(a) => Ok(a.call.clone()),
            None => Err(AppError::NoCall),
        }
    }

    /// The current call's figures, each tile with its connection quality.
    pub async fn stats(&self) -> Result<StatsDto, AppError> {
        let call = self.current().await?;
        let mut tracker = self
            .quality
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(StatsDto::with_quality(&call, &mut tracker))
    }

    /// Adds synthetic members named `names` to the current room (a presenter with no camera
    /// fills the grid). They leave with us.
    pub async fn add_demo_members(&self, names: &[String]) -> Result<usize, AppError> {
        let (server, room_id, kind) = {
            let active = self.active.lock().await;
            let a = active.as_ref().ok_or(AppError::NoCall)?;
            (a.server.clone(), a.call.room_id(), a.kind)
        };
        let mut started = Vec::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let session = SessionConfig::new(
                parse_server_url(&server)?,
                kind,
                JoinTarget::Join {
                    room_id: room_id.clone(),
                },
                name,
                DEFAULT_AVATAR,
            );
            let mut config = CallConfig::synthetic(session);
            // Nobody looks at what the demo members receive.
            config.media.decode_video = false;
            match Call::start(config).await {
                Ok((call, events)) => {
                    tokio::spawn(forward(events, |_| true));
                    started.push(call);
                }
                Err(e) => {
                    log::warn!("demo member {name} could not join: {e}");
                    if started.is_empty() {
                        return Err(e.into());
                    }
                    break;
                }
            }
        }
        let count = started.len();
        match self.active.lock().await.as_mut() {
            Some(a) => a.demo.extend(started),
            None => leave_all(started).await,
        }
        Ok(count)
    }

    /// Leaves the current call as `mode` says (and takes the demo members along); nothing to do
    /// without one.
    pub async fn leave(&self, mode: LeaveMode) -> Result<(), AppError> {
        let Some(active) = self.active.lock().await.take() else {
            return Ok(());
        };
        leave_all(active.demo).await;
        active.call.leave(mode).await.map_err(AppError::from)
    }

    /// How leaving the current call would go, without waiting: `None` with no call, or while
    /// a join or leave holds the call (the window must never freeze on a close).
    pub fn leave_options_now(&self) -> Option<LeaveOptions> {
        let active = self.active.try_lock().ok()?;
        active.as_ref().map(|a| a.call.leave_options())
    }
}

async fn leave_all(calls: Vec<CallHandle>) {
    for call in calls {
        if let Err(e) = call.leave(LeaveMode::Leave).await {
            log::warn!("a demo member left badly: {e}");
        }
    }
}

async fn forward(mut events: mpsc::Receiver<CallEvent>, on_event: impl Fn(EventDto) -> bool) {
    while let Some(event) = events.recv().await {
        log::debug!(
            "call event: {}",
            quartet_proto::redact::scrub(&format!("{event:?}"))
        );
        if !on_event(event.into()) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quartet_room::Member;
    use serde_json::json;

    fn request(v: serde_json::Value) -> JoinRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_join_request_becomes_a_call_config() {
        let r = request(json!({
            "server": "127.0.0.1:8080",
            "nickname": " Ann ",
            "target": {"kind": "create", "roomName": "Standup"},
            "video": {"kind": "synthetic"},
            "audio": {"kind": "microphone", "name": null},
            "speaker": "Speakers",
            "startMuted": true
        }));
        let c = r.config(RoomKind::DoubleRoom).unwrap();
        assert_eq!(c.session.kind, RoomKind::DoubleRoom);
        assert_eq!(c.session.server.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(c.session.user_name, "Ann");
        assert_eq!(
            c.session.target,
            JoinTarget::Create {
                room_name: "Standup".into()
            }
        );
        assert_eq!(c.video, VideoInput::Synthetic { name: "Ann".into() });
        assert_eq!(c.audio, AudioInput::Microphone(None));
        assert_eq!(c.output, AudioOutputChoice::Device("Speakers".into()));
        assert!(c.start_muted && !c.start_camera_off);
        assert_eq!((c.media.width, c.media.height, c.media.fps), (640, 360, 15));
    }

    #[test]
    fn a_chosen_picture_quality_is_sent_and_an_unknown_one_refused() {
        let mut v = json!({
            "server": "127.0.0.1:8080",
            "nickname": "Ann",
            "target": {"kind": "join", "roomId": "room_1"},
            "video": {"kind": "synthetic"},
            "audio": {"kind": "tone"},
            "speaker": null,
            "sendQuality": "720p30"
        });
        let c = request(v.clone()).config(RoomKind::MultiRoom).unwrap();
        assert_eq!(
            (c.media.width, c.media.height, c.media.fps),
            (1280, 720, 30)
        );
        v["video"] = json!({"kind": "screen"});
        assert_eq!(
            request(v.clone())
                .config(RoomKind::MultiRoom)
                .unwrap()
                .video,
            VideoInput::Screen(None)
        );
        v["video"] = json!({"kind": "screen", "id": "window:0x2a00007@:0"});
        assert_eq!(
            request(v.clone())
                .config(RoomKind::MultiRoom)
                .unwrap()
                .video,
            VideoInput::Screen(Some("window:0x2a00007@:0".into()))
        );
        v["video"] = json!({"kind": "screen", "corner": {"kind": "camera", "id": "/dev/video0"}});
        assert_eq!(
            request(v.clone())
                .config(RoomKind::MultiRoom)
                .unwrap()
                .video,
            VideoInput::ScreenWithCorner {
                screen: None,
                corner: Box::new(VideoInput::Camera(Some("/dev/video0".into()))),
            }
        );
        v["sendQuality"] = json!("4k");
        let e = request(v).config(RoomKind::MultiRoom).unwrap_err();
        assert_eq!(e.kind(), "invalidInput");
        assert!(e.to_string().contains("4k"), "{e}");
    }

    #[test]
    fn incomplete_requests_are_refused() {
        let base = json!({
            "server": "127.0.0.1:8080",
            "nickname": "Ann",
            "target": {"kind": "join", "roomId": "room_1"},
            "video": {"kind": "none"},
            "audio": {"kind": "tone"},
            "speaker": null
        });
        assert!(request(base.clone()).config(RoomKind::MultiRoom).is_ok());
        let mut no_name = base.clone();
        no_name["nickname"] = json!("  ");
        let mut no_room = base.clone();
        no_room["target"] = json!({"kind": "join", "roomId": ""});
        let mut no_server = base;
        no_server["server"] = json!("");
        for r in [no_name, no_room, no_server] {
            assert_eq!(
                request(r).config(RoomKind::MultiRoom).unwrap_err().kind(),
                "invalidInput"
            );
        }
    }

    #[test]
    fn a_new_room_is_a_group_call_unless_another_kind_is_asked() {
        let target = |v| serde_json::from_value::<TargetChoice>(v).unwrap();
        let kind = |v| target(v).known_kind();
        assert_eq!(
            kind(json!({"kind": "create", "roomName": "R"})),
            Some(RoomKind::MultiRoom)
        );
        assert_eq!(
            kind(json!({"kind": "create", "roomName": "R", "roomKind": null})),
            Some(RoomKind::MultiRoom)
        );
        assert_eq!(
            kind(json!({"kind": "join", "roomId": "r", "roomKind": "live_room"})),
            Some(RoomKind::LiveRoom)
        );
        // An ID typed in names no kind: the server is asked.
        assert_eq!(kind(json!({"kind": "join", "roomId": "r"})), None);
    }

    #[test]
    fn events_serialize_as_the_page_reads_them() {
        let member = Member {
            user_id: "u2".into(),
            user_name: "Ben".into(),
            user_avatar: "a".into(),
            play_url: "rtmp://x/live/s".into(),
            small_play_url: None,
            is_creator: false,
            is_self: false,
            sharing_screen: true,
        };
        let joined = EventDto::from(CallEvent::MemberJoined(Participant {
            member: member.clone(),
            placement: Placement::Tile(1),
        }));
        assert_eq!(
            serde_json::to_value(&joined).unwrap(),
            json!({"type": "memberJoined", "member": {
                "userId": "u2", "userName": "Ben", "isCreator": false, "isSelf": false, "tile": 1,
                "sharingScreen": true
            }})
        );
        let left = EventDto::from(CallEvent::MemberLeft {
            member,
            freed_tile: Some(1),
        });
        assert_eq!(serde_json::to_value(&left).unwrap()["freedTile"], 1);
        let player = EventDto::from(CallEvent::PlayerState {
            user_id: "u2".into(),
            state: PlayerState::Disconnected {
                reason: "eof".into(),
                retry_in: std::time::Duration::from_secs(1),
            },
        });
        assert_eq!(
            serde_json::to_value(&player).unwrap(),
            json!({"type": "playerState", "userId": "u2", "state": "disconnected"})
        );
        let link = EventDto::from(CallEvent::Reconnecting(Link::Player("u2".into())));
        assert_eq!(
            serde_json::to_value(&link).unwrap(),
            json!({"type": "reconnecting", "link": {"kind": "player", "userId": "u2"}})
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hosted_call_fills_with_demo_members_and_leaves() {
        use std::time::Duration;
        let host = crate::host::HostService::default();
        let server = host.start(false).await.unwrap().url;
        let calls = CallService::default();
        let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
        let info = calls
            .start(
                request(json!({
                    "server": server,
                    "nickname": "Ann",
                    "target": {"kind": "create", "roomName": "Demo"},
                    "video": {"kind": "synthetic"},
                    "audio": {"kind": "tone"},
                    "speaker": null
                })),
                move |e| tx.send(e).is_ok(),
            )
            .await
            .unwrap();
        assert_eq!(info.members.len(), 1);
        assert!(info.members[0].is_self);
        assert_eq!(
            calls
                .start(
                    request(json!({
                        "server": "127.0.0.1:1", "nickname": "B",
                        "target": {"kind": "join", "roomId": "r"},
                        "video": {"kind": "none"}, "audio": {"kind": "none"}, "speaker": null
                    })),
                    |_| true
                )
                .await
                .unwrap_err()
                .kind(),
            "alreadyInCall"
        );

        let names = vec!["Demo Ben".to_owned(), "Demo Cho".to_owned()];
        assert_eq!(calls.add_demo_members(&names).await.unwrap(), 2);
        let mut tiles = Vec::new();
        while tiles.len() < 2 {
            let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
                .await
                .expect("members join")
                .expect("events flow");
            if let EventDto::MemberJoined { member } = event {
                tiles.push(member.tile);
            }
        }
        assert_eq!(tiles, vec![Some(0), Some(1)]);

        let call = calls.current().await.unwrap();
        tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let stats = StatsDto::of(&call);
                if stats.remotes.len() == 2
                    && stats
                        .remotes
                        .iter()
                        .all(|r| r.frames_decoded > 0 && r.state == "live")
                    && stats.own_state == "live"
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .await
        .expect("both demo members' pictures are decoded");
        let grid = call.snapshot_grid(320, 180);
        assert_eq!(grid.dimensions(), (320, 180));

        // As host with others present, leaving is worth a question, naming the first to join.
        let options = calls
            .leave_options_now()
            .expect("a call with nobody joining or leaving");
        assert!(options.worth_asking() && options.can_hand_over);
        assert_eq!(
            options.heir.map(|m| m.user_name).as_deref(),
            Some("Demo Ben")
        );
        calls.leave(LeaveMode::EndForEveryone).await.unwrap();
        assert_eq!(calls.current().await.unwrap_err().kind(), "noCall");
        assert!(calls.leave_options_now().is_none());
        host.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_double_room_is_listed_joined_by_id_and_full_at_two() {
        // Any free ports: other tests host on the preferred ones at the same time.
        let any = crate::host::PreferredPorts { http: 0, rtmp: 0 };
        let host = crate::host::HostService::with_ports(any);
        let server = host.start(false).await.unwrap().url;
        let join = |name: &str, target: serde_json::Value| {
            request(json!({
                "server": server, "nickname": name, "target": target,
                "video": {"kind": "none"}, "audio": {"kind": "none"}, "speaker": null
            }))
        };
        let (ann, ben, cho) = (
            CallService::default(),
            CallService::default(),
            CallService::default(),
        );
        let created = ann
            .start(
                join(
                    "Ann",
                    json!({"kind": "create", "roomName": "Pair", "roomKind": "double_room"}),
                ),
                |_| true,
            )
            .await
            .unwrap();
        let rooms = crate::lobby::list_rooms(&server).await.unwrap();
        assert_eq!(rooms.len(), 1);
        assert_eq!(
            (rooms[0].kind, rooms[0].max_members),
            (RoomKind::DoubleRoom, 2)
        );
        // By ID alone, as typed in: the app finds the kind itself.
        let by_id = json!({"kind": "join", "roomId": created.room_id});
        let joined = ben
            .start(join("Ben", by_id.clone()), |_| true)
            .await
            .unwrap();
        assert_eq!(joined.members.len(), 2);
        let full = cho.start(join("Cho", by_id), |_| true).await.unwrap_err();
        assert_eq!(full.kind(), "roomFull", "{full}");
        let gone = cho
            .start(
                join("Cho", json!({"kind": "join", "roomId": "room_none"})),
                |_| true,
            )
            .await
            .unwrap_err();
        assert_eq!(gone.kind(), "roomNotFound", "{gone}");
        ben.leave(LeaveMode::Leave).await.unwrap();
        ann.leave(LeaveMode::Leave).await.unwrap();
        host.stop().await;
    }
}
