//! A feed of one member: it follows the member, not a player. While the member has a tile it
//! sends what the tile's player gives; when another player takes over (a re-join, a restart),
//! it goes on with that one, access units from its next keyframe with its avcC, as a new feed
//! starts; while the member waits for a tile it sends nothing; once the member has left the
//! call (or the call has ended), it sends the end.
//!
//! The call's view changes before any event about the change goes out, and a player is stopped
//! before the view lets it go: so a player's pictures may stop a moment before the view names
//! the next one, and the feed waits for the view rather than ending.

use super::{Encoding, Flow, Source, send_end};
use quartet_call::{MemberWatch, Seat};
use std::future::Future;
use std::sync::Arc;
use tauri::ipc::{Channel, InvokeResponseBody};

/// Where the followed member is, as [`step`] needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// On a tile, played by player `player` (see `Tile::player_id`).
    Played {
        /// The player's ID.
        player: u64,
    },
    /// In the call, not played.
    Listed,
    /// Not in the call.
    Gone,
}

/// What a member's feed does after the call changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Go on as before: the player followed still plays the member.
    Stay,
    /// Send what this player gives from now on.
    Take(u64),
    /// Send nothing until the member is played again.
    Wait,
    /// Send the end: the member is gone.
    End,
}

/// What to do when the member is `now`, following player `following` (`None`: none yet, or
/// waiting).
pub fn step(now: Where, following: Option<u64>) -> Step {
    match now {
        Where::Gone => Step::End,
        Where::Listed => Step::Wait,
        Where::Played { player } if following == Some(player) => Step::Stay,
        Where::Played { player } => Step::Take(player),
    }
}

/// The followed member's place in the call, read again on each of its changes.
pub(super) trait Seats: Send {
    /// Where the member is now, with its player's messages in `encoding` when played.
    fn now(&mut self, encoding: Encoding) -> (Where, Option<Source>);
    /// Waits until the call changes.
    fn changed(&mut self) -> impl Future<Output = ()> + Send;
}

impl Seats for MemberWatch {
    fn now(&mut self, encoding: Encoding) -> (Where, Option<Source>) {
        match self.seat() {
            Seat::Played(tile) => (
                Where::Played {
                    player: tile.player_id(),
                },
                Some(Source::of_tile(&tile, encoding)),
            ),
            Seat::Listed => (Where::Listed, None),
            Seat::Gone => (Where::Gone, None),
        }
    }

    async fn changed(&mut self) {
        // The seat is read again by `now`.
        let _ = MemberWatch::changed(self).await;
    }
}

/// Sends the member's pictures to `channel` until the member leaves, then the end.
pub(super) async fn follow(
    mut seats: impl Seats,
    encoding: Encoding,
    flow: Arc<Flow>,
    channel: Channel<InvokeResponseBody>,
) {
    let mut following = None;
    let mut live: Option<Source> = None;
    loop {
        let (now, source) = seats.now(encoding);
        match step(now, following) {
            Step::Stay => {}
            Step::Take(player) => {
                following = Some(player);
                live = source;
            }
            Step::Wait => {
                following = None;
                live = None;
            }
            Step::End => {
                send_end(&flow, &channel);
                return;
            }
        }
        loop {
            tokio::select! {
                () = seats.changed() => break,
                message = next_of(&mut live, &flow) => match message {
                    Some(m) => {
                        if channel.send(InvokeResponseBody::Raw(m)).is_err() {
                            return;
                        }
                    }
                    // The player stopped; the view names what comes next.
                    None => live = None,
                },
            }
        }
    }
}

/// The next message of `live`; never, without a source.
async fn next_of(live: &mut Option<Source>, flow: &Flow) -> Option<Vec<u8>> {
    match live {
        Some(source) => source.next(flow).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::page;
    use super::super::{FLAG_KEYFRAME, HEADER_LEN, KIND_END, KIND_H264};
    use super::*;
    use quartet_call::EncodedVideo;
    use tokio::sync::{broadcast, watch};

    #[test]
    fn a_feed_takes_each_new_player_waits_while_listed_and_ends_when_gone() {
        let played = |player| Where::Played { player };
        assert_eq!(step(played(1), None), Step::Take(1));
        assert_eq!(step(played(1), Some(1)), Step::Stay);
        assert_eq!(step(played(2), Some(1)), Step::Take(2), "a new player");
        assert_eq!(step(Where::Listed, Some(1)), Step::Wait);
        assert_eq!(step(Where::Listed, None), Step::Wait);
        assert_eq!(step(Where::Gone, Some(1)), Step::End);
        assert_eq!(step(Where::Gone, None), Step::End);
    }

    /// A member as a test sets it: played by one of the players (by index), listed, or gone.
    #[derive(Clone, Copy)]
    enum FakeSeat {
        Played(usize),
        Listed,
        Gone,
    }

    struct FakeSeats {
        seat: watch::Receiver<FakeSeat>,
        players: Vec<broadcast::Sender<EncodedVideo>>,
    }

    impl Seats for FakeSeats {
        fn now(&mut self, _encoding: Encoding) -> (Where, Option<Source>) {
            match *self.seat.borrow_and_update() {
                FakeSeat::Played(i) => (
                    Where::Played { player: i as u64 },
                    Some(Source::packets(self.players[i].subscribe())),
                ),
                FakeSeat::Listed => (Where::Listed, None),
                FakeSeat::Gone => (Where::Gone, None),
            }
        }

        async fn changed(&mut self) {
            let _ = self.seat.changed().await;
        }
    }

    fn unit(keyframe: bool, config: u8, data: u8) -> EncodedVideo {
        EncodedVideo {
            data: Arc::from(&[data][..]),
            keyframe,
            pts_ms: 0,
            dts_ms: 0,
            config: Arc::from(&[config][..]),
        }
    }

    /// The payload of a message and the avcC it carries.
    fn body(m: &[u8]) -> (u8, &[u8]) {
        assert_eq!(m[0], KIND_H264);
        let config = u32::from_le_bytes(m[12..16].try_into().unwrap()) as usize;
        (
            m[1] & FLAG_KEYFRAME,
            &m[HEADER_LEN..HEADER_LEN + config + 1],
        )
    }

    #[tokio::test]
    async fn a_member_feed_moves_to_the_new_player_from_its_keyframe_and_ends_when_the_member_leaves()
     {
        let players: Vec<_> = (0..2).map(|_| broadcast::channel(8).0).collect();
        let (seat, seat_rx) = watch::channel(FakeSeat::Played(0));
        let seats = FakeSeats {
            seat: seat_rx,
            players: players.clone(),
        };
        let (channel, mut page) = page();
        let task = tokio::spawn(follow(
            seats,
            Encoding::H264,
            Arc::new(Flow::new()),
            channel,
        ));
        // Until the task has subscribed, nothing it could miss is sent.
        while players[0].receiver_count() == 0 {
            tokio::task::yield_now().await;
        }
        players[0].send(unit(true, 7, 1)).unwrap();
        assert_eq!(
            body(&page.recv().await.unwrap()),
            (FLAG_KEYFRAME, &[7, 1][..])
        );

        seat.send_replace(FakeSeat::Played(1));
        while players[1].receiver_count() == 0 {
            tokio::task::yield_now().await;
        }
        let _ = players[0].send(unit(false, 7, 2));
        players[1].send(unit(false, 8, 3)).unwrap();
        players[1].send(unit(true, 8, 4)).unwrap();
        let m = page.recv().await.unwrap();
        assert_eq!(
            body(&m),
            (FLAG_KEYFRAME, &[8, 4][..]),
            "the old player's unit and the new one's before its keyframe are not sent"
        );
        assert_eq!(u32::from_le_bytes(m[8..12].try_into().unwrap()), 2);

        seat.send_replace(FakeSeat::Listed);
        while players[1].receiver_count() != 0 {
            tokio::task::yield_now().await;
        }
        seat.send_replace(FakeSeat::Gone);
        let end = page.recv().await.unwrap();
        assert_eq!(end[0], KIND_END);
        task.await.unwrap();
        assert!(page.recv().await.is_none(), "nothing follows the end");
    }
}
