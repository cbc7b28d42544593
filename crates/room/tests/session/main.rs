//! `quartet-room` against a real `quartet-server` over HTTP and WebSocket on 127.0.0.1.

mod api;
mod errors;
mod handover;
mod harness;
mod kinds;
mod membership;
mod reconnect;
mod restart;
mod tokens;
