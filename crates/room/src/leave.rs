//! Leaving a room: which call carries out what the user chose, given our role and what the
//! server offers. A v1 creator cannot leave without closing the room; a Quartet server lets it
//! hand the room over instead (`hand_over_room`), so the others' call goes on.

use crate::api::ApiClient;
use crate::members::Member;
use crate::session::SessionError;
use quartet_proto::{Code, Endpoint};

/// What the user asked for when leaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeaveMode {
    /// Leave; the others stay in the call when the server can hand the room over.
    #[default]
    Leave,
    /// The creator closes the room for everyone (for another member it is the same as `Leave`).
    EndForEveryone,
}

/// The room API call that carries out a leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeaveCall {
    /// `delete_pusher`: a member leaves (v1: a creator leaving closes the room).
    DeletePusher,
    /// `hand_over_room` (ext): the creator leaves and the room passes on.
    HandOver,
    /// `destroy_room`: the creator closes the room.
    DestroyRoom,
}

/// The call for `mode`, when we are (or are not) the creator and the server does (or does not)
/// offer hand-over.
pub(crate) fn leave_call(mode: LeaveMode, is_creator: bool, hand_over_offered: bool) -> LeaveCall {
    match (mode, is_creator) {
        (_, false) => LeaveCall::DeletePusher,
        (LeaveMode::EndForEveryone, true) => LeaveCall::DestroyRoom,
        (LeaveMode::Leave, true) if hand_over_offered => LeaveCall::HandOver,
        (LeaveMode::Leave, true) => LeaveCall::DeletePusher,
    }
}

/// Who a Quartet server hands the room to when its creator leaves: the member present longest,
/// i.e. the first one after the creator in the server's (join) order.
pub fn likely_heir(members: &[Member]) -> Option<&Member> {
    members.iter().find(|m| !m.is_creator && !m.is_self)
}

/// Carries out `call`. A hand-over the server refuses (someone else became creator meanwhile)
/// falls back to a plain leave; being out of the room already counts as having left.
pub(crate) async fn leave(
    api: &ApiClient,
    room_id: &str,
    user_id: &str,
    call: LeaveCall,
) -> Result<(), SessionError> {
    let (endpoint, result) = match call {
        LeaveCall::DeletePusher => (
            Endpoint::DeletePusher,
            api.delete_pusher(room_id, user_id).await,
        ),
        LeaveCall::DestroyRoom => (
            Endpoint::DestroyRoom,
            api.destroy_room(room_id, user_id).await,
        ),
        LeaveCall::HandOver => match api.hand_over_room(room_id, user_id).await {
            Ok(handed) => {
                tracing::info!(heir = ?handed.room_creator, "handed the room over");
                (Endpoint::HandOverRoom, Ok(()))
            }
            Err(e) if e.code().is_some() && e.code() != Some(Code::AuthFailed) => {
                tracing::info!(error = %e, "hand-over refused; leaving instead");
                (
                    Endpoint::DeletePusher,
                    api.delete_pusher(room_id, user_id).await,
                )
            }
            Err(e) => (Endpoint::HandOverRoom, Err(e)),
        },
    };
    match result {
        Err(e) if matches!(e.code(), Some(Code::NoSuchMember | Code::NoSuchRoom)) => {
            tracing::debug!(error = %e, "left a room we were no longer in");
            Ok(())
        }
        // Our token expired before the heartbeat that would have noticed: the server takes
        // nothing from this identity any more and drops it once its heartbeats stop.
        Err(e) if e.code() == Some(Code::AuthFailed) => {
            tracing::info!(error = %e, "left with an expired token; the server will drop us");
            Ok(())
        }
        result => result.map_err(SessionError::api(endpoint)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_leaves_by_delete_pusher_whatever_it_asked() {
        for mode in [LeaveMode::Leave, LeaveMode::EndForEveryone] {
            for offered in [false, true] {
                assert_eq!(leave_call(mode, false, offered), LeaveCall::DeletePusher);
            }
        }
    }

    #[test]
    fn a_creator_hands_over_only_where_the_server_offers_it() {
        assert_eq!(
            leave_call(LeaveMode::Leave, true, true),
            LeaveCall::HandOver
        );
        assert_eq!(
            leave_call(LeaveMode::Leave, true, false),
            LeaveCall::DeletePusher
        );
    }

    fn member(id: &str, creator: bool, me: bool) -> Member {
        Member {
            user_id: id.into(),
            user_name: id.into(),
            user_avatar: String::new(),
            play_url: String::new(),
            small_play_url: None,
            is_creator: creator,
            is_self: me,
            sharing_screen: false,
        }
    }

    #[test]
    fn the_heir_is_the_first_other_member_in_join_order() {
        let room = [
            member("ann", true, true),
            member("bob", false, false),
            member("cat", false, false),
        ];
        assert_eq!(likely_heir(&room).map(|m| m.user_id.as_str()), Some("bob"));
        assert_eq!(likely_heir(&room[..1]), None);
    }

    #[test]
    fn ending_for_everyone_destroys_the_room() {
        for offered in [false, true] {
            assert_eq!(
                leave_call(LeaveMode::EndForEveryone, true, offered),
                LeaveCall::DestroyRoom
            );
        }
    }
}
