//! Arbitrary bytes into one relay connection (handshake, session and stream registry).
//!
//! The relay contains panics of its RTMP parsing library per connection (the connection is
//! dropped, the process goes on), so this target does too: the hook libFuzzer installs would
//! abort on a panic even when it is caught. What it must find is what would take the process
//! down: an uncaught panic, a stack overflow, runaway memory or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Once;

static QUIET_PANICS: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    quartet_relay::fuzz::session_input(data);
});
