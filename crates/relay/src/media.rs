//! The messages a publisher sends and players receive, and how the relay classifies them.
//!
//! Only the first bytes of an FLV audio or video tag body are looked at: enough to tell a
//! keyframe from an inter frame and a codec sequence header from coded data. The relay never
//! parses the codec payload itself.

use bytes::Bytes;

/// RTMP message type of audio data.
pub(crate) const TYPE_AUDIO: u8 = 8;
/// RTMP message type of video data.
pub(crate) const TYPE_VIDEO: u8 = 9;
/// RTMP message type of AMF0 data (stream metadata).
pub(crate) const TYPE_DATA_AMF0: u8 = 18;

/// FLV video frame type of a keyframe (upper nibble of the first byte).
const VIDEO_FRAME_KEY: u8 = 1;
/// FLV video codec ids whose second byte is a packet type (AVC, HEVC as widely deployed).
const VIDEO_CODECS_WITH_PACKET_TYPE: [u8; 2] = [7, 12];
/// Bit marking an Enhanced RTMP video header, where the lower nibble is the packet type.
const VIDEO_EX_HEADER: u8 = 0x80;
/// FLV sound format of AAC.
const AUDIO_FORMAT_AAC: u8 = 10;
/// Enhanced RTMP audio format marking an extended audio header.
const AUDIO_FORMAT_EX_HEADER: u8 = 9;
/// Packet type (AVC, HEVC, AAC and Enhanced RTMP alike) of a sequence header / decoder config.
const PACKET_TYPE_SEQUENCE_START: u8 = 0;

/// What a relayed message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaKind {
    /// Audio data (RTMP type 8).
    Audio,
    /// Video data (RTMP type 9).
    Video,
    /// Stream metadata (`onMetaData`, RTMP type 18).
    Metadata,
}

/// One message of a live stream, shared by reference among the players.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Media {
    /// What it is.
    pub kind: MediaKind,
    /// The publisher's timestamp in milliseconds (kept, so players can tell how late they are).
    pub timestamp: u32,
    /// The tag body as the publisher sent it.
    pub payload: Bytes,
    /// The message already cut into chunks for players on the usual message stream (see
    /// `session::chunk_media`), so it is chunked once per stream instead of once per player; empty
    /// until the publisher's connection fills it in.
    pub wire: Bytes,
}

impl Media {
    /// A message of `kind` at `timestamp`.
    pub fn new(kind: MediaKind, timestamp: u32, payload: Bytes) -> Media {
        Media {
            kind,
            timestamp,
            payload,
            wire: Bytes::new(),
        }
    }

    /// The message without its chunked copy, for keeping: the copy pays for itself while a
    /// message is fanned out, but a cache of it would double the memory. A late joiner's
    /// backlog is chunked again instead.
    pub fn without_wire(mut self) -> Media {
        self.wire = Bytes::new();
        self
    }

    /// The RTMP message type to send it as.
    pub fn type_id(&self) -> u8 {
        match self.kind {
            MediaKind::Audio => TYPE_AUDIO,
            MediaKind::Video => TYPE_VIDEO,
            MediaKind::Metadata => TYPE_DATA_AMF0,
        }
    }

    /// A video keyframe: a player may start decoding here.
    pub fn is_keyframe(&self) -> bool {
        self.kind == MediaKind::Video && video_is_keyframe(&self.payload)
    }

    /// A codec sequence header (decoder configuration): needed by every player before any frame.
    pub fn is_sequence_header(&self) -> bool {
        match self.kind {
            MediaKind::Video => video_is_sequence_header(&self.payload),
            MediaKind::Audio => audio_is_sequence_header(&self.payload),
            MediaKind::Metadata => false,
        }
    }

    /// Whether a slow player may lose it: coded frames may go, configuration may not.
    pub fn is_droppable(&self) -> bool {
        self.kind != MediaKind::Metadata && !self.is_sequence_header()
    }
}

fn video_is_keyframe(payload: &[u8]) -> bool {
    match payload.first() {
        Some(&b) if b & VIDEO_EX_HEADER != 0 => (b >> 4) & 0x07 == VIDEO_FRAME_KEY,
        Some(&b) => b >> 4 == VIDEO_FRAME_KEY,
        None => false,
    }
}

fn video_is_sequence_header(payload: &[u8]) -> bool {
    match payload {
        [b, ..] if b & VIDEO_EX_HEADER != 0 => b & 0x0f == PACKET_TYPE_SEQUENCE_START,
        [b, packet_type, ..] => {
            VIDEO_CODECS_WITH_PACKET_TYPE.contains(&(b & 0x0f))
                && *packet_type == PACKET_TYPE_SEQUENCE_START
        }
        _ => false,
    }
}

fn audio_is_sequence_header(payload: &[u8]) -> bool {
    match payload {
        [b, ..] if b >> 4 == AUDIO_FORMAT_EX_HEADER => b & 0x0f == PACKET_TYPE_SEQUENCE_START,
        [b, packet_type, ..] => {
            b >> 4 == AUDIO_FORMAT_AAC && *packet_type == PACKET_TYPE_SEQUENCE_START
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(bytes: &'static [u8]) -> Media {
        Media::new(MediaKind::Video, 0, Bytes::from_static(bytes))
    }

    fn audio(bytes: &'static [u8]) -> Media {
        Media::new(MediaKind::Audio, 0, Bytes::from_static(bytes))
    }

    #[test]
    fn avc_keyframes_inter_frames_and_headers_are_told_apart() {
        let header = video(&[0x17, 0x00, 0, 0, 0, 1, 2]);
        assert!(header.is_keyframe() && header.is_sequence_header() && !header.is_droppable());
        let key = video(&[0x17, 0x01, 0, 0, 0, 9]);
        assert!(key.is_keyframe() && !key.is_sequence_header() && key.is_droppable());
        let inter = video(&[0x27, 0x01, 0, 0, 0, 9]);
        assert!(!inter.is_keyframe() && !inter.is_sequence_header() && inter.is_droppable());
    }

    #[test]
    fn enhanced_rtmp_video_headers_are_understood() {
        // frame type 1, packet type 0 (SequenceStart), fourcc follows.
        let header = video(&[0x90, b'h', b'v', b'c', b'1']);
        assert!(header.is_keyframe() && header.is_sequence_header());
        // frame type 2, packet type 1 (CodedFrames).
        let inter = video(&[0xA1, b'h', b'v', b'c', b'1']);
        assert!(!inter.is_keyframe() && !inter.is_sequence_header());
    }

    #[test]
    fn aac_sequence_header_is_kept_and_raw_aac_is_droppable() {
        let asc = audio(&[0xAF, 0x00, 0x11, 0x90]);
        assert!(asc.is_sequence_header() && !asc.is_droppable());
        let raw = audio(&[0xAF, 0x01, 0x21, 0x00]);
        assert!(!raw.is_sequence_header() && raw.is_droppable());
        let mp3 = audio(&[0x2F, 0x00]);
        assert!(!mp3.is_sequence_header());
    }

    #[test]
    fn empty_and_short_payloads_are_plain_frames() {
        assert!(!video(&[]).is_keyframe());
        assert!(!video(&[]).is_sequence_header());
        assert!(!video(&[0x17]).is_sequence_header());
        assert!(!audio(&[]).is_sequence_header());
        let meta = Media::new(MediaKind::Metadata, 0, Bytes::new());
        assert!(!meta.is_droppable() && meta.type_id() == TYPE_DATA_AMF0);
    }
}
