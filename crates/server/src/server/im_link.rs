//! The server's side of Tencent Cloud IM: the credentials `get_im_login_info` hands out, the
//! IM sigs accepted as tokens, and the bridge actor waiting for [`crate::run`] to start it.

use super::{ACC_TYPE, SDK_APP_ID, Server, lock, unix_now};
use crate::config::ServerConfig;
use crate::im::ImActor;
use crate::im::sig::{SigError, SigKey};
use crate::rooms::Feed;
use std::sync::Mutex;

/// What the server keeps of its IM application.
pub(super) struct ImLink {
    key: SigKey,
    acc_type: String,
    /// Taken by [`Server::take_im_actor`] when the server starts serving.
    actor: Mutex<Option<ImActor>>,
}

impl ImLink {
    /// The link `config` asks for, if any, and the feed the registry must tell its changes to
    /// (none without IM).
    pub(super) fn new(config: &ServerConfig) -> (Option<ImLink>, Feed) {
        let Some(im) = &config.im else {
            return (None, Feed::default());
        };
        let (actor, feed) = match ImActor::new(im) {
            Ok((actor, feed)) => (Some(actor), feed),
            Err(e) => {
                tracing::error!(error = %e, "IM REST client could not be set up; no IM calls will be made");
                (None, Feed::default())
            }
        };
        tracing::info!(sdk_app_id = im.sdk_app_id, admin = %im.admin, api = %im.api_base, "Tencent Cloud IM enabled");
        let link = ImLink {
            key: im.sig_key(),
            acc_type: im.acc_type.clone(),
            actor: Mutex::new(actor),
        };
        (Some(link), feed)
    }
}

/// The IM credentials of a new user: `sdkAppID`, `accType` and `userSig`.
pub(super) struct ImLogin {
    pub sdk_app_id: u64,
    pub acc_type: String,
    pub user_sig: Option<String>,
}

impl Server {
    /// The IM bridge actor, once: whoever serves the server runs it.
    pub(crate) fn take_im_actor(&self) -> Option<ImActor> {
        lock(&self.inner.im.as_ref()?.actor).take()
    }

    /// The IM application's answer for `user_id` valid until `expiry` (unix seconds), or v1's
    /// "no IM" answer (`sdkAppID` 0, and the caller issues its own token).
    pub(super) fn im_login(&self, user_id: &str, expiry: u64) -> ImLogin {
        match &self.inner.im {
            Some(im) => {
                let now = unix_now().as_secs();
                ImLogin {
                    sdk_app_id: im.key.sdk_app_id(),
                    acc_type: im.acc_type.clone(),
                    user_sig: Some(im.key.sign(user_id, now, expiry.saturating_sub(now))),
                }
            }
            None => ImLogin {
                sdk_app_id: SDK_APP_ID,
                acc_type: ACC_TYPE.to_owned(),
                user_sig: None,
            },
        }
    }

    /// Checks `token` as an IM sig for `user_id`: `None` when there is no IM or the token is
    /// not shaped like one (so it is judged as the server's own token instead).
    pub(super) fn check_im_sig(&self, token: &str, user_id: &str) -> Option<Result<(), SigError>> {
        let im = self.inner.im.as_ref()?;
        crate::im::sig::decode(token).ok()?;
        Some(
            im.key
                .verify(token, user_id, unix_now().as_secs())
                .map(drop),
        )
    }
}
