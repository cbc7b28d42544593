//! Link profiles that change over time, applied by a thread of the lab's own.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::LabError;
use crate::profile::{Direction, LinkProfile};
use crate::setup::Link;

/// One change of a schedule: from `at` after the start, `direction` has `profile`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// When the change happens, counted from the start of the schedule.
    pub at: Duration,
    /// Which direction changes.
    pub direction: Direction,
    /// What it changes to.
    pub profile: LinkProfile,
}

/// Changes to apply over time, in the order of their `at`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    steps: Vec<Step>,
}

impl Schedule {
    /// An empty schedule.
    pub fn new() -> Self {
        Self::default()
    }

    /// The schedule with one more change: at `at`, `direction` gets `profile`.
    pub fn at(mut self, at: Duration, direction: Direction, profile: LinkProfile) -> Self {
        self.steps.push(Step {
            at,
            direction,
            profile,
        });
        self.steps.sort_by_key(|s| s.at);
        self
    }

    /// The changes, earliest first.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

/// A running schedule; stopped and joined on drop.
pub(crate) struct Player {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<Result<(), LabError>>>,
}

impl Player {
    /// Starts applying `schedule` to `link`, counting from `start`.
    pub(crate) fn start(
        name: String,
        link: Arc<Link>,
        schedule: Schedule,
        start: Instant,
    ) -> Result<Self, LabError> {
        for step in schedule.steps() {
            step.profile.validate()?;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name(name).spawn(move || {
            for step in schedule.steps {
                let wait = (start + step.at).saturating_duration_since(Instant::now());
                match stopped.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) => link.apply(step.direction, &step.profile)?,
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
                }
            }
            Ok(())
        })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the schedule where it is and says whether every step so far applied.
    pub(crate) fn stop(mut self) -> Result<(), LabError> {
        self.halt()
    }

    fn halt(&mut self) -> Result<(), LabError> {
        drop(self.stop.take());
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(LabError::SchedulePanicked),
            None => Ok(()),
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}
