//! The IM bridge: takes the room engine's changes off a bounded queue and makes the original's
//! REST calls for each, in order, retrying while IM is unreachable.

use super::ImConfig;
use super::rest::{ImCall, ImError, ImRest};
use crate::rooms::{Feed, RoomChange};
use backon::{ExponentialBuilder, Retryable};
use quartet_proto::event::CloseReason;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Changes waiting for their IM calls; beyond it, new changes are dropped (and logged) rather
/// than wait: a full queue means IM has been unreachable for a while, and a member change it
/// missed is made good by the next one, which tells clients to refetch the whole list.
pub const IM_QUEUE: usize = 256;
/// Retries of a call that failed for want of IM (unreachable, HTTP 5xx or 429).
pub const IM_RETRIES: usize = 3;
/// First pause before a retry; it doubles up to [`IM_RETRY_MAX`].
pub const IM_RETRY_MIN: Duration = Duration::from_millis(200);
/// Longest pause between retries.
pub const IM_RETRY_MAX: Duration = Duration::from_secs(5);
/// Longest time shutdown gives the queued calls (the groups of the rooms it closed) to go out.
pub const IM_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The original's calls for one change, in its order: a group on creation, a notice on a
/// member change, the group's text message, and on close the group destroyed — after a notice
/// when the creator timed out, as the original's eviction timer did.
pub fn calls_for(change: RoomChange, random: u32) -> Vec<ImCall> {
    match change {
        RoomChange::Created { room_id, .. } => vec![ImCall::CreateGroup { group_id: room_id }],
        RoomChange::Members { room_id } => vec![ImCall::NotifyPusherChange { group_id: room_id }],
        RoomChange::Text {
            room_id,
            user_id,
            head,
            text,
        } => vec![ImCall::SendText {
            group_id: room_id,
            from: user_id,
            head,
            text,
            random,
        }],
        RoomChange::Closed {
            room_id,
            reason: CloseReason::CreatorTimedOut,
        } => vec![
            ImCall::NotifyPusherChange {
                group_id: room_id.clone(),
            },
            ImCall::DestroyGroup { group_id: room_id },
        ],
        RoomChange::Closed { room_id, .. } => vec![ImCall::DestroyGroup { group_id: room_id }],
    }
}

/// The actor: its REST client and its end of the change queue.
pub(crate) struct ImActor {
    rest: ImRest,
    changes: mpsc::Receiver<RoomChange>,
}

impl ImActor {
    /// An actor for `config` and the feed the registry tells its changes to.
    pub fn new(config: &ImConfig) -> Result<(ImActor, Feed), ImError> {
        let rest = ImRest::new(&config.api_base, &config.admin, config.sig_key())?;
        let (feed, changes) = Feed::bounded(IM_QUEUE);
        Ok((ImActor { rest, changes }, feed))
    }

    /// Makes the calls of every change until `stop`; then gives the call in flight and what
    /// is still queued [`IM_DRAIN_TIMEOUT`] to go out.
    pub async fn run(self, stop: CancellationToken) {
        let ImActor { rest, mut changes } = self;
        tracing::info!("IM bridge running");
        loop {
            let change = tokio::select! {
                () = stop.cancelled() => break,
                change = changes.recv() => change,
            };
            let Some(change) = change else {
                return;
            };
            let in_flight = apply(&rest, change);
            tokio::pin!(in_flight);
            tokio::select! {
                () = &mut in_flight => continue,
                () = stop.cancelled() => {}
            }
            changes.close();
            let finished = tokio::time::timeout(IM_DRAIN_TIMEOUT, async {
                in_flight.await;
                drain(&rest, &mut changes).await;
            })
            .await;
            report_drain(finished.is_ok(), &changes);
            return;
        }
        changes.close();
        let finished = tokio::time::timeout(IM_DRAIN_TIMEOUT, drain(&rest, &mut changes)).await;
        report_drain(finished.is_ok(), &changes);
    }
}

async fn drain(rest: &ImRest, changes: &mut mpsc::Receiver<RoomChange>) {
    while let Some(change) = changes.recv().await {
        apply(rest, change).await;
    }
}

fn report_drain(finished: bool, changes: &mpsc::Receiver<RoomChange>) {
    if finished {
        tracing::info!("IM bridge stopped");
    } else {
        tracing::warn!(
            left = changes.len(),
            "IM bridge stopped before every queued call went out"
        );
    }
}

/// Makes the calls of `change`, each retried while IM is unreachable; failures are logged (by
/// call, group and IM's error: never the URL, whose query holds the admin's sig).
async fn apply(rest: &ImRest, change: RoomChange) {
    for call in calls_for(change, rand::random()) {
        let sent = (|| rest.send(&call))
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(IM_RETRY_MIN)
                    .with_max_delay(IM_RETRY_MAX)
                    .with_max_times(IM_RETRIES),
            )
            .when(ImError::is_transient)
            .notify(|e, pause| {
                tracing::debug!(call = call.name(), group = call.group_id(), error = %e, ?pause, "IM call failed; retrying");
            })
            .await;
        match sent {
            Ok(()) => tracing::debug!(call = call.name(), group = call.group_id(), "IM call made"),
            Err(e) => {
                tracing::warn!(call = call.name(), group = call.group_id(), error = %e, "IM call failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quartet_proto::event::TextHead;

    fn names(change: RoomChange) -> Vec<&'static str> {
        calls_for(change, 1).iter().map(ImCall::name).collect()
    }

    #[test]
    fn each_change_makes_the_originals_calls_in_its_order() {
        let room = || "room_1".to_owned();
        assert_eq!(
            names(RoomChange::Created {
                kind: quartet_proto::RoomKind::MultiRoom,
                room_id: room()
            }),
            ["create_group"]
        );
        assert_eq!(
            names(RoomChange::Members { room_id: room() }),
            ["send_group_system_notification"]
        );
        assert_eq!(
            names(RoomChange::Text {
                room_id: room(),
                user_id: "u".into(),
                head: TextHead::default(),
                text: "t".into()
            }),
            ["send_group_msg"]
        );
        for reason in [
            CloseReason::Destroyed,
            CloseReason::CreatorLeft,
            CloseReason::ServerShutdown,
        ] {
            assert_eq!(
                names(RoomChange::Closed {
                    room_id: room(),
                    reason
                }),
                ["destroy_group"],
                "{reason:?}"
            );
        }
        assert_eq!(
            names(RoomChange::Closed {
                room_id: room(),
                reason: CloseReason::CreatorTimedOut
            }),
            ["send_group_system_notification", "destroy_group"]
        );
    }
}
