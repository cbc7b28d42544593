//! The follower of a shared store's notes, owned by [`crate::run`]: every room change and room
//! event another server makes reaches this server's copy and its sockets. After the channel was
//! lost (Redis restarted, the network failed), the whole copy is brought up to the store first,
//! since notes sent meanwhile are gone.

use crate::server::Server;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures_util::StreamExt;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// First wait before subscribing again after the channel was lost.
pub const FOLLOW_RETRY_MIN: Duration = Duration::from_millis(100);
/// Longest wait between attempts to subscribe again.
pub const FOLLOW_RETRY_MAX: Duration = Duration::from_secs(5);

/// Follows the notes of `server`'s shared store until `stop` is cancelled.
pub(crate) struct NoteFollower {
    pub(crate) server: Server,
    pub(crate) url: String,
    pub(crate) stop: CancellationToken,
    /// Told once the first subscription stands, so no note sent after it is missed.
    pub(crate) ready: Option<tokio::sync::oneshot::Sender<()>>,
}

impl NoteFollower {
    pub(crate) async fn run(mut self) {
        let client = match redis::Client::open(self.url.as_str()) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "cannot follow the shared store's notes");
                return;
            }
        };
        let mut delays = self.delays();
        let mut lost = false;
        loop {
            let subscribed = tokio::select! {
                () = self.stop.cancelled() => return,
                r = subscribe(&client) => r,
            };
            let mut pubsub = match subscribed {
                Ok(pubsub) => pubsub,
                Err(e) => {
                    let pause = delays.next().unwrap_or(FOLLOW_RETRY_MAX);
                    tracing::warn!(error = %e, ?pause, "cannot subscribe to the shared store's notes");
                    tokio::select! {
                        () = self.stop.cancelled() => return,
                        () = tokio::time::sleep(pause) => continue,
                    }
                }
            };
            delays = self.delays();
            if let Some(ready) = self.ready.take() {
                let _ = ready.send(());
            }
            if lost && !self.catch_up().await {
                return;
            }
            let mut notes = pubsub.on_message();
            loop {
                tokio::select! {
                    () = self.stop.cancelled() => return,
                    note = notes.next() => match note {
                        Some(note) => self.server.take_note(note.get_payload_bytes()),
                        None => break,
                    },
                }
            }
            tracing::warn!("lost the shared store's notes channel; subscribing again");
            lost = true;
        }
    }

    /// Brings the whole copy up to the store, since notes sent while the channel was down are
    /// gone; tried again with backoff, as the store may still be coming back (a restarted
    /// Redis first fails every connection made before it). False once stopped.
    async fn catch_up(&self) -> bool {
        let mut delays = self.delays();
        loop {
            let server = self.server.clone();
            match tokio::task::spawn_blocking(move || server.resync_all()).await {
                Ok(Ok(rooms)) => {
                    tracing::info!(rooms, "notes channel back; rooms brought up to the store");
                    return true;
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "could not bring rooms up to the store yet");
                }
                Err(e) => {
                    tracing::error!(error = %e, "bringing rooms up to the store failed");
                    return true;
                }
            }
            let pause = delays.next().unwrap_or(FOLLOW_RETRY_MAX);
            tokio::select! {
                () = self.stop.cancelled() => return false,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_min_delay(FOLLOW_RETRY_MIN)
            .with_max_delay(FOLLOW_RETRY_MAX)
            .without_max_times()
            .build()
    }
}

async fn subscribe(client: &redis::Client) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(crate::store::NOTES_CHANNEL).await?;
    Ok(pubsub)
}
