//! A stop flag that worker threads can poll (FFmpeg's interrupt callback) and sleep on, and the
//! named threads it stops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Set once to ask every thread holding a clone to finish; sleeps end at once when it is set.
#[derive(Clone, Debug, Default)]
pub(crate) struct StopSignal {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    flag: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl StopSignal {
    pub(crate) fn new() -> StopSignal {
        StopSignal::default()
    }

    pub(crate) fn stop(&self) {
        self.inner.flag.store(true, Ordering::SeqCst);
        // Holding the lock while notifying closes the gap between a sleeper's check and its wait.
        let _guard = self.inner.lock.lock();
        self.inner.wake.notify_all();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.inner.flag.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` or until stopped; true when stopped.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let Ok(mut guard) = self.inner.lock.lock() else {
            return self.is_stopped();
        };
        loop {
            if self.is_stopped() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            match self.inner.wake.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => guard = g,
                Err(_) => return self.is_stopped(),
            }
        }
    }

    /// A closure for FFmpeg's interrupt callback: true once stopped.
    pub(crate) fn checker(&self) -> impl FnMut() -> bool + Send + 'static {
        let inner = Arc::clone(&self.inner);
        move || inner.flag.load(Ordering::Relaxed)
    }
}

/// Named worker threads of one object, joined together once they have been told to stop.
#[derive(Debug, Default)]
pub(crate) struct Workers {
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Workers {
    /// Runs `f` on a new thread called `name`.
    pub(crate) fn spawn(
        &self,
        name: &str,
        f: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<()> {
        let thread = std::thread::Builder::new().name(name.to_owned()).spawn(f)?;
        self.lock().push(thread);
        Ok(())
    }

    /// Waits for every thread started so far; the caller has made them stop.
    pub(crate) fn join(&self) {
        let threads: Vec<_> = self.lock().drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.threads.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_ends_early_when_stopped() {
        let s = StopSignal::new();
        assert!(!s.sleep(Duration::from_millis(1)));
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.sleep(Duration::from_secs(600)));
        std::thread::sleep(Duration::from_millis(20));
        s.stop();
        assert!(t.join().unwrap());
        let mut check = s.checker();
        assert!(check());
    }
}
