//! One call: a room session, one publisher and a player per other member.
