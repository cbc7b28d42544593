//! Relayed media cut into chunks once, the same bytes for every player on a message stream.

use bytes::Bytes;
use rml_rtmp::chunk_io::ChunkSerializationError;

use super::{OUT_CHUNK_SIZE, SessionError};
use crate::media::{Media, MediaKind};

/// Bytes of a full (type 0) chunk header with a one-byte basic header and no extended timestamp.
const FULL_HEADER_LEN: usize = 12;
/// Basic-header bits of a continuation (type 3) chunk, which repeats nothing of the first.
const CHUNK_TYPE_CONTINUATION: u8 = 0b1100_0000;
/// Largest message length a chunk header can carry (24 bits).
const MAX_MESSAGE_LENGTH: usize = 0xFF_FFFF;
/// Timestamps from here on go in the extended field; the 24-bit one then says 0xFFFFFF.
const EXTENDED_TIMESTAMP: u32 = 0xFF_FFFF;

/// Cuts a relayed message into chunks that do not depend on what was sent before: a full
/// (type 0) header first, bare (type 3) continuation chunks after. The bytes are therefore the
/// same for every player with the same message stream id, and one copy serves them all.
///
/// These are the bytes rml_rtmp's serializer writes for a message that follows a droppable one
/// (a test holds them to that byte for byte), written into one buffer of exactly the right size:
/// this runs once per relayed message, and growing a buffer piece by piece showed in profiles.
pub(crate) fn chunk_media(media: &Media, msg_stream: u32) -> Result<Bytes, SessionError> {
    let payload = &media.payload[..];
    if payload.len() > MAX_MESSAGE_LENGTH {
        return Err(ChunkSerializationError::MessageTooLong {
            size: u32::try_from(payload.len()).unwrap_or(u32::MAX),
        }
        .into());
    }
    let csid = chunk_stream(media.kind);
    let extended = media.timestamp >= EXTENDED_TIMESTAMP;
    let ext_len = if extended { 4 } else { 0 };
    let pieces = payload.chunks(OUT_CHUNK_SIZE as usize);
    let continuations = pieces.len().saturating_sub(1);
    let size = FULL_HEADER_LEN + ext_len + payload.len() + continuations * (1 + ext_len);
    let mut wire = Vec::with_capacity(size);
    wire.push(csid);
    wire.extend_from_slice(&be24(media.timestamp.min(EXTENDED_TIMESTAMP)));
    wire.extend_from_slice(&be24(payload.len() as u32));
    wire.push(media.type_id());
    wire.extend_from_slice(&msg_stream.to_le_bytes());
    if extended {
        wire.extend_from_slice(&media.timestamp.to_be_bytes());
    }
    for (i, piece) in pieces.enumerate() {
        if i > 0 {
            wire.push(CHUNK_TYPE_CONTINUATION | csid);
            if extended {
                wire.extend_from_slice(&media.timestamp.to_be_bytes());
            }
        }
        wire.extend_from_slice(piece);
    }
    debug_assert_eq!(wire.len(), size);
    Ok(Bytes::from(wire.into_boxed_slice()))
}

/// The low 24 bits of `v`, big-endian, as chunk headers carry lengths and timestamps.
fn be24(v: u32) -> [u8; 3] {
    let [_, a, b, c] = v.to_be_bytes();
    [a, b, c]
}

/// The chunk stream a relayed message goes on (rml_rtmp's choice, so both writers agree).
fn chunk_stream(kind: MediaKind) -> u8 {
    match kind {
        MediaKind::Metadata => 3,
        MediaKind::Video => 4,
        MediaKind::Audio => 5,
    }
}

#[cfg(test)]
mod tests {
    use rml_rtmp::chunk_io::ChunkSerializer;
    use rml_rtmp::messages::MessagePayload;
    use rml_rtmp::time::RtmpTimestamp;

    use super::*;
    use crate::session::FANOUT_MSG_STREAM;
    /// What rml_rtmp's serializer writes for `media` as the message after a droppable one.
    fn rml_chunked(media: &Media, msg_stream: u32) -> Vec<u8> {
        let mut ser = ChunkSerializer::new();
        ser.set_max_chunk_size(OUT_CHUNK_SIZE, RtmpTimestamp::new(0))
            .unwrap();
        let payload = MessagePayload {
            timestamp: RtmpTimestamp::new(media.timestamp),
            type_id: media.type_id(),
            message_stream_id: msg_stream,
            data: media.payload.clone(),
        };
        ser.serialize(&payload, false, true).unwrap().bytes
    }

    #[test]
    fn chunks_media_as_rml_rtmp_does() {
        let chunk = OUT_CHUNK_SIZE as usize;
        let sizes = [
            1,
            5,
            chunk - 1,
            chunk,
            chunk + 1,
            3 * chunk,
            3 * chunk + 7,
            70_000,
        ];
        let stamps = [
            0,
            40,
            EXTENDED_TIMESTAMP - 1,
            EXTENDED_TIMESTAMP,
            0x0100_0000,
            u32::MAX,
        ];
        let kinds = [MediaKind::Audio, MediaKind::Video, MediaKind::Metadata];
        for size in sizes {
            let body: Bytes = (0..size).map(|i| (i % 251) as u8).collect();
            for timestamp in stamps {
                for kind in kinds {
                    for msg_stream in [FANOUT_MSG_STREAM, 7] {
                        let media = Media::new(kind, timestamp, body.clone());
                        assert_eq!(
                            chunk_media(&media, msg_stream).unwrap(),
                            rml_chunked(&media, msg_stream),
                            "{size} bytes of {kind:?} at {timestamp} on stream {msg_stream}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn an_empty_message_is_one_bare_header() {
        // rml_rtmp writes nothing at all for it, which a player would never see.
        let media = Media::new(MediaKind::Audio, 0x0100_0000, Bytes::new());
        assert_eq!(
            chunk_media(&media, FANOUT_MSG_STREAM).unwrap(),
            [
                &[5, 0xFF, 0xFF, 0xFF, 0, 0, 0, 8, 1, 0, 0, 0][..],
                &[1, 0, 0, 0]
            ]
            .concat()
        );
    }

    #[test]
    fn a_message_too_long_for_a_chunk_header_is_refused() {
        let media = Media::new(
            MediaKind::Video,
            0,
            Bytes::from(vec![0; MAX_MESSAGE_LENGTH + 1]),
        );
        assert!(chunk_media(&media, FANOUT_MSG_STREAM).is_err());
    }
}
