//! `quartet join`: a member without media, for testers: room events on stdout, each line typed
//! on stdin sent as a room text message; leaves on end of input or Ctrl-C.

use crate::member::MemberArgs;
use anyhow::{Context, Result};
use clap::Args;
use quartet_room::{Member, MemberChange, SessionEvent, SessionHandle};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use tokio::io::{AsyncBufReadExt, BufReader};

/// `text` made inert for a terminal: control characters (C0 with newline and escape, DEL, C1) and
/// bidi controls are shown as `\u{..}` instead of acting, so received text cannot clear the
/// screen, overwrite a line, forge a line of its own or reorder what follows it.
pub fn inert(text: &str) -> Cow<'_, str> {
    let acts =
        |c: char| quartet_proto::limits::is_control(c) || quartet_proto::limits::is_bidi_control(c);
    if !text.chars().any(acts) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if acts(c) {
            let _ = write!(shown, "\\u{{{:x}}}", u32::from(c));
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// Flags of `quartet join`.
#[derive(Args)]
pub struct JoinArgs {
    #[command(flatten)]
    member: MemberArgs,
    /// Ignore stdin (stay until Ctrl-C); without it, end of input leaves the room.
    #[arg(long)]
    no_stdin: bool,
    /// Print the signed URL our stream goes to, so another encoder (FFmpeg's CLI, OBS) can
    /// publish for this member.
    #[arg(long)]
    print_push_url: bool,
}

/// Joins, then relays events and typed lines until the room closes, input ends or Ctrl-C.
pub async fn run(args: JoinArgs) -> Result<()> {
    let config = args.member.session_config()?;
    let server = config.server.clone();
    let (session, mut events) = quartet_room::connect(config)
        .await
        .with_context(|| format!("could not join on {server}"))?;
    if args.print_push_url {
        println!("push URL: {}", inert(&session.push_url()));
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let input_open = !args.no_stdin;
    // The members as last printed, so an update can say what changed.
    let mut known: HashMap<String, Member> = HashMap::new();
    // Ok(true): we should leave; Ok(false): the session already ended.
    let outcome = loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    let closed = matches!(event, SessionEvent::RoomClosed { .. });
                    print_event(&event, &known);
                    remember(&mut known, &event);
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
    match session.leave(quartet_room::LeaveMode::Leave).await {
        Ok(()) => println!("left room {}", session.room_id()),
        Err(e) => eprintln!("! leaving failed: {e}"),
    }
}

fn remember(known: &mut HashMap<String, Member>, event: &SessionEvent) {
    match event {
        SessionEvent::Joined { members, .. } => {
            known.clear();
            known.extend(members.iter().map(|m| (m.user_id.clone(), m.clone())));
        }
        SessionEvent::MemberJoined(m)
        | SessionEvent::MemberUpdated(m)
        | SessionEvent::PlayUrlRenewed(m) => {
            known.insert(m.user_id.clone(), m.clone());
        }
        SessionEvent::MemberLeft(m) => {
            known.remove(&m.user_id);
        }
        _ => {}
    }
}

/// What a member update changed, in words; empty when nothing a tester would look at did.
fn changes(before: &Member, now: &Member) -> Vec<String> {
    let change = MemberChange::between(before, now);
    let mut said = Vec::new();
    if change.name {
        said.push(format!("name was {}", before.user_name));
    }
    if change.avatar {
        said.push("new avatar".to_owned());
    }
    if change.role {
        said.push(
            if now.is_creator {
                "now the creator"
            } else {
                "no longer the creator"
            }
            .to_owned(),
        );
    }
    if change.stream {
        said.push("plays from a new stream".to_owned());
    }
    said
}

fn print_event(event: &SessionEvent, known: &HashMap<String, Member>) {
    match event {
        SessionEvent::Joined {
            room_id,
            user_id,
            members,
        } => {
            println!("joined room {} as {}", inert(room_id), inert(user_id));
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
                    inert(&m.user_name),
                    inert(&m.user_id),
                    tags.join(" ")
                );
            }
        }
        SessionEvent::MemberJoined(m) => {
            println!("+ {} ({}) joined", inert(&m.user_name), inert(&m.user_id))
        }
        SessionEvent::BecameCreator => println!("* the room was handed to you: you are the host"),
        SessionEvent::MemberLeft(m) => {
            println!("- {} ({}) left", inert(&m.user_name), inert(&m.user_id))
        }
        SessionEvent::MemberUpdated(m) => {
            let what = known.get(&m.user_id).map(|before| changes(before, m));
            match what.filter(|w| !w.is_empty()) {
                Some(what) => println!(
                    "~ {} ({}) updated: {}",
                    inert(&m.user_name),
                    inert(&m.user_id),
                    inert(&what.join(", "))
                ),
                None => println!("~ {} ({}) updated", inert(&m.user_name), inert(&m.user_id)),
            }
        }
        SessionEvent::PlayUrlRenewed(m) => {
            tracing::debug!(user_id = %m.user_id, "play URL signed again")
        }
        SessionEvent::Text {
            nick_name,
            user_id,
            text,
            ..
        } => println!(
            "[{} ({})] {}",
            inert(nick_name),
            inert(user_id),
            inert(text)
        ),
        SessionEvent::RoomClosed { reason } => {
            println!("room closed ({})", inert(reason))
        }
        SessionEvent::ConnectionLost => println!("! room server unreachable; retrying"),
        SessionEvent::ConnectionRestored => println!("room server reachable again"),
        SessionEvent::Rejoined { user_id, .. } => println!("rejoined as {}", inert(user_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> Member {
        Member {
            user_id: "u1".into(),
            user_name: "Bob".into(),
            user_avatar: "bob.png".into(),
            small_play_url: None,
            play_url: "rtmp://h/live/8888_u1?txSecret=aa&txTime=65A0".into(),
            is_creator: false,
            is_self: false,
            sharing_screen: false,
        }
    }

    #[test]
    fn received_text_cannot_drive_the_terminal() {
        assert_eq!(inert("你好 hello 🎉"), "你好 hello 🎉");
        assert!(matches!(inert("plain"), Cow::Borrowed(_)));
        assert_eq!(inert("\u{1b}[2Jgone"), "\\u{1b}[2Jgone");
        assert_eq!(inert("ok\rAnn: pay me"), "ok\\u{d}Ann: pay me");
        assert_eq!(inert("hi\n- Ann (u1) left"), "hi\\u{a}- Ann (u1) left");
        assert_eq!(inert("\u{202e}evil"), "\\u{202e}evil");
        assert_eq!(inert("a\u{9b}2Jb\u{7f}"), "a\\u{9b}2Jb\\u{7f}");
        assert!(
            !inert("\u{2066}x\u{200f}")
                .chars()
                .any(|c| c.is_control() || quartet_proto::limits::is_bidi_control(c))
        );
    }

    #[test]
    fn an_update_says_what_changed_and_a_new_signature_is_not_a_change() {
        let before = member();
        let mut now = member();
        now.play_url = "rtmp://h/live/8888_u1?txSecret=bb&txTime=65A1".into();
        assert!(changes(&before, &now).is_empty());

        now.user_name = "Robert".into();
        now.user_avatar = "robert.png".into();
        now.is_creator = true;
        now.play_url = "rtmp://elsewhere/live/8888_u1".into();
        assert_eq!(
            changes(&before, &now),
            [
                "name was Bob",
                "new avatar",
                "now the creator",
                "plays from a new stream"
            ]
        );
        assert_eq!(changes(&now, &before)[2], "no longer the creator");
    }

    #[test]
    fn the_roster_follows_joins_updates_and_leaves() {
        let mut known = HashMap::new();
        let bob = member();
        remember(
            &mut known,
            &SessionEvent::Joined {
                room_id: "r".into(),
                user_id: "me".into(),
                members: vec![bob.clone()],
            },
        );
        let mut renamed = bob.clone();
        renamed.user_name = "Robert".into();
        remember(&mut known, &SessionEvent::MemberUpdated(renamed.clone()));
        assert_eq!(known.get("u1"), Some(&renamed));
        remember(&mut known, &SessionEvent::MemberLeft(renamed));
        assert!(known.is_empty());
    }
}
