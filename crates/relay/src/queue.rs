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

use std::collections::VecDeque;

use bytes::Bytes;

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
    /// The unwritten end of a message the socket took only part of: it must go out first.
    Rest(Bytes),
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
            Entry::Rest(_) => 4,
        }
    }

    /// Bytes it keeps alive.
    fn size(&self) -> usize {
        match self {
            Entry::Media(m) => entry_size(m),
            Entry::Notice(_) => 0,
            Entry::Rest(bytes) => bytes.len(),
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
        self.parked && !self.skipping && !self.skipping_video && !media.wire.is_empty()
    }

    /// Notes that `media` went straight to the socket; `rest` is what the socket did not take,
    /// which ends the parking and waits to be written first.
    pub fn sent_direct(&mut self, media: &Media, rest: Bytes) {
        if media.kind == MediaKind::Video {
            self.seen_video = true;
        }
        if !rest.is_empty() {
            self.parked = false;
            self.append(Entry::Rest(rest));
        }
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
        if self.skipping_video && media.kind == MediaKind::Video {
            if !media.is_keyframe() {
                self.dropped += 1;
                return;
            }
            self.skipping_video = false;
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
        match oldest {
            // Timestamps wrap after 49 days; a "negative" lag is no lag.
            Some(t) => u32::try_from(timestamp.wrapping_sub(t) as i32).unwrap_or(0),
            None => 0,
        }
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
mod tests {
    use super::*;
    use bytes::Bytes;

    fn key(ts: u32) -> Media {
        Media::new(MediaKind::Video, ts, Bytes::from_static(&[0x17, 0x01, 0]))
    }
    fn inter(ts: u32) -> Media {
        Media::new(MediaKind::Video, ts, Bytes::from_static(&[0x27, 0x01, 0]))
    }
    fn sound(ts: u32) -> Media {
        Media::new(MediaKind::Audio, ts, Bytes::from_static(&[0xAF, 0x01, 0]))
    }
    fn video_header(tag: u8) -> Media {
        Media::new(MediaKind::Video, 0, Bytes::from(vec![0x17, 0x00, tag]))
    }

    fn drain(q: &mut PlayerQueue) -> Vec<Entry> {
        std::iter::from_fn(|| q.pop()).collect()
    }

    #[test]
    fn a_keeping_up_player_gets_everything_in_order() {
        let mut q = PlayerQueue::new(8, 1_000);
        let sent = [video_header(1), key(0), sound(10), inter(33), sound(33)];
        for m in sent.clone() {
            q.push(m);
        }
        let got = drain(&mut q);
        assert_eq!(got, sent.map(Entry::Media).to_vec());
        assert_eq!(q.dropped(), 0);
    }

    #[test]
    fn overflow_drops_the_backlog_and_resumes_at_the_next_keyframe() {
        let mut q = PlayerQueue::new(4, 60_000);
        q.push(video_header(1));
        q.push(key(0));
        q.push(inter(33));
        q.push(inter(66));
        // Full: this frame and the backlog go, the header stays.
        q.push(inter(100));
        assert_eq!(q.len(), 1);
        q.push(inter(133));
        q.push(sound(140));
        q.push(key(200));
        q.push(inter(233));
        let got = drain(&mut q);
        assert_eq!(
            got,
            vec![
                Entry::Media(video_header(1)),
                Entry::Media(key(200)),
                Entry::Media(inter(233))
            ]
        );
        assert_eq!(q.dropped(), 3 + 3);
    }

    #[test]
    fn a_keyframe_far_ahead_of_the_backlog_jumps_to_live() {
        let mut q = PlayerQueue::new(1_000, 500);
        q.push(key(0));
        for i in 1..20 {
            q.push(inter(i * 33));
        }
        q.push(key(1_000));
        let got = drain(&mut q);
        assert_eq!(got, vec![Entry::Media(key(1_000))]);
        assert_eq!(q.dropped(), 20);
    }

    #[test]
    fn a_keyframe_within_the_lag_keeps_the_backlog() {
        let mut q = PlayerQueue::new(1_000, 500);
        q.push(key(0));
        q.push(inter(33));
        q.push(key(400));
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 0);
    }

    #[test]
    fn lag_survives_timestamp_wrap_and_ignores_going_backwards() {
        let mut q = PlayerQueue::new(1_000, 500);
        q.push(key(u32::MAX - 100));
        q.push(key(50));
        assert_eq!(q.len(), 2, "151 ms across the wrap is within the lag");
        let mut q = PlayerQueue::new(1_000, 500);
        q.push(key(5_000));
        q.push(key(10));
        assert_eq!(q.len(), 2, "a timestamp reset is not lag");
    }

    #[test]
    fn audio_only_streams_resume_on_the_next_audio_frame() {
        let mut q = PlayerQueue::new(2, 60_000);
        q.push(sound(0));
        q.push(sound(21));
        q.push(sound(42));
        let got = drain(&mut q);
        assert_eq!(got, vec![Entry::Media(sound(42))]);
        assert_eq!(q.dropped(), 2);
    }

    #[test]
    fn headers_and_notices_are_kept_but_superseded_ones_collapse() {
        let mut q = PlayerQueue::new(3, 60_000);
        q.push(video_header(1));
        q.push_notice(Notice::Unpublished);
        q.push_notice(Notice::Published);
        q.push(video_header(2));
        // Over the limit: only the latest of each class remains, in order.
        let got = drain(&mut q);
        assert_eq!(
            got,
            vec![
                Entry::Notice(Notice::Published),
                Entry::Media(video_header(2))
            ]
        );
    }

    fn wired(media: Media) -> Media {
        Media {
            wire: Bytes::from_static(b"chunked"),
            ..media
        }
    }

    #[test]
    fn only_a_caught_up_player_parks() {
        let mut q = PlayerQueue::new(8, 1_000);
        q.push(key(0));
        assert!(!q.park(), "something waits");
        assert!(!q.takes_direct(&wired(inter(33))));
        q.pop();
        assert!(q.park());
        assert!(q.takes_direct(&wired(inter(33))));
        assert!(
            !q.takes_direct(&inter(33)),
            "a message not chunked for the shared stream goes through the queue"
        );
        q.unpark();
        assert!(!q.takes_direct(&wired(inter(33))));
    }

    #[test]
    fn anything_queued_ends_the_parking() {
        let mut q = PlayerQueue::new(8, 1_000);
        assert!(q.park());
        q.push_notice(Notice::Unpublished);
        assert!(!q.takes_direct(&wired(key(0))));
        q.pop();
        assert!(q.park());
        q.push(video_header(1));
        assert!(!q.takes_direct(&wired(key(0))), "order is kept");
    }

    #[test]
    fn a_partly_written_message_ends_the_parking_and_goes_out_first() {
        let mut q = PlayerQueue::new(8, 1_000);
        assert!(q.park());
        q.sent_direct(&wired(key(0)), Bytes::new());
        assert!(
            q.takes_direct(&wired(inter(33))),
            "whole writes keep it parked"
        );
        q.sent_direct(&wired(inter(33)), Bytes::from_static(b"ked"));
        assert!(!q.takes_direct(&wired(inter(66))));
        q.push(inter(66));
        assert_eq!(
            drain(&mut q),
            vec![
                Entry::Rest(Bytes::from_static(b"ked")),
                Entry::Media(inter(66))
            ]
        );
    }

    #[test]
    fn a_skipping_player_waits_for_a_keyframe_before_parking_helps() {
        let mut q = PlayerQueue::new(2, 60_000);
        q.push(key(0));
        q.push(inter(33));
        q.push(inter(66));
        drain(&mut q);
        assert!(q.park());
        assert!(
            !q.takes_direct(&wired(inter(100))),
            "an inter frame after a skip is not decodable"
        );
        q.push(inter(100));
        q.push(key(200));
        assert_eq!(drain(&mut q), vec![Entry::Media(key(200))]);
        assert!(q.park());
        assert!(q.takes_direct(&wired(inter(233))));
    }

    #[test]
    fn video_written_directly_counts_as_seen() {
        let mut q = PlayerQueue::new(1, 60_000);
        assert!(q.park());
        q.sent_direct(&wired(key(0)), Bytes::new());
        q.push(inter(33));
        q.push(sound(40));
        assert_eq!(
            drain(&mut q),
            vec![],
            "audio is no place to resume a video stream"
        );
    }

    #[test]
    fn a_flood_of_headers_cannot_grow_the_queue_past_its_limit() {
        let mut q = PlayerQueue::new(16, 60_000);
        for i in 0..10_000u32 {
            q.push(video_header((i % 256) as u8));
            q.push(inter(i));
            assert!(q.len() <= 16);
        }
    }

    fn big(first: u8, ts: u32, size: usize) -> Media {
        let mut v = vec![first, 0x01];
        v.resize(size, 0);
        Media::new(MediaKind::Video, ts, Bytes::from(v))
    }

    fn limits(bytes: usize, max_delay_ms: u32) -> QueueLimits {
        QueueLimits {
            bytes,
            max_delay_ms,
            ..QueueLimits::counted(1_000, 60_000)
        }
    }

    #[test]
    fn large_frames_cannot_grow_the_queue_past_its_byte_bound() {
        let mut q = PlayerQueue::with_limits(limits(1_000_000, u32::MAX));
        q.push(video_header(1));
        for i in 0..1_000u32 {
            let first = if i % 50 == 0 { 0x17 } else { 0x27 };
            q.push(big(first, i, 200_000));
            assert!(q.bytes() <= 1_000_000, "{} bytes at {i}", q.bytes());
        }
        assert!(q.peak_bytes() <= 1_000_000);
        assert!(q.dropped() > 900);
        // Within the bound nothing is lost.
        let mut q = PlayerQueue::with_limits(limits(1_000_000, u32::MAX));
        for i in 0..4u32 {
            q.push(big(0x27, i, 250_000));
        }
        assert_eq!((q.len(), q.dropped(), q.bytes()), (4, 0, 1_000_000));
        q.push(big(0x27, 5, 1));
        assert_eq!(q.len(), 0, "one byte over drops the backlog");
        while q.pop().is_some() {}
        assert_eq!(q.bytes(), 0);
    }

    #[test]
    fn a_lone_frame_over_the_byte_bound_still_goes_out() {
        let mut q = PlayerQueue::with_limits(limits(100, u32::MAX));
        q.push(big(0x17, 0, 1_000));
        assert_eq!(q.len(), 1);
        assert_eq!(q.bytes(), 1_000);
    }

    #[test]
    fn far_behind_without_a_keyframe_video_goes_and_audio_stays() {
        let mut q = PlayerQueue::with_limits(limits(usize::MAX, 1_000));
        q.push(video_header(1));
        q.push(key(0));
        for i in 1..=30u32 {
            q.push(inter(i * 33));
            q.push(sound(i * 33));
        }
        assert_eq!(q.dropped(), 0, "990 ms behind is within the budget");
        q.push(sound(1_100));
        q.push(inter(1_133));
        q.push(sound(1_140));
        let got = drain(&mut q);
        assert!(
            got.iter().all(
                |e| !matches!(e, Entry::Media(m) if m.kind == MediaKind::Video && m.is_droppable())
            ),
            "{got:?}"
        );
        assert_eq!(got[0], Entry::Media(video_header(1)));
        assert_eq!(got.len(), 1 + 30 + 2, "every sound kept: {got:?}");
        assert_eq!(q.dropped(), 31 + 1);
        // Video resumes at the next keyframe, and only there.
        q.push(inter(1_166));
        q.push(key(1_200));
        q.push(inter(1_233));
        assert_eq!(
            drain(&mut q),
            vec![Entry::Media(key(1_200)), Entry::Media(inter(1_233))]
        );
    }

    #[test]
    fn a_direct_write_waits_while_video_is_skipped() {
        let mut q = PlayerQueue::with_limits(limits(usize::MAX, 100));
        q.push(key(0));
        q.push(inter(200));
        drain(&mut q);
        assert!(q.park());
        assert!(!q.takes_direct(&wired(inter(233))));
        q.push(key(300));
        drain(&mut q);
        assert!(q.park());
        assert!(q.takes_direct(&wired(inter(333))));
    }

    #[test]
    fn far_behind_in_an_audio_only_stream_jumps_to_live() {
        let mut q = PlayerQueue::with_limits(limits(usize::MAX, 500));
        for i in 0..30u32 {
            q.push(sound(i * 21));
        }
        let got = drain(&mut q);
        assert!(got.len() < 30 && got.len() > 1, "{}", got.len());
        assert_eq!(got.last(), Some(&Entry::Media(sound(29 * 21))));
    }
}
