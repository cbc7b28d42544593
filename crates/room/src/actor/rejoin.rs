//! Getting back in: a room the server did not know after an outage, or a membership it
//! dropped, is joined again under the same identity where the token still holds.

use super::{Actor, Channel, Flow, RejoinRetry};
use crate::api::ApiError;
use crate::identity;
use crate::report::{REASON_REJOIN_REFUSED, REASON_ROOM_GONE, SessionError, SessionEvent};
use quartet_proto::Code;
use tokio::time::Instant;

impl Actor {
    /// The server answered "no such room". Right after an outage that may be a server that has
    /// not got the room back yet, so keep re-joining for the grace; on a connection that never
    /// failed, or after the grace, the room is gone.
    pub(super) fn room_missing(&mut self) -> Flow {
        let grace = self.config.timing.rejoin_grace;
        match self.doubt_since {
            Some(since) if since.elapsed() <= grace => {
                let retry = self.rejoin.get_or_insert_with(|| RejoinRetry {
                    delays: self.config.timing.rejoin_retry.delays(),
                    at: Instant::now(),
                });
                let delay = retry
                    .delays
                    .next()
                    .unwrap_or(self.config.timing.rejoin_retry.max);
                retry.at = Instant::now() + delay;
                tracing::info!(
                    ?delay,
                    "the server does not know the room right after an outage; re-joining"
                );
                Flow::Continue
            }
            _ => self.room_closed(REASON_ROOM_GONE),
        }
    }

    /// The server counts us in the room: any doubt is over.
    pub(super) fn confirmed(&mut self) {
        self.doubt_since = None;
        self.rejoin = None;
    }

    /// Joins again after the server dropped us: same identity if the token still holds, else a
    /// new login.
    pub(super) async fn rejoin(&mut self) -> Flow {
        let mut relogged = false;
        let mut result = self.add_self().await;
        if matches!(&result, Err(e) if e.code() == Some(Code::AuthFailed)) {
            tracing::info!("token refused; logging in again");
            let mut api = self.api.clone();
            match identity::login(&mut api).await {
                Ok(identity) => {
                    self.api = api;
                    self.identity = identity;
                    relogged = true;
                    self.publish();
                    result = self.add_self().await;
                }
                Err(SessionError::Api { source, .. }) if source.is_transient() => {
                    self.note::<()>(&Err(source));
                    return Flow::Continue;
                }
                Err(other) => {
                    tracing::warn!(error = %other, "could not log in again");
                    return self.room_closed(REASON_REJOIN_REFUSED);
                }
            }
        }
        match result {
            Ok(()) => {}
            // The next probe's heartbeat will answer code 5 again and bring us back here.
            Err(e) if e.is_transient() => return Flow::Continue,
            Err(e) if e.code() == Some(Code::NoSuchRoom) => return self.room_missing(),
            Err(e) => {
                tracing::warn!(error = %e, "the room would not take us back");
                return self.room_closed(REASON_REJOIN_REFUSED);
            }
        }
        self.confirmed();
        if !relogged {
            self.renew_push_url().await;
        }
        tracing::info!(user_id = %self.identity.user_id, relogged, "rejoined the room");
        self.heartbeat_at = Instant::now() + self.config.timing.heartbeat_interval;
        // The server may have forgotten our old channel along with our membership.
        if !matches!(self.channel, Channel::Disabled) {
            self.close_channel().await;
            self.channel_delays = self.config.timing.event_reconnect.delays();
            self.start_opening();
        }
        self.suspect = self.channel_down();
        // Refresh the list first, so that `members()` is current when `Rejoined` arrives.
        let flow = self.resync(false).await;
        if flow != Flow::Stop {
            self.emit(SessionEvent::Rejoined {
                user_id: self.identity.user_id.clone(),
                push_url: self.identity.push_url.clone(),
            });
        }
        flow
    }

    /// A push URL signed now: the server may have revoked the URLs it signed for us before it
    /// dropped us. Keeps the old one if the server cannot say (it is then no worse than before).
    pub(super) async fn renew_push_url(&mut self) {
        let result = identity::push_url_in(&self.api, &self.identity, &self.room_id).await;
        self.note(&result);
        match result {
            Ok(push) => {
                self.identity.push_url = push.push_url;
                self.identity.small_push_url = push.small_push_url;
                self.publish();
            }
            Err(e) => tracing::debug!(error = %e, "kept the old push URL"),
        }
    }

    pub(super) async fn add_self(&mut self) -> Result<(), ApiError> {
        let mut request = identity::add_pusher_request(&self.config, &self.room_id, &self.identity);
        request.sharing_screen = self.sharing_screen;
        let result = self.api.add_pusher(&request).await;
        self.note(&result);
        result
    }
}
