//! One call: a room session, one publisher and a player per other member.
//!
//! [`Call::start`] joins a room (through `quartet-room`), opens the camera and microphone (or
//! their synthetic twins), pushes our stream and plays the others' (through `quartet-media`),
//! and returns a [`CallHandle`] and a receiver of [`CallEvent`]s.
//!
//! - **Four-up**: up to [`REMOTE_TILES`] remote members are played, first come first served;
//!   later members are listed, not played, until a tile frees up ([`tiles`]).
//! - **Controls**: mute, camera off, camera, microphone and speaker switching mid-call, text
//!   messages; a test chime on the chosen speaker before joining ([`test_speaker`]).
//! - **Trouble**: a missing device is a [`CallEvent::DeviceError`] and the call goes on
//!   without it; the room session and the media reconnect on their own and say so with
//!   [`CallEvent::Reconnecting`] / [`CallEvent::Reconnected`]; a rejoin under a new identity
//!   restarts sending with the same mute and camera state; a member's play URL signed afresh
//!   goes to its running player, so the picture never stops for it, and is no
//!   [`CallEvent::MemberUpdated`], since nothing anyone sees changed.
//! - **Joining fast without a keyframe cache**: a player that plays but has no keyframe asks
//!   its member for one through the room server, and our encoder serves such requests no
//!   closer together than [`MIN_FORCED_KEYFRAME_SPACING`] ([`keyframe`]).
//! - **Looking at it**: [`CallHandle::tiles`] gives each remote tile's latest picture and its
//!   H.264 packets, [`CallHandle::stats`] the figures, [`CallHandle::snapshot_grid`] the whole
//!   grid as one picture ([`grid`]); [`quality`] turns a tile's figures into a steady
//!   good / poor / bad; [`tile_state`] says what each tile honestly shows (live, waiting for
//!   a stream, stalled, reconnecting, camera off), ours included.
//!
//! Nothing here knows about a UI: the desktop app and the bots are thin adapters over it, and
//! the app's one door to media and the room: the few media and room types it names are
//! re-exported here.
//!
//! Inside, `call.rs` starts a call; `call/handle.rs` is what callers hold; `call/actor.rs` and
//! its `media.rs` and `room.rs` are the one task that owns the call. The actor drives the
//! publisher and the players through the small traits of `media_port.rs`: FFmpeg's in a call,
//! fakes in `call/tests.rs`, where the actor's rules are tested against a real room server.

mod call;
pub mod config;
pub mod device_watch;
pub mod devices;
pub mod diagnostics;
pub mod event;
pub mod grid;
mod grid_view;
pub mod keyframe;
pub mod layout;
pub mod leaving;
mod media_port;
pub mod member_watch;
pub mod quality;
pub mod quality_preset;
pub mod receive;
pub mod recording;
pub mod screens;
pub mod self_view;
pub mod sharing;
pub mod speaker;
pub mod stats;
mod streams;
pub mod tile_state;
mod tile_watch;
pub mod tiles;

pub use call::{
    COMMAND_QUEUE, Call, CallError, CallHandle, EVENT_QUEUE, NOTE_CAMERA_OFF, NOTE_CONNECTING,
    SNAPSHOT_WAIT, Tile,
};
pub use config::{
    AudioInput, AudioOutputChoice, CallConfig, MediaSettings, VideoInput, processing_for,
};
pub use device_watch::{DEVICE_POLL, DeviceFallback, DeviceList, DeviceWatch, InUse};
pub use devices::FrameSlot;
pub use diagnostics::Diagnostics;
pub use event::{CallEvent, Link, Participant, Placement, PlayerState, PublisherState};
pub use grid::{compose_grid, compose_layout};
pub use keyframe::{
    KEYFRAME_ASK_GRACE, KEYFRAME_ASK_RETRY, KEYFRAME_ASKS, KeyframeFigures,
    MIN_FORCED_KEYFRAME_SPACING,
};
pub use layout::GridLayout;
pub use leaving::LeaveOptions;
pub use member_watch::{MemberWatch, Seat};
pub use quality::{Quality, QualityMeter, QualityTracker};
pub use quality_preset::SendQuality;
pub use quartet_media::source::DeviceKind;
pub use quartet_media::{AudioDeviceInfo, CameraInfo};
pub use quartet_media::{AudioFormat, StreamInfo, VideoFormat};
pub use quartet_media::{AudioProcessing, ProcessingStats, RecordSummary, ffmpeg_versions};
pub use quartet_room::{ApiCall, ChannelEntry, LeaveMode};
// What the app meets of media and the room through a call, so `quartet-call` is its one door.
pub use quartet_media::source::SourceError;
pub use quartet_media::{
    AudioOutError, AudioSource, EncodedVideo, Interrupter, VideoDecoding, VideoFrame, VideoSource,
    unix_micros,
};
pub use quartet_room::{
    ApiClient, ApiError, JoinTarget, Member, SessionConfig, SessionError, find_room_kind,
};
pub use receive::{Receive, Stream};
pub use screens::{ScreenChoice, ScreenId, ScreenKind, ShareableScreen, shareable_screens};
pub use speaker::test_speaker;
pub use stats::{CallStats, RemoteStats};
pub use streams::LOOK_EVERY;
pub use tile_state::{
    NO_PICTURE_AFTER, STALL_AFTER, SWITCH_GRACE, TileFacts, TileState, TileTrack,
    WAIT_FOR_STREAM_AFTER,
};
pub use tiles::{REMOTE_TILES, TileAssignment, TileChange, assign_tiles, tile_changes};
