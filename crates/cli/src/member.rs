//! The flags that say who we are and which room we are in, shared by `quartet join` and
//! `quartet bot`, and the room session they describe.

use anyhow::Result;
use clap::Args;
use quartet_proto::RoomKind;
use quartet_room::{EventMode, JoinTarget, SessionConfig};
use url::Url;

/// Avatar sent when none is given: v1 servers refuse an empty one.
const DEFAULT_AVATAR: &str = "quartet:initials";

/// Server, room, identity and membership mode of a command-line member.
#[derive(Args)]
pub struct MemberArgs {
    /// Room server base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "QUARTET_SERVER")]
    pub server: Url,
    /// Join this room.
    #[arg(long, conflicts_with = "create", required_unless_present = "create")]
    room: Option<String>,
    /// Create a room with this name and join it as its creator.
    #[arg(long)]
    create: Option<String>,
    /// Our nickname.
    #[arg(long)]
    name: String,
    /// Our avatar URL.
    #[arg(long, default_value = DEFAULT_AVATAR)]
    avatar: String,
    /// Room kind.
    #[arg(long, default_value = "multi_room")]
    kind: RoomKind,
    /// Never open the event channel; poll get_pushers as against an original v1 server.
    #[arg(long)]
    poll: bool,
}

impl MemberArgs {
    /// The room session these flags describe.
    pub fn session_config(&self) -> Result<SessionConfig> {
        let target = match (&self.room, &self.create) {
            (Some(room_id), _) => JoinTarget::Join {
                room_id: room_id.clone(),
            },
            (None, Some(room_name)) => JoinTarget::Create {
                room_name: room_name.clone(),
            },
            (None, None) => anyhow::bail!("give --room ID or --create NAME"),
        };
        let mut config = SessionConfig::new(
            self.server.clone(),
            self.kind,
            target,
            &self.name,
            &self.avatar,
        );
        if self.poll {
            config.events = EventMode::Off;
        }
        Ok(config)
    }
}
