//! Recording every stream the relay carries: `quartet server --record DIR` writes each publish
//! to its own FLV file, tag for tag as the publisher sent it (a remux, never a transcode), named
//! by room, member and start time, and closed when the publish or the relay ends.
//!
//! FLV rather than MP4: a file cut short by a crash or a full disk still plays up to its last
//! whole tag, where an MP4 without its index plays nothing; `ffmpeg -i f.flv -c copy f.mp4`
//! turns one into the other losslessly.
//!
//! A recorder is one more player of each stream (see [`Hub::start_play`]): it starts at the
//! cached keyframe, so a file always opens with a picture, and its queue is bounded like any
//! player's. Disk writes keep up with any publisher this relay admits; if a disk stalls past the
//! player budget, video is dropped to the next keyframe rather than memory growing.
//!
//! # Limits
//! - At most [`MAX_RECORDINGS`] files open at once; a publish past that is not recorded (and
//!   said so in the log).
//! - A name part is at most [`MAX_NAME_PART`] letters, digits, `-` or `_`; anything else in a
//!   room or member name (separators, dots, spaces) becomes `_`, so no name can leave the
//!   directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::fs::File;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::flv::{self, FLV_FILE_HEADER};
use crate::hub::{Hub, RelayEvent};
use crate::media::MediaKind;
use crate::outbound::Outbound;
use crate::queue::{Entry, Notice, QueueLimits};

/// Most streams recorded at once.
pub const MAX_RECORDINGS: usize = 256;
/// Longest room or member part of a file name.
pub const MAX_NAME_PART: usize = 48;
/// Bytes buffered before a write reaches the file.
const WRITE_BUFFER: usize = 256 * 1024;
/// How far behind live a recorder may fall before its backlog is dropped, ms: far more than a
/// busy moment of the machine; its memory stays bounded by the players' message and byte limits.
pub const RECORD_MAX_LAG_MS: u32 = 10_000;
/// Connection numbers of recorders, apart from RTMP (from 1) and HTTP-FLV (from 2^63) players.
const RECORD_CONN_BASE: u64 = 3 << 62;

/// What the room server says of a stream, for recording: the relay knows only stream ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamLabel {
    /// A member's stream, in a room.
    Member {
        /// The room's ID.
        room: String,
        /// The member's name.
        member: String,
    },
    /// A smaller copy of another stream (a member's small stream): not worth a file.
    Copy,
    /// Not known to the room server: recorded under its stream id.
    Unknown,
}

/// Says whose a stream is, for file names.
pub trait StreamNames: Send + Sync + 'static {
    /// What `stream_id` is.
    fn label(&self, stream_id: &str) -> StreamLabel;
}

impl std::fmt::Debug for dyn StreamNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamNames")
    }
}

/// Why a recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be created or written.
    #[error("recording {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

/// Where recordings go and how they are named.
#[derive(Clone, Debug)]
pub(crate) struct RecordSetup {
    pub(crate) dir: PathBuf,
    pub(crate) names: Option<Arc<dyn StreamNames>>,
}

/// `part` made safe as a piece of a file name: letters and digits of any script, `-` and `_`
/// only, at most [`MAX_NAME_PART`] characters, never empty.
pub fn name_part(part: &str) -> String {
    let safe: String = part
        .chars()
        .take(MAX_NAME_PART)
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        "_".to_owned()
    } else {
        safe
    }
}

/// The file name of a recording of `stream_id` started at `unix_secs`: room, member and UTC
/// start time when the owner is known, the stream id otherwise.
pub fn file_name(stream_id: &str, owner: Option<(&str, &str)>, unix_secs: i64) -> String {
    let when = jiff::Timestamp::from_second(unix_secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y%m%d-%H%M%SZ")
        .to_string();
    match owner {
        Some((room, member)) => format!(
            "{}_{}_{}_{when}.flv",
            name_part(room),
            name_part(member),
            name_part(stream_id)
        ),
        None => format!("{}_{when}.flv", name_part(stream_id)),
    }
}

/// Records every stream published on `hub` into `setup.dir` until `stop`; each open file is
/// finished before this returns.
pub(crate) async fn run(hub: Arc<Hub>, setup: RecordSetup, stop: CancellationToken) {
    let mut events = hub.subscribe();
    let mut writers = JoinSet::new();
    let mut next_conn = RECORD_CONN_BASE;
    tracing::info!(dir = %setup.dir.display(), "recording every stream");
    // Streams live before we listened are recorded too.
    let live: Vec<String> = hub
        .stats()
        .into_iter()
        .filter(|s| s.publisher.is_some())
        .map(|s| s.stream_id)
        .collect();
    let mut start = |stream_id: String, writers: &mut JoinSet<()>| {
        if writers.len() >= MAX_RECORDINGS {
            tracing::warn!(
                stream = stream_id,
                limit = MAX_RECORDINGS,
                "not recorded: too many recordings"
            );
            return;
        }
        next_conn += 1;
        let (hub, setup, stop) = (hub.clone(), setup.clone(), stop.clone());
        let conn = next_conn;
        writers.spawn(async move {
            match record(&hub, &setup, &stream_id, conn, stop).await {
                Ok(Some((path, bytes))) => {
                    tracing::info!(stream = stream_id, file = %path.display(), bytes, "recording closed")
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(stream = stream_id, error = %e, "recording failed"),
            }
        });
    };
    for stream_id in live {
        start(stream_id, &mut writers);
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            Some(_) = writers.join_next(), if !writers.is_empty() => {}
            event = events.recv() => match event {
                Ok(RelayEvent::Published { stream_id }) => start(stream_id, &mut writers),
                Ok(RelayEvent::Unpublished { .. }) => {}
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "recorder missed stream events");
                }
                Err(RecvError::Closed) => break,
            },
        }
    }
    while writers.join_next().await.is_some() {}
}

/// Writes one publish of `stream_id` to a new file until it ends or `stop`; the file's path and
/// size, or `None` when the stream was no longer live.
async fn record(
    hub: &Hub,
    setup: &RecordSetup,
    stream_id: &str,
    conn: u64,
    stop: CancellationToken,
) -> Result<Option<(PathBuf, u64)>, RecordError> {
    let (stream, player, live) =
        hub.start_play_within(stream_id, conn, recorder_limits(hub.limits()));
    let _leave = scopeguard(|| hub.stop_play(&stream, conn));
    if !live {
        return Ok(None);
    }
    let label = setup
        .names
        .as_ref()
        .map_or(StreamLabel::Unknown, |n| n.label(stream_id));
    let owner = match &label {
        StreamLabel::Copy => return Ok(None),
        StreamLabel::Member { room, member } => Some((room.as_str(), member.as_str())),
        StreamLabel::Unknown => None,
    };
    let name = file_name(
        stream_id,
        owner,
        i64::try_from(crate::conn::unix_now()).unwrap_or(0),
    );
    let path = unique_path(&setup.dir, &name).await;
    let io = |source| RecordError::Io {
        path: path.clone(),
        source,
    };
    let file = File::options()
        .write(true)
        .create_new(true)
        .open(&path)
        .await
        .map_err(io)?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
    out.write_all(&FLV_FILE_HEADER).await.map_err(io)?;
    let mut written = FLV_FILE_HEADER.len() as u64;
    let mut first: Option<u32> = None;
    let mut last_picture: Option<u32> = None;
    let mut tag = Outbound::default();
    'stream: loop {
        while let Some(entry) = player.pop() {
            match entry {
                Entry::Media(mut media) => {
                    // Every file starts at time zero, whenever the publisher's clock began.
                    let zero = *first.get_or_insert(media.timestamp);
                    media.timestamp = media.timestamp.wrapping_sub(zero);
                    if media.kind == MediaKind::Video && !media.is_sequence_header() {
                        media.timestamp = picture_time(media.timestamp, last_picture);
                        last_picture = Some(media.timestamp);
                    }
                    if flv::push_tag(&mut tag, &media, false) {
                        let bytes = tag.take_all();
                        out.write_all(&bytes).await.map_err(io)?;
                        written += bytes.len() as u64;
                        player.handed(bytes.len(), Some(media.timestamp.wrapping_add(zero)));
                        // A file takes what it is given at once: nothing of it waits for us.
                        player.waiting(0, Some(0));
                    }
                }
                Entry::Notice(Notice::Unpublished) => break 'stream,
                Entry::Notice(Notice::Published) | Entry::Rest(..) => {}
            }
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = player.ready() => {}
        }
    }
    out.flush().await.map_err(io)?;
    out.get_ref().sync_data().await.map_err(io)?;
    Ok(Some((path, written)))
}

/// A recorder's queue limits: those of network players for memory (messages and bytes), but no
/// latency budget and a long lag before its backlog is dropped. A recorder falls behind only
/// while the machine is busy for a moment, and a file that skips to the next keyframe loses
/// seconds of picture, where one written a little late loses nothing.
fn recorder_limits(players: QueueLimits) -> QueueLimits {
    QueueLimits {
        max_lag_ms: RECORD_MAX_LAG_MS,
        max_delay_ms: RECORD_MAX_LAG_MS,
        budget_ms: u32::MAX,
        ..players
    }
}

/// The time to write a picture at in a file: after the last one written. FFmpeg's demuxers
/// refuse a stream whose picture times repeat, and a publisher's clock (any RTMP encoder's,
/// not only ours) may repeat one.
fn picture_time(time: u32, last: Option<u32>) -> u32 {
    match last {
        Some(last) if time <= last => last.saturating_add(1),
        _ => time,
    }
}

/// `dir/name`, or `dir/name` with `-2`, `-3`… before the extension when taken (a member who
/// publishes again within the same second).
async fn unique_path(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if tokio::fs::try_exists(&first).await.ok() != Some(true) {
        return first;
    }
    let stem = name.trim_end_matches(".flv");
    for n in 2.. {
        let candidate = dir.join(format!("{stem}-{n}.flv"));
        if tokio::fs::try_exists(&candidate).await.ok() != Some(true) {
            return candidate;
        }
    }
    first
}

/// Runs `f` when dropped: the recorder leaves its stream however `record` ends.
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_named_by_room_member_stream_and_utc_start() {
        assert_eq!(
            file_name("8888_user_1", Some(("room_7", "Ann")), 1_796_491_596),
            "room_7_Ann_8888_user_1_20261205-172636Z.flv"
        );
        assert_eq!(
            file_name("8888_user_1", None, 0),
            "8888_user_1_19700101-000000Z.flv"
        );
    }

    #[test]
    fn a_recorder_keeps_the_memory_limits_but_not_the_latency_ones() {
        let players = QueueLimits {
            messages: 1_024,
            bytes: 8 << 20,
            max_lag_ms: 1_500,
            max_delay_ms: 3_000,
            budget_ms: 400,
        };
        let r = recorder_limits(players);
        assert_eq!((r.messages, r.bytes), (players.messages, players.bytes));
        assert_eq!(
            (r.max_lag_ms, r.max_delay_ms),
            (RECORD_MAX_LAG_MS, RECORD_MAX_LAG_MS)
        );
        assert_eq!(r.budget_ms, u32::MAX);
    }

    #[test]
    fn a_repeated_picture_time_moves_just_after_the_last() {
        assert_eq!(picture_time(0, None), 0);
        assert_eq!(picture_time(67, Some(0)), 67);
        assert_eq!(picture_time(67, Some(67)), 68);
        assert_eq!(picture_time(60, Some(68)), 69);
        assert_eq!(picture_time(u32::MAX, Some(u32::MAX)), u32::MAX);
    }

    #[test]
    fn no_name_leaves_the_directory_or_grows_without_bound() {
        assert_eq!(name_part("../../etc/passwd"), "______etc_passwd");
        assert_eq!(name_part("王小明 Ann"), "王小明_Ann");
        assert_eq!(name_part(""), "_");
        assert_eq!(name_part(&"x".repeat(500)).len(), MAX_NAME_PART);
        let name = file_name("a/b", Some(("/", "\\..")), 0);
        assert!(
            !name.contains('/') && !name.contains('\\') && !name.contains(".."),
            "{name}"
        );
    }
}
