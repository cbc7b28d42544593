//! The bounded queue between a stream and one player, and the policy that keeps it short.
//!
//! The publisher only ever appends; it never waits for a player. When a player cannot keep up,
//! its queue overflows and the policy throws the backlog away and resumes at the next keyframe,
//! so the player jumps back to live instead of falling further behind (TCP would only add the
//! delay up). Codec headers, metadata and stream notices are never lost, only superseded.
//!
//! A player that has caught up is *parked*: its connection has nothing left to write and lets the
//! publisher's task write the stream's next messages straight to its socket, which spares a task
//! wake-up per message. The first message the socket does not take whole ends the parking and
//! goes through the queue like any other.
//!
//! Each player also has a latency budget in media time (see `budget`), which covers what left
//! the queue but not yet the relay: past it, video is dropped up to the next keyframe that fits
//! and audio is kept.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::budget::{Lateness, Ledger, Verdict, behind, judge_video};
use crate::media::{Media, MediaKind};

/// Something a player's connection must be told apart from media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// The publisher left (`NetStream.Play.UnpublishNotify`).
    Unpublished,
    /// A publisher started (`NetStream.Play.PublishNotify`).
    Published,
}

/// One queued item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A message of the stream.
    Media(Media),
    /// A change of the stream's state.
    Notice(Notice),
    /// The unwritten end of a message (with its timestamp) the socket took only part of: it
    /// must go out first.
    Rest(Bytes, u32),
}

impl Entry {
    fn droppable(&self) -> bool {
        matches!(self, Entry::Media(m) if m.is_droppable())
    }

    /// Entries of the same class replace each other once the frames between them are gone.
    fn class(&self) -> u8 {
        match self {
            Entry::Media(m) if m.kind == MediaKind::Metadata => 0,
            Entry::Media(m) if m.kind == MediaKind::Video => 1,
            Entry::Media(_) => 2,
            Entry::Notice(_) => 3,
            Entry::Rest(..) => 4,
        }
    }

    /// Bytes it keeps alive.
    fn size(&self) -> usize {
        match self {
            Entry::Media(m) => entry_size(m),
            Entry::Notice(_) => 0,
            Entry::Rest(bytes, _) => bytes.len(),
        }
    }
}

/// What one player's queue may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueLimits {
    /// Most entries.
    pub messages: usize,
    /// Most bytes the entries keep alive (payload and chunked copy); one message may overshoot.
    pub bytes: usize,
    /// Lag behind a new keyframe past which the backlog is dropped and the player jumps to it.
    pub max_lag_ms: u32,
    /// Lag behind any new message past which queued video is dropped until the next keyframe
    /// (audio is kept), for streams whose keyframes are too rare for `max_lag_ms` to act.
    pub max_delay_ms: u32,
    /// Media time that may wait for the player in all (queue, staged output, kernel) before
    /// video is dropped to the next keyframe that fits (audio is kept).
    pub budget_ms: u32,
}

impl QueueLimits {
    /// Limits by message count and keyframe lag alone, as the tests of the skipping policy use.
    #[cfg(test)]
    pub fn counted(messages: usize, max_lag_ms: u32) -> QueueLimits {
        QueueLimits {
            messages,
            bytes: usize::MAX,
            max_lag_ms,
            max_delay_ms: u32::MAX,
            budget_ms: u32::MAX,
        }
    }
}

/// A player's queue with its skipping state.
#[derive(Debug)]
pub(crate) struct PlayerQueue {
    items: VecDeque<Entry>,
    limits: QueueLimits,
    bytes: usize,
    peak_bytes: usize,
    skipping: bool,
    skipping_video: bool,
    seen_video: bool,
    dropped: u64,
    parked: bool,
    ledger: Ledger,
    /// The newest timestamp of the cached start a player joined with: the cache is a burst of
    /// the recent past, not lateness, so nothing counts as older than this until it is gone.
    floor: Option<u32>,
}

impl PlayerQueue {
    /// A queue holding at most `limit` entries and at most `max_lag_ms` of media behind a new keyframe.
    #[cfg(test)]
    pub fn new(limit: usize, max_lag_ms: u32) -> PlayerQueue {
        PlayerQueue::with_limits(QueueLimits::counted(limit, max_lag_ms))
    }

    /// A queue within `limits`.
    pub fn with_limits(limits: QueueLimits) -> PlayerQueue {
        PlayerQueue {
            items: VecDeque::new(),
            limits: QueueLimits {
                messages: limits.messages.max(1),
                ..limits
            },
            bytes: 0,
            peak_bytes: 0,
            skipping: false,
            skipping_video: false,
            seen_video: false,
            dropped: 0,
            parked: false,
            ledger: Ledger::default(),
            floor: None,
        }
    }

    /// Parks the player if nothing waits for it; tells whether it is parked.
    pub fn park(&mut self) -> bool {
        self.parked = self.items.is_empty();
        self.parked
    }

    /// Ends the parking: the player's connection is about to write itself.
    pub fn unpark(&mut self) {
        self.parked = false;
    }

    /// Whether `media` may be written straight to the socket: the player is parked (so its
    /// connection writes nothing and nothing waits before it) and not skipping to a keyframe.
    pub fn takes_direct(&self, media: &Media) -> bool {
        self.parked
            && !self.skipping
            && !self.skipping_video
            && !media.wire.is_empty()
            && (media.kind != MediaKind::Video
                || !media.is_droppable()
                || self.judge(media) == Verdict::Send)
    }

    /// Notes that `media` went straight to the socket; `rest` is what the socket did not take,
    /// which ends the parking and waits to be written first.
    pub fn sent_direct(&mut self, media: &Media, rest: Bytes) {
        if media.kind == MediaKind::Video {
            self.seen_video = true;
        }
        let written = media.wire.len() - rest.len().min(media.wire.len());
        self.ledger.handed(written, Some(media.timestamp));
        if !rest.is_empty() {
            self.parked = false;
            self.append(Entry::Rest(rest, media.timestamp));
        }
    }

    /// Notes `bytes` handed to the connection; `timestamp` is the media's, `None` for a notice.
    pub fn handed(&mut self, bytes: usize, timestamp: Option<u32>) {
        self.ledger.handed(bytes, timestamp);
    }

    /// Notes what waits after a write: `staged` in the connection, `unsent` in the kernel.
    pub fn waiting(&mut self, staged: usize, unsent: Option<usize>) {
        self.ledger.waiting(staged, unsent);
    }

    /// Notes the bytes the kernel holds unsent now.
    pub fn unsent(&mut self, bytes: usize) {
        self.ledger.unsent(bytes);
    }

    /// Whether a message at `timestamp` might find the player over its budget by what already
    /// left the queue, so the kernel's unsent bytes are worth a look: while the oldest such
    /// message is within the budget, no look can change a verdict.
    pub fn needs_look(&self, timestamp: u32) -> bool {
        self.ledger
            .oldest()
            .is_some_and(|t| self.behind(timestamp, t) > self.limits.budget_ms)
    }

    /// Counts the cached start a player joins with, up to `newest`, as the present rather than
    /// as lateness.
    pub fn join_at(&mut self, newest: u32) {
        self.floor = Some(newest);
    }

    /// Appends a notice; notices are never dropped.
    pub fn push_notice(&mut self, notice: Notice) {
        self.parked = false;
        self.append(Entry::Notice(notice));
        if self.over_limits() {
            self.drop_backlog();
        }
    }

    /// Appends a message, or drops it (and maybe the backlog) per the policy.
    pub fn push(&mut self, media: Media) {
        self.parked = false;
        if media.kind == MediaKind::Video {
            self.seen_video = true;
        }
        if !media.is_droppable() {
            self.append(Entry::Media(media));
            if self.over_limits() {
                self.drop_backlog();
            }
            return;
        }
        // Where a stream has no video, any audio frame is a place to resume.
        let resumes_here = media.is_keyframe() || !self.seen_video;
        if self.skipping {
            if !resumes_here {
                self.dropped += 1;
                return;
            }
            self.skipping = false;
        }
        if media.kind == MediaKind::Video {
            self.settle_floor(media.timestamp);
            match self.judge(&media) {
                Verdict::Send => self.skipping_video = false,
                Verdict::Jump => {
                    self.drop_video();
                    self.skipping_video = false;
                }
                Verdict::Skip => {
                    self.drop_video();
                    self.skipping_video = true;
                    self.dropped += 1;
                    return;
                }
            }
        }
        let lag = self.lag_before(media.timestamp);
        if media.is_keyframe() {
            if lag > self.limits.max_lag_ms.min(self.limits.max_delay_ms) {
                self.drop_backlog();
            }
        } else if lag > self.limits.max_delay_ms {
            if !self.seen_video {
                self.drop_backlog();
            } else {
                // No keyframe to jump to yet: the pictures go, the conversation goes on.
                self.drop_video();
                if media.kind == MediaKind::Video {
                    self.skipping_video = true;
                    self.dropped += 1;
                    return;
                }
            }
        }
        let size = entry_size(&media);
        if self.items.len() >= self.limits.messages
            || self.bytes.saturating_add(size) > self.limits.bytes
        {
            self.drop_backlog();
            if !resumes_here {
                self.skipping = true;
                self.dropped += 1;
                return;
            }
        }
        self.append(Entry::Media(media));
    }

    /// Takes the oldest entry.
    pub fn pop(&mut self) -> Option<Entry> {
        let entry = self.items.pop_front()?;
        self.bytes -= entry.size();
        Some(entry)
    }

    /// Entries waiting.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no entry waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Entries dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Bytes the queued entries keep alive now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The most bytes the queue has held.
    pub fn peak_bytes(&self) -> usize {
        self.peak_bytes
    }

    fn append(&mut self, entry: Entry) {
        self.bytes += entry.size();
        self.peak_bytes = self.peak_bytes.max(self.bytes);
        self.items.push_back(entry);
    }

    fn over_limits(&self) -> bool {
        self.items.len() > self.limits.messages || self.bytes > self.limits.bytes
    }

    /// How far (ms) the oldest queued frame is behind `timestamp`.
    fn lag_before(&self, timestamp: u32) -> u32 {
        let oldest = self.items.iter().find_map(|e| match e {
            Entry::Media(m) if m.is_droppable() => Some(m.timestamp),
            _ => None,
        });
        oldest.map_or(0, |t| behind(timestamp, t))
    }

    /// How far `oldest` is behind `newest`, not counting the cached start of a join.
    fn behind(&self, newest: u32, oldest: u32) -> u32 {
        let lag = behind(newest, oldest);
        self.floor.map_or(lag, |f| lag.min(behind(newest, f)))
    }

    /// Forgets the cached start: a new publisher's timestamps start afresh.
    pub fn restart(&mut self) {
        self.floor = None;
    }

    /// Ends the floor once a live message finds nothing older waiting.
    fn settle_floor(&mut self, timestamp: u32) {
        let Some(floor) = self.floor else { return };
        if behind(timestamp, floor) == 0 {
            // Still the cached start.
            return;
        }
        let older_waits = self.ledger.oldest().is_some_and(|t| behind(floor, t) > 0)
            || self.items.iter().any(|e| match e {
                Entry::Media(m) => m.is_droppable() && behind(floor, m.timestamp) > 0,
                Entry::Rest(_, t) => behind(floor, *t) > 0,
                Entry::Notice(_) => false,
            });
        if !older_waits {
            self.floor = None;
        }
    }

    /// How late the player is for a video frame, and what the budget makes of it.
    fn judge(&self, media: &Media) -> Verdict {
        let ts = media.timestamp;
        let left = self.ledger.oldest().map_or(0, |t| self.behind(ts, t));
        let (mut queued, mut kept) = (0, left);
        for entry in &self.items {
            match entry {
                Entry::Media(m) if m.is_droppable() => {
                    let lag = self.behind(ts, m.timestamp);
                    queued = queued.max(lag);
                    if m.kind == MediaKind::Audio {
                        kept = kept.max(lag);
                        break;
                    }
                }
                Entry::Rest(_, t) => kept = kept.max(self.behind(ts, *t)),
                _ => {}
            }
        }
        let late = Lateness {
            all_ms: kept.max(queued),
            kept_ms: kept,
        };
        judge_video(
            media.is_keyframe(),
            self.skipping_video,
            late,
            self.limits.budget_ms,
        )
    }

    /// Drops every queued video frame, keeping audio, headers and notices in order.
    fn drop_video(&mut self) {
        let before = self.items.len();
        self.items.retain(
            |e| !matches!(e, Entry::Media(m) if m.kind == MediaKind::Video && m.is_droppable()),
        );
        self.dropped += (before - self.items.len()) as u64;
        self.bytes = self.items.iter().map(Entry::size).sum();
    }

    /// Drops every frame, and every header or notice a later one of its class supersedes.
    fn drop_backlog(&mut self) {
        let before = self.items.len();
        let mut kept: VecDeque<Entry> = VecDeque::with_capacity(4);
        for entry in self.items.drain(..).rev() {
            if entry.droppable() {
                continue;
            }
            if kept.iter().any(|k| k.class() == entry.class()) {
                continue;
            }
            kept.push_front(entry);
        }
        self.dropped += (before - kept.len()) as u64;
        self.bytes = kept.iter().map(Entry::size).sum();
        self.items = kept;
    }
}

/// Bytes a queued message keeps alive: its payload and its chunked copy.
fn entry_size(media: &Media) -> usize {
    media.payload.len() + media.wire.len()
}

#[cfg(test)]
mod tests;
