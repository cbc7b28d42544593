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

mod chunk;
mod reply;

pub(crate) use chunk::chunk_media;
use reply::status_object;

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
