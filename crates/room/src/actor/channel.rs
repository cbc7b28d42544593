//! The actor's event channel: opening it, reading it, falling back to polling while it is down.

use super::{Actor, CHANNEL_CLOSE_TIMEOUT, Channel, Flow};
use crate::config::EventMode;
use crate::events::{self, EventChannelError, EventSocket, Frame};
use crate::report::SessionEvent;
use quartet_proto::{ClientEvent, ServerEvent};
use std::time::Duration;
use tokio::task::JoinError;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};

/// Longest writing a keyframe request to the event channel may take: it is worth something only
/// while the asker still waits, and a channel that does not take a few bytes is failing anyway.
pub const CHANNEL_SEND_TIMEOUT: Duration = Duration::from_secs(1);

impl Actor {
    /// Sends a keyframe request for `user_id`'s stream on the event channel; with no channel
    /// open it is dropped (an original v1 server has no way to carry it).
    pub(super) async fn send_keyframe_request(&mut self, user_id: String) {
        let Channel::Open(socket) = &mut self.channel else {
            tracing::debug!(%user_id, "no event channel: keyframe request dropped");
            return;
        };
        let ask = ClientEvent::RequestKeyframe { user_id };
        let Ok(text) = serde_json::to_string(&ask) else {
            return;
        };
        match tokio::time::timeout(
            CHANNEL_SEND_TIMEOUT,
            futures_util::SinkExt::send(&mut **socket, Message::text(text)),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "keyframe request not sent"),
            Err(_) => tracing::debug!("keyframe request not sent within {CHANNEL_SEND_TIMEOUT:?}"),
        }
    }

    pub(super) fn channel_down(&self) -> bool {
        matches!(self.channel, Channel::Opening(_) | Channel::Waiting(_))
    }

    pub(super) fn start_opening(&mut self) {
        if self.config.events == EventMode::Off {
            self.channel = Channel::Disabled;
            return;
        }
        let url = events::events_url(&self.api, &self.room_id, &self.identity.user_id);
        let user_sig = self.api.user_sig().map(str::to_owned);
        self.channel = Channel::Opening(tokio::spawn(async move {
            events::open(&url, user_sig.as_deref()).await
        }));
        self.publish();
    }

    pub(super) fn channel_failed(&mut self, error: EventChannelError) {
        if error.is_permanent() {
            tracing::info!("{error}; polling the member list instead");
            self.channel = Channel::Disabled;
        } else {
            let delay = self
                .channel_delays
                .next()
                .unwrap_or(self.config.timing.event_reconnect.max);
            tracing::warn!(%error, ?delay, "no event channel; polling until it reopens");
            self.channel = Channel::Waiting(Instant::now() + delay);
        }
        self.publish();
    }

    pub(super) async fn on_opened(
        &mut self,
        opened: Result<Result<EventSocket, EventChannelError>, JoinError>,
    ) -> Flow {
        match opened {
            Ok(Ok(socket)) => {
                tracing::info!("event channel open");
                self.reachable();
                self.channel = Channel::Open(Box::new(socket));
                self.channel_delays = self.config.timing.event_reconnect.delays();
                self.publish();
                // Whatever changed while the channel was closed was not announced to us.
                self.resync(true).await
            }
            Ok(Err(e)) => {
                self.channel_failed(e);
                Flow::Continue
            }
            Err(e) => {
                self.channel_failed(EventChannelError::Transport(e.to_string()));
                Flow::Continue
            }
        }
    }

    pub(super) async fn on_message(
        &mut self,
        message: Option<Result<Message, tungstenite::Error>>,
    ) -> Flow {
        let frame = match &message {
            Some(Ok(message)) => events::read_frame(message),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "event channel failed");
                Frame::Closed
            }
            None => Frame::Closed,
        };
        let (kind, detail) = frame.journal_entry();
        if !kind.is_empty() {
            self.api.journal().event(kind, detail);
        }
        match frame {
            Frame::Ignore => Flow::Continue,
            Frame::Closed => {
                self.suspect = true;
                // A server restarting closes the channel before it stops answering.
                self.doubt_since.get_or_insert_with(Instant::now);
                self.poll_at = Instant::now();
                self.channel_failed(EventChannelError::Transport("the channel closed".into()));
                Flow::Continue
            }
            Frame::Event(ServerEvent::PusherChange { .. }) => self.resync(true).await,
            Frame::Event(ServerEvent::RoomClosed { data }) => self.room_closed(&data.reason),
            Frame::Event(ServerEvent::Text {
                data,
                user_id,
                text,
                time,
            }) => {
                self.emit(SessionEvent::Text {
                    user_id,
                    nick_name: data.nick_name,
                    head_pic: data.head_pic,
                    text,
                    time,
                });
                Flow::Continue
            }
            Frame::Event(ServerEvent::KeyframeRequest { user_id }) => {
                // Nobody publishing (not subscribed) is not an error.
                let _ = self.keyframe_requests.send(user_id);
                Flow::Continue
            }
        }
    }

    pub(super) async fn close_channel(&mut self) {
        match std::mem::replace(&mut self.channel, Channel::Disabled) {
            Channel::Open(mut socket) => {
                let closing = socket.close(None);
                if tokio::time::timeout(CHANNEL_CLOSE_TIMEOUT, closing)
                    .await
                    .is_err()
                {
                    tracing::debug!("event channel did not close politely in time");
                }
            }
            Channel::Opening(task) => task.abort(),
            Channel::Disabled | Channel::Waiting(_) => {}
        }
    }
}
