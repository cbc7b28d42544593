//! What a bot prints as the call goes: joins, leaves, texts, reconnections, first pictures.

use crate::join::inert;
use quartet_call::{CallEvent, Link, Participant, Placement, PlayerState, PublisherState};
use std::collections::HashMap;

pub(super) fn remember_names(names: &mut HashMap<String, String>, event: &CallEvent) {
    let mut remember = |p: &Participant| {
        names.insert(p.member.user_id.clone(), p.member.user_name.clone());
    };
    match event {
        CallEvent::Joined { members, .. } => members.iter().for_each(remember),
        CallEvent::MemberJoined(p) | CallEvent::MemberPromoted(p) | CallEvent::MemberUpdated(p) => {
            remember(p)
        }
        _ => {}
    }
}

/// A member's name as a terminal may show it (control sequences made visible).
fn name_of<'a>(names: &'a HashMap<String, String>, user_id: &'a str) -> std::borrow::Cow<'a, str> {
    inert(names.get(user_id).map_or(user_id, String::as_str))
}

fn placement(p: &Participant) -> String {
    match p.placement {
        Placement::Own => "you".to_owned(),
        Placement::Tile(t) => format!("tile {}", t + 1),
        Placement::Listed => "listed, not played (no tile free)".to_owned(),
    }
}

fn link(names: &HashMap<String, String>, link: &Link) -> String {
    match link {
        Link::Room => "room server".to_owned(),
        Link::Publisher => "our stream".to_owned(),
        Link::Player(id) => format!("{}'s stream", name_of(names, id)),
    }
}

pub(super) fn print_event(prefix: &str, names: &HashMap<String, String>, event: &CallEvent) {
    match event {
        CallEvent::Joined {
            room_id,
            user_id,
            members,
        } => {
            println!("{prefix}joined room {room_id} as {user_id}");
            for p in members {
                println!(
                    "{prefix}  member {} ({}) {}",
                    inert(&p.member.user_name),
                    p.member.user_id,
                    placement(p)
                );
            }
        }
        CallEvent::MemberJoined(p) => println!(
            "{prefix}+ {} ({}) joined: {}",
            inert(&p.member.user_name),
            p.member.user_id,
            placement(p)
        ),
        CallEvent::BecameHost => println!("{prefix}* the room was handed to us: we are the host"),
        CallEvent::MemberLeft { member, .. } => {
            println!(
                "{prefix}- {} ({}) left",
                inert(&member.user_name),
                member.user_id
            )
        }
        CallEvent::MemberPromoted(p) => {
            println!(
                "{prefix}^ {} now plays in {}",
                inert(&p.member.user_name),
                placement(p)
            )
        }
        CallEvent::MemberUpdated(p) => println!("{prefix}~ {} updated", inert(&p.member.user_name)),
        CallEvent::Text {
            user_id,
            nick_name,
            text,
            ..
        } => println!(
            "{prefix}[{} ({})] {}",
            inert(nick_name),
            inert(user_id),
            inert(text)
        ),
        CallEvent::RoomClosed { reason } => println!("{prefix}room closed ({})", inert(reason)),
        CallEvent::Reconnecting(l) => println!("{prefix}! {} lost; reconnecting", link(names, l)),
        CallEvent::Reconnected(l) => println!("{prefix}{} back", link(names, l)),
        CallEvent::DeviceError { kind, message } => {
            println!("{prefix}! {kind}: {message}; going on without it")
        }
        CallEvent::PublisherState(PublisherState::Live) => println!("{prefix}sending"),
        CallEvent::UplinkLimited {
            width,
            height,
            fps,
            video_kbps,
        } => println!(
            "{prefix}! our uplink is slow: sending {width}×{height}@{fps} at {video_kbps} kbps"
        ),
        CallEvent::PlayerState {
            user_id,
            state: PlayerState::FirstFrame { after },
        } => println!(
            "{prefix}first picture from {} after {} ms",
            name_of(names, user_id),
            after.as_millis()
        ),
        CallEvent::PlayerState {
            user_id,
            state: PlayerState::Failed { reason },
        } => println!(
            "{prefix}! cannot play {}: {reason}",
            name_of(names, user_id)
        ),
        CallEvent::PublisherState(_) | CallEvent::PlayerState { .. } => {}
    }
}
