//! The streams the relay carries: who publishes each, who plays it, its cache and its counters.
//!
//! Shared by every connection behind short `std` mutexes with no `.await` inside. Lock order:
//! the stream map, then a stream's state, then a player's queue.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use crate::auth::{self, PublishStart, Refusal};
use crate::gop::GopCache;
use crate::media::{Media, MediaKind};
use crate::queue::{Entry, Notice, PlayerQueue, QueueLimits};

/// Events buffered for a slow subscriber before it starts missing some.
pub(crate) const EVENT_CHANNEL_CAPACITY: usize = 1_024;

/// A change in which streams are live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayEvent {
    /// A publisher started on a stream that was not live.
    Published {
        /// The stream id (without query), e.g. `8888_user_1`.
        stream_id: String,
    },
    /// The last publisher of a stream left.
    Unpublished {
        /// The stream id (without query).
        stream_id: String,
    },
}

/// Figures of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStats {
    /// The stream id (without query).
    pub stream_id: String,
    /// Address of the current publisher, if live.
    pub publisher: Option<SocketAddr>,
    /// When the current publisher started.
    pub since: Option<SystemTime>,
    /// Payload bytes received from the current publisher.
    pub bytes_in: u64,
    /// Video messages received from the current publisher.
    pub video_frames: u64,
    /// Audio messages received from the current publisher.
    pub audio_frames: u64,
    /// Video keyframes received from the current publisher.
    pub keyframes: u64,
    /// Players attached now.
    pub players: usize,
    /// Messages dropped for slow players since the stream appeared.
    pub dropped_for_players: u64,
    /// Bytes queued for the attached players now (payload and chunked copy, all players).
    pub queued_bytes: u64,
    /// The most bytes one player's queue has held, over the players attached now.
    pub peak_player_queued_bytes: u64,
}

/// Locks `m`, carrying on after a panic elsewhere: every critical section leaves the state whole.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A player's socket as the publisher's task may write to it while the player is parked.
pub(crate) trait DirectSink: Send + Sync + fmt::Debug {
    /// Writes what the socket takes now, without waiting; returns how many bytes that was.
    fn try_send(&self, bytes: &[u8]) -> io::Result<usize>;
}

/// A player's queue and, once its connection offers it, its socket.
#[derive(Debug)]
struct Slot {
    queue: PlayerQueue,
    sink: Option<Box<dyn DirectSink>>,
}

/// One player's end of a stream.
#[derive(Debug)]
pub(crate) struct Player {
    conn: u64,
    slot: Mutex<Slot>,
    ready: Notify,
}

impl Player {
    /// Takes the next queued entry.
    pub fn pop(&self) -> Option<Entry> {
        lock(&self.slot).queue.pop()
    }

    /// Resolves once something was queued since the last call (or was already waiting).
    pub async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Lets the publisher's task write to `sink` while this player is parked.
    pub fn attach(&self, sink: Box<dyn DirectSink>) {
        lock(&self.slot).sink = Some(sink);
    }

    /// Takes the socket back for good (the connection is closing).
    pub fn detach(&self) {
        let mut slot = lock(&self.slot);
        slot.queue.unpark();
        slot.sink = None;
    }

    /// Hands writing to the publisher's task if nothing waits; tells whether it did. The
    /// connection must not write again before [`Player::unpark`].
    pub fn park(&self) -> bool {
        let mut slot = lock(&self.slot);
        slot.sink.is_some() && slot.queue.park()
    }

    /// Takes writing back from the publisher's task; once this returns, no write of its is
    /// under way.
    pub fn unpark(&self) {
        lock(&self.slot).queue.unpark();
    }

    fn push(&self, media: &Media) {
        let mut slot = lock(&self.slot);
        let Slot { queue, sink } = &mut *slot;
        match sink {
            Some(sink) if queue.takes_direct(media) => match sink.try_send(&media.wire) {
                Ok(n) => {
                    let rest = media.wire.slice(n.min(media.wire.len())..);
                    let whole = rest.is_empty();
                    queue.sent_direct(media, rest);
                    if whole {
                        return;
                    }
                }
                // A full socket is the connection's to wait for; a failed one, to report.
                Err(_) => queue.push(media.clone()),
            },
            _ => queue.push(media.clone()),
        }
        drop(slot);
        self.ready.notify_one();
    }

    fn push_notice(&self, notice: Notice) {
        lock(&self.slot).queue.push_notice(notice);
        self.ready.notify_one();
    }

    /// Dropped messages, bytes queued now and the most bytes ever queued.
    fn figures(&self) -> (u64, u64, u64) {
        let slot = lock(&self.slot);
        let q = &slot.queue;
        (q.dropped(), q.bytes() as u64, q.peak_bytes() as u64)
    }
}

#[derive(Debug)]
struct Publisher {
    conn: u64,
    addr: SocketAddr,
    since: SystemTime,
    kick: CancellationToken,
    /// Expiry of the URL it published with (the takeover rule compares against it).
    expires_at: u64,
    /// When its last audio or video message arrived (or it started, before any).
    last_media: Instant,
}

#[derive(Debug, Default)]
struct Counters {
    bytes_in: u64,
    video_frames: u64,
    audio_frames: u64,
    keyframes: u64,
}

#[derive(Debug, Default)]
struct StreamState {
    publisher: Option<Publisher>,
    cache: GopCache,
    players: Vec<Arc<Player>>,
    counters: Counters,
    departed_dropped: u64,
}

impl StreamState {
    fn idle(&self) -> bool {
        self.publisher.is_none() && self.players.is_empty()
    }
}

/// One stream id's state.
#[derive(Debug)]
pub(crate) struct Stream {
    id: String,
    state: Mutex<StreamState>,
}

impl Stream {
    /// The stream id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The registry of streams.
#[derive(Debug)]
pub(crate) struct Hub {
    streams: Mutex<HashMap<String, Arc<Stream>>>,
    events: broadcast::Sender<RelayEvent>,
    limits: QueueLimits,
}

impl Hub {
    /// An empty registry whose players' queues stay within `limits`.
    pub fn new(limits: QueueLimits) -> Hub {
        Hub {
            streams: Mutex::new(HashMap::new()),
            events: broadcast::channel(EVENT_CHANNEL_CAPACITY).0,
            limits,
        }
    }

    fn emit(&self, event: RelayEvent) {
        // No subscriber is fine: nobody is listening yet.
        let _ = self.events.send(event);
    }

    fn entry(streams: &mut HashMap<String, Arc<Stream>>, id: &str) -> Arc<Stream> {
        streams
            .entry(id.to_owned())
            .or_insert_with(|| {
                Arc::new(Stream {
                    id: id.to_owned(),
                    state: Mutex::new(StreamState::default()),
                })
            })
            .clone()
    }

    /// Makes `conn` the publisher of `id` with a URL expiring at `expires_at` (signature and
    /// gate were checked before); a previous publisher is kicked through its token if the
    /// takeover rule lets this one replace it (see [`auth::takeover`]).
    pub fn start_publish(
        &self,
        id: &str,
        conn: u64,
        addr: SocketAddr,
        expires_at: u64,
        kick: CancellationToken,
    ) -> Result<(Arc<Stream>, PublishStart), Refusal> {
        let mut streams = lock(&self.streams);
        let stream = Self::entry(&mut streams, id);
        let mut st = lock(&stream.state);
        // Decided under the stream's lock, so two publishes racing are judged one after the other.
        let start = auth::takeover(st.publisher.as_ref().map(|p| p.expires_at), expires_at)?;
        if let Some(old) = st.publisher.take() {
            old.kick.cancel();
        }
        st.publisher = Some(Publisher {
            conn,
            addr,
            since: SystemTime::now(),
            kick,
            expires_at,
            last_media: Instant::now(),
        });
        st.cache.clear();
        st.counters = Counters::default();
        if start == PublishStart::New {
            for p in &st.players {
                p.push_notice(Notice::Published);
            }
            self.emit(RelayEvent::Published {
                stream_id: id.to_owned(),
            });
        }
        drop(st);
        Ok((stream, start))
    }

    /// Relays one message from `conn`; false once `conn` is no longer the publisher.
    pub fn media(&self, stream: &Stream, conn: u64, media: Media) -> bool {
        let mut guard = lock(&stream.state);
        let st = &mut *guard;
        let Some(publisher) = st.publisher.as_mut().filter(|p| p.conn == conn) else {
            return false;
        };
        if media.kind != MediaKind::Metadata {
            publisher.last_media = Instant::now();
        }
        let c = &mut st.counters;
        c.bytes_in += media.payload.len() as u64;
        match media.kind {
            MediaKind::Video => {
                c.video_frames += 1;
                if media.is_keyframe() && !media.is_sequence_header() {
                    c.keyframes += 1;
                }
            }
            MediaKind::Audio => c.audio_frames += 1,
            MediaKind::Metadata => {}
        }
        for p in &st.players {
            p.push(&media);
        }
        // Last, so the cache takes the message over instead of sharing it.
        st.cache.push(media);
        true
    }

    /// Ends `conn`'s publishing of `stream`, unless it was already taken over.
    pub fn stop_publish(&self, stream: &Stream, conn: u64) {
        let st = lock(&stream.state);
        if st.publisher.as_ref().map(|p| p.conn) != Some(conn) {
            return;
        }
        self.unpublish(stream, st);
    }

    /// Ends the current publish of `id` now, closing its connection; false when not live.
    pub fn revoke(&self, id: &str) -> bool {
        let Some(stream) = lock(&self.streams).get(id).cloned() else {
            return false;
        };
        let st = lock(&stream.state);
        let Some(publisher) = &st.publisher else {
            return false;
        };
        publisher.kick.cancel();
        self.unpublish(&stream, st);
        true
    }

    /// Time since the live publisher of `id` last sent audio or video; `None` when not live.
    pub fn media_age(&self, id: &str) -> Option<Duration> {
        let stream = lock(&self.streams).get(id).cloned()?;
        let st = lock(&stream.state);
        st.publisher.as_ref().map(|p| p.last_media.elapsed())
    }

    /// Takes the publisher off `stream` and tells its players and subscribers.
    fn unpublish(&self, stream: &Stream, mut st: MutexGuard<'_, StreamState>) {
        st.publisher = None;
        st.cache.clear();
        for p in &st.players {
            p.push_notice(Notice::Unpublished);
        }
        drop(st);
        self.emit(RelayEvent::Unpublished {
            stream_id: stream.id.clone(),
        });
        self.remove_if_idle(&stream.id);
    }

    /// Attaches player `conn` to `id`, queueing the cached start of the stream if it is live.
    pub fn start_play(&self, id: &str, conn: u64) -> (Arc<Stream>, Arc<Player>, bool) {
        let player = Arc::new(Player {
            conn,
            slot: Mutex::new(Slot {
                queue: PlayerQueue::with_limits(self.limits),
                sink: None,
            }),
            ready: Notify::new(),
        });
        let mut streams = lock(&self.streams);
        let stream = Self::entry(&mut streams, id);
        let mut st = lock(&stream.state);
        let live = st.publisher.is_some();
        for media in st.cache.startup() {
            player.push(media);
        }
        st.players.push(player.clone());
        drop(st);
        (stream, player, live)
    }

    /// Detaches player `conn` from `stream`.
    pub fn stop_play(&self, stream: &Stream, conn: u64) {
        let mut st = lock(&stream.state);
        if let Some(i) = st.players.iter().position(|p| p.conn == conn) {
            let player = st.players.swap_remove(i);
            st.departed_dropped += player.figures().0;
        }
        drop(st);
        self.remove_if_idle(&stream.id);
    }

    fn remove_if_idle(&self, id: &str) {
        let mut streams = lock(&self.streams);
        let idle = streams.get(id).is_some_and(|s| lock(&s.state).idle());
        if idle {
            streams.remove(id);
        }
    }

    /// Whether `id` has a publisher.
    pub fn is_live(&self, id: &str) -> bool {
        let stream = lock(&self.streams).get(id).cloned();
        stream.is_some_and(|s| lock(&s.state).publisher.is_some())
    }

    /// Figures of every stream, sorted by id.
    pub fn stats(&self) -> Vec<StreamStats> {
        let streams: Vec<Arc<Stream>> = lock(&self.streams).values().cloned().collect();
        let mut out: Vec<StreamStats> = streams
            .iter()
            .map(|s| {
                let st = lock(&s.state);
                let (mut dropped, mut queued, mut peak) = (st.departed_dropped, 0, 0);
                for (d, q, p) in st.players.iter().map(|p| p.figures()) {
                    dropped += d;
                    queued += q;
                    peak = peak.max(p);
                }
                StreamStats {
                    stream_id: s.id.clone(),
                    publisher: st.publisher.as_ref().map(|p| p.addr),
                    since: st.publisher.as_ref().map(|p| p.since),
                    bytes_in: st.counters.bytes_in,
                    video_frames: st.counters.video_frames,
                    audio_frames: st.counters.audio_frames,
                    keyframes: st.counters.keyframes,
                    players: st.players.len(),
                    dropped_for_players: dropped,
                    queued_bytes: queued,
                    peak_player_queued_bytes: peak,
                }
            })
            .collect();
        out.sort_by(|a, b| a.stream_id.cmp(&b.stream_id));
        out
    }

    /// A receiver of [`RelayEvent`]s from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RelayEvent> {
        self.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
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
    }

    fn wired(ts: u32, wire: &'static [u8]) -> Media {
        Media {
            wire: Bytes::from_static(wire),
            ..Media::new(MediaKind::Video, ts, Bytes::from_static(&[0x27, 0x01, 0]))
        }
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
        assert_eq!(
            events.try_recv().unwrap(),
            RelayEvent::Published {
                stream_id: "s".into()
            }
        );
        assert_eq!(
            events.try_recv().unwrap(),
            RelayEvent::Unpublished {
                stream_id: "s".into()
            }
        );

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
        player.attach(Box::new(pipe.clone()));
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
                Entry::Rest(Bytes::from_static(b"d")),
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
        player.attach(Box::new(pipe.clone()));
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
        assert_eq!(
            events.try_recv().unwrap(),
            RelayEvent::Published {
                stream_id: "s".into()
            }
        );
        assert_eq!(
            events.try_recv().unwrap(),
            RelayEvent::Unpublished {
                stream_id: "s".into()
            }
        );
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
}
