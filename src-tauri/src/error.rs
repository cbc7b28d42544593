//! The one error type commands return: it serializes as `{kind, message}`, where `kind` is a
//! stable word the page translates and `message` the English detail for logs and tooltips.

use quartet_call::CallError;
use quartet_call::{ApiError, SessionError};
use quartet_call::{DeviceKind, SourceError};
use quartet_proto::Code;
use serde::Serialize;
use serde::ser::SerializeStruct;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The page sent something unusable (an empty nickname, a malformed address).
    #[error("{0}")]
    InvalidInput(String),
    /// The room server could not be reached.
    #[error("cannot reach the room server: {0}")]
    Unreachable(String),
    /// The room does not exist (any more).
    #[error("the room does not exist: {0}")]
    RoomNotFound(String),
    /// The room has no place left.
    #[error("the room is full: {0}")]
    RoomFull(String),
    /// The room server refused our credentials.
    #[error("the room server refused our credentials: {0}")]
    AuthFailed(String),
    /// The room server answered with an error not covered above.
    #[error("the room server refused: {0}")]
    Server(String),
    /// Hosting on this machine failed (e.g. no free port, no LAN address).
    #[error("cannot host a call here: {0}")]
    HostFailed(String),
    /// A call command came with no call going on.
    #[error("no call is going on")]
    NoCall,
    /// A call was started while one is going on.
    #[error("a call is already going on")]
    AlreadyInCall,
    /// The system's privacy settings (or device permissions) keep the camera from us.
    #[error("{0}")]
    CameraDenied(String),
    /// A camera, microphone or speaker cannot be used.
    #[error("{0}")]
    Device(String),
    /// Sending or playing media failed to start.
    #[error("{0}")]
    Media(String),
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(String),
}

impl AppError {
    /// The stable word the page translates.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::InvalidInput(_) => "invalidInput",
            AppError::Unreachable(_) => "unreachable",
            AppError::RoomNotFound(_) => "roomNotFound",
            AppError::RoomFull(_) => "roomFull",
            AppError::AuthFailed(_) => "authFailed",
            AppError::Server(_) => "server",
            AppError::HostFailed(_) => "hostFailed",
            AppError::NoCall => "noCall",
            AppError::AlreadyInCall => "alreadyInCall",
            AppError::CameraDenied(_) => "cameraDenied",
            AppError::Device(_) => "device",
            AppError::Media(_) => "media",
            AppError::Io(_) => "io",
        }
    }
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("AppError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

impl From<ApiError> for AppError {
    fn from(e: ApiError) -> Self {
        let message = e.to_string();
        match e.code() {
            Some(code) => from_code(code, message),
            None if e.is_transient() || matches!(e, ApiError::Transport(_)) => {
                AppError::Unreachable(message)
            }
            None => AppError::Server(message),
        }
    }
}

impl From<SessionError> for AppError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::InvalidConfig(_) | SessionError::EmptyText => {
                AppError::InvalidInput(e.to_string())
            }
            SessionError::Closed => AppError::NoCall,
            SessionError::Api { source, .. } | SessionError::Setup(source) => source.into(),
            SessionError::NotListed { .. } => AppError::Server(e.to_string()),
        }
    }
}

impl From<CallError> for AppError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Room(e) => e.into(),
            CallError::InvalidConfig(m) => AppError::InvalidInput(m),
            CallError::Device(
                e @ SourceError::PermissionDenied {
                    kind: DeviceKind::Camera,
                    ..
                },
            ) => AppError::CameraDenied(e.to_string()),
            CallError::Device(e) => AppError::Device(e.to_string()),
            CallError::Speaker(e) => AppError::Device(e.to_string()),
            CallError::Publish(e) => AppError::Media(e.to_string()),
            CallError::Task(m) => AppError::Media(m),
            CallError::Ended => AppError::NoCall,
        }
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::Io(e.to_string())
    }
}

fn from_code(code: Code, message: String) -> AppError {
    match code {
        Code::NoSuchRoom => AppError::RoomNotFound(message),
        Code::RoomFull => AppError::RoomFull(message),
        Code::AuthFailed => AppError::AuthFailed(message),
        _ => AppError::Server(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_a_stable_kind() {
        let e = AppError::RoomFull("code 5001".into());
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "roomFull");
        assert!(v["message"].as_str().unwrap().contains("5001"));
        assert_eq!(
            serde_json::to_value(AppError::NoCall).unwrap()["kind"],
            "noCall"
        );
    }

    #[test]
    fn server_codes_become_kinds() {
        let api = |code| ApiError::Code {
            code,
            message: "m".into(),
        };
        assert_eq!(AppError::from(api(Code::NoSuchRoom)).kind(), "roomNotFound");
        assert_eq!(AppError::from(api(Code::RoomFull)).kind(), "roomFull");
        assert_eq!(AppError::from(api(Code::AuthFailed)).kind(), "authFailed");
        assert_eq!(AppError::from(api(Code::Internal)).kind(), "server");
        let status = ApiError::Status {
            status: 503,
            message: "busy".into(),
        };
        assert_eq!(AppError::from(status).kind(), "unreachable");
        let session = SessionError::Api {
            step: quartet_proto::Endpoint::AddPusher,
            source: api(Code::RoomFull),
        };
        assert_eq!(AppError::from(session).kind(), "roomFull");
        assert_eq!(
            AppError::from(CallError::Room(SessionError::EmptyText)).kind(),
            "invalidInput"
        );
    }

    #[test]
    fn a_camera_the_system_refuses_has_its_own_kind() {
        let denied = |kind| {
            AppError::from(CallError::Device(SourceError::PermissionDenied {
                kind,
                name: "Integrated Camera".into(),
                reason: "camera access is turned off".into(),
            }))
        };
        let camera = denied(DeviceKind::Camera);
        assert_eq!(camera.kind(), "cameraDenied");
        assert!(camera.to_string().contains("Integrated Camera"), "{camera}");
        assert_eq!(denied(DeviceKind::Microphone).kind(), "device");
        let busy = AppError::from(CallError::Device(SourceError::Unavailable {
            kind: DeviceKind::Camera,
            name: "Integrated Camera".into(),
            reason: "I/O error".into(),
        }));
        assert_eq!(busy.kind(), "device");
    }
}
