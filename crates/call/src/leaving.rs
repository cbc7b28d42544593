//! What a user must know before leaving: whether we host, whether the server can hand the room
//! over, and to whom, so the app can ask "Leave, or end for everyone?" only when it matters.

use quartet_room::{Member, SessionHandle, likely_heir};

/// Our standing in the room, as far as leaving it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveOptions {
    /// We host the room: v1's rule would close it when we leave.
    pub is_host: bool,
    /// Leaving as host hands the room over (the server offers it) instead of closing it.
    pub can_hand_over: bool,
    /// Who would become host, when we host and anyone else is in the room.
    pub heir: Option<Member>,
    /// How many others are in the room.
    pub others: usize,
}

impl LeaveOptions {
    /// The options of `session` now.
    pub(crate) fn of(session: &SessionHandle) -> LeaveOptions {
        let members = session.members();
        let is_host = session.is_creator();
        LeaveOptions {
            is_host,
            can_hand_over: session.can_hand_over(),
            heir: is_host.then(|| likely_heir(&members).cloned()).flatten(),
            others: members.iter().filter(|m| !m.is_self).count(),
        }
    }

    /// Whether leaving would end the call for anyone else unless the user chooses otherwise,
    /// so it is worth asking.
    pub fn worth_asking(&self) -> bool {
        self.is_host && self.others > 0
    }
}
