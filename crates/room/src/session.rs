//! A session in one room: [`connect`] joins and returns a [`SessionHandle`] and a receiver of
//! [`SessionEvent`]s; an actor keeps the membership alive and in sync until the room closes,
//! [`SessionHandle::leave`] is called, or every handle is dropped.

use crate::actor::{Actor, Command, Snapshot};
use crate::api::ApiClient;
use crate::config::{EventMode, JoinTarget, SessionConfig};
use crate::events;
pub use crate::identity::USER_ID_PREFIX;
use crate::identity::{Identity, add_pusher_request, login, settle_in};
use crate::journal::Journal;
use crate::leave::LeaveMode;
use crate::members::{Member, members_from_pushers};
pub use crate::report::{
    MembershipSource, REASON_NOT_LISTED, REASON_REJOIN_REFUSED, REASON_ROOM_GONE, SessionError,
    SessionEvent,
};
use quartet_proto::{CreateRoom, Endpoint, Pushers};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::Instrument;

/// stays exact regardless).
pub const EVENT_QUEUE: usize = 256;
/// Commands from handles waiting for the actor.
pub const COMMAND_QUEUE: usize = 16;
/// Keyframe requests from others held for a slow reader before older ones are lost: several
/// requests mean the same thing as one, so losing some loses nothing.
pub const KEYFRAME_REQUEST_QUEUE: usize = 16;

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
    let mut api = api_client(&config, &journal)?;
    let mut identity = login(&mut api).await?;
    let user_id = identity.user_id.clone();
    let (room_id, known_creator) = enter_room(&api, &config, &identity).await?;
    if let Err(e) = settle_in(&api, &mut identity, &room_id).await {
        // Without a push URL on the room's relay no one could see us: leave, leaving no ghost.
        if let Err(cleanup) = api.delete_pusher(&room_id, &user_id).await {
            tracing::debug!(error = %cleanup, "leaving after no push URL for the room");
        }
        return Err(e);
    }
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

    let (creator, members) = read_members(&api, &room_id, &user_id, known_creator, &span).await?;
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

/// The API client `config` asks for, recording into `journal`; refuses a configuration that
/// lacks a field the server requires before anything is sent.
fn api_client(config: &SessionConfig, journal: &Journal) -> Result<ApiClient, SessionError> {
    if let Some(field) = config.missing_field() {
        return Err(SessionError::InvalidConfig(field));
    }
    let mut api = ApiClient::new(config.server.clone(), config.kind)
        .map_err(SessionError::Setup)?
        .with_journal(journal.clone());
    if config.bare_requests {
        api = api.bare();
    }
    Ok(api)
}

/// Creates or joins the room `config` targets; its id and, when we created it, its creator.
async fn enter_room(
    api: &ApiClient,
    config: &SessionConfig,
    identity: &Identity,
) -> Result<(String, Option<String>), SessionError> {
    let user_id = &identity.user_id;
    match &config.target {
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
            Ok((created.room_id, Some(user_id.clone())))
        }
        JoinTarget::Join { room_id } => {
            api.add_pusher(&add_pusher_request(config, room_id, identity))
                .await
                .map_err(SessionError::api(Endpoint::AddPusher))?;
            Ok((room_id.clone(), None))
        }
    }
}

/// The room's creator and members once the server lists us; when it does not, we leave again
/// before failing.
async fn read_members(
    api: &ApiClient,
    room_id: &str,
    user_id: &str,
    known_creator: Option<String>,
    span: &tracing::Span,
) -> Result<(String, Vec<Member>), SessionError> {
    let pushers = match fetch_own_listing(api, room_id, user_id).await {
        Ok(p) => p,
        Err(e) => {
            // Do not leave a ghost member behind for the others to see until it times out.
            if let Err(cleanup) = api.delete_pusher(room_id, user_id).await {
                tracing::debug!(parent: span, error = %cleanup, "leaving after a failed join");
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
    let members = members_from_pushers(&pushers.pushers, &creator, user_id);
    Ok((creator, members))
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
