//! The call as the page sees it: what it asks for (a [`JoinRequest`]), the events it gets
//! back (an [`EventDto`] per [`CallEvent`]) and the figures of the stats overlay. All the work
//! is `quartet-call`'s; this module only translates and keeps the current call.

use crate::error::AppError;
use crate::lobby::{DEFAULT_AVATAR, DEFAULT_CREATE_KIND, parse_server_url, room_kind};
use quartet_call::{
    Call, CallConfig, CallEvent, CallHandle, JoinTarget, LeaveMode, LeaveOptions, QualityTracker,
    SessionConfig, Tile, VideoDecoding,
};
use quartet_proto::RoomKind;
use tokio::sync::{Mutex, mpsc};

mod request;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod typescript;
mod wire;

pub use request::*;
pub use wire::*;

struct Active {
    call: CallHandle,
    server: String,
    kind: RoomKind,
    demo: Vec<CallHandle>,
}

/// The current call (one at a time) and the demo members it brought.
#[derive(Default)]
pub struct CallService {
    active: Mutex<Option<Active>>,
    /// Each tile's quality indicator, kept between the page's looks at the figures.
    quality: std::sync::Mutex<QualityTracker>,
}

impl CallService {
    /// Starts a call; its events go to `on_event` until it ends.
    pub async fn start(
        &self,
        request: JoinRequest,
        on_event: impl Fn(EventDto) -> bool + Send + 'static,
    ) -> Result<CallInfo, AppError> {
        let mut active = self.active.lock().await;
        if active.as_ref().is_some_and(|a| !a.call.is_ended()) {
            return Err(AppError::AlreadyInCall);
        }
        let kind = match &request.target {
            TargetChoice::Join {
                room_id,
                room_kind: known,
            } => room_kind(&request.server, room_id.trim(), *known).await?,
            create => create.known_kind().unwrap_or(DEFAULT_CREATE_KIND),
        };
        let config = request.config(kind)?;
        let (call, events) = Call::start(config).await?;
        tokio::spawn(forward(events, on_event));
        let info = CallInfo::of(&call);
        *active = Some(Active {
            call,
            server: request.server,
            kind,
            demo: Vec::new(),
        });
        Ok(info)
    }

    /// The current call.
    pub async fn current(&self) -> Result<CallHandle, AppError> {
        match self.active.lock().await.as_ref() {
            Some(a) => Ok(a.call.clone()),
            None => Err(AppError::NoCall),
        }
    }

    /// Remote tile `slot` of the current call; an empty tile is bad input.
    pub async fn played(&self, user_id: &str) -> Result<Tile, AppError> {
        self.current()
            .await?
            .played(user_id)
            .ok_or_else(|| AppError::InvalidInput(format!("{user_id} is not shown")))
    }

    /// The current call's figures, each tile with its connection quality.
    pub async fn stats(&self) -> Result<StatsDto, AppError> {
        let call = self.current().await?;
        let mut tracker = self
            .quality
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(StatsDto::with_quality(&call, &mut tracker))
    }

    /// Adds synthetic members named `names` to the current room (a presenter with no camera
    /// fills the grid). They leave with us.
    pub async fn add_demo_members(&self, names: &[String]) -> Result<usize, AppError> {
        let (server, room_id, kind) = {
            let active = self.active.lock().await;
            let a = active.as_ref().ok_or(AppError::NoCall)?;
            (a.server.clone(), a.call.room_id(), a.kind)
        };
        let mut started = Vec::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let session = SessionConfig::new(
                parse_server_url(&server)?,
                kind,
                JoinTarget::Join {
                    room_id: room_id.clone(),
                },
                name,
                DEFAULT_AVATAR,
            );
            let mut config = CallConfig::synthetic(session);
            // Nobody looks at what the demo members receive.
            config.media.video_decoding = VideoDecoding::Off;
            match Call::start(config).await {
                Ok((call, events)) => {
                    tokio::spawn(forward(events, |_| true));
                    started.push(call);
                }
                Err(e) => {
                    log::warn!("demo member {name} could not join: {e}");
                    if started.is_empty() {
                        return Err(e.into());
                    }
                    break;
                }
            }
        }
        let count = started.len();
        match self.active.lock().await.as_mut() {
            Some(a) => a.demo.extend(started),
            None => leave_all(started).await,
        }
        Ok(count)
    }

    /// Leaves the current call as `mode` says (and takes the demo members along); nothing to do
    /// without one.
    pub async fn leave(&self, mode: LeaveMode) -> Result<(), AppError> {
        let Some(active) = self.active.lock().await.take() else {
            return Ok(());
        };
        leave_all(active.demo).await;
        active.call.leave(mode).await.map_err(AppError::from)
    }

    /// How leaving the current call would go, without waiting: `None` with no call, or while
    /// a join or leave holds the call (the window must never freeze on a close).
    pub fn leave_options_now(&self) -> Option<LeaveOptions> {
        let active = self.active.try_lock().ok()?;
        active.as_ref().map(|a| a.call.leave_options())
    }
}

async fn leave_all(calls: Vec<CallHandle>) {
    for call in calls {
        if let Err(e) = call.leave(LeaveMode::Leave).await {
            log::warn!("a demo member left badly: {e}");
        }
    }
}

async fn forward(mut events: mpsc::Receiver<CallEvent>, on_event: impl Fn(EventDto) -> bool) {
    while let Some(event) = events.recv().await {
        log::debug!(
            "call event: {}",
            quartet_proto::redact::scrub(&format!("{event:?}"))
        );
        if !on_event(event.into()) {
            break;
        }
    }
}
