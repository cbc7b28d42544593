//! What the page hears of a call: an [`EventDto`] per [`CallEvent`], the members, and the
//! figures of the stats overlay.

use crate::preview::device_word;
use quartet_call::{
    CallEvent, CallHandle, CallStats, Link, Participant, Placement, PlayerState, PublisherState,
    QualityTracker,
};
use serde::Serialize;
#[cfg(test)]
use ts_rs::TS;

/// A member as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, ts(rename = "Member"))]
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
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, ts(rename = "Link"))]
pub struct LinkDto {
    /// `room`, `publisher` or `player`.
    #[cfg_attr(test, ts(type = "\"room\" | \"publisher\" | \"player\""))]
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
#[cfg_attr(test, derive(TS))]
#[serde(tag = "type", rename_all = "camelCase")]
#[cfg_attr(test, ts(rename = "CallEvent"))]
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
        #[cfg_attr(test, ts(type = "\"camera\" | \"microphone\" | \"speaker\""))]
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
        #[cfg_attr(
            test,
            ts(type = "\"connecting\" | \"live\" | \"disconnected\" | \"stopped\"")
        )]
        state: &'static str,
    },
    /// A member's stream state.
    #[serde(rename_all = "camelCase")]
    PlayerState {
        /// Whose.
        user_id: String,
        /// `connecting`, `playing`, `firstFrame`, `disconnected`, `failed` or `stopped`.
        #[cfg_attr(
            test,
            ts(
                type = "\"connecting\" | \"playing\" | \"firstFrame\" | \"disconnected\" | \"failed\" | \"stopped\""
            )
        )]
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
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, ts(rename = "CallInfo"))]
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
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, ts(rename = "PublisherStats"))]
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
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, ts(rename = "RemoteStats"))]
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
    #[cfg_attr(test, ts(type = "Quality"))]
    pub quality: &'static str,
    /// Which of the member's streams the tile plays: `main` or `small`.
    #[cfg_attr(test, ts(type = "\"main\" | \"small\""))]
    pub stream: &'static str,
    /// What the tile shows (`quartet_call::TileState`): `connecting`, `waitingForStream`,
    /// `live`, `cameraOff`, `stalled`, `reconnecting` or `gone`.
    #[cfg_attr(test, ts(type = "TileState"))]
    pub state: &'static str,
}

/// The call's figures for the stats overlay and the speaking highlight.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, ts(rename = "Stats"))]
pub struct StatsDto {
    /// Our stream.
    pub publisher: Option<PublisherStatsDto>,
    /// Each played member.
    pub remotes: Vec<RemoteStatsDto>,
    /// Members listed but not played.
    pub listed: usize,
    /// What our own tile shows, named as a remote tile's `state`.
    #[cfg_attr(test, ts(type = "TileState"))]
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
            let off = tile.latest_frame().is_some_and(|f| f.is_blank());
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
