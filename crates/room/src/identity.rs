//! Who we are on the room server: signing in (login, then a push URL) and the `add_pusher`
//! request that names us, run by the first join and by a rejoin alike.

use crate::api::{ApiClient, ApiError};
use crate::config::SessionConfig;
use crate::report::SessionError;
use quartet_proto::{AddPusher, EXT_HAND_OVER, EXT_ROOM_RELAY, Endpoint, PushUrl};

/// Prefix asked for in `get_im_login_info` (servers may ignore it).
pub const USER_ID_PREFIX: &str = "quartet";

/// Who we are on the server.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) user_id: String,
    pub(crate) user_sig: String,
    pub(crate) push_url: String,
    pub(crate) small_push_url: Option<String>,
    /// The server offers `hand_over_room`, so our leaving need not close a room we created.
    pub(crate) hands_over: bool,
    /// Each room's streams live on that room's relay: push URLs are asked for with its roomID.
    pub(crate) room_relay: bool,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use quartet_proto::redact::{HIDDEN, Redacted};
        f.debug_struct("Identity")
            .field("user_id", &self.user_id)
            .field("user_sig", &HIDDEN)
            .field("push_url", &Redacted(&self.push_url))
            .field(
                "small_push_url",
                &self.small_push_url.as_deref().map(Redacted),
            )
            .field("hands_over", &self.hands_over)
            .field("room_relay", &self.room_relay)
            .finish()
    }
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
        room_relay: login.offers(EXT_ROOM_RELAY),
        user_id: login.user_id,
        user_sig: login.user_sig,
        push_url: push.push_url,
        small_push_url: push.small_push_url,
        hands_over,
    })
}

/// A push URL for `identity` in room `room_id`: on the room's relay where the server keeps
/// rooms on several, else as `get_push_url` without a room says.
pub(crate) async fn push_url_in(
    api: &ApiClient,
    identity: &Identity,
    room_id: &str,
) -> Result<PushUrl, ApiError> {
    if identity.room_relay {
        api.get_room_push_url(&identity.user_id, room_id).await
    } else {
        api.get_push_url(&identity.user_id).await
    }
}

/// Moves `identity`'s stream to room `room_id`'s relay, when rooms have relays of their own.
pub(crate) async fn settle_in(
    api: &ApiClient,
    identity: &mut Identity,
    room_id: &str,
) -> Result<(), SessionError> {
    if !identity.room_relay {
        return Ok(());
    }
    let push = push_url_in(api, identity, room_id)
        .await
        .map_err(SessionError::api(Endpoint::GetPushUrl))?;
    identity.push_url = push.push_url;
    identity.small_push_url = push.small_push_url;
    Ok(())
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
