//! The feeds' wire format, flow control and following, without a webview.

use super::*;

#[test]
fn messages_have_the_documented_layout() {
    let h = FrameHeader {
        kind: KIND_H264,
        keyframe: true,
        width: 320,
        height: 180,
        seq: 7,
        capture_ms: None,
        sent_ms: 1234.5,
    };
    let m = encode_message(&h, &[9, 9], &[1, 2, 3]);
    assert_eq!(m.len(), HEADER_LEN + 5);
    assert_eq!(m[0], KIND_H264);
    assert_eq!(m[1], FLAG_KEYFRAME);
    assert_eq!(u16::from_le_bytes([m[2], m[3]]), 320);
    assert_eq!(u16::from_le_bytes([m[4], m[5]]), 180);
    assert_eq!(u32::from_le_bytes(m[8..12].try_into().unwrap()), 7);
    assert_eq!(u32::from_le_bytes(m[12..16].try_into().unwrap()), 2);
    assert!(f64::from_le_bytes(m[16..24].try_into().unwrap()).is_nan());
    assert_eq!(f64::from_le_bytes(m[24..32].try_into().unwrap()), 1234.5);
    assert_eq!(&m[HEADER_LEN..], &[9, 9, 1, 2, 3]);
}

#[test]
fn i420_messages_carry_size_clock_and_planes() {
    let mut frame = VideoFrame::black(4, 2);
    frame.capture_us = Some(5_000);
    let m = i420_message(&frame, 1);
    assert_eq!(m[0], KIND_I420);
    assert_eq!(u16::from_le_bytes([m[2], m[3]]), 4);
    assert_eq!(f64::from_le_bytes(m[16..24].try_into().unwrap()), 5.0);
    assert_eq!(&m[HEADER_LEN..], frame.data());
}

#[test]
fn the_gate_starts_at_a_keyframe_and_skips_to_the_next_after_a_drop() {
    let mut g = KeyframeGate::default();
    assert!(!g.admit(false, 0), "a feed cannot start mid-GOP");
    assert!(g.admit(true, 0));
    assert!(g.admit(false, 1));
    assert!(!g.admit(false, MAX_IN_FLIGHT_PACKETS), "the page is behind");
    assert!(!g.admit(false, 0), "the next delta needs the dropped one");
    assert!(g.admit(true, 0));
    assert!(g.admit(false, 0));
    g.lost();
    assert!(!g.admit(false, 0));
    assert!(g.admit(true, 1));
}

#[test]
fn acks_count_once_and_only_for_sent_messages() {
    let t0 = Instant::now();
    let mut w = AckWindow::new(t0);
    assert_eq!((w.next(t0), w.next(t0), w.next(t0)), (1, 2, 3));
    assert_eq!(w.in_flight(), 3);
    w.ack(2, t0);
    assert_eq!(w.in_flight(), 1);
    w.ack(2, t0);
    w.ack(1, t0);
    assert_eq!(w.in_flight(), 1, "old acks change nothing");
    w.ack(9, t0);
    assert_eq!(w.in_flight(), 1, "unsent numbers change nothing");
}

#[test]
fn a_silent_page_loses_its_messages_after_the_timeout() {
    let t0 = Instant::now();
    let mut w = AckWindow::new(t0);
    w.next(t0);
    w.next(t0);
    w.expire(t0 + ACK_TIMEOUT / 2);
    assert_eq!(w.in_flight(), 2);
    // Progress restarts the clock.
    w.ack(1, t0 + ACK_TIMEOUT / 2);
    w.expire(t0 + ACK_TIMEOUT);
    assert_eq!(w.in_flight(), 1);
    w.expire(t0 + ACK_TIMEOUT * 2);
    assert_eq!(w.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_feed_waits_for_an_ack_or_the_timeout() {
    let flow = Arc::new(Flow::new());
    for _ in 0..MAX_IN_FLIGHT_FRAMES {
        flow.next();
    }
    let start = Instant::now();
    flow.room(MAX_IN_FLIGHT_FRAMES).await;
    assert!(start.elapsed() >= ACK_TIMEOUT);
    assert_eq!(flow.in_flight(), 0);

    let first = flow.next();
    for _ in 1..MAX_IN_FLIGHT_FRAMES {
        flow.next();
    }
    let waiter = tokio::spawn({
        let flow = Arc::clone(&flow);
        async move { flow.room(MAX_IN_FLIGHT_FRAMES).await }
    });
    tokio::time::sleep(ACK_TIMEOUT / 4).await;
    flow.window().ack(first, Instant::now());
    flow.acked.notify_one();
    waiter.await.unwrap();
    assert_eq!(flow.in_flight(), MAX_IN_FLIGHT_FRAMES - 1);
    assert!(
        start.elapsed() < ACK_TIMEOUT * 2,
        "the ack, not the timeout, freed it"
    );
}

/// A channel that hands every message it is sent to the test.
pub(super) fn page() -> (
    Channel<InvokeResponseBody>,
    tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let channel = Channel::new(move |body| {
        if let InvokeResponseBody::Raw(bytes) = body {
            let _ = tx.send(bytes);
        }
        Ok(())
    });
    (channel, rx)
}

#[tokio::test]
async fn a_picture_feed_tells_the_page_when_its_pictures_stop() {
    let (slot, frames) = watch::channel(None);
    let (channel, mut page) = page();
    let task = tokio::spawn(pump(Source::frames(frames), Arc::new(Flow::new()), channel));
    slot.send_replace(Some(Arc::new(VideoFrame::black(4, 2))));
    let picture = page.recv().await.unwrap();
    assert_eq!(
        (
            picture[0],
            u32::from_le_bytes(picture[8..12].try_into().unwrap())
        ),
        (KIND_I420, 1)
    );

    drop(slot);
    let end = page.recv().await.unwrap();
    assert_eq!(end.len(), HEADER_LEN);
    assert_eq!(
        (end[0], u32::from_le_bytes(end[8..12].try_into().unwrap())),
        (KIND_END, 2)
    );
    task.await.unwrap();
}

#[tokio::test]
async fn a_packet_feed_tells_the_page_when_its_source_is_gone() {
    let (packets, rx) = broadcast::channel::<EncodedVideo>(4);
    let (channel, mut page) = page();
    let task = tokio::spawn(pump(Source::packets(rx), Arc::new(Flow::new()), channel));
    drop(packets);
    let end = page.recv().await.unwrap();
    assert_eq!(end[0], KIND_END);
    task.await.unwrap();
    assert!(page.recv().await.is_none(), "nothing follows the end");
}
