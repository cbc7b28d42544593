//! What the server keeps beyond its process: restoring from a store, and answering whether a
//! signed URL was revoked since it was issued.

use super::{Server, unix_now};
use crate::config::ServerConfig;
use crate::liveness::StreamLiveness;
use crate::rooms::Registry;
use crate::store::{self, RoomStore, StoreContents, StoreError};
use quartet_proto::sign::StreamVariant;
use quartet_relay::StreamLabel;
use std::sync::Arc;
use tokio::time::Instant;

/// The unix millisecond after the newest one in the IDs of `contents` (`room_<ms>_<n>`,
/// `user_<ms>_<n>`); IDs of other shapes (anonymous v1 clients choose their own) are skipped.
fn id_floor(contents: &StoreContents) -> u64 {
    let ms = |id: &str| id.split('_').nth(1).and_then(|ms| ms.parse::<u64>().ok());
    let rooms = contents.rooms.iter().map(|r| r.id.as_str());
    let members = contents
        .rooms
        .iter()
        .flat_map(|r| r.members.iter().map(|m| m.user_id.as_str()));
    let revoked = contents.revoked_before.keys().map(String::as_str);
    rooms
        .chain(members)
        .chain(revoked)
        .filter_map(ms)
        .max()
        .map_or(0, |newest| newest.saturating_add(1))
}

impl Server {
    /// A server with the rooms, members and revocations `store` holds, writing every change
    /// through to it. Each restored member has a full heartbeat timeout to be heard from.
    pub fn restore(
        config: ServerConfig,
        liveness: Arc<dyn StreamLiveness>,
        store: Arc<dyn RoomStore>,
    ) -> Result<Server, StoreError> {
        let contents = store.load()?;
        let floor = id_floor(&contents);
        let registry = Registry::restore(contents, Instant::now());
        let (rooms, members) = (
            registry.len(),
            registry.rooms().map(|r| r.members().len()).sum::<usize>(),
        );
        if rooms > 0 {
            tracing::info!(rooms, members, "rooms restored from the store");
        }
        let server = Self::build(config, liveness, store, registry, floor);
        server.prune_revocations();
        Ok(server)
    }

    /// Opens the storage `config.storage` names (taking its keys where `config` has none of
    /// its own, see [`store::open_storage`]) and restores the server from it.
    pub fn open(
        mut config: ServerConfig,
        liveness: Arc<dyn StreamLiveness>,
    ) -> Result<Server, StoreError> {
        let store = store::open_storage(&mut config)?;
        Self::restore(config, liveness, store)
    }

    /// Whether a signed URL of `stream_id` (`{bizid}_{userID}`, or its small stream's
    /// `{bizid}_{userID}-small`) that expires at `expires_at_unix` is still honoured: not if its
    /// user left its last room (or was evicted) after it was issued. Its issue time is taken as
    /// expiry − `url_valid`. Streams not named after a user of this server are not the server's
    /// to refuse; a small stream is refused outright where none is offered.
    pub fn stream_admitted(&self, stream_id: &str, expires_at_unix: u64) -> bool {
        let Some((user_id, variant)) = self.inner.signer.owner(stream_id) else {
            return true;
        };
        if variant == StreamVariant::Small && !self.inner.config.small_streams {
            return false;
        }
        let issued = expires_at_unix.saturating_sub(self.inner.config.url_valid.as_secs());
        self.registry().admitted(user_id, issued)
    }

    /// What `stream_id` is, for a recording's file name: whose and in which room, or a small
    /// copy of a member's stream (see [`quartet_relay::StreamLabel`]).
    pub fn stream_label(&self, stream_id: &str) -> StreamLabel {
        let Some((user_id, variant)) = self.inner.signer.owner(stream_id) else {
            return StreamLabel::Unknown;
        };
        if variant == StreamVariant::Small {
            return StreamLabel::Copy;
        }
        let registry = self.registry();
        registry
            .rooms()
            .find_map(|room| {
                room.members()
                    .iter()
                    .find(|m| m.profile.user_id == user_id)
                    .map(|m| StreamLabel::Member {
                        room: room.id.clone(),
                        member: m.profile.user_name.clone(),
                    })
            })
            .unwrap_or(StreamLabel::Unknown)
    }

    /// Forgets revocations older than any URL still valid; returns how many.
    pub(crate) fn prune_revocations(&self) -> usize {
        let horizon = unix_now()
            .saturating_sub(self.inner.config.url_valid)
            .as_secs();
        self.registry()
            .prune_revocations(horizon, &*self.inner.store)
    }
}
