//! Tests of the `queue` module.

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
            Entry::Rest(Bytes::from_static(b"ked"), 33),
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

fn budgeted(budget_ms: u32) -> PlayerQueue {
    PlayerQueue::with_limits(QueueLimits {
        budget_ms,
        ..QueueLimits::counted(1_000, 60_000)
    })
}

fn kinds(entries: &[Entry]) -> Vec<(MediaKind, u32)> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Media(m) => Some((m.kind, m.timestamp)),
            _ => None,
        })
        .collect()
}

#[test]
fn over_the_budget_queued_video_goes_audio_stays_and_a_keyframe_resumes() {
    let mut q = budgeted(400);
    q.push(key(0));
    q.push(sound(380));
    q.push(inter(400));
    // 401 ms behind the keyframe still queued: the video goes, the sound stays.
    q.push(inter(401));
    q.push(inter(466));
    assert_eq!(kinds(&drain(&mut q)), vec![(MediaKind::Audio, 380)]);
    q.push(sound(900));
    q.push(key(1_000));
    q.push(inter(1_066));
    assert_eq!(
        kinds(&drain(&mut q)),
        vec![
            (MediaKind::Audio, 900),
            (MediaKind::Video, 1_000),
            (MediaKind::Video, 1_066)
        ]
    );
}

#[test]
fn what_left_the_queue_counts_until_the_kernel_sent_it() {
    let mut q = budgeted(400);
    q.push(key(0));
    assert!(matches!(q.pop(), Some(Entry::Media(_))));
    q.handed(5_000, Some(0));
    q.waiting(1_000, Some(4_000));
    assert!(!q.needs_look(400));
    assert!(q.needs_look(401));
    // Staged and unsent: the keyframe has not left, so video waits for the next keyframe.
    q.push(inter(401));
    q.push(key(1_000));
    assert_eq!(
        q.len(),
        0,
        "the keyframe cannot jump what already left the queue"
    );
    // Once the kernel sent it, the next keyframe goes out.
    q.waiting(0, Some(0));
    q.push(key(2_000));
    assert_eq!(kinds(&drain(&mut q)), vec![(MediaKind::Video, 2_000)]);
}

#[test]
fn a_keyframe_jumps_queued_video_when_the_rest_fits() {
    let mut q = budgeted(400);
    q.push(key(0));
    q.push(inter(66));
    q.push(sound(300));
    q.push(key(600));
    assert_eq!(
        kinds(&drain(&mut q)),
        vec![(MediaKind::Audio, 300), (MediaKind::Video, 600)]
    );
}

#[test]
fn the_cached_start_of_a_join_is_not_lateness() {
    let mut q = budgeted(400);
    q.join_at(900);
    for m in [key(0), inter(500), inter(900)] {
        q.push(m);
    }
    q.push(inter(966));
    assert_eq!(
        q.len(),
        4,
        "almost a second of cache behind, nothing dropped"
    );
    // It does not shield a player that stays behind.
    q.push(inter(1_400));
    assert_eq!(q.len(), 0);
}

#[test]
fn a_parked_player_over_the_budget_is_not_written_directly() {
    let mut q = budgeted(400);
    assert!(q.park());
    q.sent_direct(&wired(key(0)), Bytes::new());
    q.waiting(0, Some(7));
    assert!(q.takes_direct(&wired(inter(400))));
    assert!(!q.takes_direct(&wired(inter(401))));
    assert!(
        q.takes_direct(&wired(sound(401))),
        "audio is never held back"
    );
}
