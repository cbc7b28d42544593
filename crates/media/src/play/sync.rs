//! Lip sync: when a decoded picture or an H.264 packet may go out, given the audio clock. Pure;
//! the scheduler (`schedule.rs`) reads the clock, asks, and does what it is told.
//!
//! The **audio clock** is the presentation time (ms, on the publisher's timeline) of the sound
//! being heard now: the end of the last sound pushed into this stream's mixer input, less what
//! still waits in that input, less the output's latency. The publisher stamps pictures and
//! sound from the same capture clock, so a picture is in sync when the audio clock has reached
//! its pts. Without holding, pictures go out as soon as they are decoded while their sound still
//! waits in the mixer's prebuffer (`MIXER_PREBUFFER`) and the device's buffer: sound lags.
//!
//! Holding is bounded by [`SYNC_MAX_HOLD`], so a stalled or implausible clock costs at most that
//! much extra picture latency, and is skipped entirely when there is no clock to follow.

use crate::mixer::MIXER_MAX_QUEUE;
use std::time::{Duration, Instant};

/// A picture may go out this much before its sound is heard: what it still takes to reach the
/// screen after release (latest-frame slot → webview → drawn, or WebCodecs decode → drawn; the
/// whole capture → drawn path measured 12 ms on loopback). ITU-R BT.1359 notices sound leading
/// sooner (+45 ms) than lagging (−125 ms), so erring towards early pictures is the safe side.
pub const SYNC_LEAD: Duration = Duration::from_millis(10);
/// Longest a picture or packet is held for its sound. It covers the usual audio path after
/// decoding (40 ms mixer prebuffer, 10–50 ms of device buffer, some network jitter in the mixer
/// queue) with room to spare; past it the picture goes out anyway, so a stalled clock cannot
/// freeze video and the added latency stays well inside the player's own catch-up threshold
/// (`MAX_SHOW_BACKLOG`, 300 ms) and the relay's per-player budget (400 ms). Sound on a path
/// longer than this (Bluetooth, ~200 ms) still lags, by the rest.
pub const SYNC_MAX_HOLD: Duration = Duration::from_millis(150);
/// Sound pushed longer ago than this no longer tells where playback is: even a full mixer
/// queue ([`MIXER_MAX_QUEUE`]) has played out by then, so the stream's audio has stopped
/// (a publisher without sound, a stall) and pictures go out unheld.
pub const AUDIO_STALE: Duration = MIXER_MAX_QUEUE;
/// A picture further ahead of the audio clock than this is on another timeline (a publisher
/// that stamps sound and pictures from different clocks, a timeline restart): holding would
/// only add latency, not sync.
pub const SYNC_MAX_SKEW: Duration = Duration::from_secs(1);
/// Most decoded pictures held at once. [`SYNC_MAX_HOLD`] already bounds them to about 150 ms
/// of pictures (3 at 15 fps, 9 at 60 fps); this bounds memory whatever the timestamps say.
pub const MAX_HELD_FRAMES: usize = 16;

/// The last sound handed to the mixer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PushedAudio {
    /// Presentation time of its end (its pts plus its length), ms.
    pub end_pts_ms: f64,
    /// When it was pushed.
    pub at: Instant,
}

/// The pts (ms) of the sound heard at `now`, or `None` when there is no sound to follow.
///
/// `queued` is what waits in the stream's mixer input, `output_latency` the output's delay from
/// mixing to hearing. The mixer consumes in device periods, so the answer runs up to one
/// period (~10 ms) ahead of the truth: pictures err early, the safe side (see [`SYNC_LEAD`]).
pub fn audio_clock(
    pushed: Option<PushedAudio>,
    queued: Duration,
    output_latency: Duration,
    now: Instant,
) -> Option<f64> {
    let pushed = pushed?;
    if now.saturating_duration_since(pushed.at) > AUDIO_STALE {
        return None;
    }
    Some(pushed.end_pts_ms - (queued + output_latency).as_secs_f64() * 1000.0)
}

/// What to do with a held picture or packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Let it out.
    Now,
    /// Ask again after this long (or when something changes).
    After(Duration),
}

/// Whether a picture or packet of `pts_ms`, held for `held` so far, may go out when the audio
/// clock reads `clock_ms`.
pub fn release(pts_ms: i64, clock_ms: Option<f64>, held: Duration) -> Release {
    let Some(clock) = clock_ms else {
        return Release::Now;
    };
    if held >= SYNC_MAX_HOLD {
        return Release::Now;
    }
    let ahead_ms = pts_ms as f64 - SYNC_LEAD.as_secs_f64() * 1000.0 - clock;
    if ahead_ms <= 0.0 || ahead_ms > SYNC_MAX_SKEW.as_secs_f64() * 1000.0 {
        return Release::Now;
    }
    Release::After(Duration::from_secs_f64(ahead_ms / 1000.0).min(SYNC_MAX_HOLD - held))
}

/// Of held pictures (oldest first) and their answers, the one to show now: the newest that is
/// due. Older due ones are passed over, as the latest-frame slot would overwrite them at once.
pub fn frame_to_show(answers: &[Release]) -> Option<usize> {
    answers.iter().rposition(|r| *r == Release::Now)
}

/// How many held packets (oldest first) go out now: every one up to the last that is due,
/// since a decoder needs them all and in order.
pub fn packets_to_send(answers: &[Release]) -> usize {
    answers
        .iter()
        .rposition(|r| *r == Release::Now)
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_clock_is_the_pushed_end_less_queue_and_output() {
        let now = Instant::now();
        let pushed = Some(PushedAudio {
            end_pts_ms: 10_000.0,
            at: now,
        });
        assert_eq!(audio_clock(pushed, 40 * MS, 20 * MS, now), Some(9_940.0));
        assert_eq!(audio_clock(None, 40 * MS, 20 * MS, now), None);
        let later = now + AUDIO_STALE + MS;
        assert_eq!(audio_clock(pushed, MS, MS, later), None, "stale sound");
        assert!(audio_clock(pushed, MS, MS, now + AUDIO_STALE).is_some());
    }

    #[test]
    fn pictures_wait_for_their_sound_less_the_lead() {
        let lead = SYNC_LEAD.as_millis() as i64;
        assert_eq!(release(1_000, Some(1_000.0), Duration::ZERO), Release::Now);
        assert_eq!(
            release(1_000 + lead, Some(1_000.0), Duration::ZERO),
            Release::Now
        );
        assert_eq!(
            release(1_060 + lead, Some(1_000.0), Duration::ZERO),
            Release::After(60 * MS)
        );
        assert_eq!(
            release(1_060 + lead, Some(1_000.0), 30 * MS),
            Release::After(60 * MS),
            "the wait depends on the clock, not on how long it was held"
        );
        assert_eq!(release(900, Some(1_000.0), Duration::ZERO), Release::Now);
    }

    #[test]
    fn holding_is_bounded() {
        assert_eq!(
            release(1_500, Some(1_000.0), Duration::ZERO),
            Release::After(SYNC_MAX_HOLD)
        );
        assert_eq!(
            release(1_500, Some(1_000.0), 100 * MS),
            Release::After(SYNC_MAX_HOLD - 100 * MS)
        );
        assert_eq!(release(1_500, Some(1_000.0), SYNC_MAX_HOLD), Release::Now);
    }

    #[test]
    fn no_clock_or_another_timeline_means_no_hold() {
        assert_eq!(release(1_500, None, Duration::ZERO), Release::Now);
        let far = 1_000 + (SYNC_MAX_SKEW + SYNC_LEAD).as_millis() as i64 + 1;
        assert_eq!(release(far, Some(1_000.0), Duration::ZERO), Release::Now);
    }

    #[test]
    fn only_the_newest_due_picture_is_shown_and_packets_keep_order() {
        let w = Release::After(5 * MS);
        let n = Release::Now;
        assert_eq!(frame_to_show(&[]), None);
        assert_eq!(frame_to_show(&[w, w]), None);
        assert_eq!(frame_to_show(&[n, n, w]), Some(1));
        assert_eq!(packets_to_send(&[n, n, w]), 2);
        // A held-too-long packet behind a waiting one takes the waiting one with it.
        assert_eq!(packets_to_send(&[w, n]), 2);
        assert_eq!(packets_to_send(&[w, w]), 0);
    }
}
