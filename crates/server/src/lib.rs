//! The RTCRoom-compatible room server: rooms, members, heartbeats, events, text, tokens.
