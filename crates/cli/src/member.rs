//! The flags that say who we are and which room we are in, shared by `quartet join` and
//! `quartet bot`, and the room session they describe.

use anyhow::{Context, Result};
use clap::Args;
use quartet_proto::{InviteLink, RoomKind};
use quartet_room::{EventMode, JoinTarget, SessionConfig};
use url::Url;

/// Avatar sent when none is given: v1 servers refuse an empty one.
const DEFAULT_AVATAR: &str = quartet_proto::limits::INITIALS_AVATAR;

/// Server, room, identity and membership mode of a command-line member.
#[derive(Args)]
pub struct MemberArgs {
    /// Room server base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "QUARTET_SERVER", required_unless_present = "link")]
    server: Option<Url>,
    /// Join this room.
    #[arg(long, conflicts_with = "create", required_unless_present_any = ["create", "link"])]
    room: Option<String>,
    /// Join the room of an invite link (`quartet://join?server=…&room=…`), as the app's "Copy
    /// invite link" gives it; its server and room (and kind, if it names one) are used.
    #[arg(long, conflicts_with_all = ["room", "create"])]
    link: Option<InviteLink>,
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
    /// The room server these flags name (a link's, when there is one).
    pub fn server(&self) -> Result<Url> {
        match (&self.link, &self.server) {
            (Some(link), _) => Url::parse(&link.server)
                .with_context(|| format!("the link's server {} is not a URL", link.server)),
            (None, Some(server)) => Ok(server.clone()),
            (None, None) => anyhow::bail!("give --server URL or --link LINK"),
        }
    }

    /// The room session these flags describe.
    pub fn session_config(&self) -> Result<SessionConfig> {
        let target = match (&self.link, &self.room, &self.create) {
            (Some(link), _, _) => JoinTarget::Join {
                room_id: link.room_id.clone(),
            },
            (None, Some(room_id), _) => JoinTarget::Join {
                room_id: room_id.clone(),
            },
            (None, None, Some(room_name)) => JoinTarget::Create {
                room_name: room_name.clone(),
            },
            (None, None, None) => anyhow::bail!("give --room ID, --create NAME or --link LINK"),
        };
        let kind = self.link.as_ref().and_then(|l| l.kind).unwrap_or(self.kind);
        let mut config = SessionConfig::new(self.server()?, kind, target, &self.name, &self.avatar);
        if self.poll {
            config.events = EventMode::Off;
        }
        Ok(config)
    }
}
