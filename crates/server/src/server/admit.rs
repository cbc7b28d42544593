//! Who may make a request: its token for the acting user, a fresh nonce against replay, and
//! the per-user quota of rooms.

use super::{Refusal, Server, lock, millis, unix_now};
use crate::im::sig::SigError;
use crate::quota::MAX_ROOMS_PER_USER;
use crate::rooms::Registry;
use quartet_proto::nonce::NONCE_FIELD;
use quartet_proto::token::TokenError;
use quartet_proto::{Endpoint, Fields, FieldsError, Request};

/// Why a call was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthError {
    /// No token, and anonymous calls are refused.
    #[error(
        "userSig required: pass the one from get_im_login_info as the userSig field or an Authorization: Bearer header"
    )]
    Missing,
    /// The token did not verify for the acting user.
    #[error("{0}")]
    Invalid(#[from] TokenError),
    /// The token, an IM userSig, did not verify for the acting user.
    #[error("{0}")]
    ImSig(#[from] SigError),
}

/// A request's nonce that this server had not seen, still to be claimed across servers.
pub(super) struct Claim {
    /// The acting user.
    pub user: String,
    /// The nonce.
    pub nonce: String,
    /// Its unix ms.
    pub at: u64,
}

impl Server {
    /// Reads a request and, for a mutating one, checks the caller may act for its user.
    pub(super) fn accept<R: Request>(
        &self,
        fields: &Fields,
        token: Option<&str>,
    ) -> Result<R, Refusal> {
        let (request, claim) = self.accept_unclaimed(fields, token)?;
        if let Some(claim) = claim {
            self.claim_nonce_shared(&claim)?;
        }
        Ok(request)
    }

    /// As [`Server::accept`], but leaves the nonce's claim in the shared store to the caller,
    /// which makes it together with its own work in one round trip.
    pub(super) fn accept_unclaimed<R: Request>(
        &self,
        fields: &Fields,
        token: Option<&str>,
    ) -> Result<(R, Option<Claim>), Refusal> {
        let request = R::from_fields(fields)?;
        let mut claim = None;
        if R::ENDPOINT.is_mutating() {
            self.authorize(request.acting_user(), token)?;
            claim = self.check_nonce(R::ENDPOINT, request.acting_user(), fields)?;
        }
        Ok((request, claim))
    }

    /// Refuses a replayed request: a strict server requires a fresh nonce where
    /// [`Endpoint::needs_nonce`]; otherwise one is checked when present. Returns the nonce
    /// this server had not seen, for the shared store to check across servers.
    fn check_nonce(
        &self,
        endpoint: Endpoint,
        user_id: Option<&str>,
        fields: &Fields,
    ) -> Result<Option<Claim>, Refusal> {
        match fields.optional(NONCE_FIELD) {
            Some(nonce) => {
                let user = user_id.unwrap_or_default();
                let at = lock(&self.inner.nonces).check(user, &nonce, millis(unix_now()))?;
                Ok(Some(Claim {
                    user: user.to_owned(),
                    nonce,
                    at,
                }))
            }
            None if endpoint.needs_nonce() && !self.inner.config.allow_anonymous => {
                Err(FieldsError::Missing("nonce").into())
            }
            None => Ok(None),
        }
    }

    /// Refuses a new membership of a user already in [`MAX_ROOMS_PER_USER`] rooms.
    pub(super) fn check_rooms_held(registry: &Registry, user_id: &str) -> Result<(), Refusal> {
        let held = registry.rooms_of(user_id);
        if held >= MAX_ROOMS_PER_USER {
            return Err(Refusal::TooManyRoomsForUser {
                user_id: user_id.to_owned(),
                held,
            });
        }
        Ok(())
    }

    /// Whether `token` lets its bearer act for `user_id`.
    pub(crate) fn authorize(
        &self,
        user_id: Option<&str>,
        token: Option<&str>,
    ) -> Result<(), AuthError> {
        let user_id = user_id.unwrap_or_default();
        match token {
            Some(token) => match self.check_im_sig(token, user_id) {
                Some(checked) => Ok(checked?),
                None => Ok(self
                    .inner
                    .tokens
                    .verify_for(token, user_id, unix_now().as_secs())?),
            },
            None if self.inner.config.allow_anonymous => Ok(()),
            None => Err(AuthError::Missing),
        }
    }
}
