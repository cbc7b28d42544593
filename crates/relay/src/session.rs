//! The server side of one RTMP connection after the handshake, with no I/O: bytes in, events
//! and bytes out.
//!
//! Chunking, chunk headers and message bodies are rml_rtmp's (`chunk_io`, `messages`, AMF0);
//! this layer adds the command flow a relay needs (connect, createStream, publish, play,
//! deleteStream), the status messages players expect (including `UnpublishNotify`), and the
//! limits that keep a hostile peer from costing more than one connection's worth: chunk size
//! bounds, a cap on bytes buffered for an incomplete message, and caps on AMF message size and
//! nesting depth (see `amf`).

use std::collections::HashMap;
use std::io::Cursor;

use bytes::Bytes;
use rml_rtmp::chunk_io::{
    ChunkDeserializationError, ChunkDeserializer, ChunkSerializationError, ChunkSerializer,
};
use rml_rtmp::messages::{
    MessageDeserializationError, MessagePayload, MessageSerializationError, PeerBandwidthLimitType,
    RtmpMessage, UserControlEventType,
};
use rml_rtmp::rml_amf0::{self, Amf0DeserializationError, Amf0Value};
use rml_rtmp::time::RtmpTimestamp;

use crate::amf::{AmfShapeError, check_depth};
use crate::config::MIN_CHUNK_SIZE;
use crate::media::{Media, MediaKind, TYPE_AUDIO, TYPE_DATA_AMF0, TYPE_VIDEO};
use crate::outbound::Outbound;
use crate::queue::Notice;

/// Chunk size the relay sends with: large enough that most audio and inter frames fit one chunk.
pub(crate) const OUT_CHUNK_SIZE: u32 = 4_096;
/// Message stream id players almost always play on (the first `createStream` of a connection);
/// media is pre-chunked for it once per stream.
pub(crate) const FANOUT_MSG_STREAM: u32 = 1;
/// Window after which the peer should acknowledge what it received from us.
const WINDOW_ACK_SIZE: u32 = 2_500_000;
/// Bandwidth the peer is told it may use.
const PEER_BANDWIDTH: u32 = 2_500_000;
/// Smallest acknowledgement window honoured (a tiny one would make us ack every read).
const MIN_PEER_WINDOW: u32 = 4_096;
/// Largest AMF command or data message (commands are a few hundred bytes; metadata a few KiB).
pub(crate) const MAX_AMF_MESSAGE_SIZE: usize = 64 * 1024;
/// Most streams one connection may create.
const MAX_STREAMS_PER_CONNECTION: u32 = 16;
/// Bytes of chunk header one chunk may carry beyond its payload (3-byte basic header, 11-byte
/// message header, 4-byte extended timestamp).
const MAX_CHUNK_HEADER: usize = 18;
/// Bytes of a full (type 0) chunk header with a one-byte basic header and no extended timestamp.
const FULL_HEADER_LEN: usize = 12;
/// Basic-header bits of a continuation (type 3) chunk, which repeats nothing of the first.
const CHUNK_TYPE_CONTINUATION: u8 = 0b1100_0000;
/// Largest message length a chunk header can carry (24 bits).
const MAX_MESSAGE_LENGTH: usize = 0xFF_FFFF;
/// Timestamps from here on go in the extended field; the 24-bit one then says 0xFFFFFF.
const EXTENDED_TIMESTAMP: u32 = 0xFF_FFFF;
/// Version string reported in the connect result.
const FMS_VERSION: &str = "FMS/3,5,7,7009";
/// Capabilities reported in the connect result (what Flash Media Server reports).
const CAPABILITIES: f64 = 31.0;

/// RTMP message types handled here besides media.
const TYPE_SET_CHUNK_SIZE: u8 = 1;
const TYPE_USER_CONTROL: u8 = 4;
const TYPE_WINDOW_ACK_SIZE: u8 = 5;
const TYPE_DATA_AMF3: u8 = 15;
const TYPE_COMMAND_AMF3: u8 = 17;
const TYPE_COMMAND_AMF0: u8 = 20;

/// Why a session cannot go on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    /// The chunk stream could not be parsed.
    #[error("malformed RTMP chunk: {0}")]
    Chunk(#[from] ChunkDeserializationError),
    /// A protocol message body could not be parsed.
    #[error("malformed RTMP message: {0}")]
    Message(#[from] MessageDeserializationError),
    /// An AMF body could not be parsed.
    #[error("malformed AMF0: {0}")]
    Amf(#[from] Amf0DeserializationError),
    /// Encoding a reply failed (cannot happen with the sizes this relay sends).
    #[error("could not encode a message: {0}")]
    Encode(String),
    /// The peer announced a chunk size outside the accepted range.
    #[error("peer announced chunk size {size}, outside {MIN_CHUNK_SIZE}..={max}")]
    ChunkSize {
        /// The announced size.
        size: u32,
        /// The configured maximum.
        max: u32,
    },
    /// The peer sent more than a message may hold without completing one.
    #[error("peer sent {pending} bytes without completing a message (limit {limit})")]
    MessageTooLarge {
        /// Bytes buffered.
        pending: usize,
        /// The limit.
        limit: usize,
    },
    /// An AMF message exceeded [`MAX_AMF_MESSAGE_SIZE`].
    #[error("AMF message of {0} bytes exceeds {MAX_AMF_MESSAGE_SIZE}")]
    AmfTooLarge(usize),
    /// An AMF message was nested too deeply or malformed.
    #[error(transparent)]
    AmfShape(#[from] AmfShapeError),
    /// A command was malformed or out of place.
    #[error("{0}")]
    Protocol(String),
    /// The peer asked for another application.
    #[error("connect to application {asked:?} refused (this relay serves {served:?})")]
    WrongApp {
        /// What the peer asked for.
        asked: String,
        /// What this relay serves.
        served: String,
    },
}

impl From<ChunkSerializationError> for SessionError {
    fn from(e: ChunkSerializationError) -> Self {
        SessionError::Encode(e.to_string())
    }
}

impl From<MessageSerializationError> for SessionError {
    fn from(e: MessageSerializationError) -> Self {
        SessionError::Encode(e.to_string())
    }
}

/// Something the connection must act on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SessionEvent {
    /// The peer connected to the relay's application.
    Connected {
        /// The application name as sent.
        app: String,
    },
    /// The peer asks to publish `name` (stream id and query) on message stream `msg_stream`.
    Publish {
        /// Message stream the peer publishes on.
        msg_stream: u32,
        /// The raw stream name.
        name: String,
    },
    /// The peer asks to play `name` on message stream `msg_stream`.
    Play {
        /// Message stream the peer plays on.
        msg_stream: u32,
        /// The raw stream name.
        name: String,
    },
    /// A media or metadata message arrived on `msg_stream`.
    Media {
        /// Message stream it arrived on.
        msg_stream: u32,
        /// The message.
        media: Media,
    },
    /// The peer closed or deleted message stream `msg_stream`.
    CloseStream {
        /// The stream.
        msg_stream: u32,
    },
}

/// Limits a session enforces on its peer.
#[derive(Debug, Clone)]
pub(crate) struct SessionLimits {
    /// Largest chunk size the peer may announce.
    pub max_chunk_size: u32,
    /// Largest message the peer may send.
    pub max_message_size: usize,
}

/// The server side of one connection.
pub(crate) struct ServerSession {
    de: ChunkDeserializer,
    ser: ChunkSerializer,
    app: String,
    limits: SessionLimits,
    connected: bool,
    next_stream: u32,
    pending: usize,
    received: u64,
    unacked: u64,
    peer_window: Option<u32>,
}

impl ServerSession {
    /// A session serving application `app`.
    pub fn new(app: &str, limits: SessionLimits) -> ServerSession {
        ServerSession {
            de: ChunkDeserializer::new(),
            ser: ChunkSerializer::new(),
            app: app.to_owned(),
            limits,
            connected: false,
            next_stream: 1,
            pending: 0,
            received: 0,
            unacked: 0,
            peer_window: None,
        }
    }

    fn pending_limit(&self) -> usize {
        let max = self.limits.max_message_size;
        // Chunk headers add at most one header per MIN_CHUNK_SIZE bytes of payload.
        max + max / MIN_CHUNK_SIZE as usize * MAX_CHUNK_HEADER + MAX_CHUNK_HEADER
    }

    /// Takes bytes from the peer; replies go to `out`, things to act on are appended to
    /// `events` (a buffer the caller keeps, as this runs once per read).
    pub fn handle_input(
        &mut self,
        bytes: &[u8],
        out: &mut Outbound,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        self.received += bytes.len() as u64;
        self.unacked += bytes.len() as u64;
        let mut input = bytes;
        let mut completed = false;
        while let Some(payload) = self.de.get_next_message(input)? {
            input = &[];
            completed = true;
            self.on_message(payload, out, events)?;
        }
        // What is buffered now is at most what came since the last whole message.
        self.pending = if completed {
            bytes.len()
        } else {
            self.pending + bytes.len()
        };
        let limit = self.pending_limit().max(bytes.len());
        if self.pending > limit {
            return Err(SessionError::MessageTooLarge {
                pending: self.pending,
                limit,
            });
        }
        if let Some(window) = self.peer_window
            && self.unacked >= u64::from(window)
        {
            self.unacked = 0;
            // The sequence number is the byte count modulo 2^32 by definition.
            let sequence_number = self.received as u32;
            self.send(out, RtmpMessage::Acknowledgement { sequence_number }, 0)?;
        }
        Ok(())
    }

    fn on_message(
        &mut self,
        payload: MessagePayload,
        out: &mut Outbound,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        let msg_stream = payload.message_stream_id;
        let timestamp = payload.timestamp.value;
        match payload.type_id {
            TYPE_AUDIO | TYPE_VIDEO => {
                let kind = if payload.type_id == TYPE_AUDIO {
                    MediaKind::Audio
                } else {
                    MediaKind::Video
                };
                events.push(SessionEvent::Media {
                    msg_stream,
                    media: Media::new(kind, timestamp, payload.data),
                });
            }
            TYPE_COMMAND_AMF0 | TYPE_COMMAND_AMF3 => {
                let mut data = amf_body(&payload)?;
                // AMF3-flagged commands from Flash carry a leading zero, then AMF0.
                if payload.type_id == TYPE_COMMAND_AMF3 && data.first() == Some(&0) {
                    data = data.slice(1..);
                }
                let values = decode_amf(data)?;
                self.on_command(msg_stream, values, out, events)?;
            }
            TYPE_DATA_AMF0 | TYPE_DATA_AMF3 => {
                let values = decode_amf(amf_body(&payload)?)?;
                if let Some(media) = metadata(values, timestamp)? {
                    events.push(SessionEvent::Media { msg_stream, media });
                }
            }
            TYPE_SET_CHUNK_SIZE => {
                if let RtmpMessage::SetChunkSize { size } = payload.to_rtmp_message()? {
                    if !(MIN_CHUNK_SIZE..=self.limits.max_chunk_size).contains(&size) {
                        return Err(SessionError::ChunkSize {
                            size,
                            max: self.limits.max_chunk_size,
                        });
                    }
                    self.de.set_max_chunk_size(size as usize)?;
                }
            }
            TYPE_WINDOW_ACK_SIZE => {
                if let RtmpMessage::WindowAcknowledgement { size } = payload.to_rtmp_message()? {
                    self.peer_window = Some(size.max(MIN_PEER_WINDOW));
                }
            }
            TYPE_USER_CONTROL => {
                // Unknown event types are harmless; only pings need an answer.
                if let Ok(RtmpMessage::UserControl {
                    event_type: UserControlEventType::PingRequest,
                    timestamp,
                    ..
                }) = payload.to_rtmp_message()
                {
                    let pong = RtmpMessage::UserControl {
                        event_type: UserControlEventType::PingResponse,
                        stream_id: None,
                        buffer_length: None,
                        timestamp,
                    };
                    self.send(out, pong, 0)?;
                }
            }
            // Abort, acknowledgements, peer bandwidth, aggregates and the unknown need nothing.
            other => tracing::trace!(type_id = other, "ignored RTMP message"),
        }
        Ok(())
    }

    fn on_command(
        &mut self,
        msg_stream: u32,
        mut values: Vec<Amf0Value>,
        out: &mut Outbound,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        if values.len() < 2 {
            return Err(SessionError::Protocol(
                "command without name and transaction id".into(),
            ));
        }
        let mut rest = values.split_off(2);
        let (Amf0Value::Utf8String(name), Amf0Value::Number(txn)) = (&values[0], &values[1]) else {
            return Err(SessionError::Protocol("malformed command header".into()));
        };
        let (name, txn) = (name.clone(), *txn);
        // The command object; what follows it are the arguments.
        let command_object = if rest.is_empty() {
            Amf0Value::Null
        } else {
            rest.remove(0)
        };
        if name == "connect" {
            return self.on_connect(txn, command_object, out, events);
        }
        if !self.connected {
            return Err(SessionError::Protocol(format!("{name:?} before connect")));
        }
        match name.as_str() {
            "createStream" => {
                if self.next_stream > MAX_STREAMS_PER_CONNECTION {
                    return Err(SessionError::Protocol(format!(
                        "more than {MAX_STREAMS_PER_CONNECTION} streams created"
                    )));
                }
                let id = self.next_stream;
                self.next_stream += 1;
                self.command(
                    out,
                    "_result",
                    txn,
                    Amf0Value::Null,
                    vec![Amf0Value::Number(f64::from(id))],
                    0,
                )?;
            }
            "publish" | "play" => {
                let Some(Amf0Value::Utf8String(stream_name)) = rest.into_iter().next() else {
                    return Err(SessionError::Protocol(format!(
                        "{name} without a stream name"
                    )));
                };
                events.push(if name == "publish" {
                    SessionEvent::Publish {
                        msg_stream,
                        name: stream_name,
                    }
                } else {
                    SessionEvent::Play {
                        msg_stream,
                        name: stream_name,
                    }
                });
            }
            "deleteStream" => {
                if let Some(Amf0Value::Number(n)) = rest.first() {
                    events.push(SessionEvent::CloseStream {
                        msg_stream: *n as u32,
                    });
                }
            }
            "closeStream" => events.push(SessionEvent::CloseStream { msg_stream }),
            // releaseStream, FCPublish, FCUnpublish, getStreamLength, _checkbw, receiveAudio, ...:
            // clients do not wait for answers to these.
            other => tracing::trace!(command = other, "ignored RTMP command"),
        }
        Ok(())
    }

    fn on_connect(
        &mut self,
        txn: f64,
        command_object: Amf0Value,
        out: &mut Outbound,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        if self.connected {
            return Err(SessionError::Protocol("second connect".into()));
        }
        let app = match command_object {
            Amf0Value::Object(mut props) => match props.remove("app") {
                Some(Amf0Value::Utf8String(app)) => app,
                _ => String::new(),
            },
            _ => String::new(),
        };
        // Some clients append the query or a slash to the application name.
        let bare = app
            .split('?')
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        if bare != self.app {
            let status = status_object("error", "NetConnection.Connect.Rejected", "No such app.");
            self.command(out, "_error", txn, Amf0Value::Null, vec![status], 0)?;
            return Err(SessionError::WrongApp {
                asked: app,
                served: self.app.clone(),
            });
        }
        self.connected = true;
        self.send(
            out,
            RtmpMessage::WindowAcknowledgement {
                size: WINDOW_ACK_SIZE,
            },
            0,
        )?;
        self.send(
            out,
            RtmpMessage::SetPeerBandwidth {
                size: PEER_BANDWIDTH,
                limit_type: PeerBandwidthLimitType::Dynamic,
            },
            0,
        )?;
        let packet = self
            .ser
            .set_max_chunk_size(OUT_CHUNK_SIZE, RtmpTimestamp::new(0))?;
        out.push_vec(packet.bytes);
        let mut props = HashMap::new();
        props.insert(
            "fmsVer".to_owned(),
            Amf0Value::Utf8String(FMS_VERSION.into()),
        );
        props.insert("capabilities".to_owned(), Amf0Value::Number(CAPABILITIES));
        let mut info = status_object("status", "NetConnection.Connect.Success", "Connected.");
        if let Amf0Value::Object(o) = &mut info {
            o.insert("objectEncoding".to_owned(), Amf0Value::Number(0.0));
        }
        self.command(out, "_result", txn, Amf0Value::Object(props), vec![info], 0)?;
        events.push(SessionEvent::Connected { app });
        Ok(())
    }

    fn send(
        &mut self,
        out: &mut Outbound,
        message: RtmpMessage,
        msg_stream: u32,
    ) -> Result<(), SessionError> {
        let payload = message.into_message_payload(RtmpTimestamp::new(0), msg_stream)?;
        // Full headers: relayed media is chunked elsewhere (see `chunk_media`), so this serializer
        // cannot know what the peer last saw on a chunk stream and must not compress against it.
        let packet = self.ser.serialize(&payload, true, false)?;
        out.push_vec(packet.bytes);
        Ok(())
    }

    fn command(
        &mut self,
        out: &mut Outbound,
        name: &str,
        txn: f64,
        command_object: Amf0Value,
        additional_arguments: Vec<Amf0Value>,
        msg_stream: u32,
    ) -> Result<(), SessionError> {
        let message = RtmpMessage::Amf0Command {
            command_name: name.to_owned(),
            transaction_id: txn,
            command_object,
            additional_arguments,
        };
        self.send(out, message, msg_stream)
    }

    fn on_status(
        &mut self,
        out: &mut Outbound,
        msg_stream: u32,
        level: &str,
        code: &str,
        description: &str,
    ) -> Result<(), SessionError> {
        let status = status_object(level, code, description);
        self.command(
            out,
            "onStatus",
            0.0,
            Amf0Value::Null,
            vec![status],
            msg_stream,
        )
    }

    fn user_control(
        &mut self,
        out: &mut Outbound,
        event_type: UserControlEventType,
        msg_stream: u32,
    ) -> Result<(), SessionError> {
        let message = RtmpMessage::UserControl {
            event_type,
            stream_id: Some(msg_stream),
            buffer_length: None,
            timestamp: None,
        };
        self.send(out, message, 0)
    }

    /// Tells the peer its publish on `msg_stream` started.
    pub fn accept_publish(
        &mut self,
        out: &mut Outbound,
        msg_stream: u32,
        stream_id: &str,
    ) -> Result<(), SessionError> {
        self.user_control(out, UserControlEventType::StreamBegin, msg_stream)?;
        let text = format!("Publishing {stream_id}.");
        self.on_status(out, msg_stream, "status", "NetStream.Publish.Start", &text)
    }

    /// Tells the peer its playback on `msg_stream` started (data follows when there is any).
    pub fn accept_play(
        &mut self,
        out: &mut Outbound,
        msg_stream: u32,
        stream_id: &str,
    ) -> Result<(), SessionError> {
        self.user_control(out, UserControlEventType::StreamBegin, msg_stream)?;
        let text = format!("Playing and resetting {stream_id}.");
        self.on_status(out, msg_stream, "status", "NetStream.Play.Reset", &text)?;
        let text = format!("Started playing {stream_id}.");
        self.on_status(out, msg_stream, "status", "NetStream.Play.Start", &text)?;
        let access = RtmpMessage::Amf0Data {
            values: vec![
                Amf0Value::Utf8String("|RtmpSampleAccess".into()),
                Amf0Value::Boolean(true),
                Amf0Value::Boolean(true),
            ],
        };
        self.send(out, access, msg_stream)?;
        let mut code = HashMap::new();
        code.insert(
            "code".to_owned(),
            Amf0Value::Utf8String("NetStream.Data.Start".into()),
        );
        let data_start = RtmpMessage::Amf0Data {
            values: vec![
                Amf0Value::Utf8String("onStatus".into()),
                Amf0Value::Object(code),
            ],
        };
        self.send(out, data_start, msg_stream)
    }

    /// Tells the peer its publish or play on `msg_stream` was refused with `code`.
    pub fn refuse(
        &mut self,
        out: &mut Outbound,
        msg_stream: u32,
        code: &str,
        description: &str,
    ) -> Result<(), SessionError> {
        self.on_status(out, msg_stream, "error", code, description)
    }

    /// Tells a player on `msg_stream` the stream's publisher left or came.
    pub fn notice(
        &mut self,
        out: &mut Outbound,
        msg_stream: u32,
        notice: Notice,
        stream_id: &str,
    ) -> Result<(), SessionError> {
        match notice {
            Notice::Unpublished => {
                self.user_control(out, UserControlEventType::StreamEof, msg_stream)?;
                let text = format!("{stream_id} is now unpublished.");
                self.on_status(
                    out,
                    msg_stream,
                    "status",
                    "NetStream.Play.UnpublishNotify",
                    &text,
                )
            }
            Notice::Published => {
                self.user_control(out, UserControlEventType::StreamBegin, msg_stream)?;
                let text = format!("{stream_id} is now published.");
                self.on_status(
                    out,
                    msg_stream,
                    "status",
                    "NetStream.Play.PublishNotify",
                    &text,
                )
            }
        }
    }

    /// Sends one relayed message to a player on `msg_stream`.
    pub fn send_media(
        &mut self,
        out: &mut Outbound,
        msg_stream: u32,
        media: &Media,
    ) -> Result<(), SessionError> {
        if msg_stream == FANOUT_MSG_STREAM && !media.wire.is_empty() {
            out.push(media.wire.clone());
        } else {
            out.push(chunk_media(media, msg_stream)?);
        }
        Ok(())
    }
}

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

fn amf_body(payload: &MessagePayload) -> Result<Bytes, SessionError> {
    if payload.data.len() > MAX_AMF_MESSAGE_SIZE {
        return Err(SessionError::AmfTooLarge(payload.data.len()));
    }
    Ok(payload.data.clone())
}

/// Decodes an AMF0 body once its nesting is known to be shallow.
fn decode_amf(data: Bytes) -> Result<Vec<Amf0Value>, SessionError> {
    check_depth(&data)?;
    Ok(rml_amf0::deserialize(&mut Cursor::new(data))?)
}

/// `onMetaData` as players expect it, from what a publisher sent (`@setDataFrame` stripped).
fn metadata(mut values: Vec<Amf0Value>, timestamp: u32) -> Result<Option<Media>, SessionError> {
    if matches!(values.first(), Some(Amf0Value::Utf8String(s)) if s == "@setDataFrame") {
        values.remove(0);
    }
    if !matches!(values.first(), Some(Amf0Value::Utf8String(s)) if s == "onMetaData") {
        return Ok(None);
    }
    let body = RtmpMessage::Amf0Data { values }
        .into_message_payload(RtmpTimestamp::new(timestamp), 0)?
        .data;
    Ok(Some(Media::new(MediaKind::Metadata, timestamp, body)))
}

fn status_object(level: &str, code: &str, description: &str) -> Amf0Value {
    let mut props = HashMap::new();
    props.insert("level".to_owned(), Amf0Value::Utf8String(level.into()));
    props.insert("code".to_owned(), Amf0Value::Utf8String(code.into()));
    props.insert(
        "description".to_owned(),
        Amf0Value::Utf8String(description.into()),
    );
    Amf0Value::Object(props)
}

#[cfg(test)]
mod tests {
    use super::*;

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
