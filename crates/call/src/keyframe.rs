//! Keyframes on demand, the way WebRTC's PLI works: a player that is playing but has no
//! keyframe yet asks the member it plays for one (through the room server's event channel),
//! and a publisher asked by others forces keyframes no closer together than a set spacing.
//!
//! Through a server with a keyframe cache (the embedded relay) a player's first keyframe comes
//! with its first packets and nobody asks; through one without (nginx-rtmp, CDNs) the newcomer
//! would otherwise wait up to a whole GOP. The decisions are pure functions of the clock;
//! [`Keyframes`] keeps the state the call actor needs around them.

use quartet_media::PlayerEvent;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// How long a player that has started playing waits for a keyframe before asking. A server's
/// keyframe cache sends the keyframe right behind the first message that completed the
/// connection, and a 20 KB keyframe takes 80 ms at 2 Mbit/s: asking sooner would cost a
/// keyframe per join through a cache, asking later only adds to the wait without one (about a
/// second, one GOP, through nginx-rtmp).
pub const KEYFRAME_ASK_GRACE: Duration = Duration::from_millis(80);
/// How long after an ask a player that still has no keyframe asks again: an answer takes a
/// round trip through the room server, up to one frame at the publisher and the RTMP path
/// (about 100 ms on a good link), plus up to [`MIN_FORCED_KEYFRAME_SPACING`] when the publisher
/// has just forced one for someone else.
pub const KEYFRAME_ASK_RETRY: Duration = Duration::from_millis(400);
/// Most asks per connection of a player. By the last one (grace + 2 × retry, under a second)
/// the publisher's own GOP (1 s by default, 2 s at most) brings a keyframe anyway.
pub const KEYFRAME_ASKS: u32 = 3;
/// Shortest time between two keyframes our encoder is made to produce for others: however many
/// members ask (joiners in a burst, or one flooding), at most two forced keyframes a second on
/// top of the GOP's own. A request inside the spacing is not lost but served at its end, once
/// for every request that came meanwhile.
pub const MIN_FORCED_KEYFRAME_SPACING: Duration = Duration::from_millis(500);

/// Where one player's connection stands in waiting for its first keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyframeWait {
    /// When the connection started playing (media arriving).
    pub playing_since: Instant,
    /// Asks sent so far on this connection.
    pub asks: u32,
    /// When the last ask went out.
    pub last_ask: Option<Instant>,
    /// Whether a keyframe has arrived on this connection.
    pub keyframe: bool,
}

/// What a waiting player should do about a keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAsk {
    /// Ask now.
    Now,
    /// Ask at this instant if no keyframe has come by then.
    At(Instant),
    /// Stop asking: a keyframe came, or the asks are used up.
    Done,
}

/// The asking policy: after [`KEYFRAME_ASK_GRACE`] without a keyframe, then every
/// [`KEYFRAME_ASK_RETRY`], at most [`KEYFRAME_ASKS`] times, never once a keyframe has come.
pub fn next_ask(wait: &KeyframeWait, now: Instant) -> NextAsk {
    if wait.keyframe || wait.asks >= KEYFRAME_ASKS {
        return NextAsk::Done;
    }
    let due = match wait.last_ask {
        None => wait.playing_since + KEYFRAME_ASK_GRACE,
        Some(last) => last + KEYFRAME_ASK_RETRY,
    };
    if now >= due {
        NextAsk::Now
    } else {
        NextAsk::At(due)
    }
}

/// The forcing policy: when a keyframe asked for at `now` may be forced, given the last forced
/// one.
pub fn force_at(last_forced: Option<Instant>, now: Instant) -> Instant {
    match last_forced {
        Some(last) => now.max(last + MIN_FORCED_KEYFRAME_SPACING),
        None => now,
    }
}

/// Coalesces requests for our keyframes into forced keyframes [`MIN_FORCED_KEYFRAME_SPACING`]
/// apart.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeyframeGate {
    last_forced: Option<Instant>,
    pending: Option<Instant>,
}

impl KeyframeGate {
    /// Someone asks at `now`: true when the keyframe is to be forced now; otherwise it is
    /// scheduled ([`KeyframeGate::pending`]), or already was for an earlier request.
    pub fn request(&mut self, now: Instant) -> bool {
        if self.pending.is_some() {
            return false;
        }
        let at = force_at(self.last_forced, now);
        if at <= now {
            self.last_forced = Some(now);
            true
        } else {
            self.pending = Some(at);
            false
        }
    }

    /// When a scheduled keyframe is due.
    pub fn pending(&self) -> Option<Instant> {
        self.pending
    }

    /// True when the scheduled keyframe is due at `now` (it then counts as forced).
    pub fn due(&mut self, now: Instant) -> bool {
        match self.pending {
            Some(at) if at <= now => {
                self.pending = None;
                self.last_forced = Some(now);
                true
            }
            _ => false,
        }
    }
}

/// Counts of keyframe requests, for tests and figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyframeFigures {
    /// Keyframe requests we sent for others' streams.
    pub asked: u64,
    /// Keyframe requests others sent for our stream.
    pub requested: u64,
    /// Keyframes our encoder was made to produce for them.
    pub forced: u64,
}

/// Shared counters behind [`KeyframeFigures`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    asked: AtomicU64,
    requested: AtomicU64,
    forced: AtomicU64,
}

impl Counters {
    pub(crate) fn figures(&self) -> KeyframeFigures {
        KeyframeFigures {
            asked: self.asked.load(Ordering::Relaxed),
            requested: self.requested.load(Ordering::Relaxed),
            forced: self.forced.load(Ordering::Relaxed),
        }
    }
}

/// Completes when a member asks for our keyframe (a reader that fell behind counts it as one
/// request: many mean the same as one); never once the session has ended.
pub(crate) async fn next_request(requests: &mut broadcast::Receiver<String>) {
    match requests.recv().await {
        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
        Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
    }
}

/// What is due at a tick.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Due {
    /// Members to ask for a keyframe.
    pub ask: Vec<String>,
    /// Whether to force a keyframe of ours now.
    pub force: bool,
}

/// The call's keyframe state: every player's wait, and the gate on our own encoder.
#[derive(Debug, Default)]
pub(crate) struct Keyframes {
    waits: HashMap<String, KeyframeWait>,
    gate: KeyframeGate,
    counters: Arc<Counters>,
}

impl Keyframes {
    /// The counters, shared with the call's handles.
    pub(crate) fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Follows the player of `user_id`: playing starts a wait, a keyframe ends it, a lost
    /// connection forgets it.
    pub(crate) fn player_event(&mut self, user_id: &str, event: &PlayerEvent, now: Instant) {
        match event {
            PlayerEvent::Playing => {
                self.waits.insert(
                    user_id.to_owned(),
                    KeyframeWait {
                        playing_since: now,
                        asks: 0,
                        last_ask: None,
                        keyframe: false,
                    },
                );
            }
            PlayerEvent::FirstKeyframe | PlayerEvent::FirstFrame { .. } => {
                self.waits.remove(user_id);
            }
            PlayerEvent::Disconnected { .. } | PlayerEvent::Stopped => self.player_gone(user_id),
            PlayerEvent::Connecting { .. } => {}
        }
    }

    /// The player of `user_id` was stopped.
    pub(crate) fn player_gone(&mut self, user_id: &str) {
        self.waits.remove(user_id);
    }

    /// A member asked for our keyframe at `now`: true when it is to be forced now.
    pub(crate) fn requested(&mut self, now: Instant) -> bool {
        self.counters.requested.fetch_add(1, Ordering::Relaxed);
        let force = self.gate.request(now);
        if force {
            self.counters.forced.fetch_add(1, Ordering::Relaxed);
        }
        force
    }

    /// The next instant something may be due.
    pub(crate) fn deadline(&self, now: Instant) -> Option<Instant> {
        let asks = self.waits.values().filter_map(|w| match next_ask(w, now) {
            NextAsk::Now => Some(now),
            NextAsk::At(at) => Some(at),
            NextAsk::Done => None,
        });
        asks.chain(self.gate.pending()).min()
    }

    /// What is due at `now`; asks are counted as sent.
    pub(crate) fn due(&mut self, now: Instant) -> Due {
        let mut ask = Vec::new();
        self.waits.retain(|user_id, w| match next_ask(w, now) {
            NextAsk::Now => {
                w.asks += 1;
                w.last_ask = Some(now);
                ask.push(user_id.clone());
                true
            }
            NextAsk::At(_) => true,
            NextAsk::Done => false,
        });
        ask.sort();
        self.counters
            .asked
            .fetch_add(ask.len() as u64, Ordering::Relaxed);
        let force = self.gate.due(now);
        if force {
            self.counters.forced.fetch_add(1, Ordering::Relaxed);
        }
        Due { ask, force }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_player_asks_after_the_grace_then_retries_a_bounded_number_of_times() {
        let t0 = Instant::now();
        let mut w = KeyframeWait {
            playing_since: t0,
            asks: 0,
            last_ask: None,
            keyframe: false,
        };
        assert_eq!(next_ask(&w, t0), NextAsk::At(t0 + KEYFRAME_ASK_GRACE));
        let mut now = t0 + KEYFRAME_ASK_GRACE;
        let mut asked_at = Vec::new();
        while now < t0 + ms(10_000) {
            match next_ask(&w, now) {
                NextAsk::Now => {
                    asked_at.push(now - t0);
                    w.asks += 1;
                    w.last_ask = Some(now);
                }
                NextAsk::At(at) => now = at,
                NextAsk::Done => break,
            }
        }
        assert_eq!(
            asked_at,
            vec![
                KEYFRAME_ASK_GRACE,
                KEYFRAME_ASK_GRACE + KEYFRAME_ASK_RETRY,
                KEYFRAME_ASK_GRACE + 2 * KEYFRAME_ASK_RETRY
            ]
        );
        assert_eq!(next_ask(&w, t0 + ms(60_000)), NextAsk::Done);
    }

    #[test]
    fn a_player_with_a_keyframe_never_asks() {
        let t0 = Instant::now();
        let w = KeyframeWait {
            playing_since: t0,
            asks: 0,
            last_ask: None,
            keyframe: true,
        };
        assert_eq!(next_ask(&w, t0 + ms(1_000)), NextAsk::Done);
    }

    #[test]
    fn forced_keyframes_keep_their_spacing() {
        let t0 = Instant::now();
        assert_eq!(force_at(None, t0), t0);
        assert_eq!(
            force_at(Some(t0), t0 + ms(100)),
            t0 + MIN_FORCED_KEYFRAME_SPACING
        );
        let late = t0 + MIN_FORCED_KEYFRAME_SPACING + ms(1);
        assert_eq!(force_at(Some(t0), late), late);
    }

    #[test]
    fn a_flood_of_requests_forces_a_bounded_number_of_keyframes() {
        let t0 = Instant::now();
        let mut gate = KeyframeGate::default();
        let mut forced = 0;
        // A request every 10 ms for 3 s, the gate polled as the actor would.
        for i in 0..300u64 {
            let now = t0 + ms(i * 10);
            if gate.due(now) {
                forced += 1;
            }
            if gate.request(now) {
                forced += 1;
            }
        }
        // One at once, then one per spacing: 3 s / 0.5 s.
        assert_eq!(forced, 6);
    }

    #[test]
    fn joiners_in_a_burst_share_the_deferred_keyframe() {
        let t0 = Instant::now();
        let mut gate = KeyframeGate::default();
        assert!(gate.request(t0));
        assert!(!gate.request(t0 + ms(50)));
        assert!(!gate.request(t0 + ms(120)));
        assert_eq!(gate.pending(), Some(t0 + MIN_FORCED_KEYFRAME_SPACING));
        assert!(!gate.due(t0 + ms(499)));
        assert!(gate.due(t0 + MIN_FORCED_KEYFRAME_SPACING));
        assert_eq!(gate.pending(), None);
        assert!(!gate.due(t0 + ms(900)));
    }

    #[test]
    fn the_call_state_asks_for_waiting_players_only() {
        let t0 = Instant::now();
        let mut k = Keyframes::default();
        k.player_event("ann", &PlayerEvent::Playing, t0);
        k.player_event("ben", &PlayerEvent::Playing, t0);
        k.player_event("ben", &PlayerEvent::FirstKeyframe, t0 + ms(5));
        assert_eq!(k.deadline(t0), Some(t0 + KEYFRAME_ASK_GRACE));
        assert_eq!(k.due(t0 + ms(10)), Due::default());
        let due = k.due(t0 + KEYFRAME_ASK_GRACE);
        assert_eq!(due.ask, vec!["ann".to_owned()]);
        k.player_event("ann", &PlayerEvent::FirstKeyframe, t0 + ms(200));
        assert_eq!(k.deadline(t0 + ms(200)), None);
        // A new connection waits again.
        k.player_event(
            "ann",
            &PlayerEvent::Disconnected {
                reason: "eof".into(),
                retry_in: Duration::ZERO,
            },
            t0 + ms(300),
        );
        k.player_event("ann", &PlayerEvent::Playing, t0 + ms(400));
        assert_eq!(
            k.deadline(t0 + ms(400)),
            Some(t0 + ms(400) + KEYFRAME_ASK_GRACE)
        );
        assert_eq!(k.counters().figures().asked, 1);
        assert!(k.requested(t0));
        assert!(!k.requested(t0 + ms(1)));
        assert_eq!(
            k.counters().figures(),
            KeyframeFigures {
                asked: 1,
                requested: 2,
                forced: 1
            }
        );
    }
}
