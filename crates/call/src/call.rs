//! A call: [`Call::start`] joins the room and opens the devices, then hands the running call
//! to its actor ([`actor`]) and the caller a [`CallHandle`] ([`handle`]).

mod actor;
mod handle;
#[cfg(test)]
mod tests;

pub(crate) use handle::View;
pub use handle::{CallHandle, SNAPSHOT_WAIT, Tile};

use crate::config::CallConfig;
use crate::devices::{error_kind, open_audio, open_video};
use crate::event::CallEvent;
use crate::media_port::{FfmpegMedia, MediaStart};
use crate::speaker::open_output;
use quartet_media::source::DeviceKind;
use quartet_media::{
    AudioMixer, AudioOutError, AudioOutput, AudioSource, PublishError, SourceError, VideoSource,
};
use quartet_room::{SessionError, SessionEvent};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

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

/// Starts calls.
pub struct Call;

/// The devices as opened at the start, and why any could not be.
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
        Self::start_with(config, Arc::new(FfmpegMedia)).await
    }

    /// [`Call::start`] with publishers and players started by `start`.
    async fn start_with(
        config: CallConfig,
        start: Arc<dyn MediaStart>,
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
        actor::begin(actor::Beginning {
            config,
            start,
            mixer,
            session,
            session_events,
            members,
            opened,
        })
        .await
    }
}
