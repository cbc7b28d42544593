//! What the relay tells its peer: command replies, status messages and relayed media.

use std::collections::HashMap;

use rml_rtmp::messages::{RtmpMessage, UserControlEventType};
use rml_rtmp::rml_amf0::Amf0Value;
use rml_rtmp::time::RtmpTimestamp;

use super::{FANOUT_MSG_STREAM, ServerSession, SessionError, chunk_media};
use crate::media::Media;
use crate::outbound::Outbound;
use crate::queue::Notice;

impl ServerSession {
    pub(super) fn send(
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

    pub(super) fn command(
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

    pub(super) fn on_status(
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

    pub(super) fn user_control(
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

/// The info object of an `onStatus` message and of a connect result.
pub(super) fn status_object(level: &str, code: &str, description: &str) -> Amf0Value {
    let mut props = HashMap::new();
    props.insert("level".to_owned(), Amf0Value::Utf8String(level.into()));
    props.insert("code".to_owned(), Amf0Value::Utf8String(code.into()));
    props.insert(
        "description".to_owned(),
        Amf0Value::Utf8String(description.into()),
    );
    Amf0Value::Object(props)
}
