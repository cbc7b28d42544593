//! Pictures to the webview. Each tile of the page opens a feed: a task that pushes binary
//! messages over its own `tauri::ipc::Channel` (events are not built for this throughput).
//!
//! A channel has no back-pressure, so each feed allows a few messages the page has not
//! acknowledged yet ([`MAX_IN_FLIGHT_FRAMES`], [`MAX_IN_FLIGHT_PACKETS`]) and drops what comes
//! meanwhile: decoded pictures wait in a
//! latest-frame slot (a `watch`), so the page always gets the newest one; H.264 access units
//! cannot be skipped one by one, so a feed that falls behind skips to the next keyframe.
//!
//! A feed of a member follows that member, not one player: when the member's player is replaced
//! (a re-join, a restart) it goes on with the new one from its next keyframe, and while the
//! member waits for a tile it sends nothing (see [`follow`]). Its last message, once the member
//! has left the call, is a [`KIND_END`] header; so is that of the preview's or our own feed once
//! its pictures stop for good.
//!
//! Message layout (little-endian), [`HEADER_LEN`] bytes then the avcC record (H.264 keyframes
//! only) then the payload (I420 planes, or one length-prefixed access unit):
//!
//! | offset | type | field |
//! |---|---|---|
//! | 0 | u8 | kind: [`KIND_I420`], [`KIND_H264`] or [`KIND_END`] |
//! | 1 | u8 | flags: [`FLAG_KEYFRAME`] |
//! | 2 | u16 | width (I420) |
//! | 4 | u16 | height (I420) |
//! | 6 | u16 | reserved |
//! | 8 | u32 | sequence number, from 1 |
//! | 12 | u32 | length of the avcC record that follows the header |
//! | 16 | f64 | capture time, Unix ms (NaN when unknown) |
//! | 24 | f64 | time sent, Unix ms |

pub mod follow;

use crate::error::AppError;
use quartet_call::config::DEFAULT_FPS;
use quartet_call::devices::FrameSlot;
use quartet_call::self_view::encode_pictures;
use quartet_call::{EncodedVideo, MemberWatch, Tile, VideoFrame, unix_micros};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tauri::ipc::{Channel, InvokeResponseBody};
use tokio::sync::{Notify, broadcast, watch};
use tokio::time::Instant;
#[cfg(test)]
use ts_rs::TS;

/// Decoded pictures a feed may have out before the page acknowledges one: each is large, and
/// a newer one is always waiting in the slot.
pub const MAX_IN_FLIGHT_FRAMES: u32 = 2;
/// H.264 access units a feed may have out (≈ a quarter second at 15 fps). The page acknowledges
/// one when it enters its decoder (which holds a few pictures until more input comes) and watches
/// the decoder's backlog itself; a drop costs the rest of the group of pictures, so short stalls
/// of the page are absorbed.
pub const MAX_IN_FLIGHT_PACKETS: u32 = 4;
/// With no acknowledgement for this long, the page is taken to have lost the messages (a
/// reload, a hidden window) and the feed starts afresh.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(1);
/// Bytes before the avcC record and the payload.
pub const HEADER_LEN: usize = 32;
/// Message kind: planar I420 at `width`×`height`.
pub const KIND_I420: u8 = 1;
/// Message kind: one H.264 access unit for WebCodecs.
pub const KIND_H264: u8 = 2;
/// Message kind: the feed's source has ended (the member left the call, the call or the
/// preview stopped), so nothing follows.
pub const KIND_END: u8 = 3;
/// Flag: the access unit is a keyframe (and the avcC record is included).
pub const FLAG_KEYFRAME: u8 = 1;

/// How the page wants a tile's pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Decoded in Rust, sent as I420 (drawn with WebGL).
    I420,
    /// Sent as received, decoded by the page with WebCodecs.
    H264,
}

/// What a feed carries.
pub enum FeedInput {
    /// Decoded pictures, newest wins.
    Frames(watch::Receiver<Option<Arc<VideoFrame>>>),
    /// H.264 access units as they arrive.
    Packets(broadcast::Receiver<EncodedVideo>),
    /// A member of the call, followed from player to player in `Encoding` until it leaves.
    Member(MemberWatch, Encoding),
}

impl FeedInput {
    /// Our own pictures (the call's or the pre-join preview's) in `encoding`: as they are, or
    /// encoded for WebCodecs by a self-view encoder that runs while the feed does. The encoder
    /// is told the default rate: the page decodes by sequence, so only its rate control sees it.
    pub fn own(pictures: FrameSlot, encoding: Encoding) -> Result<FeedInput, AppError> {
        Ok(match encoding {
            Encoding::I420 => FeedInput::Frames(pictures),
            Encoding::H264 => FeedInput::Packets(
                encode_pictures(pictures, DEFAULT_FPS)
                    .map_err(|e| AppError::Media(e.to_string()))?,
            ),
        })
    }
}

/// Where a feed's messages come from right now.
enum Source {
    Frames(watch::Receiver<Option<Arc<VideoFrame>>>),
    Packets(broadcast::Receiver<EncodedVideo>, KeyframeGate),
}

impl Source {
    /// Decoded pictures, starting with the one already in the slot.
    fn frames(mut rx: watch::Receiver<Option<Arc<VideoFrame>>>) -> Source {
        rx.mark_changed();
        Source::Frames(rx)
    }

    /// Access units, from the next keyframe.
    fn packets(rx: broadcast::Receiver<EncodedVideo>) -> Source {
        Source::Packets(rx, KeyframeGate::default())
    }

    /// What a remote tile sends in `encoding`: its access units, or its decoded pictures.
    fn of_tile(tile: &Tile, encoding: Encoding) -> Source {
        match encoding {
            Encoding::H264 => Source::packets(tile.packets()),
            Encoding::I420 => Source::frames(tile.frames()),
        }
    }

    /// The next message, once the page has room for it; `None` once the source has ended.
    /// Cancelling it loses nothing.
    async fn next(&mut self, flow: &Flow) -> Option<Vec<u8>> {
        match self {
            Source::Frames(rx) => loop {
                flow.room(MAX_IN_FLIGHT_FRAMES).await;
                rx.changed().await.ok()?;
                let Some(frame) = rx.borrow_and_update().clone() else {
                    continue;
                };
                return Some(i420_message(&frame, flow.next()));
            },
            Source::Packets(rx, gate) => loop {
                let packet = match rx.recv().await {
                    Ok(p) => p,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        gate.lost();
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                if gate.admit(packet.keyframe, flow.in_flight()) {
                    return Some(h264_message(&packet, flow.next()));
                }
            },
        }
    }
}

/// The fixed part of a message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameHeader {
    /// [`KIND_I420`], [`KIND_H264`] or [`KIND_END`].
    pub kind: u8,
    /// A keyframe (H.264).
    pub keyframe: bool,
    /// Picture width (I420).
    pub width: u16,
    /// Picture height (I420).
    pub height: u16,
    /// Sequence number within the feed, from 1.
    pub seq: u32,
    /// Capture time, Unix ms, when the picture carries one.
    pub capture_ms: Option<f64>,
    /// When the message left, Unix ms.
    pub sent_ms: f64,
}

/// One message: header, avcC record (may be empty), payload.
pub fn encode_message(header: &FrameHeader, config: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + config.len() + payload.len());
    out.push(header.kind);
    out.push(if header.keyframe { FLAG_KEYFRAME } else { 0 });
    out.extend_from_slice(&header.width.to_le_bytes());
    out.extend_from_slice(&header.height.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&header.seq.to_le_bytes());
    let config_len = u32::try_from(config.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&config_len.to_le_bytes());
    out.extend_from_slice(&header.capture_ms.unwrap_or(f64::NAN).to_le_bytes());
    out.extend_from_slice(&header.sent_ms.to_le_bytes());
    out.extend_from_slice(config);
    out.extend_from_slice(payload);
    out
}

/// Decides which H.264 access units go out: everything while the page keeps up; once one is
/// dropped, nothing until the next keyframe (a later frame would decode against a missing one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyframeGate {
    waiting: bool,
}

impl Default for KeyframeGate {
    /// A new feed starts at a keyframe.
    fn default() -> Self {
        KeyframeGate { waiting: true }
    }
}

impl KeyframeGate {
    /// Whether to send an access unit, given the messages the page has not acknowledged.
    pub fn admit(&mut self, keyframe: bool, in_flight: u32) -> bool {
        if in_flight >= MAX_IN_FLIGHT_PACKETS {
            self.waiting = true;
            return false;
        }
        if keyframe {
            self.waiting = false;
        }
        !self.waiting
    }

    /// Access units were lost before reaching us (a lagging subscription).
    pub fn lost(&mut self) {
        self.waiting = true;
    }
}

/// Sent and acknowledged sequence numbers of one feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckWindow {
    sent: u32,
    acked: u32,
    /// When the page last made progress (or the window was last empty).
    progress: Instant,
}

impl AckWindow {
    /// An empty window.
    pub fn new(now: Instant) -> AckWindow {
        AckWindow {
            sent: 0,
            acked: 0,
            progress: now,
        }
    }

    /// Messages out and not acknowledged.
    pub fn in_flight(&self) -> u32 {
        self.sent.wrapping_sub(self.acked)
    }

    /// Numbers the next message.
    pub fn next(&mut self, now: Instant) -> u32 {
        if self.in_flight() == 0 {
            self.progress = now;
        }
        self.sent = self.sent.wrapping_add(1);
        self.sent
    }

    /// The page has taken message `seq` and all before it (drawn a picture, handed an access unit
    /// to its decoder, or dropped it). Numbers never
    /// sent, or already acknowledged, change nothing.
    pub fn ack(&mut self, seq: u32, now: Instant) {
        let ahead = seq.wrapping_sub(self.acked);
        if ahead != 0 && ahead <= self.in_flight() {
            self.acked = seq;
            self.progress = now;
        }
    }

    /// Forgets what is out when the page has been silent for [`ACK_TIMEOUT`] (it lost the
    /// messages: a reload, a decoder reset).
    pub fn expire(&mut self, now: Instant) {
        if self.in_flight() > 0 && now.saturating_duration_since(self.progress) >= ACK_TIMEOUT {
            self.acked = self.sent;
            self.progress = now;
        }
    }
}

struct Flow {
    window: Mutex<AckWindow>,
    acked: Notify,
}

impl Flow {
    fn new() -> Flow {
        Flow {
            window: Mutex::new(AckWindow::new(Instant::now())),
            acked: Notify::new(),
        }
    }

    fn window(&self) -> MutexGuard<'_, AckWindow> {
        self.window.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Messages out now, after forgetting those of a silent page.
    fn in_flight(&self) -> u32 {
        let mut w = self.window();
        w.expire(Instant::now());
        w.in_flight()
    }

    /// Waits until fewer than `max` messages are out.
    async fn room(&self, max: u32) {
        loop {
            let notified = self.acked.notified();
            if self.in_flight() < max {
                return;
            }
            let _ = tokio::time::timeout(ACK_TIMEOUT, notified).await;
        }
    }

    fn next(&self) -> u32 {
        self.window().next(Instant::now())
    }
}

struct Feed {
    flow: Arc<Flow>,
    task: tokio::task::JoinHandle<()>,
}

/// Every open feed, by the page's name for it.
#[derive(Default)]
pub struct VideoHub {
    feeds: Mutex<HashMap<String, Feed>>,
}

impl VideoHub {
    fn feeds(&self) -> MutexGuard<'_, HashMap<String, Feed>> {
        self.feeds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts sending `input` to `channel` as feed `id`, replacing a feed of that name.
    pub fn open(&self, id: &str, input: FeedInput, channel: Channel<InvokeResponseBody>) {
        let flow = Arc::new(Flow::new());
        let pumped = Arc::clone(&flow);
        let task = match input {
            FeedInput::Frames(rx) => tokio::spawn(pump(Source::frames(rx), pumped, channel)),
            FeedInput::Packets(rx) => tokio::spawn(pump(Source::packets(rx), pumped, channel)),
            FeedInput::Member(watch, encoding) => {
                tokio::spawn(follow::follow(watch, encoding, pumped, channel))
            }
        };
        if let Some(old) = self.feeds().insert(id.to_owned(), Feed { flow, task }) {
            old.task.abort();
        }
    }

    /// The page has drawn message `seq` of feed `id`.
    pub fn ack(&self, id: &str, seq: u32) {
        if let Some(feed) = self.feeds().get(id) {
            feed.flow.window().ack(seq, Instant::now());
            feed.flow.acked.notify_one();
        }
    }

    /// Stops feed `id`.
    pub fn close(&self, id: &str) {
        if let Some(feed) = self.feeds().remove(id) {
            feed.task.abort();
        }
    }

    /// Stops every feed whose name starts with `prefix`.
    pub fn close_prefixed(&self, prefix: &str) {
        self.feeds().retain(|id, feed| {
            let keep = !id.starts_with(prefix);
            if !keep {
                feed.task.abort();
            }
            keep
        });
    }
}

fn now_ms() -> f64 {
    unix_micros() as f64 / 1000.0
}

fn i420_message(frame: &VideoFrame, seq: u32) -> Vec<u8> {
    let header = FrameHeader {
        kind: KIND_I420,
        keyframe: true,
        width: u16::try_from(frame.width()).unwrap_or(u16::MAX),
        height: u16::try_from(frame.height()).unwrap_or(u16::MAX),
        seq,
        capture_ms: frame.capture_us.map(|us| us as f64 / 1000.0),
        sent_ms: now_ms(),
    };
    encode_message(&header, &[], frame.data())
}

fn h264_message(packet: &EncodedVideo, seq: u32) -> Vec<u8> {
    let header = FrameHeader {
        kind: KIND_H264,
        keyframe: packet.keyframe,
        width: 0,
        height: 0,
        seq,
        capture_ms: None,
        sent_ms: now_ms(),
    };
    let config: &[u8] = if packet.keyframe { &packet.config } else { &[] };
    encode_message(&header, config, &packet.data)
}

fn end_message(seq: u32) -> Vec<u8> {
    let header = FrameHeader {
        kind: KIND_END,
        keyframe: false,
        width: 0,
        height: 0,
        seq,
        capture_ms: None,
        sent_ms: now_ms(),
    };
    encode_message(&header, &[], &[])
}

/// Tells the page the feed's source has ended.
fn send_end(flow: &Flow, channel: &Channel<InvokeResponseBody>) {
    // The page may be gone already; then there is no one to tell.
    let _ = channel.send(InvokeResponseBody::Raw(end_message(flow.next())));
}

/// Sends what `source` gives until it ends, then the end.
async fn pump(mut source: Source, flow: Arc<Flow>, channel: Channel<InvokeResponseBody>) {
    while let Some(message) = source.next(&flow).await {
        if channel.send(InvokeResponseBody::Raw(message)).is_err() {
            return;
        }
    }
    send_end(&flow, &channel);
}

#[cfg(test)]
mod tests;
