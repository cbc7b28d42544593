//! Each played member's stream, main or small: what [`crate::receive`]'s policy is shown of a
//! tile's player every [`LOOK_EVERY`], and the URL the choice stands for.

use crate::receive::{Choice, Look, Receive, Stream, choose};
use quartet_media::PlayerStats;
use quartet_room::Member;
use std::time::Duration;

/// How often each tile's player is looked at: the quality indicator's pace, so the policy's
/// durations count in the same half seconds.
pub const LOOK_EVERY: Duration = Duration::from_millis(500);

/// Fewer frames than this between two looks say nothing about skipping.
const MIN_FRAMES_FOR_SKIPS: u64 = 3;

/// One tile's choice and the player counters of the last look.
#[derive(Debug, Clone, Default)]
pub(crate) struct TileStream {
    pub(crate) choice: Choice,
    shown: u64,
    skipped: u64,
}

impl TileStream {
    /// The stream a new player of `member` starts on under `setting`, before any figure.
    pub(crate) fn start(member: &Member, setting: Receive) -> TileStream {
        let look = Look {
            small_offered: member.small_play_url.is_some(),
            showing: true,
            ..Look::default()
        };
        let mut choice = choose(&Choice::default(), &look, setting);
        choice.switches = 0;
        TileStream {
            choice,
            ..TileStream::default()
        }
    }

    /// Looks at the player's `stats` after `elapsed`; the stream to move to, if it changes.
    pub(crate) fn look(
        &mut self,
        member: &Member,
        stats: &PlayerStats,
        elapsed: Duration,
        setting: Receive,
    ) -> Option<Stream> {
        let shown = stats.frames_shown.saturating_sub(self.shown);
        let skipped = stats.frames_skipped.saturating_sub(self.skipped);
        (self.shown, self.skipped) = (stats.frames_shown, stats.frames_skipped);
        let frames = shown + skipped;
        let look = Look {
            elapsed,
            small_offered: member.small_play_url.is_some(),
            latency_ms_now: stats.latency_ms_now,
            showing: shown > 0,
            skipped_share: (frames >= MIN_FRAMES_FOR_SKIPS).then(|| skipped as f64 / frames as f64),
            tile_width: None,
            featured: false,
        };
        let before = self.choice.stream;
        self.choice = choose(&self.choice, &look, setting);
        (self.choice.stream != before).then_some(self.choice.stream)
    }

    /// The stream playing now.
    pub(crate) fn stream(&self) -> Stream {
        self.choice.stream
    }
}

/// Where `member`'s `stream` is played from: the small stream's URL when it has one, else the
/// main stream's.
pub(crate) fn url(member: &Member, stream: Stream) -> &str {
    match (stream, &member.small_play_url) {
        (Stream::Small, Some(small)) => small,
        _ => &member.play_url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(small: bool) -> Member {
        Member {
            user_id: "u".into(),
            user_name: "U".into(),
            user_avatar: String::new(),
            play_url: "rtmp://h/live/8888_u?s=1".into(),
            small_play_url: small.then(|| "rtmp://h/live/8888_u-small?s=1".into()),
            is_creator: false,
            is_self: false,
            sharing_screen: false,
        }
    }

    fn stats(shown: u64, skipped: u64, latency: f64) -> PlayerStats {
        PlayerStats {
            frames_shown: shown,
            frames_skipped: skipped,
            latency_ms_now: Some(latency),
            ..PlayerStats::default()
        }
    }

    #[test]
    fn the_data_saver_starts_small_where_there_is_a_small_stream() {
        let t = TileStream::start(&member(true), Receive::Small);
        assert_eq!((t.stream(), t.choice.switches), (Stream::Small, 0));
        assert_eq!(
            url(&member(true), t.stream()),
            "rtmp://h/live/8888_u-small?s=1"
        );
        let v1 = TileStream::start(&member(false), Receive::Small);
        assert_eq!(v1.stream(), Stream::Main);
        assert_eq!(
            url(&member(false), Stream::Small),
            "rtmp://h/live/8888_u?s=1"
        );
    }

    #[test]
    fn skips_and_latency_between_looks_move_a_tile_down() {
        let m = member(true);
        let mut t = TileStream::start(&m, Receive::Auto);
        let mut moved = None;
        let (mut shown, mut skipped) = (0, 0);
        for _ in 0..10 {
            shown += 3;
            skipped += 4;
            moved = moved.or(t.look(&m, &stats(shown, skipped, 900.0), LOOK_EVERY, Receive::Auto));
        }
        assert_eq!(moved, Some(Stream::Small));
        // Counters are read as differences: a long history of skips is not a skip now.
        let mut fresh = TileStream::start(&m, Receive::Auto);
        for i in 1..20 {
            let moved = fresh.look(
                &m,
                &stats(1000 + 7 * i, 500, 40.0),
                LOOK_EVERY,
                Receive::Auto,
            );
            assert_eq!(moved, None);
        }
    }
}
