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
    /// Bytes written that the kernel has not sent yet.
    fn unsent(&self) -> io::Result<usize>;
}

/// A player's queue and, once its connection offers it, its socket.
#[derive(Debug)]
struct Slot {
    queue: PlayerQueue,
    sink: Option<Box<dyn DirectSink>>,
    /// Whether the publisher's task may write to `sink` (the player takes the shared chunking).
    direct: bool,
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

    /// Whether entries wait in the queue.
    pub fn has_queued(&self) -> bool {
        !lock(&self.slot).queue.is_empty()
    }

    /// Resolves once something was queued since the last call (or was already waiting).
    pub async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Lets the publisher's task look at `sink`'s unsent bytes, and (if `direct`) write to it
    /// while this player is parked.
    pub fn attach(&self, sink: Box<dyn DirectSink>, direct: bool) {
        let mut slot = lock(&self.slot);
        slot.sink = Some(sink);
        slot.direct = direct;
    }

    /// Notes `bytes` taken from the queue into the connection's output; `timestamp` is the
    /// media's, `None` for a notice.
    pub fn handed(&self, bytes: usize, timestamp: Option<u32>) {
        lock(&self.slot).queue.handed(bytes, timestamp);
    }

    /// Notes what still waits after a write: `staged` in the connection, `unsent` in the kernel.
    pub fn waiting(&self, staged: usize, unsent: Option<usize>) {
        lock(&self.slot).queue.waiting(staged, unsent);
    }

    /// Takes the socket back for good (the connection is closing).
    pub fn detach(&self) {
        let mut slot = lock(&self.slot);
        slot.queue.unpark();
        slot.sink = None;
        slot.direct = false;
    }

    /// Hands writing to the publisher's task if nothing waits; tells whether it did. The
    /// connection must not write again before [`Player::unpark`].
    pub fn park(&self) -> bool {
        let mut slot = lock(&self.slot);
        slot.sink.is_some() && slot.direct && slot.queue.park()
    }

    /// Takes writing back from the publisher's task; once this returns, no write of its is
    /// under way.
    pub fn unpark(&self) {
        lock(&self.slot).queue.unpark();
    }

    fn push(&self, media: &Media) {
        let mut slot = lock(&self.slot);
        let Slot {
            queue,
            sink,
            direct,
        } = &mut *slot;
        if let Some(sink) = sink
            && queue.needs_look(media.timestamp)
            && let Ok(unsent) = sink.unsent()
        {
            queue.unsent(unsent);
        }
        match sink {
            Some(sink) if *direct && queue.takes_direct(media) => {
                match sink.try_send(&media.wire) {
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
                }
            }
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
        for p in &st.players {
            lock(&p.slot).queue.restart();
        }
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
        self.start_play_within(id, conn, self.limits)
    }

    /// The queue limits of players over the network.
    pub(crate) fn limits(&self) -> QueueLimits {
        self.limits
    }

    /// [`Hub::start_play`] with a player whose queue keeps within `limits` (a recorder's).
    pub(crate) fn start_play_within(
        &self,
        id: &str,
        conn: u64,
        limits: QueueLimits,
    ) -> (Arc<Stream>, Arc<Player>, bool) {
        let player = Arc::new(Player {
            conn,
            slot: Mutex::new(Slot {
                queue: PlayerQueue::with_limits(limits),
                sink: None,
                direct: false,
            }),
            ready: Notify::new(),
        });
        let mut streams = lock(&self.streams);
        let stream = Self::entry(&mut streams, id);
        let mut st = lock(&stream.state);
        let live = st.publisher.is_some();
        if let Some(newest) = st.cache.startup().filter(|m| m.is_droppable()).last() {
            lock(&player.slot).queue.join_at(newest.timestamp);
        }
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
mod tests;
