//! The keyframe cache: what a player joining a live stream is sent before the live messages.
//!
//! It holds the stream's metadata, the codec sequence headers and the latest group of pictures
//! (the last keyframe and everything after it), so a late joiner's first frame is decodable at
//! once instead of one keyframe interval later. Only the latest group is kept: every cached
//! message is backlog the player has to catch up on.

use crate::media::{Media, MediaKind};

/// Most messages the cached group may hold; a longer group is dropped until the next keyframe.
pub const GOP_CACHE_MAX_MESSAGES: usize = 512;
/// Most payload bytes the cached group may hold; a larger group is dropped until the next keyframe.
pub const GOP_CACHE_MAX_BYTES: usize = 16 * 1024 * 1024;

/// The cache of one stream.
#[derive(Debug, Default)]
pub(crate) struct GopCache {
    metadata: Option<Media>,
    video_header: Option<Media>,
    audio_header: Option<Media>,
    group: Vec<Media>,
    group_bytes: usize,
}

impl GopCache {
    /// Keeps a message the publisher sent, if a joiner will need it. It takes the message over
    /// once the players have had it: sharing the payload instead would cost an allocation and
    /// two atomic counts per message.
    pub fn push(&mut self, media: Media) {
        let media = media.without_wire();
        match media.kind {
            MediaKind::Metadata => self.metadata = Some(media),
            _ if media.is_sequence_header() => {
                if media.kind == MediaKind::Video {
                    self.video_header = Some(media);
                } else {
                    self.audio_header = Some(media);
                }
            }
            MediaKind::Video if media.is_keyframe() => {
                self.group.clear();
                self.group_bytes = 0;
                self.append(media);
            }
            _ if !self.group.is_empty() => self.append(media),
            // Nothing before the first keyframe is decodable, so nothing is kept.
            _ => {}
        }
    }

    fn append(&mut self, media: Media) {
        self.group_bytes += media.payload.len();
        self.group.push(media);
        if self.group.len() > GOP_CACHE_MAX_MESSAGES || self.group_bytes > GOP_CACHE_MAX_BYTES {
            // A group this long would hand a joiner more backlog than it is worth.
            self.group.clear();
            self.group_bytes = 0;
        }
    }

    /// Forgets everything (a new publisher brings its own headers).
    pub fn clear(&mut self) {
        *self = GopCache::default();
    }

    /// What a joining player is sent first, in order: metadata, sequence headers, the group.
    pub fn startup(&self) -> impl Iterator<Item = &Media> {
        self.metadata
            .iter()
            .chain(&self.video_header)
            .chain(&self.audio_header)
            .chain(&self.group)
    }

    /// Messages in the cached group.
    #[cfg(test)]
    pub fn group_len(&self) -> usize {
        self.group.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn m(kind: MediaKind, ts: u32, bytes: &[u8]) -> Media {
        Media::new(kind, ts, Bytes::copy_from_slice(bytes))
    }
    fn key(ts: u32) -> Media {
        m(MediaKind::Video, ts, &[0x17, 0x01, 0, 0, 0])
    }
    fn inter(ts: u32) -> Media {
        m(MediaKind::Video, ts, &[0x27, 0x01, 0, 0, 0])
    }
    fn sound(ts: u32) -> Media {
        m(MediaKind::Audio, ts, &[0xAF, 0x01, 0x21])
    }

    fn timestamps(cache: &GopCache) -> Vec<(MediaKind, u32)> {
        cache.startup().map(|x| (x.kind, x.timestamp)).collect()
    }

    #[test]
    fn keeps_headers_and_only_the_latest_group() {
        let mut cache = GopCache::default();
        let meta = m(MediaKind::Metadata, 0, b"meta");
        let vh = m(MediaKind::Video, 0, &[0x17, 0x00, 1]);
        let ah = m(MediaKind::Audio, 0, &[0xAF, 0x00, 0x11]);
        for x in [&meta, &vh, &ah, &sound(5)] {
            cache.push(x.clone());
        }
        assert_eq!(
            timestamps(&cache).len(),
            3,
            "audio before a keyframe is useless"
        );

        for x in [
            key(10),
            sound(20),
            inter(40),
            key(1000),
            inter(1040),
            sound(1050),
        ] {
            cache.push(x);
        }
        let got: Vec<_> = cache.startup().cloned().collect();
        assert_eq!(got[0], meta);
        assert_eq!(got[1], vh);
        assert_eq!(got[2], ah);
        assert_eq!(got[3], key(1000));
        assert_eq!(&got[4..], &[inter(1040), sound(1050)]);
    }

    #[test]
    fn a_new_sequence_header_replaces_the_old_one_without_touching_the_group() {
        let mut cache = GopCache::default();
        cache.push(m(MediaKind::Video, 0, &[0x17, 0x00, 1]));
        cache.push(key(10));
        cache.push(m(MediaKind::Video, 20, &[0x17, 0x00, 2]));
        let got: Vec<_> = cache.startup().cloned().collect();
        assert_eq!(got.len(), 2);
        assert_eq!(&got[0].payload[..], &[0x17, 0x00, 2]);
        assert_eq!(got[1], key(10));
    }

    #[test]
    fn an_overlong_group_is_dropped_until_the_next_keyframe() {
        let mut cache = GopCache::default();
        cache.push(key(0));
        for i in 1..=GOP_CACHE_MAX_MESSAGES as u32 {
            cache.push(inter(i));
        }
        assert_eq!(cache.group_len(), 0);
        cache.push(inter(10_000));
        assert_eq!(cache.group_len(), 0);
        cache.push(key(20_000));
        assert_eq!(cache.group_len(), 1);
    }

    #[test]
    fn clear_forgets_everything() {
        let mut cache = GopCache::default();
        cache.push(m(MediaKind::Metadata, 0, b"x"));
        cache.push(key(1));
        cache.clear();
        assert_eq!(cache.startup().count(), 0);
    }

    #[test]
    fn keeps_the_payload_but_not_the_chunked_copy() {
        let mut cache = GopCache::default();
        let wired = |mut media: Media| {
            media.wire = Bytes::from_static(b"chunked");
            media
        };
        cache.push(wired(m(MediaKind::Metadata, 0, b"meta")));
        cache.push(wired(m(MediaKind::Video, 0, &[0x17, 0x00, 1])));
        cache.push(wired(key(10)));
        cache.push(wired(sound(20)));
        let kept: Vec<_> = cache.startup().collect();
        assert_eq!(kept.len(), 4);
        assert!(
            kept.iter()
                .all(|x| x.wire.is_empty() && !x.payload.is_empty())
        );
    }
}
