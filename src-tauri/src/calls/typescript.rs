//! The page's types for what it hears of a call, generated from the Rust types that are sent
//! ([`super::wire`]) into `ui/src/generated/call-wire.ts`, so the two cannot drift: the test
//! below fails when the file is not what these types make, and
//! `QUARTET_WRITE_TYPES=1 cargo test -p quartet-app typescript` writes it anew.

use super::wire::{
    CallInfo, EventDto, LinkDto, MemberDto, PublisherStatsDto, RemoteStatsDto, StatsDto,
};
use crate::typescript::{check_generated, finish, head, union};
use quartet_call::{Quality, TileState};
use ts_rs::{Config, TS};

/// Where the page keeps the generated file, from this crate's directory.
const GENERATED: &str = "../ui/src/generated/call-wire.ts";

/// The whole file.
fn page_types() -> String {
    // Counters are u64 in Rust and JSON numbers on the wire.
    let cfg = Config::new().with_large_int("number");
    let mut out = head("src-tauri/src/calls/wire.rs");
    out += &format!(
        "/** What a tile shows (quartet_call::TileState). */\nexport type TileState = {};\n\n",
        union(TileState::ALL.map(TileState::as_str))
    );
    out += &format!(
        "/** How well a tile's stream gets to us (quartet_call::Quality). */\nexport type Quality = {};\n\n",
        union(Quality::ALL.map(Quality::as_str))
    );
    for decl in [
        MemberDto::decl(&cfg),
        LinkDto::decl(&cfg),
        EventDto::decl(&cfg),
        CallInfo::decl(&cfg),
        PublisherStatsDto::decl(&cfg),
        RemoteStatsDto::decl(&cfg),
        StatsDto::decl(&cfg),
    ] {
        out += &format!("export {decl}\n\n");
    }
    finish(out)
}

#[test]
fn the_page_reads_the_types_generated_from_the_wire() {
    check_generated(GENERATED, &page_types());
}
