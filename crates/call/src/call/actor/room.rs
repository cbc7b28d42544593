//! The actor's room news: members joining, leaving and changing, and who gets a tile.

use super::{Actor, Flow};
use crate::call::JOIN_KEYFRAME_AGAIN;
use crate::event::{CallEvent, Link};
use crate::streams;
use crate::tiles::{TileChange, assign_tiles, tile_changes};
use quartet_room::{Member, MembershipSource, SessionEvent, same_stream};

impl Actor {
    /// Takes a member's new details; its player, if any, takes the new play URL.
    pub(super) async fn member_changed(&mut self, member: &Member) {
        if let Some(m) = self
            .members
            .iter_mut()
            .find(|m| m.user_id == member.user_id)
        {
            *m = member.clone();
        }
        // The same player takes the new URL, so its pictures and whoever watches them carry
        // on: a new signature is used from the next connection, a moved stream is connected to
        // at once.
        let mut restart = None;
        if let Some(p) = self.players.get_mut(&member.user_id) {
            let stream = p.stream.stream();
            let (old, new) = (
                streams::url(&p.member, stream),
                streams::url(member, stream),
            );
            if old != new {
                match p.handle.set_url(new.to_owned()) {
                    Ok(()) if same_stream(old, new) => {}
                    Ok(()) => p.handle.reconnect(),
                    Err(_) => restart = Some(p.slot),
                }
            }
        }
        if let Some(slot) = restart {
            self.stop_player(&member.user_id).await;
            self.start_player(member, slot);
        } else if let Some(p) = self.players.get_mut(&member.user_id) {
            p.member = member.clone();
        }
    }

    /// Re-assigns the tiles to the members now present; stops and starts players to match.
    pub(super) async fn retile(&mut self) -> Vec<TileChange> {
        let present: Vec<String> = self
            .members
            .iter()
            .filter(|m| !self.is_me(m))
            .map(|m| m.user_id.clone())
            .collect();
        let next = assign_tiles(&self.tiles, &present);
        let changes = tile_changes(&self.tiles, &next);
        self.tiles = next;
        for change in &changes {
            match change {
                TileChange::Freed { user_id, .. } => self.stop_player(user_id).await,
                TileChange::Played { user_id, slot } => {
                    if let Some(m) = self.members.iter().find(|m| &m.user_id == user_id) {
                        let m = m.clone();
                        self.start_player(&m, *slot);
                    }
                }
            }
        }
        changes
    }

    /// Takes the room's news; the snapshot handles read is current before any event about it
    /// goes out, so a reader woken by an event sees what the event says.
    pub(super) async fn session_event(&mut self, event: SessionEvent) -> Flow {
        let mut news = Vec::new();
        match event {
            SessionEvent::Joined { members, .. } => {
                self.members = members;
                self.retile().await;
            }
            SessionEvent::MemberJoined(member) => {
                let me = self.is_me(&member);
                match self
                    .members
                    .iter_mut()
                    .find(|m| m.user_id == member.user_id)
                {
                    Some(m) => *m = member.clone(),
                    None => self.members.push(member.clone()),
                }
                if !me {
                    self.retile().await;
                    // With an event channel the newcomer's player asks for a keyframe once
                    // it plays (see `keyframe`), and an ask of ours now would only push its
                    // answer back by the forced-keyframe spacing (measured: 414–447 ms to a
                    // first picture through nginx-rtmp with these asks, 183–230 ms without).
                    // A v1 server carries no such request: then nginx-rtmp and CDNs, which
                    // cache no keyframe, would leave the newcomer waiting a GOP, so ask now
                    // (a polled server tells us late) and again once it likely plays.
                    if self.session.membership_source() == MembershipSource::Polling {
                        self.request_keyframe();
                        // Joins in a burst share one ask, after the last of them.
                        self.keyframe_again =
                            Some(tokio::time::Instant::now() + JOIN_KEYFRAME_AGAIN);
                    }
                    news.push(CallEvent::MemberJoined(self.participant(&member)));
                }
            }
            SessionEvent::MemberLeft(member) => {
                let freed_tile = self.tiles.slot_of(&member.user_id);
                self.members.retain(|m| m.user_id != member.user_id);
                let changes = self.retile().await;
                if !self.is_me(&member) {
                    news.push(CallEvent::MemberLeft { member, freed_tile });
                }
                for change in changes {
                    if let TileChange::Played { user_id, .. } = change
                        && let Some(m) = self.members.iter().find(|m| m.user_id == user_id)
                    {
                        news.push(CallEvent::MemberPromoted(self.participant(m)));
                    }
                }
            }
            SessionEvent::MemberUpdated(member) => {
                self.member_changed(&member).await;
                news.push(CallEvent::MemberUpdated(self.participant(&member)));
            }
            SessionEvent::PlayUrlRenewed(member) => self.member_changed(&member).await,
            SessionEvent::BecameCreator => {
                if let Some(me) = self.members.iter_mut().find(|m| m.is_self) {
                    me.is_creator = true;
                }
                news.push(CallEvent::BecameHost);
            }
            SessionEvent::Text {
                user_id,
                nick_name,
                text,
                time,
                ..
            } => news.push(CallEvent::Text {
                user_id,
                nick_name,
                text,
                time,
            }),
            SessionEvent::RoomClosed { reason } => return Flow::Closed(reason),
            SessionEvent::ConnectionLost => news.push(CallEvent::Reconnecting(Link::Room)),
            SessionEvent::ConnectionRestored => news.push(CallEvent::Reconnected(Link::Room)),
            SessionEvent::Rejoined { user_id, push_url } => {
                self.own_ids.insert(user_id);
                let current = self.publisher.as_ref().map(|p| p.url.as_str());
                if current != Some(push_url.as_str()) {
                    self.republish(push_url).await;
                }
                // Our identity may have changed: re-read who is who.
                self.members = self.session.members();
                self.retile().await;
                news.push(CallEvent::Reconnected(Link::Room));
            }
        }
        self.publish_view();
        for event in news {
            self.emit(event);
        }
        Flow::Continue
    }
}
