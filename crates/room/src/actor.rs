//! The session actor: owns the membership and keeps it alive (heartbeats), in sync (event
//! channel or polling) and recovered (retry with backoff, rejoin after eviction).

use crate::api::{ApiClient, ApiError};
use crate::config::SessionConfig;
use crate::events::{EventChannelError, EventSocket};
use crate::identity::Identity;
use crate::leave::{self, LeaveMode};
use crate::members::{Member, diff_members, members_from_pushers};
use crate::report::{MembershipSource, REASON_NOT_LISTED, SessionError, SessionEvent};
use futures_util::StreamExt;
use quartet_proto::{Code, Endpoint, Pushers, SendRoomTextMsg};
use quartet_retry::Delays;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::{self, Message};

mod channel;
mod rejoin;

/// Longest a polite close of the event channel may take when the session ends.
pub const CHANNEL_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// What handles can see of the session at any time.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) identity: Identity,
    pub(crate) room_id: String,
    pub(crate) members: Vec<Member>,
    pub(crate) source: MembershipSource,
}

/// A request from a handle.
#[derive(Debug)]
pub(crate) enum Command {
    SendText {
        text: String,
        reply: oneshot::Sender<Result<(), SessionError>>,
    },
    Leave {
        mode: LeaveMode,
        reply: oneshot::Sender<Result<(), SessionError>>,
    },
    /// Ask the publisher of `user_id`'s stream for a keyframe (ext event channel only).
    RequestKeyframe { user_id: String },
    /// Tell the room whether our stream shows a shared screen.
    SetSharing {
        sharing: bool,
        reply: oneshot::Sender<Result<(), SessionError>>,
    },
}

/// What the actor starts from, as `connect` left it.
pub(crate) struct Parts {
    pub(crate) api: ApiClient,
    pub(crate) config: SessionConfig,
    pub(crate) identity: Identity,
    pub(crate) room_id: String,
    pub(crate) creator: String,
    pub(crate) members: Vec<Member>,
    pub(crate) channel: Option<Result<EventSocket, EventChannelError>>,
    pub(crate) state: watch::Sender<Snapshot>,
    pub(crate) events: mpsc::Sender<SessionEvent>,
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) keyframe_requests: broadcast::Sender<String>,
}

/// What to do after handling something.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    /// The server dropped us; join again.
    Rejoin,
    Stop,
}

/// The event channel's state.
enum Channel {
    /// Not used: turned off, or the server has none.
    Disabled,
    Opening(JoinHandle<Result<EventSocket, EventChannelError>>),
    Open(Box<EventSocket>),
    /// Closed; reopen at this instant.
    Waiting(Instant),
}

/// The server stopped answering; probe it on a backoff schedule.
struct Outage {
    delays: Delays,
    probe_at: Instant,
}

pub(crate) struct Actor {
    api: ApiClient,
    config: SessionConfig,
    identity: Identity,
    room_id: String,
    creator: String,
    members: Vec<Member>,
    /// Whether our stream shows a shared screen; every `add_pusher` of ours says so.
    sharing_screen: bool,
    state: watch::Sender<Snapshot>,
    events: mpsc::Sender<SessionEvent>,
    commands: mpsc::Receiver<Command>,
    /// Who asked us for a keyframe, for whoever publishes our stream.
    keyframe_requests: broadcast::Sender<String>,
    heartbeat_at: Instant,
    poll_at: Instant,
    outage: Option<Outage>,
    channel: Channel,
    channel_delays: Delays,
    /// Our membership may have lapsed (an outage, or the event channel dropped, which the
    /// server may take as our departure) and has not been confirmed since; a list without us
    /// then means "evicted, rejoin" rather than v1's "room closed".
    suspect: bool,
    /// The server came back: refetch the member list before anything else.
    resync_due: bool,
    /// When the server was last found again after an outage, or the event channel last
    /// dropped, while our membership is unconfirmed since: "no such room" within the grace
    /// after this means the server has not got the room back yet, not that it closed.
    doubt_since: Option<Instant>,
    /// Re-joining a room the server did not know right after an outage, on this schedule.
    rejoin: Option<RejoinRetry>,
}

/// Re-joins of a room the server did not know right after an outage.
struct RejoinRetry {
    delays: Delays,
    at: Instant,
}

impl Actor {
    pub(crate) fn new(parts: Parts) -> Self {
        let now = Instant::now();
        let timing = parts.config.timing;
        let mut actor = Self {
            api: parts.api,
            identity: parts.identity,
            room_id: parts.room_id,
            creator: parts.creator,
            members: parts.members,
            sharing_screen: false,
            state: parts.state,
            events: parts.events,
            commands: parts.commands,
            keyframe_requests: parts.keyframe_requests,
            heartbeat_at: now + timing.first_heartbeat,
            poll_at: now + timing.poll_interval,
            outage: None,
            channel: Channel::Disabled,
            channel_delays: timing.event_reconnect.delays(),
            suspect: false,
            resync_due: false,
            doubt_since: None,
            rejoin: None,
            config: parts.config,
        };
        match parts.channel {
            None => actor.channel = Channel::Disabled,
            Some(Ok(socket)) => actor.channel = Channel::Open(Box::new(socket)),
            Some(Err(e)) => actor.channel_failed(e),
        }
        actor.publish();
        actor
    }

    pub(crate) async fn run(mut self) {
        loop {
            let deadline = self.next_deadline();
            let mut flow = tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command).await,
                    None => {
                        tracing::info!("every handle dropped; ending the session without leaving");
                        Flow::Stop
                    }
                },
                activity = channel_activity(&mut self.channel) => match activity {
                    Activity::Message(message) => self.on_message(message).await,
                    Activity::Opened(opened) => self.on_opened(*opened).await,
                },
                () = sleep_until(deadline) => self.on_deadline().await,
            };
            if flow == Flow::Continue && self.resync_due {
                self.resync_due = false;
                flow = self.resync(true).await;
            }
            if flow == Flow::Rejoin {
                flow = self.rejoin().await;
            }
            if flow == Flow::Stop {
                break;
            }
        }
        self.close_channel().await;
        tracing::debug!("session actor stopped");
    }

    fn next_deadline(&self) -> Instant {
        let mut deadline = match &self.outage {
            Some(outage) => outage.probe_at,
            None if self.polling() => self.heartbeat_at.min(self.poll_at),
            None => self.heartbeat_at,
        };
        if let Channel::Waiting(at) = self.channel {
            deadline = deadline.min(at);
        }
        if let Some(rejoin) = &self.rejoin {
            deadline = deadline.min(rejoin.at);
        }
        deadline
    }

    fn polling(&self) -> bool {
        !matches!(self.channel, Channel::Open(_))
    }

    async fn on_deadline(&mut self) -> Flow {
        let now = Instant::now();
        if let Channel::Waiting(at) = self.channel
            && at <= now
        {
            self.start_opening();
        }
        if self.outage.is_none() && self.rejoin.as_ref().is_some_and(|r| r.at <= now) {
            return Flow::Rejoin;
        }
        let heartbeat_due = match &self.outage {
            Some(outage) => outage.probe_at <= now,
            None => self.heartbeat_at <= now,
        };
        if heartbeat_due {
            let flow = self.heartbeat().await;
            if flow != Flow::Continue {
                return flow;
            }
        }
        if self.outage.is_none() && self.polling() && self.poll_at <= now {
            return self.resync(true).await;
        }
        Flow::Continue
    }

    // --- heartbeats and outages ---

    /// A heartbeat; during an outage it is also the probe that tells whether the server is back
    /// and whether it still counts us as a member.
    async fn heartbeat(&mut self) -> Flow {
        let was_down = self.outage.is_some();
        let result = self
            .api
            .pusher_heartbeat(&self.room_id, &self.identity.user_id)
            .await;
        self.note(&result);
        self.heartbeat_at = Instant::now() + self.config.timing.heartbeat_interval;
        match result {
            Ok(()) => {
                if !self.channel_down() {
                    self.suspect = false;
                }
                self.confirmed();
                Flow::Continue
            }
            Err(e) if e.is_transient() => {
                if was_down && let Some(outage) = &mut self.outage {
                    let delay = outage.delays.next().unwrap_or(self.config.timing.retry.max);
                    outage.probe_at = Instant::now() + delay;
                    tracing::debug!(error = %e, ?delay, "room server still unreachable");
                }
                Flow::Continue
            }
            Err(e) => match e.code() {
                Some(Code::NoSuchRoom) => self.room_missing(),
                Some(Code::NoSuchMember) | Some(Code::AuthFailed) => {
                    tracing::info!(error = %e, "the server no longer counts us as a member");
                    Flow::Rejoin
                }
                _ => {
                    tracing::warn!(error = %e, "heartbeat refused");
                    Flow::Continue
                }
            },
        }
    }

    /// Every answer from the server, or the lack of one, says whether it is reachable.
    fn note<T>(&mut self, result: &Result<T, ApiError>) {
        match result {
            Err(e) if e.is_transient() => self.lose_connection(e),
            _ => self.reachable(),
        }
    }

    fn lose_connection(&mut self, error: &ApiError) {
        self.suspect = true;
        self.doubt_since.get_or_insert_with(Instant::now);
        if self.outage.is_some() {
            return;
        }
        tracing::warn!(%error, "room server unreachable; retrying");
        if let Channel::Open(_) = self.channel {
            // A socket that lived through an outage may be half-dead; open a fresh one later.
            self.channel_failed(EventChannelError::Transport(
                "room server unreachable".into(),
            ));
        }
        let mut delays = self.config.timing.retry.delays();
        let first = delays.next().unwrap_or(self.config.timing.retry.min);
        self.outage = Some(Outage {
            delays,
            probe_at: Instant::now() + first,
        });
        self.emit(SessionEvent::ConnectionLost);
    }

    fn reachable(&mut self) {
        if self.outage.take().is_none() {
            return;
        }
        tracing::info!("room server answers again");
        self.emit(SessionEvent::ConnectionRestored);
        // The grace for "no such room" counts from here: the server may have just restarted.
        self.doubt_since = Some(Instant::now());
        // Whether we are still a member, and who else is, may have changed meanwhile.
        self.heartbeat_at = Instant::now();
        self.resync_due = true;
        if let Channel::Waiting(_) = self.channel {
            self.channel_delays = self.config.timing.event_reconnect.delays();
            self.start_opening();
        }
    }

    // --- membership ---

    /// Refetches the member list and reports the difference. `may_rejoin`: a list without us
    /// while our membership is in doubt means we were evicted rather than that the room closed.
    async fn resync(&mut self, may_rejoin: bool) -> Flow {
        self.poll_at = Instant::now() + self.config.timing.poll_interval;
        let result = self.api.get_pushers(&self.room_id).await;
        self.note(&result);
        match result {
            Ok(pushers) => {
                let listed = pushers
                    .pushers
                    .iter()
                    .any(|p| p.user_id == self.identity.user_id);
                if listed {
                    self.confirmed();
                    self.apply(pushers);
                    Flow::Continue
                } else if may_rejoin && self.suspect {
                    Flow::Rejoin
                } else {
                    self.room_closed(REASON_NOT_LISTED)
                }
            }
            Err(e) if e.is_transient() => Flow::Continue,
            Err(e) if e.code() == Some(Code::NoSuchRoom) => self.room_missing(),
            Err(e) => {
                tracing::warn!(error = %e, "could not refresh the member list");
                Flow::Continue
            }
        }
    }

    fn apply(&mut self, pushers: Pushers) {
        if let Some(creator) = pushers.room_creator.filter(|c| !c.is_empty()) {
            self.creator = creator;
        }
        let members = members_from_pushers(&pushers.pushers, &self.creator, &self.identity.user_id);
        let diff = diff_members(&self.members, &members);
        let was_creator = self.members.iter().any(|m| m.is_self && m.is_creator);
        let is_creator = members.iter().any(|m| m.is_self && m.is_creator);
        self.members = members;

        self.publish();
        let others = |m: &Member| !m.is_self && m.user_id != self.identity.user_id;
        for m in diff.left.into_iter().filter(others) {
            tracing::info!(user_id = %m.user_id, "member left");
            self.emit(SessionEvent::MemberLeft(m));
        }
        for m in diff.joined.into_iter().filter(others) {
            tracing::info!(user_id = %m.user_id, "member joined");
            self.emit(SessionEvent::MemberJoined(m));
        }
        for m in diff.updated.into_iter().filter(others) {
            self.emit(SessionEvent::MemberUpdated(m));
        }
        for m in diff.renewed.into_iter().filter(others) {
            self.emit(SessionEvent::PlayUrlRenewed(m));
        }
        if is_creator && !was_creator {
            tracing::info!("the room was handed to us");
            self.emit(SessionEvent::BecameCreator);
        }
    }

    fn room_closed(&mut self, reason: &str) -> Flow {
        tracing::info!(reason, "the room closed");
        self.emit(SessionEvent::RoomClosed {
            reason: reason.to_owned(),
        });
        Flow::Stop
    }

    // --- commands ---

    async fn on_command(&mut self, command: Command) -> Flow {
        match command {
            Command::SendText { text, reply } => {
                let request = SendRoomTextMsg {
                    room_id: self.room_id.clone(),
                    user_id: self.identity.user_id.clone(),
                    msg: text,
                    nick_name: Some(self.config.user_name.clone()),
                    head_pic: Some(self.config.user_avatar.clone()),
                };
                let result = self.api.send_room_text_msg(&request).await;
                self.note(&result);
                // The caller may have stopped waiting; nothing to do then.
                let _ = reply.send(result.map_err(SessionError::api(Endpoint::SendRoomTextMsg)));
                Flow::Continue
            }
            Command::SetSharing { sharing, reply } => {
                // Kept even if the server cannot be told now: a re-join carries it.
                self.sharing_screen = sharing;
                let result = self.add_self().await;
                let _ = reply.send(result.map_err(SessionError::api(Endpoint::AddPusher)));
                Flow::Continue
            }
            Command::Leave { mode, reply } => {
                let is_creator = self.creator == self.identity.user_id;
                let call = leave::leave_call(mode, is_creator, self.identity.hands_over);
                let result =
                    leave::leave(&self.api, &self.room_id, &self.identity.user_id, call).await;
                tracing::info!(ok = result.is_ok(), ?call, "left the room");
                let _ = reply.send(result);
                Flow::Stop
            }
            Command::RequestKeyframe { user_id } => {
                self.send_keyframe_request(user_id).await;
                Flow::Continue
            }
        }
    }

    // --- output ---

    fn emit(&self, event: SessionEvent) {
        match self.events.try_send(event) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(event)) => {
                tracing::warn!(
                    ?event,
                    "event receiver is not keeping up; dropping an event"
                );
            }
        }
    }

    fn publish(&self) {
        let source = if self.polling() {
            MembershipSource::Polling
        } else {
            MembershipSource::Events
        };
        self.state.send_replace(Snapshot {
            identity: self.identity.clone(),
            room_id: self.room_id.clone(),
            members: self.members.clone(),
            source,
        });
    }
}

/// Something the event channel did.
enum Activity {
    Message(Option<Result<Message, tungstenite::Error>>),
    Opened(Box<Result<Result<EventSocket, EventChannelError>, JoinError>>),
}

/// The next message of an open channel, or the outcome of opening one; never resolves while
/// the channel is disabled or waiting.
async fn channel_activity(channel: &mut Channel) -> Activity {
    match channel {
        Channel::Open(socket) => Activity::Message(socket.next().await),
        Channel::Opening(task) => Activity::Opened(Box::new(task.await)),
        Channel::Disabled | Channel::Waiting(_) => std::future::pending().await,
    }
}
