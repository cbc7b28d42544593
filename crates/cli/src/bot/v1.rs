//! `quartet bot --v1`: a member that talks to the room server as the original mini-program
//! client (`rtcroom.js`, with WeChat's `<live-pusher>`) did, so a tester can see what such a
//! member sees and what a server makes of it.
//!
//! What the original did, read from its public source (`rtcroom.js`, late 2017 to 2018):
//! - requests carry v1's fields only: no token anywhere, no nonce, no event channel (it heard
//!   of changes only through Tencent Cloud IM, which a bot does not speak);
//! - `pusherHeartBeat(1)` after `add_pusher`: one heartbeat 3 s after joining and a chain every
//!   7 s; `pusherHeartBeat(0)` after `create_room`: the 7 s chain alone;
//! - `get_pushers` at joining, and again only on an IM `notifyPusherChange`: never on a timer.
//!   So with no IM, like the original against a server without IM, a v1 bot sees only the
//!   members who were there when it joined.
//!
//! What its pusher sent: `<live-pusher>`'s defaults, `mode="RTC"`, portrait (`orientation`
//! vertical, `aspect` 9:16) at `video-width`×`video-height` 360×640, 15 fps, bitrate adapting
//! between `min-bitrate` 200 and `max-bitrate` 1000 kbit/s — one stream, no small second one.

use quartet_call::MediaSettings;
use quartet_room::{EventMode, JoinTarget, SessionConfig};
use std::time::Duration;

/// `<live-pusher>`'s default `video-width`.
pub(crate) const V1_WIDTH: u32 = 360;
/// `<live-pusher>`'s default `video-height` (portrait, aspect 9:16).
pub(crate) const V1_HEIGHT: u32 = 640;
/// `<live-pusher>`'s default `fps`.
pub(crate) const V1_FPS: u32 = 15;
/// `<live-pusher>`'s default `max-bitrate`, kbit/s: what it sends on a link that allows it
/// (our publisher adapts down from it, as the live-pusher did toward `min-bitrate` 200).
pub(crate) const V1_VIDEO_KBPS: u32 = 1000;
/// `rtcroom.js` sent its first heartbeat this long after `add_pusher` answered.
pub(crate) const V1_JOINER_FIRST_HEARTBEAT: Duration = Duration::from_secs(3);
/// …and, after `create_room`, none before its 7 s chain.
pub(crate) const V1_CREATOR_FIRST_HEARTBEAT: Duration = Duration::from_secs(7);
/// `rtcroom.js`'s heartbeat chain.
pub(crate) const V1_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(7);
/// The original never refetched `get_pushers` on a timer; a month stands for never (a bot
/// runs minutes, and the session's timer needs a finite instant).
pub(crate) const V1_NO_POLL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Makes `session` talk as `rtcroom.js` did.
pub(crate) fn v1_session(session: &mut SessionConfig) {
    session.events = EventMode::Off;
    session.bare_requests = true;
    session.timing.first_heartbeat = match session.target {
        JoinTarget::Create { .. } => V1_CREATOR_FIRST_HEARTBEAT,
        JoinTarget::Join { .. } => V1_JOINER_FIRST_HEARTBEAT,
    };
    session.timing.heartbeat_interval = V1_HEARTBEAT_INTERVAL;
    session.timing.poll_interval = V1_NO_POLL;
}

/// Makes `media` send what `<live-pusher>` sent by default.
pub(crate) fn v1_media(media: &mut MediaSettings) {
    media.width = V1_WIDTH;
    media.height = V1_HEIGHT;
    media.fps = V1_FPS;
    media.video_kbps = V1_VIDEO_KBPS;
    media.send_small = false;
}

#[cfg(test)]
mod tests {
    use super::*;
    use quartet_proto::RoomKind;
    use url::Url;

    fn session(target: JoinTarget) -> SessionConfig {
        let url = Url::parse("http://127.0.0.1:9/").unwrap();
        SessionConfig::new(url, RoomKind::MultiRoom, target, "A", "https://a/a.png")
    }

    #[test]
    fn a_v1_member_sends_no_token_opens_no_channel_and_never_polls() {
        let mut s = session(JoinTarget::Join {
            room_id: "room_1".into(),
        });
        v1_session(&mut s);
        assert_eq!(s.events, EventMode::Off);
        assert!(s.bare_requests);
        assert_eq!(s.timing.first_heartbeat, Duration::from_secs(3));
        assert_eq!(s.timing.heartbeat_interval, Duration::from_secs(7));
        assert!(s.timing.poll_interval >= Duration::from_secs(24 * 3600));
        let mut c = session(JoinTarget::Create {
            room_name: "r".into(),
        });
        v1_session(&mut c);
        assert_eq!(c.timing.first_heartbeat, Duration::from_secs(7));
    }

    #[test]
    fn a_v1_member_sends_the_live_pushers_default_stream() {
        let mut m = MediaSettings::default();
        v1_media(&mut m);
        assert_eq!((m.width, m.height, m.fps), (360, 640, 15));
        assert_eq!(m.video_kbps, 1000);
        assert!(!m.send_small);
        assert_eq!(m.problem(), None);
    }
}
