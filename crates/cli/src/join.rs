//! `quartet join`: a member without media, for testers: room events on stdout, each line typed
//! on stdin sent as a room text message; leaves on end of input or Ctrl-C.

use crate::member::MemberArgs;
use anyhow::{Context, Result};
use clap::Args;
use quartet_room::{SessionEvent, SessionHandle};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Flags of `quartet join`.
#[derive(Args)]
pub struct JoinArgs {
    #[command(flatten)]
    member: MemberArgs,
    /// Ignore stdin (stay until Ctrl-C); without it, end of input leaves the room.
    #[arg(long)]
    no_stdin: bool,
}

/// Joins, then relays events and typed lines until the room closes, input ends or Ctrl-C.
pub async fn run(args: JoinArgs) -> Result<()> {
    let config = args.member.session_config()?;
    let (session, mut events) = quartet_room::connect(config)
        .await
        .with_context(|| format!("could not join on {}", args.member.server))?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let input_open = !args.no_stdin;
    // Ok(true): we should leave; Ok(false): the session already ended.
    let outcome = loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    let closed = matches!(event, SessionEvent::RoomClosed { .. });
                    print_event(&event);
                    if closed {
                        break Ok(false);
                    }
                }
                None => break Ok(false),
            },
            line = lines.next_line(), if input_open => match line {
                Ok(Some(line)) if line.trim().is_empty() => {}
                Ok(Some(line)) => send(&session, line.trim()).await,
                Ok(None) => break Ok(true),
                Err(e) => break Err(anyhow::Error::from(e).context("reading stdin")),
            },
            _ = crate::shutdown_signal() => break Ok(true),
        }
    };
    if matches!(outcome, Ok(true)) {
        leave(&session).await;
    }
    outcome.map(drop)
}

async fn send(session: &SessionHandle, text: &str) {
    if let Err(e) = session.send_text(text).await {
        eprintln!("! message not sent: {e}");
    }
}

async fn leave(session: &SessionHandle) {
    match session.leave().await {
        Ok(()) => println!("left room {}", session.room_id()),
        Err(e) => eprintln!("! leaving failed: {e}"),
    }
}

fn print_event(event: &SessionEvent) {
    match event {
        SessionEvent::Joined {
            room_id,
            user_id,
            members,
        } => {
            println!("joined room {room_id} as {user_id}");
            for m in members {
                let mut tags = Vec::new();
                if m.is_creator {
                    tags.push("creator");
                }
                if m.is_self {
                    tags.push("you");
                }
                println!(
                    "  member {} ({}) {}",
                    m.user_name,
                    m.user_id,
                    tags.join(" ")
                );
            }
        }
        SessionEvent::MemberJoined(m) => println!("+ {} ({}) joined", m.user_name, m.user_id),
        SessionEvent::MemberLeft(m) => println!("- {} ({}) left", m.user_name, m.user_id),
        SessionEvent::MemberUpdated(m) => println!("~ {} ({}) updated", m.user_name, m.user_id),
        SessionEvent::PlayUrlRenewed(m) => {
            tracing::debug!(user_id = %m.user_id, "play URL signed again")
        }
        SessionEvent::Text {
            nick_name,
            user_id,
            text,
            ..
        } => println!("[{nick_name} ({user_id})] {text}"),
        SessionEvent::RoomClosed { reason } => println!("room closed ({reason})"),
        SessionEvent::ConnectionLost => println!("! room server unreachable; retrying"),
        SessionEvent::ConnectionRestored => println!("room server reachable again"),
        SessionEvent::Rejoined { user_id, .. } => println!("rejoined as {user_id}"),
    }
}
