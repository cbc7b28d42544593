//! The recording's sound: what we heard and what we said, each placed on the recording's own
//! timeline by when it was heard or spoken, then summed sample by sample. Two voices at once can
//! sum past full scale; the sum is bent towards it above [`MIX_KNEE`] instead of being cut off,
//! which would crackle.

use crate::publish::{AudioSync, audio_sync};
use std::collections::VecDeque;

/// Level from which the sum of the voices is bent towards full scale rather than passed as is.
pub const MIX_KNEE: f32 = 0.8;
/// Gain on the sound we heard (the speaker's mix), as played.
pub const HEARD_GAIN: f32 = 1.0;
/// Gain on our own cleaned microphone, as sent to the others.
pub const OWN_GAIN: f32 = 1.0;

/// One sample of the sum of the voices: unchanged up to [`MIX_KNEE`], then bent smoothly
/// towards ±1, never past it.
pub fn limit(x: f32) -> f32 {
    let magnitude = x.abs();
    if magnitude <= MIX_KNEE {
        return x;
    }
    let room = 1.0 - MIX_KNEE;
    let bent = MIX_KNEE + room * ((magnitude - MIX_KNEE) / room).tanh();
    bent.copysign(x)
}

/// What we heard and what we said, summed sample by sample and limited; the shorter one is
/// silence past its end.
pub fn mix_voices(heard: &[f32], own: &[f32]) -> Vec<f32> {
    let n = heard.len().max(own.len());
    (0..n)
        .map(|i| {
            let h = heard.get(i).copied().unwrap_or(0.0) * HEARD_GAIN;
            let o = own.get(i).copied().unwrap_or(0.0) * OWN_GAIN;
            limit(h + o)
        })
        .collect()
}

/// One voice's samples waiting for the recording, by position on its timeline (samples since
/// the recording began).
#[derive(Debug, Default)]
pub struct Track {
    pending: VecDeque<f32>,
    /// Position of `pending[0]`.
    start: i64,
    /// Position just after the last sample placed; `None` before the first.
    end: Option<i64>,
}

impl Track {
    /// Places `block`, whose first sample was heard or spoken at position `at`. Blocks follow
    /// each other without a gap while their times agree within the publisher's resync
    /// tolerance (device periods jitter); a source that paused restarts at its time. Samples
    /// before what was already taken are dropped.
    pub fn place(&mut self, at: i64, block: &[f32]) {
        let pos = match self.end.map(|end| (end, audio_sync(end, at))) {
            None => at,
            Some((end, AudioSync::Append)) => end,
            Some((_, AudioSync::JumpTo(to))) => to,
            Some((_, AudioSync::Drop)) => return,
        };
        self.end = Some(pos + block.len() as i64);
        let skip = usize::try_from(self.start - pos)
            .unwrap_or(0)
            .min(block.len());
        let from = pos + skip as i64;
        let held_end = self.start + self.pending.len() as i64;
        if from > held_end {
            let gap = usize::try_from(from - held_end).unwrap_or(0);
            self.pending.extend(std::iter::repeat_n(0.0, gap));
        } else {
            self.pending
                .truncate(usize::try_from(from - self.start).unwrap_or(0));
        }
        self.pending.extend(&block[skip..]);
    }

    /// The samples for positions `from..to` (silence where there are none), forgetting
    /// everything before `to`.
    pub fn take(&mut self, from: i64, to: i64) -> Vec<f32> {
        let len = usize::try_from(to - from).unwrap_or(0);
        let mut out = vec![0.0; len];
        if self.start < from {
            let stale = usize::try_from(from - self.start).unwrap_or(0);
            self.pending.drain(..stale.min(self.pending.len()));
            self.start = from;
        }
        let offset = usize::try_from(self.start - from).unwrap_or(0);
        if offset < len {
            let n = (len - offset).min(self.pending.len());
            for (o, s) in out[offset..].iter_mut().zip(self.pending.drain(..n)) {
                *o = s;
            }
        }
        self.start = self.start.max(to);
        out
    }

    /// Position just after the last sample placed, if any was.
    pub fn end(&self) -> Option<i64> {
        self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_sums_pass_unchanged_and_loud_ones_stay_below_full_scale() {
        assert_eq!(mix_voices(&[0.25, -0.5], &[0.25, 0.1]), vec![0.5, -0.4]);
        for loud in [0.9_f32, 1.5, 4.0, 100.0] {
            let up = limit(loud);
            let down = limit(-loud);
            assert!(up > MIX_KNEE && up <= 1.0, "{loud} → {up}");
            assert_eq!(down, -up);
        }
        assert!(
            limit(1.0) > limit(0.9) && limit(1.0) < 1.0,
            "louder stays louder"
        );
        // No step at the knee.
        assert!((limit(MIX_KNEE + 1e-4) - MIX_KNEE).abs() < 1e-3);
    }

    #[test]
    fn the_shorter_voice_is_silence_past_its_end() {
        assert_eq!(mix_voices(&[0.1], &[0.2, 0.3]), vec![limit(0.3), 0.3]);
        assert_eq!(mix_voices(&[], &[]), Vec::<f32>::new());
    }

    #[test]
    fn blocks_land_at_their_time_and_follow_each_other() {
        let mut t = Track::default();
        t.place(4, &[1.0, 1.0]);
        // A little early or late: still right after the last block.
        t.place(7, &[2.0, 2.0]);
        assert_eq!(
            t.take(0, 10),
            vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 0.0, 0.0]
        );
        assert_eq!(t.end(), Some(8));
    }

    #[test]
    fn taken_positions_are_not_written_again_and_later_ones_wait() {
        let mut t = Track::default();
        t.place(0, &[1.0; 4]);
        assert_eq!(t.take(0, 2), vec![1.0, 1.0]);
        assert_eq!(t.take(2, 3), vec![1.0]);
        t.place(4, &[3.0; 2]);
        assert_eq!(t.take(3, 8), vec![1.0, 3.0, 3.0, 0.0, 0.0]);
        // Placed behind what was taken: only its tail is kept.
        let mut late = Track::default();
        assert_eq!(late.take(0, 5), vec![0.0; 5]);
        late.place(3, &[5.0, 6.0, 7.0]);
        assert_eq!(late.take(5, 7), vec![7.0, 0.0]);
    }

    #[test]
    fn a_source_that_paused_restarts_at_its_time() {
        let rate = i64::from(crate::frame::AUDIO_SAMPLE_RATE);
        let mut t = Track::default();
        t.place(0, &[1.0; 10]);
        // A whole second later: not glued to the first block.
        t.place(rate, &[2.0; 10]);
        let all = t.take(0, rate + 10);
        assert_eq!(all[..10], [1.0; 10]);
        assert!(all[10..rate as usize].iter().all(|&s| s == 0.0));
        assert_eq!(all[rate as usize..], [2.0; 10]);
    }
}
