//! Tests of the `hub` module.

use super::*;
use bytes::Bytes;

fn addr() -> SocketAddr {
    "127.0.0.1:5000".parse().unwrap()
}
fn key(ts: u32) -> Media {
    Media::new(MediaKind::Video, ts, Bytes::from_static(&[0x17, 0x01, 0]))
}

/// A socket that takes `room` more bytes, then would block.
#[derive(Debug, Default)]
struct Pipe {
    taken: Mutex<Vec<u8>>,
    room: Mutex<usize>,
}

impl DirectSink for Arc<Pipe> {
    fn try_send(&self, bytes: &[u8]) -> io::Result<usize> {
        let mut room = lock(&self.room);
        if *room == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = bytes.len().min(*room);
        *room -= n;
        lock(&self.taken).extend_from_slice(&bytes[..n]);
        Ok(n)
    }

    fn unsent(&self) -> io::Result<usize> {
        Ok(0)
    }
}

fn wired(ts: u32, wire: &'static [u8]) -> Media {
    Media {
        wire: Bytes::from_static(wire),
        ..Media::new(MediaKind::Video, ts, Bytes::from_static(&[0x27, 0x01, 0]))
    }
}

/// The relay told that `id` went live, then that it ended.
fn assert_published_then_unpublished(events: &mut broadcast::Receiver<RelayEvent>, id: &str) {
    let stream_id = id.to_owned();
    assert_eq!(
        events.try_recv().unwrap(),
        RelayEvent::Published {
            stream_id: stream_id.clone()
        }
    );
    assert_eq!(
        events.try_recv().unwrap(),
        RelayEvent::Unpublished { stream_id }
    );
}

fn drain(p: &Player) -> Vec<Entry> {
    std::iter::from_fn(|| p.pop()).collect()
}

#[test]
fn publish_fan_out_and_unpublish() {
    let hub = Hub::new(QueueLimits::counted(64, 1_000));
    let mut events = hub.subscribe();
    let (_, early, live) = hub.start_play("s", 10);
    assert!(!live);
    let (stream, start) = hub
        .start_publish("s", 1, addr(), 0, CancellationToken::new())
        .unwrap();
    assert_eq!(start, PublishStart::New);
    assert!(hub.is_live("s"));
    assert!(hub.media(&stream, 1, key(0)));
    let (_, late, live) = hub.start_play("s", 11);
    assert!(live);
    assert_eq!(
        drain(&early),
        vec![Entry::Notice(Notice::Published), Entry::Media(key(0))]
    );
    assert_eq!(drain(&late), vec![Entry::Media(key(0))], "from the cache");

    let stats = hub.stats();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].players, 2);
    assert_eq!(stats[0].keyframes, 1);
    assert_eq!(stats[0].bytes_in, 3);
    assert_eq!(stats[0].publisher, Some(addr()));

    hub.stop_publish(&stream, 1);
    assert!(!hub.is_live("s"));
    assert_eq!(drain(&late), vec![Entry::Notice(Notice::Unpublished)]);
    assert_published_then_unpublished(&mut events, "s");

    hub.stop_play(&stream, 10);
    hub.stop_play(&stream, 11);
    assert!(hub.stats().is_empty(), "an idle stream is forgotten");
}

#[test]
fn a_parked_player_is_written_directly_until_its_socket_fills() {
    let hub = Hub::new(QueueLimits::counted(64, 1_000));
    let (stream, _) = hub
        .start_publish("s", 1, addr(), 0, CancellationToken::new())
        .unwrap();
    let (_, player, _) = hub.start_play("s", 10);
    let pipe = Arc::new(Pipe::default());
    *lock(&pipe.room) = 10;
    assert!(!player.park(), "no socket offered yet");
    player.attach(Box::new(pipe.clone()), true);
    assert!(player.park());

    assert!(hub.media(&stream, 1, wired(0, b"first")));
    assert_eq!(*lock(&pipe.taken), b"first");
    assert!(
        drain(&player).is_empty(),
        "nothing queued, nothing to wake for"
    );

    assert!(hub.media(&stream, 1, wired(33, b"second")));
    assert!(hub.media(&stream, 1, wired(66, b"third")));
    assert_eq!(*lock(&pipe.taken), b"firstsecon");
    assert_eq!(
        drain(&player),
        vec![
            Entry::Rest(Bytes::from_static(b"d"), 33),
            Entry::Media(wired(66, b"third"))
        ],
        "the rest of a half-written message goes first, then the queue takes over"
    );

    assert!(player.park());
    assert!(hub.media(&stream, 1, wired(100, b"fourth")));
    assert_eq!(
        drain(&player),
        vec![Entry::Media(wired(100, b"fourth"))],
        "a full socket queues"
    );

    *lock(&pipe.room) = 100;
    assert!(player.park());
    player.unpark();
    assert!(hub.media(&stream, 1, wired(133, b"fifth")));
    assert_eq!(
        *lock(&pipe.taken),
        b"firstsecon",
        "an unparked player writes itself"
    );
    assert_eq!(drain(&player), vec![Entry::Media(wired(133, b"fifth"))]);

    assert!(player.park());
    player.detach();
    assert!(
        !player.park(),
        "a closing connection's socket is not written"
    );
}

#[test]
fn video_written_directly_still_makes_a_skipping_player_wait_for_a_keyframe() {
    let hub = Hub::new(QueueLimits::counted(1, 60_000));
    let (stream, _) = hub
        .start_publish("s", 1, addr(), 0, CancellationToken::new())
        .unwrap();
    let (_, player, _) = hub.start_play("s", 10);
    let pipe = Arc::new(Pipe::default());
    *lock(&pipe.room) = 5;
    player.attach(Box::new(pipe.clone()), true);
    assert!(player.park());
    assert!(hub.media(&stream, 1, wired(0, b"whole")));
    // The socket is full: sound queues and overflows, and the video seen only on the
    // socket still makes a keyframe the next place to resume.
    let sound = |ts| Media {
        wire: Bytes::from_static(b"sound"),
        ..Media::new(MediaKind::Audio, ts, Bytes::from_static(&[0xAF, 0x01, 0]))
    };
    assert!(hub.media(&stream, 1, sound(20)));
    assert!(hub.media(&stream, 1, sound(40)));
    assert_eq!(
        drain(&player),
        vec![],
        "audio is no place to resume a stream that has video"
    );
}

#[test]
fn takeover_kicks_the_old_publisher_and_ignores_its_leftovers() {
    let hub = Hub::new(QueueLimits::counted(64, 1_000));
    let mut events = hub.subscribe();
    let old_kick = CancellationToken::new();
    let (stream, _) = hub
        .start_publish("s", 1, addr(), 0, old_kick.clone())
        .unwrap();
    let (again, start) = hub
        .start_publish("s", 2, addr(), 0, CancellationToken::new())
        .unwrap();
    assert_eq!(start, PublishStart::Takeover);
    assert!(old_kick.is_cancelled());
    assert!(
        !hub.media(&stream, 1, key(0)),
        "the old publisher is refused"
    );
    hub.stop_publish(&stream, 1);
    assert!(
        hub.is_live("s"),
        "the old publisher leaving does not end the stream"
    );
    assert!(hub.media(&again, 2, key(0)));
    assert_eq!(
        events.try_recv().unwrap(),
        RelayEvent::Published {
            stream_id: "s".into()
        }
    );
    assert!(
        events.try_recv().is_err(),
        "a takeover is no liveness change"
    );
}

#[test]
fn an_older_url_cannot_take_over_a_newer_one() {
    let hub = Hub::new(QueueLimits::counted(64, 1_000));
    let live_kick = CancellationToken::new();
    let (stream, _) = hub
        .start_publish("s", 1, addr(), 200, live_kick.clone())
        .unwrap();
    let err = hub
        .start_publish("s", 2, addr(), 199, CancellationToken::new())
        .unwrap_err();
    assert_eq!(
        err,
        Refusal::Stale {
            live: 200,
            offered: 199
        }
    );
    assert!(!live_kick.is_cancelled());
    assert!(hub.media(&stream, 1, key(0)), "the live publisher goes on");
    let (_, start) = hub
        .start_publish("s", 3, addr(), 200, CancellationToken::new())
        .unwrap();
    assert_eq!(start, PublishStart::Takeover, "the same URL reconnecting");
    assert!(live_kick.is_cancelled());
}

#[test]
fn revoke_ends_the_publish_and_closes_its_connection() {
    let hub = Hub::new(QueueLimits::counted(64, 1_000));
    let mut events = hub.subscribe();
    assert!(!hub.revoke("s"), "nothing live");
    let kick = CancellationToken::new();
    let (stream, _) = hub.start_publish("s", 1, addr(), 0, kick.clone()).unwrap();
    let (_, player, _) = hub.start_play("s", 10);
    assert!(hub.revoke("s"));
    assert!(kick.is_cancelled());
    assert!(!hub.is_live("s"));
    assert!(!hub.media(&stream, 1, key(0)), "its leftovers are refused");
    assert_eq!(drain(&player), vec![Entry::Notice(Notice::Unpublished)]);
    hub.stop_publish(&stream, 1);
    assert_published_then_unpublished(&mut events, "s");
    assert!(events.try_recv().is_err(), "unpublished once");
}

#[test]
fn media_age_counts_from_the_last_audio_or_video() {
    let hub = Hub::new(QueueLimits::counted(64, 1_000));
    assert_eq!(hub.media_age("s"), None);
    let (stream, _) = hub
        .start_publish("s", 1, addr(), 0, CancellationToken::new())
        .unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let before = hub.media_age("s").unwrap();
    assert!(before >= Duration::from_millis(30), "{before:?}");
    let meta = Media::new(MediaKind::Metadata, 0, Bytes::from_static(b"m"));
    assert!(hub.media(&stream, 1, meta));
    assert!(
        hub.media_age("s").unwrap() >= before,
        "metadata is no media"
    );
    assert!(hub.media(&stream, 1, key(0)));
    assert!(hub.media_age("s").unwrap() < before);
    hub.stop_publish(&stream, 1);
    assert_eq!(hub.media_age("s"), None);
}

#[test]
fn stats_report_the_bytes_queued_for_players() {
    let hub = Hub::new(QueueLimits {
        bytes: 10_000,
        ..QueueLimits::counted(1_000, 60_000)
    });
    let (stream, _) = hub
        .start_publish("s", 1, addr(), 0, CancellationToken::new())
        .unwrap();
    let (_, player, _) = hub.start_play("s", 10);
    let frame = |ts: u32, first: u8| {
        let mut v = vec![first, 0x01];
        v.resize(3_000, 0);
        Media::new(MediaKind::Video, ts, Bytes::from(v))
    };
    for i in 0..10 {
        assert!(hub.media(&stream, 1, frame(i, if i == 0 { 0x17 } else { 0x27 })));
    }
    let stats = &hub.stats()[0];
    assert_eq!(stats.peak_player_queued_bytes, 9_000, "{stats:?}");
    assert_eq!(
        stats.queued_bytes, 0,
        "skipping to the next keyframe: {stats:?}"
    );
    assert_eq!(stats.dropped_for_players, 10);
    assert!(hub.media(&stream, 1, frame(10, 0x17)));
    assert_eq!(hub.stats()[0].queued_bytes, 3_000);
    drain(&player);
    assert_eq!(hub.stats()[0].queued_bytes, 0);
}
