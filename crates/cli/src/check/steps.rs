//! The walk `quartet check` takes through a room server, as data: each step names the call, who
//! makes it, how its body is bent, what the original v1 server answered, and what the answer
//! must hold. The runner reads the table; nothing here does I/O.

use quartet_proto::Endpoint;

/// Which of the two members the check plays acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    /// Logs in first and creates the room.
    Creator,
    /// Logs in second and joins.
    Second,
}

/// The token a call carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// The acting member's own.
    Own,
    /// The other member's: valid, but for someone else.
    Others,
}

/// Which room a call names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoomRef {
    /// The room this walk created.
    Ours,
    /// A room no server has.
    Unknown,
}

/// An answer the original gave (or Quartet gives).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// HTTP 200 with this `code`.
    Code(i64),
    /// HTTP 404: the original had no such endpoint.
    NoEndpoint,
}

/// What a step's answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expect {
    /// What the original v1 server answered.
    pub(crate) v1: Answer,
    /// What Quartet answers where it extends or corrects v1 (spec `ext`); either is no deviation.
    pub(crate) ext: Option<Answer>,
}

const fn code(n: i64) -> Expect {
    Expect {
        v1: Answer::Code(n),
        ext: None,
    }
}

/// A JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Json {
    /// A string.
    Str,
    /// A number.
    Num,
    /// An array.
    Arr,
}

impl Json {
    /// The name a report shows.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Json::Str => "a string",
            Json::Num => "a number",
            Json::Arr => "an array",
        }
    }
}

/// A field a successful answer must carry: a path such as `pushers[].userID` (`[]` = every
/// element of that array) and its type.
pub(crate) type Field = (&'static str, Json);

/// Who must be listed, after the types are right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing {
    /// Nothing to check.
    Any,
    /// `rooms[]` holds our room.
    HasOurRoom,
    /// `pushers[].userID` is exactly these members, in this order (the creator first).
    Members(&'static [Who]),
}

/// What the runner keeps from a successful answer for the steps after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Nothing.
    Nothing,
    /// `userID` and `userSig`: who this member is.
    Login,
    /// `pushURL`.
    PushUrl,
    /// `roomID`: the room we created.
    RoomId,
}

/// One call of the walk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step {
    /// What is being tried, for the report.
    pub(crate) what: &'static str,
    /// The endpoint called.
    pub(crate) endpoint: Endpoint,
    /// Who calls.
    pub(crate) who: Who,
    /// Whose token the call carries.
    pub(crate) token: Token,
    /// Which room the body names (where it names one).
    pub(crate) room: RoomRef,
    /// A required field left out of the body.
    pub(crate) drop: Option<&'static str>,
    /// The answer's code.
    pub(crate) expect: Expect,
    /// Fields of a successful answer.
    pub(crate) fields: &'static [Field],
    /// Membership a successful answer must show.
    pub(crate) listing: Listing,
    /// What to keep from the answer.
    pub(crate) keep: Keep,
}

/// A step by `who` with its own token on our room, answering the original's `code`: the
/// base the table bends.
const fn step(what: &'static str, endpoint: Endpoint, who: Who, expect: Expect) -> Step {
    Step {
        what,
        endpoint,
        who,
        token: Token::Own,
        room: RoomRef::Ours,
        drop: None,
        expect,
        fields: &[],
        listing: Listing::Any,
        keep: Keep::Nothing,
    }
}

const LOGIN_FIELDS: &[Field] = &[
    ("userID", Json::Str),
    ("sdkAppID", Json::Num),
    ("accType", Json::Str),
    ("userSig", Json::Str),
];
const PUSH_URL_FIELDS: &[Field] = &[("pushURL", Json::Str)];
const CREATED_FIELDS: &[Field] = &[("roomID", Json::Str)];
const PUSHERS_FIELDS: &[Field] = &[
    ("pushers", Json::Arr),
    ("pushers[].userID", Json::Str),
    ("pushers[].userName", Json::Str),
    ("pushers[].userAvatar", Json::Str),
    ("pushers[].accelerateURL", Json::Str),
];
const ROOM_LIST_FIELDS: &[Field] = &[
    ("rooms", Json::Arr),
    ("rooms[].roomID", Json::Str),
    ("rooms[].roomName", Json::Str),
    ("rooms[].roomCreator", Json::Str),
    ("rooms[].mixedPlayURL", Json::Str),
    ("rooms[].pushers", Json::Arr),
    ("rooms[].pushers[].userID", Json::Str),
    ("rooms[].pushers[].userName", Json::Str),
    ("rooms[].pushers[].userAvatar", Json::Str),
    ("rooms[].pushers[].accelerateURL", Json::Str),
];

const BOTH: &[Who] = &[Who::Creator, Who::Second];
const CREATOR_ONLY: &[Who] = &[Who::Creator];

/// v1's codes, by the names docs/room-server.md gives them.
const OK: i64 = 0;
const BAD_PARAMS: i64 = 1;
const NO_SUCH_ROOM: i64 = 3;
const NO_SUCH_MEMBER: i64 = 5;
/// ext: authentication failed.
const AUTH_FAILED: i64 = 7;

use Endpoint as E;
use Who::{Creator, Second};

/// The whole walk, in order: the lifecycle, then refusals while the room lives, then the
/// answers once it is gone.
pub(crate) const STEPS: &[Step] = &[
    Step {
        fields: LOGIN_FIELDS,
        keep: Keep::Login,
        ..step("log in (creator)", E::GetImLoginInfo, Creator, code(OK))
    },
    Step {
        fields: LOGIN_FIELDS,
        keep: Keep::Login,
        ..step(
            "log in (second member)",
            E::GetImLoginInfo,
            Second,
            code(OK),
        )
    },
    Step {
        fields: PUSH_URL_FIELDS,
        keep: Keep::PushUrl,
        ..step("push URL (creator)", E::GetPushUrl, Creator, code(OK))
    },
    Step {
        fields: PUSH_URL_FIELDS,
        keep: Keep::PushUrl,
        ..step("push URL (second member)", E::GetPushUrl, Second, code(OK))
    },
    Step {
        fields: CREATED_FIELDS,
        keep: Keep::RoomId,
        ..step("create the room", E::CreateRoom, Creator, code(OK))
    },
    Step {
        fields: ROOM_LIST_FIELDS,
        listing: Listing::HasOurRoom,
        ..step(
            "the room list shows the room",
            E::GetRoomList,
            Creator,
            code(OK),
        )
    },
    Step {
        fields: PUSHERS_FIELDS,
        listing: Listing::Members(CREATOR_ONLY),
        ..step(
            "the creator is the first pusher",
            E::GetPushers,
            Creator,
            code(OK),
        )
    },
    step("the second member joins", E::AddPusher, Second, code(OK)),
    Step {
        fields: PUSHERS_FIELDS,
        listing: Listing::Members(BOTH),
        ..step(
            "both are listed, creator first",
            E::GetPushers,
            Second,
            code(OK),
        )
    },
    step(
        "heartbeat of a member",
        E::PusherHeartbeat,
        Second,
        code(OK),
    ),
    step(
        "a room text message (ext; v1 had no such endpoint)",
        E::SendRoomTextMsg,
        Second,
        Expect {
            v1: Answer::NoEndpoint,
            ext: Some(Answer::Code(OK)),
        },
    ),
    Step {
        token: Token::Others,
        ..step(
            "heartbeat carrying another member's token (v1 checked none)",
            E::PusherHeartbeat,
            Second,
            Expect {
                v1: Answer::Code(OK),
                ext: Some(Answer::Code(AUTH_FAILED)),
            },
        )
    },
    Step {
        drop: Some("roomID"),
        ..step(
            "get_pushers without roomID",
            E::GetPushers,
            Second,
            code(BAD_PARAMS),
        )
    },
    Step {
        drop: Some("cnt"),
        ..step(
            "get_room_list without cnt",
            E::GetRoomList,
            Second,
            code(BAD_PARAMS),
        )
    },
    Step {
        drop: Some("roomName"),
        ..step(
            "create_room without roomName",
            E::CreateRoom,
            Second,
            code(BAD_PARAMS),
        )
    },
    Step {
        drop: Some("pushURL"),
        ..step(
            "add_pusher without pushURL",
            E::AddPusher,
            Second,
            code(BAD_PARAMS),
        )
    },
    Step {
        room: RoomRef::Unknown,
        ..step(
            "get_pushers of an unknown room",
            E::GetPushers,
            Second,
            code(NO_SUCH_ROOM),
        )
    },
    Step {
        room: RoomRef::Unknown,
        ..step(
            "heartbeat in an unknown room",
            E::PusherHeartbeat,
            Second,
            code(NO_SUCH_MEMBER),
        )
    },
    Step {
        room: RoomRef::Unknown,
        ..step(
            "add_pusher into an unknown room (v1 answered 0, a bug)",
            E::AddPusher,
            Second,
            Expect {
                v1: Answer::Code(OK),
                ext: Some(Answer::Code(NO_SUCH_ROOM)),
            },
        )
    },
    step(
        "destroy_room by a member who did not create it",
        E::DestroyRoom,
        Second,
        code(NO_SUCH_ROOM),
    ),
    step(
        "the second member leaves",
        E::DeletePusher,
        Second,
        code(OK),
    ),
    Step {
        fields: PUSHERS_FIELDS,
        listing: Listing::Members(CREATOR_ONLY),
        ..step(
            "the leaver is gone from the list",
            E::GetPushers,
            Creator,
            code(OK),
        )
    },
    step(
        "heartbeat of a member who left",
        E::PusherHeartbeat,
        Second,
        code(NO_SUCH_MEMBER),
    ),
    step(
        "the creator destroys the room",
        E::DestroyRoom,
        Creator,
        code(OK),
    ),
    step(
        "get_pushers once the room is gone",
        E::GetPushers,
        Creator,
        code(NO_SUCH_ROOM),
    ),
    step(
        "heartbeat once the room is gone",
        E::PusherHeartbeat,
        Creator,
        code(NO_SUCH_MEMBER),
    ),
    step(
        "delete_pusher once the room is gone",
        E::DeletePusher,
        Creator,
        code(NO_SUCH_MEMBER),
    ),
    step(
        "destroy_room once the room is gone",
        E::DestroyRoom,
        Creator,
        code(NO_SUCH_ROOM),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_logs_in_and_creates_before_it_needs_what_those_keep() {
        let first = |keep: Keep| STEPS.iter().position(|s| s.keep == keep).unwrap();
        let room_used = STEPS
            .iter()
            .position(|s| s.endpoint != E::GetImLoginInfo && s.endpoint != E::GetPushUrl)
            .unwrap();
        assert!(first(Keep::Login) < first(Keep::PushUrl));
        assert!(first(Keep::PushUrl) < first(Keep::RoomId));
        assert_eq!(first(Keep::RoomId), room_used);
        assert_eq!(
            STEPS.iter().filter(|s| s.keep == Keep::Login).count(),
            2,
            "both members log in"
        );
    }

    #[test]
    fn a_dropped_field_is_one_the_endpoint_requires_and_answers_1() {
        for s in STEPS.iter().filter(|s| s.drop.is_some()) {
            assert_eq!(s.expect, code(BAD_PARAMS), "{}", s.what);
        }
    }

    #[test]
    fn after_the_room_is_gone_member_calls_answer_5_and_room_calls_3() {
        let destroyed = STEPS
            .iter()
            .position(|s| s.endpoint == E::DestroyRoom && s.expect == code(OK))
            .unwrap();
        for s in &STEPS[destroyed + 1..] {
            let want = match s.endpoint {
                E::PusherHeartbeat | E::DeletePusher => NO_SUCH_MEMBER,
                _ => NO_SUCH_ROOM,
            };
            assert_eq!(s.expect, code(want), "{}", s.what);
        }
    }
}
