//! Which kind a room is, for a room known by its ID alone: v1 keeps each kind's rooms under
//! their own path (`/weapp/{kind}/...`), and nothing in an ID says which.

use crate::api::{ApiClient, ApiError};
use quartet_proto::{Code, RoomKind};
use url::Url;

/// The kind holding a room, from each kind's `get_pushers` answer (`answers` in the order
/// asked): the first kind that has it; else, when some kind could not answer, the first such
/// failure (the room may be there, so "no such room" would mislead); else "no such room".
pub fn pick_kind<I>(answers: I) -> Result<RoomKind, ApiError>
where
    I: IntoIterator<Item = (RoomKind, Result<(), ApiError>)>,
{
    let mut absent = None;
    let mut failed = None;
    for (kind, answer) in answers {
        match answer {
            Ok(()) => return Ok(kind),
            Err(e) if e.code() == Some(Code::NoSuchRoom) => {
                absent.get_or_insert(e);
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    Err(failed.or(absent).unwrap_or_else(|| ApiError::Code {
        code: Code::NoSuchRoom,
        message: "no room kind was asked".into(),
    }))
}

/// Asks the server at `base` which kind holds `room_id` (every kind at once, see [`pick_kind`]).
pub async fn find_room_kind(base: &Url, room_id: &str) -> Result<RoomKind, ApiError> {
    let [a, b, c] = RoomKind::ALL.map(|kind| ApiClient::new(base.clone(), kind));
    let (a, b, c) = (a?, b?, c?);
    let (ra, rb, rc) = tokio::join!(
        a.get_pushers(room_id),
        b.get_pushers(room_id),
        c.get_pushers(room_id)
    );
    pick_kind([
        (a.kind(), ra.map(drop)),
        (b.kind(), rb.map(drop)),
        (c.kind(), rc.map(drop)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(code: Code) -> Result<(), ApiError> {
        Err(ApiError::Code {
            code,
            message: "m".into(),
        })
    }

    fn down() -> Result<(), ApiError> {
        Err(ApiError::Status {
            status: 503,
            message: "busy".into(),
        })
    }

    #[test]
    fn the_first_kind_that_has_the_room_wins() {
        use RoomKind::*;
        let picked = pick_kind([
            (MultiRoom, code(Code::NoSuchRoom)),
            (DoubleRoom, Ok(())),
            (LiveRoom, Ok(())),
        ]);
        assert_eq!(picked.unwrap(), DoubleRoom);
        // A kind that could not answer does not hide one that has the room.
        let picked = pick_kind([(MultiRoom, down()), (LiveRoom, Ok(()))]);
        assert_eq!(picked.unwrap(), LiveRoom);
    }

    #[test]
    fn no_room_anywhere_is_no_such_room_unless_a_kind_could_not_answer() {
        use RoomKind::*;
        let absent = pick_kind(RoomKind::ALL.map(|k| (k, code(Code::NoSuchRoom))));
        assert_eq!(absent.unwrap_err().code(), Some(Code::NoSuchRoom));
        let unsure = pick_kind([
            (MultiRoom, code(Code::NoSuchRoom)),
            (DoubleRoom, down()),
            (LiveRoom, code(Code::NoSuchRoom)),
        ]);
        assert!(unsure.unwrap_err().is_transient());
        assert_eq!(
            pick_kind([]).unwrap_err().code(),
            Some(Code::NoSuchRoom),
            "nothing asked, nothing found"
        );
    }
}
