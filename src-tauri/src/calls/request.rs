//! What the page asks for when it joins: the room, the devices, the settings.

use crate::error::AppError;
use crate::lobby::{DEFAULT_AVATAR, DEFAULT_CREATE_KIND, parse_server_url};
use quartet_call::{
    AudioInput, AudioOutputChoice, AudioProcessing, CallConfig, JoinTarget, MediaSettings, Receive,
    SendQuality, SessionConfig, VideoDecoding, VideoInput,
};
use quartet_proto::RoomKind;
use serde::{Deserialize, Serialize};
#[cfg(test)]
use ts_rs::TS;

/// Which room to be in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "Target"))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TargetChoice {
    /// Create a room with this name.
    #[serde(rename_all = "camelCase")]
    Create {
        /// The new room's name.
        room_name: String,
        /// Its kind; [`DEFAULT_CREATE_KIND`] when absent.
        #[cfg_attr(test, ts(optional, type = "RoomKind"))]
        #[serde(default)]
        room_kind: Option<RoomKind>,
    },
    /// Join the room with this ID.
    #[serde(rename_all = "camelCase")]
    Join {
        /// The room's ID.
        room_id: String,
        /// The kind it is listed under; asked of the server when absent (an ID typed in).
        #[cfg_attr(test, ts(optional, type = "RoomKind"))]
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
#[cfg_attr(test, derive(TS))]
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
        #[cfg_attr(test, ts(optional))]
        id: Option<String>,
        /// A camera (or the test pattern) shown in the screen's corner.
        #[cfg_attr(test, ts(optional))]
        #[serde(default)]
        corner: Option<Box<VideoChoice>>,
    },
    /// No camera.
    None,
}

/// Where our sound comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(TS))]
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
#[cfg_attr(test, derive(TS))]
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
    #[cfg_attr(test, ts(optional, type = "SendQuality"))]
    #[serde(default)]
    pub send_quality: Option<String>,
}

/// The microphone cleaning switches, as the page sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "AudioProcessing"))]
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
            // The page decodes the tiles it draws; Rust decodes only what a feed or a
            // snapshot asks for, and the keyframes the tiles' states read.
            video_decoding: VideoDecoding::OnDemand,
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

/// The speaker named `name`, or the system default.
pub fn speaker_choice(name: Option<String>) -> AudioOutputChoice {
    name.map_or(AudioOutputChoice::Default, AudioOutputChoice::Device)
}
