//! The delay stage: a TUN device inside the member's namespace whose reader holds each packet for
//! its direction's delay and then writes it back, because this kernel has no `netem`.
//!
//! The namespace's policy routing sends every packet between the two ends of the link through
//! the device once (see `setup::route_through_delay`); what comes back out of it is routed on as
//! if nothing had happened, only later.

use std::collections::VecDeque;
use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tun_rs::{InterruptEvent, SyncDevice};

use crate::profile::Direction;

/// Packets held per direction at most: with a long delay on a fast link the stage would
/// otherwise hold everything TCP sends; past this it drops, as a full router queue does
/// (8192 full-size packets is about 12 MiB, over 100 ms of a 1 Gbit/s veth).
pub const MAX_HELD_PACKETS: usize = 8192;
/// Longest the reader waits for a packet before it looks at its queues and its stop flag again.
const IDLE_WAIT: Duration = Duration::from_millis(20);
/// Largest packet read from the device: its MTU is the veth's 1500, so this is ample.
const READ_BUFFER: usize = 65_536;

/// The one-way delays the reader applies, changeable while it runs.
#[derive(Debug, Default)]
pub(crate) struct Delays {
    uplink_us: AtomicU64,
    downlink_us: AtomicU64,
}

impl Delays {
    /// Sets the delay of one direction; packets already held keep theirs.
    pub(crate) fn set(&self, direction: Direction, delay: Duration) {
        let us = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.slot(direction).store(us, Ordering::Relaxed);
    }

    fn get(&self, direction: Direction) -> Duration {
        Duration::from_micros(self.slot(direction).load(Ordering::Relaxed))
    }

    fn slot(&self, direction: Direction) -> &AtomicU64 {
        match direction {
            Direction::Uplink => &self.uplink_us,
            Direction::Downlink => &self.downlink_us,
        }
    }
}

/// The running reader thread; stopped and joined on drop.
pub(crate) struct DelayStage {
    stop: Arc<AtomicBool>,
    wake: Arc<InterruptEvent>,
    thread: Option<JoinHandle<()>>,
}

impl DelayStage {
    /// Starts the reader on `device`; packets addressed to `host` travel up, all others down.
    pub(crate) fn start(
        name: String,
        device: SyncDevice,
        host: Ipv4Addr,
        delays: Arc<Delays>,
    ) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(InterruptEvent::new()?);
        let reader = Reader {
            device,
            host,
            delays,
            stop: stop.clone(),
            wake: wake.clone(),
            uplink: VecDeque::new(),
            downlink: VecDeque::new(),
        };
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || reader.run())?;
        Ok(Self {
            stop,
            wake,
            thread: Some(thread),
        })
    }
}

impl Drop for DelayStage {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // If the wake-up fails the reader still sees the flag within IDLE_WAIT.
        let _ = self.wake.trigger();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Reader {
    device: SyncDevice,
    host: Ipv4Addr,
    delays: Arc<Delays>,
    stop: Arc<AtomicBool>,
    wake: Arc<InterruptEvent>,
    uplink: VecDeque<(Instant, Vec<u8>)>,
    downlink: VecDeque<(Instant, Vec<u8>)>,
}

impl Reader {
    fn run(mut self) {
        let mut buf = vec![0u8; READ_BUFFER];
        while !self.stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            self.release(now);
            let wait = [self.uplink.front(), self.downlink.front()]
                .into_iter()
                .flatten()
                .map(|(due, _)| due.saturating_duration_since(now))
                .fold(IDLE_WAIT, Duration::min);
            if wait.is_zero() {
                continue;
            }
            match self
                .device
                .recv_intr_timeout(&mut buf, &self.wake, Some(wait))
            {
                Ok(n) => self.hold(&buf[..n]),
                Err(e) if is_transient(&e) => {}
                Err(e) => {
                    tracing::warn!("netlab delay stage stops: {e}");
                    return;
                }
            }
        }
    }

    fn hold(&mut self, packet: &[u8]) {
        // Only IPv4 crosses the lab; anything else (the device's own IPv6 chatter) is dropped.
        if packet.len() < 20 || packet[0] >> 4 != 4 {
            return;
        }
        let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
        let direction = if dst == self.host {
            Direction::Uplink
        } else {
            Direction::Downlink
        };
        let delay = self.delays.get(direction);
        let queue = match direction {
            Direction::Uplink => &mut self.uplink,
            Direction::Downlink => &mut self.downlink,
        };
        if delay.is_zero() && queue.is_empty() {
            // Pass-through: write errors mean the packet is lost, as on a wire.
            let _ = self.device.send(packet);
            return;
        }
        if queue.len() >= MAX_HELD_PACKETS {
            return;
        }
        // Never before the packet ahead of it: a shorter delay must not reorder the link.
        let due = queue.back().map_or(Instant::now() + delay, |(last, _)| {
            (*last).max(Instant::now() + delay)
        });
        queue.push_back((due, packet.to_vec()));
    }

    fn release(&mut self, now: Instant) {
        for queue in [&mut self.uplink, &mut self.downlink] {
            while queue.front().is_some_and(|(due, _)| *due <= now) {
                if let Some((_, packet)) = queue.pop_front() {
                    let _ = self.device.send(&packet);
                }
            }
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}
