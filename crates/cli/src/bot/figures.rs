//! The figures a bot prints and writes: the one-line summary, and the JSON of every member it
//! played during the run, those who left before the end included.

use quartet_call::{CallStats, RemoteStats};
use std::time::Duration;

/// How often a bot writing `--stats-json` takes the figures of the members it plays, so a
/// member that leaves is written with its figures at most this old (they stop moving when it
/// goes, so a quarter second loses almost nothing).
pub(crate) const FIGURES_EVERY: Duration = Duration::from_millis(250);

/// One member played during the run.
#[derive(Debug, Clone)]
struct PlayedMember {
    /// Its latest figures.
    stats: RemoteStats,
    /// When it was first played, since the run began.
    from: Duration,
    /// When it was last seen played.
    until: Duration,
    /// Whether it was played at the last sample.
    present: bool,
}

/// Every member played during a run, in the order they were first played, with their latest
/// figures: a member that left keeps the figures it had when it went.
#[derive(Debug, Clone, Default)]
pub(crate) struct Played {
    members: Vec<PlayedMember>,
}

impl Played {
    /// Takes in the call's figures sampled `at` (since the run began): the members in them are
    /// played now, any other has left.
    pub(crate) fn record(&mut self, stats: &CallStats, at: Duration) {
        for m in &mut self.members {
            m.present = false;
        }
        for r in &stats.remotes {
            match self
                .members
                .iter_mut()
                .find(|m| m.stats.user_id == r.user_id)
            {
                Some(m) => {
                    m.stats = r.clone();
                    m.until = at;
                    m.present = true;
                }
                None => self.members.push(PlayedMember {
                    stats: r.clone(),
                    from: at,
                    until: at,
                    present: true,
                }),
            }
        }
    }
}

/// `{"remote": [{"userID", "userName", "framesDecoded", "latencyMsP50", "latencyMsP95",
/// "latencyMsNow", "audioMaxGapMs", "firstFrameMs", "stream", "streamSwitches", "playedFromS",
/// "playedUntilS", "present"}], "publisher": {"width", "height", "fps", "targetKbps", "kbps",
/// "adaptations", "uplinkLimited", "uplinkQueueMs"}}`: every member `played` during the run (a
/// member that left before the end with the figures it had then, `present: false`, and the
/// seconds since the run began over which it was played), with `null` for figures not
/// measured (yet) and for the publisher when not sending.
pub(crate) fn stats_json(stats: &CallStats, played: &Played) -> serde_json::Value {
    let remote: Vec<serde_json::Value> = played
        .members
        .iter()
        .map(|m| {
            let r = &m.stats;
            serde_json::json!({
                "userID": r.user_id,
                "userName": r.user_name,
                "framesDecoded": r.player.frames_decoded,
                "latencyMsP50": r.player.latency_ms_p50,
                "latencyMsP95": r.player.latency_ms_p95,
                "latencyMsNow": r.player.latency_ms_now,
                "audioMaxGapMs": r.player.audio_max_gap_ms,
                "firstFrameMs": r.player.first_frame_ms,
                "stream": r.stream.as_str(),
                "streamSwitches": r.stream_switches,
                "playedFromS": m.from.as_secs_f64(),
                "playedUntilS": m.until.as_secs_f64(),
                "present": m.present,
            })
        })
        .collect();
    let publisher = stats.publisher.as_ref().map(|p| {
        serde_json::json!({
            "width": p.rung.width,
            "height": p.rung.height,
            "fps": p.rung.fps,
            "targetKbps": p.target_kbps,
            "kbps": p.kbps,
            "adaptations": p.adaptations,
            "uplinkLimited": p.uplink_limited,
            "uplinkQueueMs": p.uplink_queue_ms,
        })
    });
    serde_json::json!({ "remote": remote, "publisher": publisher })
}

/// One line of figures: each remote tile's fps, latency now (median over the last second, so a
/// spike shows at once) and kbit/s, then ours.
pub(crate) fn stats_line(stats: &CallStats) -> String {
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
    let mut line = String::from("stats:");
    for r in &stats.remotes {
        line.push_str(&format!(
            " {} {:.1} fps {} ms {:.0} kbps {} |",
            r.user_name,
            r.player.fps,
            ms(r.player.latency_ms_now),
            r.player.kbps,
            r.stream.as_str()
        ));
    }
    if stats.remotes.is_empty() {
        line.push_str(" nobody to play |");
    }
    match &stats.publisher {
        Some(p) => line.push_str(&format!(
            " out {:.1} fps {:.0} kbps, {}×{} · {} kbps{}{}",
            p.fps,
            p.kbps,
            p.rung.width,
            p.rung.height,
            p.target_kbps,
            if p.uplink_limited {
                " (uplink slow)"
            } else {
                ""
            },
            if p.connected { "" } else { " (reconnecting)" }
        )),
        None => line.push_str(" not sending"),
    }
    if stats.listed > 0 {
        line.push_str(&format!(" | {} listed, not played", stats.listed));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use quartet_media::adapt::Rung;
    use quartet_media::{PlayerStats, PublisherStats};

    fn stats() -> CallStats {
        CallStats {
            publisher: Some(PublisherStats {
                connected: true,
                fps: 15.0,
                kbps: 480.0,
                rung: Rung::new(480, 270, 15),
                target_kbps: 180,
                adaptations: 2,
                uplink_limited: true,
                ..PublisherStats::default()
            }),
            remotes: vec![RemoteStats {
                user_id: "u1".into(),
                user_name: "Ben".into(),
                tile: 0,
                player: PlayerStats {
                    fps: 14.9,
                    kbps: 501.0,
                    frames_decoded: 42,
                    latency_ms_p50: Some(61.4),
                    latency_ms_now: Some(80.6),
                    audio_max_gap_ms: Some(43.0),
                    ..PlayerStats::default()
                },
                stream: quartet_call::Stream::Small,
                stream_switches: 3,
                state: quartet_call::TileState::Live,
            }],
            listed: 1,
            mix_level: 0.1,
            own_state: quartet_call::TileState::Live,
        }
    }

    #[test]
    fn the_stats_line_names_each_tile_and_our_stream() {
        let line = stats_line(&stats());
        assert_eq!(
            line,
            "stats: Ben 14.9 fps 81 ms 501 kbps small | out 15.0 fps 480 kbps, 480×270 · 180 kbps (uplink slow) | 1 listed, not played"
        );
        assert!(stats_line(&CallStats::default()).contains("nobody to play"));
    }

    #[test]
    fn the_stats_json_has_the_documented_keys() {
        let mut played = Played::default();
        played.record(&stats(), Duration::from_secs(2));
        let json = stats_json(&stats(), &played);
        let r = &json["remote"][0];
        assert_eq!(r["userID"], "u1");
        assert_eq!(r["framesDecoded"], 42);
        assert_eq!(r["latencyMsP50"], 61.4);
        assert_eq!(r["latencyMsNow"], 80.6);
        assert_eq!(r["audioMaxGapMs"], 43.0);
        assert_eq!(
            (&r["stream"], &r["streamSwitches"]),
            (&"small".into(), &3.into())
        );
        assert!(r["latencyMsP95"].is_null() && r["firstFrameMs"].is_null());
        let p = &json["publisher"];
        assert_eq!(
            (&p["width"], &p["height"], &p["fps"]),
            (&480.into(), &270.into(), &15.into())
        );
        assert_eq!(
            (&p["targetKbps"], &p["adaptations"]),
            (&180.into(), &2.into())
        );
        assert_eq!(p["uplinkLimited"], true);
        assert!(stats_json(&CallStats::default(), &Played::default())["publisher"].is_null());
    }

    #[test]
    fn a_member_that_left_keeps_its_figures_and_its_time_range() {
        let ann = stats();
        let mut ben = stats();
        ben.remotes[0].user_id = "u2".into();
        ben.remotes[0].user_name = "Cho".into();
        ben.remotes[0].player.frames_decoded = 7;
        let both = CallStats {
            remotes: vec![ann.remotes[0].clone(), ben.remotes[0].clone()],
            ..ann.clone()
        };
        let mut played = Played::default();
        played.record(&ann, Duration::from_millis(500));
        played.record(&both, Duration::from_secs(1));
        played.record(&both, Duration::from_secs(3));
        let mut later = ann.clone();
        later.remotes[0].player.frames_decoded = 99;
        played.record(&later, Duration::from_secs(4));
        played.record(&later, Duration::from_secs(5));
        let json = stats_json(&later, &played);
        let remote = json["remote"].as_array().unwrap();
        assert_eq!(remote.len(), 2, "{json}");
        let (a, c) = (&remote[0], &remote[1]);
        assert_eq!(
            (&a["userID"], &a["framesDecoded"]),
            (&"u1".into(), &99.into())
        );
        assert_eq!(
            (&a["playedFromS"], &a["playedUntilS"]),
            (&0.5.into(), &5.0.into())
        );
        assert_eq!(a["present"], true);
        assert_eq!(
            (&c["userID"], &c["framesDecoded"]),
            (&"u2".into(), &7.into())
        );
        assert_eq!(
            (&c["playedFromS"], &c["playedUntilS"]),
            (&1.0.into(), &3.0.into())
        );
        assert_eq!(c["present"], false);
    }
}
