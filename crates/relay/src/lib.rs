//! The embedded RTMP relay: signed publish, fan-out, keyframe cache, live status.
//!
//! `quartet server` runs it beside the room server so one command hosts a whole call. Members
//! publish to `rtmp://host/live/{bizid}_{userID}?txSecret=..&txTime=..` (spec §3) and play the
//! others' streams from the same place.
//!
//! - **Protocol**: the handshake, chunk parsing and message encoding are rml_rtmp's; this crate
//!   adds the relay's command flow on top (connect, createStream, publish, play, deleteStream and
//!   the status messages players expect) and a thin tokio shell. Relayed media alone is chunked
//!   here, once per message into one exactly sized buffer, byte for byte as rml_rtmp would.
//! - **Publishing** needs a valid, unexpired push signature for exactly that stream id; a play
//!   URL (signed under the derived play key, see `quartet_proto::sign`) is refused with
//!   `NetStream.Publish.Unauthorized`. The room server's [`PublishGate`] then has its say (it
//!   refuses URLs issued before a member left). A second publisher passing both takes over a
//!   live stream (a member reconnecting) only if its URL expires no earlier than the live one's,
//!   so a leaked old URL cannot cut off a fresh one. [`RelayHandle::revoke`] ends a publish now.
//! - **Playing** is open unless [`RelayConfig::verify_play`] is set (then a play or a push
//!   signature will do). A player joining a live
//!   stream first gets the metadata, the codec headers and the latest group of pictures, so its
//!   first frame is decodable at once. A player that cannot keep up loses its backlog and resumes
//!   at the next keyframe; the publisher and the other players never wait for it.
//!   A player that keeps up is written to from the publisher's task itself, with the message
//!   chunked once for all players, so relaying costs no task wake-up per player and message.
//! - **HTTP-FLV**: [`Relay::http_flv`] serves the same streams at
//!   `http://host:port/{app}/{stream}.flv?{query}`, the query that of the RTMP play URL and
//!   checked the same way (a refused signature answers 403, a stream that is not live 404). An HTTP
//!   player joins like an RTMP one (metadata, codec headers, the cached group of pictures) through
//!   the same queue and slow-player policy; only the framing differs: FLV tags in HTTP/1.1 chunks.
//!   Answers allow any origin (`Access-Control-Allow-Origin: *`), as flv.js plays from a page of
//!   another site; the body ends when the publisher leaves.
//! - **Liveness**: [`RelayHandle::is_live`], [`RelayHandle::subscribe`] and
//!   [`RelayHandle::stats`] tell the room server which streams are live and how they fare;
//!   [`RelayHandle::media_age`] tells a stalled publisher from a flowing one.
//!
//! # Limits
//!
//! Each is a field of [`RelayConfig`] with a named default; together they keep one hostile peer
//! to the cost of one connection and a flood of them from locking out real clients.
//!
//! - Connections: at most [`DEFAULT_MAX_CONNECTIONS`]; of those, at most [`DEFAULT_MAX_PENDING`]
//!   neither publishing nor playing yet, and past that the oldest such one is closed to make room
//!   (also when the connection limit is reached), so a flood of slow starters cannot lock out a
//!   client that starts promptly.
//! - Starting: the handshake within [`DEFAULT_HANDSHAKE_TIMEOUT`], publish or play within
//!   [`DEFAULT_START_TIMEOUT`] of accept, and no silence longer than
//!   [`DEFAULT_PENDING_IDLE_TIMEOUT`] until then (a trickle of bytes buys no time).
//! - Progress: a publisher or idle peer silent, or a player not draining its output, for
//!   [`DEFAULT_IDLE_TIMEOUT`] is closed.
//! - Input: chunk sizes within [`MIN_CHUNK_SIZE`]..=[`DEFAULT_MAX_CHUNK_SIZE`], messages up to
//!   [`DEFAULT_MAX_MESSAGE_SIZE`] (refused before they are buffered), AMF commands and metadata
//!   to 64 KiB and a bounded nesting depth, 16 message streams per connection.
//! - Players: a queue of at most [`DEFAULT_PLAYER_QUEUE_LIMIT`] messages and
//!   [`DEFAULT_PLAYER_QUEUE_BYTES`] bytes (payload plus chunked copy; one message larger than
//!   that alone still goes out), at most [`DEFAULT_PLAYER_MAX_LAG`] behind live at a keyframe and
//!   [`DEFAULT_PLAYER_MAX_DELAY`] between keyframes (then video is dropped to the next keyframe
//!   and audio kept), [`OUT_HIGH_WATER`] of output staged in the connection and a kernel send
//!   buffer of [`DEFAULT_PLAYER_SEND_BUFFER`].
//! - Latency: at most [`DEFAULT_PLAYER_BUDGET`] of media time waits for a player in all (its
//!   queue, its staged output and the bytes the kernel holds unsent on its socket, read with
//!   `SIOCOUTQNSD`); past it, video is dropped up to the next keyframe that fits and audio is
//!   kept. The cached start a player joins with does not count as lateness.
//! - Keyframe cache: the latest group of pictures up to 512 messages and 16 MiB per stream.
//! - HTTP-FLV: at most [`FLV_MAX_CONNECTIONS`] connections (503 past it), a request head of
//!   [`FLV_MAX_HEAD_BYTES`] and [`FLV_MAX_HEADERS`] within [`FLV_HEAD_TIMEOUT`], and no more
//!   than [`FLV_MAX_TRAILING_INPUT`] after it; a player's queue and budget are an RTMP player's.
//! - Ingest: each connection may send [`DEFAULT_MAX_INGEST_RATE`] bytes per second on average
//!   with bursts of [`DEFAULT_INGEST_BURST`]; past that the relay reads it more slowly, so one
//!   publisher on a fast link cannot take the relay's CPU.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use quartet_proto::sign::StreamSigner;
//! use quartet_relay::{Relay, RelayConfig};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:1935").await?;
//! let (relay, handle) = Relay::new(RelayConfig::signed(StreamSigner::new("8888", "key")));
//! let server = tokio::spawn(relay.run(listener, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! }));
//! assert!(!handle.is_live("8888_user_1"));
//! server.await??;
//! # Ok(()) }
//! ```

mod amf;
mod auth;
mod budget;
mod config;
mod conn;
mod flv;
pub mod fuzz;
mod gop;
mod http_flv;
mod hub;
mod ingest;
mod media;
mod memory;
mod outbound;
mod peer;
mod pending;
mod queue;
mod record;
mod relay;
mod session;
mod unsent;

pub use auth::PublishGate;
pub use config::{
    DEFAULT_APP, DEFAULT_FLV_PORT, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_INGEST_BURST, DEFAULT_MAX_CHUNK_SIZE, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_INGEST_RATE,
    DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_PENDING, DEFAULT_PENDING_IDLE_TIMEOUT,
    DEFAULT_PLAYER_BUDGET, DEFAULT_PLAYER_MAX_DELAY, DEFAULT_PLAYER_MAX_LAG,
    DEFAULT_PLAYER_QUEUE_BYTES, DEFAULT_PLAYER_QUEUE_LIMIT, DEFAULT_PLAYER_SEND_BUFFER,
    DEFAULT_RTMP_LISTEN, DEFAULT_START_TIMEOUT, MIN_CHUNK_SIZE, RelayConfig, default_flv_listen,
    flv_base,
};
pub use conn::OUT_HIGH_WATER;
pub use flv::{FLV_MAX_HEAD_BYTES, FLV_MAX_HEADERS};
pub use gop::{GOP_CACHE_MAX_BYTES, GOP_CACHE_MAX_MESSAGES};
pub use http_flv::{
    FLV_HEAD_TIMEOUT, FLV_MAX_CONNECTIONS, FLV_MAX_TRAILING_INPUT, FlvLimits, HttpFlv,
};
pub use hub::{RelayEvent, StreamStats};
pub use record::{
    MAX_NAME_PART, MAX_RECORDINGS, RecordError, StreamLabel, StreamNames, file_name, name_part,
};
pub use relay::{Relay, RelayError, RelayHandle};
