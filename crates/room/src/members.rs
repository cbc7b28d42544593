//! Room members as the session shows them, and the diff that turns two `get_pushers` lists into
//! joins, leaves, updates and renewed signatures (v1 servers send no member data, only
//! "refetch").

use quartet_proto::Pusher;
use std::collections::{HashMap, HashSet};

/// One member of the room. Its `Debug` hides the signatures of its play URLs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Member {
    /// The member's userID.
    pub user_id: String,
    /// Nickname.
    pub user_name: String,
    /// Avatar URL.
    pub user_avatar: String,
    /// Where to play the member's stream (`accelerateURL`).
    pub play_url: String,
    /// Where to play the member's small second stream (`smallAccelerateURL`, an extension),
    /// when the server offers one.
    pub small_play_url: Option<String>,
    /// Whether the member created the room.
    pub is_creator: bool,
    /// Whether the member is this session's own user.
    pub is_self: bool,
    /// Whether the member's stream shows a shared screen (an extension; false from v1 servers).
    pub sharing_screen: bool,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use quartet_proto::redact::Redacted;
        f.debug_struct("Member")
            .field("user_id", &self.user_id)
            .field("user_name", &self.user_name)
            .field("user_avatar", &self.user_avatar)
            .field("play_url", &Redacted(&self.play_url))
            .field(
                "small_play_url",
                &self.small_play_url.as_deref().map(Redacted),
            )
            .field("is_creator", &self.is_creator)
            .field("is_self", &self.is_self)
            .field("sharing_screen", &self.sharing_screen)
            .finish()
    }
}

/// What changed between two member lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberDiff {
    /// Members in the new list only, in its order.
    pub joined: Vec<Member>,
    /// Members in the old list only, in its order.
    pub left: Vec<Member>,
    /// Members in both whose name, avatar, role or stream changed, as they are now.
    pub updated: Vec<Member>,
    /// Members in both whose only change is their play URL signed again for the same stream,
    /// as they are now.
    pub renewed: Vec<Member>,
}

impl MemberDiff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.joined.is_empty()
            && self.left.is_empty()
            && self.updated.is_empty()
            && self.renewed.is_empty()
    }
}

/// Whether two play URLs name the same stream: the room server signs each member list afresh,
/// so the query (`txSecret`, `txTime`) changes while the stream stays where it was.
pub fn same_stream(a: &str, b: &str) -> bool {
    fn stream(url: &str) -> &str {
        url.split_once('?').map_or(url, |(s, _)| s)
    }
    stream(a) == stream(b)
}

/// Which of a member's details differ between two member lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberChange {
    /// The nickname.
    pub name: bool,
    /// The avatar URL.
    pub avatar: bool,
    /// Whether the member created the room.
    pub role: bool,
    /// Where the member's stream is played from (the play URL without its query).
    pub stream: bool,
    /// The play URL's signature alone, for the same stream.
    pub signature: bool,
    /// Whether the member's stream shows a shared screen.
    pub sharing: bool,
}

impl MemberChange {
    /// What differs from `before` to `now`.
    pub fn between(before: &Member, now: &Member) -> MemberChange {
        let small_stream = match (&before.small_play_url, &now.small_play_url) {
            (Some(a), Some(b)) => same_stream(a, b),
            (a, b) => a == b,
        };
        let stream = !same_stream(&before.play_url, &now.play_url) || !small_stream;
        MemberChange {
            name: before.user_name != now.user_name,
            avatar: before.user_avatar != now.user_avatar,
            role: before.is_creator != now.is_creator,
            sharing: before.sharing_screen != now.sharing_screen,
            stream,
            signature: !stream
                && (before.play_url != now.play_url || before.small_play_url != now.small_play_url),
        }
    }

    /// Whether anything but the signature changed, so there is something to show.
    pub fn is_update(&self) -> bool {
        self.name || self.avatar || self.role || self.stream || self.sharing
    }
}

/// Members of `pushers` as seen by `me`: one entry per userID (the first wins), creator first,
/// otherwise in the server's order.
pub fn members_from_pushers(pushers: &[Pusher], creator: &str, me: &str) -> Vec<Member> {
    let mut seen = HashSet::new();
    let mut members: Vec<Member> = pushers
        .iter()
        .filter(|p| seen.insert(p.user_id.as_str()))
        .map(|p| Member {
            user_id: p.user_id.clone(),
            user_name: p.user_name.clone(),
            user_avatar: p.user_avatar.clone(),
            play_url: p.accelerate_url.clone(),
            small_play_url: p.small_accelerate_url.clone(),
            is_creator: p.user_id == creator,
            is_self: p.user_id == me,
            sharing_screen: p.sharing_screen,
        })
        .collect();
    // A stable sort keeps everyone else in the server's order.
    members.sort_by_key(|m| !m.is_creator);
    members
}

/// The joins, leaves, updates and renewals that turn `old` into `new`, matching members by
/// userID.
/// A userID listed twice counts once, as its first entry.
pub fn diff_members(old: &[Member], new: &[Member]) -> MemberDiff {
    let old_by_id = first_by_id(old);
    let new_by_id = first_by_id(new);
    let mut diff = MemberDiff::default();
    let mut seen = HashSet::new();
    for m in new {
        if !seen.insert(m.user_id.as_str()) {
            continue;
        }
        let Some(before) = old_by_id.get(m.user_id.as_str()) else {
            diff.joined.push(m.clone());
            continue;
        };
        let change = MemberChange::between(before, m);
        if change.is_update() {
            diff.updated.push(m.clone());
        } else if change.signature {
            diff.renewed.push(m.clone());
        }
    }
    seen.clear();
    for m in old {
        if seen.insert(m.user_id.as_str()) && !new_by_id.contains_key(m.user_id.as_str()) {
            diff.left.push(m.clone());
        }
    }
    diff
}

fn first_by_id(members: &[Member]) -> HashMap<&str, &Member> {
    let mut map = HashMap::new();
    for m in members {
        map.entry(m.user_id.as_str()).or_insert(m);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, name: &str) -> Member {
        Member {
            user_id: id.into(),
            user_name: name.into(),
            user_avatar: format!("{id}.png"),
            play_url: format!("rtmp://relay/live/8888_{id}?txSecret=aa&txTime=65A0"),
            small_play_url: Some(format!(
                "rtmp://relay/live/8888_{id}-small?txSecret=aa&txTime=65A0"
            )),
            is_creator: false,
            is_self: false,
            sharing_screen: false,
        }
    }

    fn ids(v: &[Member]) -> Vec<&str> {
        v.iter().map(|m| m.user_id.as_str()).collect()
    }

    #[test]
    fn equal_lists_make_an_empty_diff_whatever_their_order() {
        let a = [m("a", "A"), m("b", "B"), m("c", "C")];
        let b = [m("c", "C"), m("a", "A"), m("b", "B")];
        assert!(diff_members(&a, &b).is_empty());
        assert!(diff_members(&[], &[]).is_empty());
    }

    #[test]
    fn joins_follow_the_new_order_and_leaves_the_old() {
        let old = [m("a", "A"), m("b", "B"), m("c", "C")];
        let new = [m("a", "A"), m("e", "E"), m("d", "D")];
        let d = diff_members(&old, &new);
        assert_eq!(ids(&d.joined), ["e", "d"]);
        assert_eq!(ids(&d.left), ["b", "c"]);
        assert!(d.updated.is_empty());
    }

    #[test]
    fn a_rename_is_an_update_not_a_leave_and_a_join() {
        let old = [m("a", "A"), m("b", "B")];
        let mut renamed = m("b", "Bee");
        renamed.play_url = "rtmp://elsewhere/live/b".into();
        let d = diff_members(&old, &[m("a", "A"), renamed.clone()]);
        assert!(d.joined.is_empty() && d.left.is_empty());
        assert_eq!(d.updated, [renamed]);
    }

    #[test]
    fn a_new_signature_alone_is_a_renewal_with_anything_else_an_update() {
        let signed_again = |mut m: Member| {
            m.play_url = m
                .play_url
                .replace("txSecret=aa&txTime=65A0", "txSecret=bb&txTime=65A1");
            m
        };
        let old = [m("a", "A"), m("b", "B"), m("c", "C")];
        let renamed = signed_again(m("b", "Bee"));
        let mut moved = m("c", "C");
        moved.play_url = "rtmp://elsewhere/live/8888_c?txSecret=aa&txTime=65A0".into();
        let new = [signed_again(m("a", "A")), renamed.clone(), moved.clone()];
        let d = diff_members(&old, &new);
        assert!(d.joined.is_empty() && d.left.is_empty());
        assert_eq!(d.renewed, [new[0].clone()]);
        assert_eq!(d.updated, [renamed, moved]);
    }

    #[test]
    fn a_new_signature_is_the_same_stream_a_new_path_is_not() {
        let a = "rtmp://h/live/8888_u1?txSecret=aa&txTime=65A0";
        assert!(same_stream(
            a,
            "rtmp://h/live/8888_u1?txSecret=bb&txTime=65A1"
        ));
        assert!(same_stream(a, "rtmp://h/live/8888_u1"));
        assert!(!same_stream(
            a,
            "rtmp://h/live/8888_u2?txSecret=aa&txTime=65A0"
        ));
        assert!(!same_stream(
            a,
            "rtmp://other/live/8888_u1?txSecret=aa&txTime=65A0"
        ));
    }

    #[test]
    fn a_small_streams_new_signature_is_a_renewal_its_coming_or_going_an_update() {
        let before = m("a", "A");
        let mut resigned = before.clone();
        resigned.small_play_url =
            Some("rtmp://relay/live/8888_a-small?txSecret=bb&txTime=65A1".into());
        let d = diff_members(
            std::slice::from_ref(&before),
            std::slice::from_ref(&resigned),
        );
        assert_eq!((d.renewed, d.updated.len()), (vec![resigned], 0));
        let mut gone = before.clone();
        gone.small_play_url = None;
        let d = diff_members(std::slice::from_ref(&before), std::slice::from_ref(&gone));
        assert_eq!((d.updated, d.renewed.len()), (vec![gone], 0));
    }

    #[test]
    fn becoming_creator_is_an_update() {
        let mut promoted = m("a", "A");
        promoted.is_creator = true;
        let d = diff_members(&[m("a", "A")], std::slice::from_ref(&promoted));
        assert_eq!(d.updated, [promoted]);
    }

    #[test]
    fn starting_or_stopping_a_screen_share_is_an_update() {
        let mut sharing = m("a", "A");
        sharing.sharing_screen = true;
        let d = diff_members(&[m("a", "A")], std::slice::from_ref(&sharing));
        assert_eq!(d.updated, [sharing.clone()]);
        let d = diff_members(&[sharing], &[m("a", "A")]);
        assert_eq!(d.updated, [m("a", "A")]);
    }

    #[test]
    fn duplicates_count_once_as_their_first_entry() {
        let old = [m("a", "A"), m("a", "A"), m("b", "B")];
        let new = [m("b", "B"), m("c", "C"), m("c", "Other"), m("b", "Later")];
        let d = diff_members(&old, &new);
        assert_eq!(ids(&d.joined), ["c"]);
        assert_eq!(d.joined[0].user_name, "C");
        assert_eq!(ids(&d.left), ["a"]);
        assert!(
            d.updated.is_empty() && d.renewed.is_empty(),
            "a later duplicate must not count"
        );
    }

    #[test]
    fn everyone_leaves_into_an_empty_list() {
        let old = [m("a", "A"), m("b", "B")];
        let d = diff_members(&old, &[]);
        assert_eq!(ids(&d.left), ["a", "b"]);
        let d = diff_members(&[], &old);
        assert_eq!(ids(&d.joined), ["a", "b"]);
    }

    #[test]
    fn pushers_become_members_creator_first_without_duplicates() {
        let p = |id: &str| Pusher {
            user_id: id.into(),
            user_name: id.to_uppercase(),
            user_avatar: String::new(),
            accelerate_url: format!("rtmp://r/live/{id}"),
            small_accelerate_url: None,
            sharing_screen: id == "x",
        };
        let list = [p("x"), p("me"), p("boss"), p("x")];
        let members = members_from_pushers(&list, "boss", "me");
        assert_eq!(ids(&members), ["boss", "x", "me"]);
        assert!(members[0].is_creator && !members[0].is_self);
        assert!(members[2].is_self && !members[2].is_creator);
        assert_eq!(members[1].play_url, "rtmp://r/live/x");
        assert!(members[1].sharing_screen && !members[0].sharing_screen);
    }
}
