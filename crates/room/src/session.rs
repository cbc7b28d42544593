//! A session in one room: [`connect`] joins and returns a [`SessionHandle`] and a receiver of
//! [`SessionEvent`]s; an actor keeps the membership alive and in sync until the room closes,
//! [`SessionHandle::leave`] is called, or every handle is dropped.

use crate::actor::{Actor, Command, Identity};
use crate::api::{ApiClient, ApiError};
use crate::config::{EventMode, JoinTarget, SessionConfig};
use crate::events;
use crate::journal::Journal;
use crate::leave::LeaveMode;
use crate::members::{Member, members_from_pushers};
use quartet_proto::{AddPusher, Code, CreateRoom, EXT_HAND_OVER, Endpoint, Pushers};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::Instrument;

/// Prefix asked for in `get_im_login_info` (servers may ignore it).
pub const USER_ID_PREFIX: &str = "quartet";
/// Events buffered for a slow receiver before newer ones are dropped (the member snapshot
/// stays exact regardless).
pub const EVENT_QUEUE: usize = 256;
/// Commands from handles waiting for the actor.
pub const COMMAND_QUEUE: usize = 16;
/// Keyframe requests from others held for a slow reader before older ones are lost: several
/// requests mean the same thing as one, so losing some loses nothing.
pub const KEYFRAME_REQUEST_QUEUE: usize = 16;

/// `RoomClosed` reason when the server no longer knows the room (code 3).
pub const REASON_ROOM_GONE: &str = "room_gone";
/// `RoomClosed` reason when the member list no longer names us (v1 clients' rule).
pub const REASON_NOT_LISTED: &str = "not_listed";
/// `RoomClosed` reason when we were evicted and the room would not take us back.
pub const REASON_REJOIN_REFUSED: &str = "rejoin_refused";

/// Something that happened in the room.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// We are in the room (always the first event).
    Joined {
        /// The room.
        room_id: String,
        /// Our userID.
        user_id: String,
        /// Everyone in the room, creator first, us included.
        members: Vec<Member>,
    },
    /// Someone joined.
    MemberJoined(Member),
    /// Someone left (or was evicted).
    MemberLeft(Member),
    /// Someone's name, avatar, role or stream changed.
    MemberUpdated(Member),
    /// Someone's play URL was signed again for the same stream (every member list carries fresh
    /// signatures); nothing a user sees changed, but the next connection needs the new URL.
    PlayUrlRenewed(Member),
    /// The creator left and handed the room to us (ext): our leaving now closes it unless we
    /// hand it on in turn.
    BecameCreator,
    /// A text message (ext event channel only).
    Text {
        /// Sender's userID.
        user_id: String,
        /// Sender's display name.
        nick_name: String,
        /// Sender's avatar.
        head_pic: String,
        /// The text.
        text: String,
        /// When the server accepted it, unix milliseconds.
        time: u64,
    },
    /// The room is gone, or we are no longer in it; the session has ended.
    RoomClosed {
        /// The server's reason, or one of the `REASON_*` constants.
        reason: String,
    },
    /// The server stopped answering; retrying.
    ConnectionLost,
    /// The server answers again.
    ConnectionRestored,
    /// The server had dropped us (code 5) and we joined again; with a new identity if our token
    /// was refused (code 7), so restart pushing if `push_url` changed.
    Rejoined {
        /// Our userID now.
        user_id: String,
        /// Where to push now.
        push_url: String,
    },
}

/// How the session learns about membership changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipSource {
    /// The event channel is open.
    Events,
    /// Polling `get_pushers` (no event channel, or it is being reopened).
    Polling,
}

/// Why a session call failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The configuration lacks a field the server requires.
    #[error("`{0}` must not be empty")]
    InvalidConfig(&'static str),
    /// The API client could not be set up (e.g. a server URL that is not http or https).
    #[error("cannot set up the room session: {0}")]
    Setup(#[source] ApiError),
    /// A call to the room server failed.
    #[error("{step} failed: {source}")]
    Api {
        /// The endpoint that failed.
        step: Endpoint,
        /// How it failed.
        #[source]
        source: ApiError,
    },
    /// The server accepted us but does not list us in the room.
    #[error("joined room {room_id}, but the server does not list us in it")]
    NotListed {
        /// The room.
        room_id: String,
    },
    /// A text message must have some text.
    #[error("a text message must not be empty")]
    EmptyText,
    /// The session has ended (left, room closed, or stopped).
    #[error("the room session has ended")]
    Closed,
}

impl SessionError {
    /// The server's result code, when it answered with one (e.g. 3 for an unknown room).
    pub fn code(&self) -> Option<Code> {
        match self {
            SessionError::Api { source, .. } => source.code(),
            _ => None,
        }
    }

    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, SessionError::Api { source, .. } if source.is_transient())
    }

    pub(crate) fn api(step: Endpoint) -> impl FnOnce(ApiError) -> SessionError {
        move |source| SessionError::Api { step, source }
    }
}

/// What handles can see of the session at any time.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) identity: Identity,
    pub(crate) room_id: String,
    pub(crate) members: Vec<Member>,
    pub(crate) source: MembershipSource,
}

/// A cloneable handle to a running session.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    commands: mpsc::Sender<Command>,
    state: watch::Receiver<Snapshot>,
    keyframe_requests: broadcast::Sender<String>,
    journal: Journal,
}

impl SessionHandle {
    /// Every room API call and event-channel frame of this session (bounded), for testers.
    pub fn journal(&self) -> Journal {
        self.journal.clone()
    }

    /// Our userID (it changes only if a rejoin needed a new login).
    pub fn user_id(&self) -> String {
        self.state.borrow().identity.user_id.clone()
    }

    /// The room's ID.
    pub fn room_id(&self) -> String {
        self.state.borrow().room_id.clone()
    }

    /// The signed RTMP URL to push our stream to.
    pub fn push_url(&self) -> String {
        self.state.borrow().identity.push_url.clone()
    }

    /// Where to push our small second stream, when the server offers one (an extension).
    pub fn small_push_url(&self) -> Option<String> {
        self.state.borrow().identity.small_push_url.clone()
    }

    /// Our token.
    pub fn user_sig(&self) -> String {
        self.state.borrow().identity.user_sig.clone()
    }

    /// Everyone in the room now, creator first, us included.
    pub fn members(&self) -> Vec<Member> {
        self.state.borrow().members.clone()
    }

    /// Whether membership changes arrive by events or by polling.
    pub fn membership_source(&self) -> MembershipSource {
        self.state.borrow().source
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    /// Sends a text message to the room (ext; an original v1 server answers with an error).
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), SessionError> {
        let text = text.into();
        if text.trim().is_empty() {
            return Err(SessionError::EmptyText);
        }
        self.request(|reply| Command::SendText { text, reply })
            .await
    }

    /// Tells the room whether our stream now shows a shared screen (an `add_pusher` refresh
    /// carrying the extension field `sharingScreen`), so members can show it large. A v1
    /// server ignores the field; the state is kept and sent again with every re-join.
    pub async fn set_sharing_screen(&self, sharing: bool) -> Result<(), SessionError> {
        self.request(|reply| Command::SetSharing { sharing, reply })
            .await
    }

    /// Asks, over the event channel (ext), the publisher of `user_id`'s stream for a keyframe:
    /// we play it and have no picture yet. Never waits; false when the request could not be
    /// queued (the session ended or is busy). With no event channel open it goes nowhere.
    pub fn request_keyframe(&self, user_id: impl Into<String>) -> bool {
        self.commands
            .try_send(Command::RequestKeyframe {
                user_id: user_id.into(),
            })
            .is_ok()
    }

    /// The userIDs of members asking for a keyframe of our stream, from now on.
    pub fn keyframe_requests(&self) -> broadcast::Receiver<String> {
        self.keyframe_requests.subscribe()
    }

    /// Leaves the room and ends the session. As creator, [`LeaveMode::Leave`] hands the room
    /// over where the server offers it ([`SessionHandle::can_hand_over`]) and closes it where
    /// it does not; [`LeaveMode::EndForEveryone`] closes it.
    pub async fn leave(&self, mode: LeaveMode) -> Result<(), SessionError> {
        self.request(|reply| Command::Leave { mode, reply }).await
    }

    /// Whether we created (or inherited) the room, so our leaving closes it unless handed over.
    pub fn is_creator(&self) -> bool {
        self.state
            .borrow()
            .members
            .iter()
            .any(|m| m.is_self && m.is_creator)
    }

    /// Whether leaving now would hand the room over rather than close it: we are its creator
    /// and the server offers `hand_over_room`.
    pub fn can_hand_over(&self) -> bool {
        self.is_creator() && self.state.borrow().identity.hands_over
    }

    async fn request(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<(), SessionError>>) -> Command,
    ) -> Result<(), SessionError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| SessionError::Closed)?;
        answer.await.map_err(|_| SessionError::Closed)?
    }
}

/// Joins a room: log in, get a push URL, create or join the room, open the event channel when
/// offered, and read the member list. Returns once we are in; the first event is `Joined`.
pub async fn connect(
    config: SessionConfig,
) -> Result<(SessionHandle, mpsc::Receiver<SessionEvent>), SessionError> {
    connect_recording(config, Journal::default()).await
}

/// [`connect`], recording every API call and event-channel frame in `journal` from the first
/// login on (a failed join is recorded too).
pub async fn connect_recording(
    config: SessionConfig,
    journal: Journal,
) -> Result<(SessionHandle, mpsc::Receiver<SessionEvent>), SessionError> {
    if let Some(field) = config.missing_field() {
        return Err(SessionError::InvalidConfig(field));
    }
    let mut api = ApiClient::new(config.server.clone(), config.kind)
        .map_err(SessionError::Setup)?
        .with_journal(journal.clone());
    if config.bare_requests {
        api = api.bare();
    }
    let identity = login(&mut api).await?;
    let user_id = identity.user_id.clone();

    let (room_id, known_creator) = match &config.target {
        JoinTarget::Create { room_name } => {
            let created = api
                .create_room(&CreateRoom {
                    room_name: room_name.clone(),
                    user_id: user_id.clone(),
                    user_name: config.user_name.clone(),
                    user_avatar: config.user_avatar.clone(),
                    push_url: identity.push_url.clone(),
                })
                .await
                .map_err(SessionError::api(Endpoint::CreateRoom))?;
            (created.room_id, Some(user_id.clone()))
        }
        JoinTarget::Join { room_id } => {
            api.add_pusher(&add_pusher_request(&config, room_id, &identity))
                .await
                .map_err(SessionError::api(Endpoint::AddPusher))?;
            (room_id.clone(), None)
        }
    };
    let span = tracing::info_span!("room_session", room = %room_id);

    let channel = match config.events {
        EventMode::Off => None,
        EventMode::Auto => Some(
            events::open(
                &events::events_url(&api, &room_id, &user_id),
                api.user_sig(),
            )
            .instrument(span.clone())
            .await,
        ),
    };

    let pushers = match fetch_own_listing(&api, &room_id, &user_id).await {
        Ok(p) => p,
        Err(e) => {
            // Do not leave a ghost member behind for the others to see until it times out.
            if let Err(cleanup) = api.delete_pusher(&room_id, &user_id).await {
                tracing::debug!(parent: &span, error = %cleanup, "leaving after a failed join");
            }
            return Err(e);
        }
    };
    let creator = pushers
        .room_creator
        .clone()
        .filter(|c| !c.is_empty())
        .or(known_creator)
        .or_else(|| pushers.pushers.first().map(|p| p.user_id.clone()))
        .unwrap_or_default();
    let members = members_from_pushers(&pushers.pushers, &creator, &user_id);
    tracing::info!(parent: &span, %user_id, members = members.len(), "joined the room");

    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
    let (commands_tx, commands_rx) = mpsc::channel(COMMAND_QUEUE);
    let (keyframes_tx, _) = broadcast::channel(KEYFRAME_REQUEST_QUEUE);
    let first = SessionEvent::Joined {
        room_id: room_id.clone(),
        user_id: user_id.clone(),
        members: members.clone(),
    };
    if events_tx.try_send(first).is_err() {
        tracing::warn!(parent: &span, "the Joined event could not be queued");
    }
    let (state_tx, state_rx) = watch::channel(Snapshot {
        identity: identity.clone(),
        room_id: room_id.clone(),
        members: members.clone(),
        source: MembershipSource::Polling,
    });
    let actor = span.in_scope(|| {
        Actor::new(crate::actor::Parts {
            api,
            config,
            identity,
            room_id,
            creator,
            members,
            channel,
            state: state_tx,
            events: events_tx,
            commands: commands_rx,
            keyframe_requests: keyframes_tx.clone(),
        })
    });
    tokio::spawn(actor.run().instrument(span));
    Ok((
        SessionHandle {
            commands: commands_tx,
            state: state_rx,
            keyframe_requests: keyframes_tx,
            journal,
        },
        events_rx,
    ))
}

/// `get_im_login_info` then `get_push_url`; leaves the token in `api` when the server asked for
/// it in a header, and sends it nowhere otherwise (an original v1 server wants none).
pub(crate) async fn login(api: &mut ApiClient) -> Result<Identity, SessionError> {
    api.set_user_sig(None);
    let login = api
        .get_im_login_info(USER_ID_PREFIX)
        .await
        .map_err(SessionError::api(Endpoint::GetImLoginInfo))?;
    if login.wants_bearer_token() && !login.user_sig.is_empty() {
        api.set_user_sig(Some(login.user_sig.clone()));
    }
    let push = api
        .get_push_url(&login.user_id)
        .await
        .map_err(SessionError::api(Endpoint::GetPushUrl))?;
    let hands_over = login.offers(EXT_HAND_OVER);
    Ok(Identity {
        user_id: login.user_id,
        user_sig: login.user_sig,
        push_url: push.push_url,
        small_push_url: push.small_push_url,
        hands_over,
    })
}

pub(crate) fn add_pusher_request(
    config: &SessionConfig,
    room_id: &str,
    identity: &Identity,
) -> AddPusher {
    AddPusher {
        room_id: room_id.to_owned(),
        user_id: identity.user_id.clone(),
        user_name: config.user_name.clone(),
        user_avatar: config.user_avatar.clone(),
        push_url: identity.push_url.clone(),
        sharing_screen: false,
    }
}

async fn fetch_own_listing(
    api: &ApiClient,
    room_id: &str,
    user_id: &str,
) -> Result<Pushers, SessionError> {
    let pushers = api
        .get_pushers(room_id)
        .await
        .map_err(SessionError::api(Endpoint::GetPushers))?;
    if !pushers.pushers.iter().any(|p| p.user_id == user_id) {
        return Err(SessionError::NotListed {
            room_id: room_id.to_owned(),
        });
    }
    Ok(pushers)
}
