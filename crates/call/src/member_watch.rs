//! One member of the call, followed: played (and by which player), listed, or gone. Read from
//! the call's view, which the call updates before it tells anyone of a change, so a watcher
//! woken by a change sees it.

use crate::call::{Tile, View};
use tokio::sync::watch;

/// Where a member of the call is.
#[derive(Debug, Clone)]
pub enum Seat {
    /// On a tile, played by the tile's player.
    Played(Tile),
    /// In the call but not played: no tile yet, or every tile taken.
    Listed,
    /// Not in the call (it left, or the call ended).
    Gone,
}

impl Seat {
    /// Where member `user_id` is in `view`.
    pub(crate) fn of(view: &View, user_id: &str) -> Seat {
        if view.ended {
            return Seat::Gone;
        }
        if let Some(tile) = view.tiles.iter().find(|t| t.member.user_id == user_id) {
            return Seat::Played(tile.clone());
        }
        if view.members.iter().any(|p| p.member.user_id == user_id) {
            Seat::Listed
        } else {
            Seat::Gone
        }
    }
}

/// Follows one member through the call's changes. Holding it keeps no call alive.
#[derive(Clone)]
pub struct MemberWatch {
    view: watch::Receiver<View>,
    user_id: String,
}

impl std::fmt::Debug for MemberWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberWatch")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl MemberWatch {
    pub(crate) fn new(view: watch::Receiver<View>, user_id: &str) -> MemberWatch {
        MemberWatch {
            view,
            user_id: user_id.to_owned(),
        }
    }

    /// The member followed.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Where the member is now; [`MemberWatch::changed`] waits for the next change after this.
    pub fn seat(&mut self) -> Seat {
        Seat::of(&self.view.borrow_and_update(), &self.user_id)
    }

    /// Waits until the call changes (any change: the member's seat may be as it was), then
    /// where the member is. Once the call has ended, at once [`Seat::Gone`].
    pub async fn changed(&mut self) -> Seat {
        if self.view.changed().await.is_err() {
            return Seat::Gone;
        }
        self.seat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Participant, Placement};
    use quartet_room::Member;

    fn listed(user_id: &str) -> Participant {
        Participant {
            member: Member {
                user_id: user_id.to_owned(),
                user_name: user_id.to_owned(),
                user_avatar: String::new(),
                play_url: String::new(),
                small_play_url: None,
                is_creator: false,
                is_self: false,
                sharing_screen: false,
            },
            placement: Placement::Listed,
        }
    }

    #[test]
    fn a_member_without_a_tile_is_listed_and_one_not_in_the_call_is_gone() {
        let view = View {
            members: vec![listed("eve")],
            ..View::default()
        };
        assert!(matches!(Seat::of(&view, "eve"), Seat::Listed));
        assert!(matches!(Seat::of(&view, "bob"), Seat::Gone));
        let ended = View {
            ended: true,
            ..view
        };
        assert!(matches!(Seat::of(&ended, "eve"), Seat::Gone));
    }

    #[tokio::test]
    async fn a_watch_wakes_on_each_change_and_sees_the_end_of_the_call() {
        let (tx, rx) = watch::channel(View::default());
        let mut w = MemberWatch::new(rx, "eve");
        assert!(matches!(w.seat(), Seat::Gone));
        tx.send_replace(View {
            members: vec![listed("eve")],
            ..View::default()
        });
        assert!(matches!(w.changed().await, Seat::Listed));
        drop(tx);
        assert!(matches!(w.changed().await, Seat::Gone));
    }
}
