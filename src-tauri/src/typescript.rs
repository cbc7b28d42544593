//! The page's types for what the commands take and give outside a call (app, host, lobby,
//! devices, pre-join, join request, invite, diagnostics, screens, feeds, leaving), generated
//! from the Rust types into `ui/src/generated/app-wire.ts`, so the two cannot drift: the test
//! below fails when the file is not what these types make, and
//! `QUARTET_WRITE_TYPES=1 cargo test -p quartet-app typescript` writes it anew (with the call's
//! own types, [`crate::calls`]' `call-wire.ts`).
//!
//! Types of other crates, which ts-rs cannot derive on, are written as unions of their own
//! lists of words: `RoomKind` (`quartet_proto::RoomKind::ALL`) and `SendQuality`
//! (`quartet_call::SendQuality::ALL`). Fields that hold a word as a `&'static str` or `String`
//! say their union in a `ts(type)` next to them. Kept by hand in `ui/src/api.ts`:
//! - `AppError`: serialized by its own `Serialize` (`{kind, message}`, `kind` from a match),
//!   which ts-rs does not read.
//! - The commands' arguments that are single values (`lan`, `server`, `mode`, …), named in the
//!   `api` object itself.

use crate::calls::{AudioChoice, AudioProcessingDto, JoinRequest, TargetChoice, VideoChoice};
use crate::commands::AppInfo;
use crate::devices::{AudioDeviceDto, CameraDto, Devices, FellBackDto};
use crate::diagnostics::{
    ApiCallDto, AudioDto, ChannelEntryDto, DiagnosticsDto, OwnStreamDto, StreamDto, VideoDto,
};
use crate::host::{HostInfo, PortMove};
use crate::invite::InviteDto;
use crate::leaving::{LeaveModeDto, LeaveOptionsDto};
use crate::lobby::RoomSummary;
use crate::preview::{DeviceProblem, PreviewStatus};
use crate::screen::ScreenSourceView;
use crate::video::Encoding;
use quartet_call::SendQuality;
use quartet_proto::RoomKind;
use ts_rs::{Config, TS};

/// Where the page keeps the generated file, from this crate's directory.
const GENERATED: &str = "../ui/src/generated/app-wire.ts";
/// Set to write the generated files instead of comparing them.
pub(crate) const WRITE_ENV: &str = "QUARTET_WRITE_TYPES";

/// A union of string literals.
pub(crate) fn union<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = words.into_iter().map(|w| format!("\"{w}\"")).collect();
    quoted.join(" | ")
}

/// The generated file's head: where it comes from and how to write it anew.
pub(crate) fn head(from: &str) -> String {
    format!(
        "// Generated from {from} by its typescript test: do not edit.\n\
         // QUARTET_WRITE_TYPES=1 cargo test -p quartet-app typescript writes it anew.\n\n"
    )
}

/// `out` ended with exactly one newline.
pub(crate) fn finish(mut out: String) -> String {
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// Writes `wanted` to `relative` (from this crate's directory) when [`WRITE_ENV`] is set;
/// otherwise fails unless the file holds exactly `wanted`.
pub(crate) fn check_generated(relative: &str, wanted: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if std::env::var_os(WRITE_ENV).is_some() {
        std::fs::write(&path, wanted).expect("writing the page's types");
        return;
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == wanted,
        "{} is not what the Rust types make: run `{WRITE_ENV}=1 cargo test -p quartet-app typescript`",
        path.display()
    );
}

/// The whole file.
fn page_types() -> String {
    // Counters are u64 in Rust and JSON numbers on the wire.
    let cfg = Config::new().with_large_int("number");
    let mut out = head("the app's command types (src-tauri/src/typescript.rs)");
    out += &format!(
        "/** The room kinds of v1, each under its own path on the server (quartet_proto::RoomKind). */\nexport type RoomKind = {};\n\n",
        union(RoomKind::ALL.map(RoomKind::as_str))
    );
    out += &format!(
        "/** The picture we send, as the app names them (quartet_call::SendQuality). */\nexport type SendQuality = {};\n\n",
        union(SendQuality::ALL.map(SendQuality::as_str))
    );
    for decl in [
        AppInfo::decl(&cfg),
        HostInfo::decl(&cfg),
        PortMove::decl(&cfg),
        RoomSummary::decl(&cfg),
        CameraDto::decl(&cfg),
        AudioDeviceDto::decl(&cfg),
        Devices::decl(&cfg),
        FellBackDto::decl(&cfg),
        DeviceProblem::decl(&cfg),
        PreviewStatus::decl(&cfg),
        ScreenSourceView::decl(&cfg),
        TargetChoice::decl(&cfg),
        VideoChoice::decl(&cfg),
        AudioChoice::decl(&cfg),
        AudioProcessingDto::decl(&cfg),
        JoinRequest::decl(&cfg),
        InviteDto::decl(&cfg),
        ApiCallDto::decl(&cfg),
        ChannelEntryDto::decl(&cfg),
        VideoDto::decl(&cfg),
        AudioDto::decl(&cfg),
        StreamDto::decl(&cfg),
        OwnStreamDto::decl(&cfg),
        DiagnosticsDto::decl(&cfg),
        Encoding::decl(&cfg),
        LeaveModeDto::decl(&cfg),
        LeaveOptionsDto::decl(&cfg),
    ] {
        out += &format!("export {decl}\n\n");
    }
    finish(out)
}

#[test]
fn the_page_reads_the_types_generated_from_the_commands() {
    check_generated(GENERATED, &page_types());
}
