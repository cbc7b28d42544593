//! The eviction sweeper owned by [`crate::run`]: a periodic sweep for members kept by their
//! stream, and a check at the very instant a member may stop being present (its heartbeat
//! timeout, or the end of its socket grace), so eviction does not wait for the next period.

use crate::MIN_CHECK_INTERVAL;
use crate::server::Server;
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until};

/// Sweeps until `stop` fires.
pub(crate) struct Sweeper {
    pub(crate) server: Server,
    pub(crate) stop: oneshot::Receiver<()>,
}

impl Sweeper {
    pub(crate) async fn run(mut self) {
        let period = self.server.config().check_interval.max(MIN_CHECK_INTERVAL);
        let mut tick_at = Instant::now() + period;
        loop {
            let wake_at = self
                .server
                .next_check()
                .map_or(tick_at, |due| due.min(tick_at));
            tokio::select! {
                _ = &mut self.stop => break,
                // Replan: a socket closed, so some member's check may now come sooner.
                () = self.server.check_moved() => continue,
                () = sleep_until(wake_at) => {}
            }
            let evicted = self.server.sweep();
            if evicted > 0 {
                tracing::debug!(evicted, "sweep evicted members");
            }
            let now = Instant::now();
            if now >= tick_at {
                tick_at = now + period;
                let pruned = self.server.prune_revocations();
                if pruned > 0 {
                    tracing::debug!(pruned, "expired revocations forgotten");
                }
            }
        }
    }
}
