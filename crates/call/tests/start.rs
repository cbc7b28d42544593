//! Starting a call that cannot start: clear errors, nothing left running.

use quartet_call::{Call, CallConfig, CallError, MediaSettings};
use quartet_proto::RoomKind;
use quartet_room::{JoinTarget, SessionConfig, SessionError};
use url::Url;

fn session(server: &str) -> SessionConfig {
    SessionConfig::new(
        Url::parse(server).expect("a test URL"),
        RoomKind::MultiRoom,
        JoinTarget::Join {
            room_id: "room_1".into(),
        },
        "Ann",
        "quartet:initials",
    )
}

#[tokio::test]
async fn bad_media_settings_are_refused_before_anything_starts() {
    let mut config = CallConfig::synthetic(session("http://127.0.0.1:9/"));
    config.media = MediaSettings {
        width: 641,
        ..MediaSettings::default()
    };
    match Call::start(config).await {
        Err(CallError::InvalidConfig(m)) => assert!(m.contains("641x360"), "{m}"),
        other => panic!("expected invalid settings, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn an_unreachable_room_server_is_a_room_error() {
    // Nothing listens on port 9 (discard).
    let config = CallConfig::synthetic(session("http://127.0.0.1:9/"));
    match Call::start(config).await {
        Err(CallError::Room(e @ SessionError::Api { .. })) => {
            assert!(e.is_transient(), "{e}");
            assert!(CallError::Room(e).to_string().starts_with("room: "));
        }
        other => panic!("expected a room error, got {:?}", other.err()),
    }
    let mut nameless = CallConfig::synthetic(session("http://127.0.0.1:9/"));
    nameless.session.user_name.clear();
    assert!(matches!(
        Call::start(nameless).await,
        Err(CallError::Room(SessionError::InvalidConfig("user_name")))
    ));
}
