//! A cpal stream on a thread of its own: cpal streams may not move between threads on every
//! platform, so each one is built, played and dropped on one named thread.

use cpal::traits::StreamTrait;
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long opening a device may take before it counts as unavailable.
pub(crate) const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a stream thread is not playing.
#[derive(Debug)]
pub(crate) enum StartError {
    /// The thread could not be started.
    Thread(std::io::Error),
    /// The device refused, or did not start within [`OPEN_TIMEOUT`].
    Device(String),
}

/// A playing cpal stream, kept alive by its thread until stopped or dropped.
#[derive(Debug)]
pub(crate) struct StreamThread {
    stop: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl StreamThread {
    /// Starts thread `name`, which builds a stream on `device` with `open` and plays it (the
    /// device outlives the stream); returns once it plays, or with the reason it does not.
    pub(crate) fn start(
        name: &str,
        device: cpal::Device,
        open: impl FnOnce(&cpal::Device) -> Result<cpal::Stream, String> + Send + 'static,
    ) -> Result<StreamThread, StartError> {
        let (stop_tx, stop_rx) = mpsc::sync_channel::<()>(1);
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), String>>(1);
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let playing =
                    open(&device).and_then(|s| s.play().map(|()| s).map_err(|e| e.to_string()));
                match playing {
                    Ok(stream) => {
                        let _ = ready_tx.send(Ok(()));
                        // Runs until the owner asks to stop or is dropped.
                        let _ = stop_rx.recv();
                        drop(stream);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            })
            .map_err(StartError::Thread)?;
        let mut started = StreamThread {
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        let ready = ready_rx
            .recv_timeout(OPEN_TIMEOUT)
            .unwrap_or_else(|_| Err("the device did not start".to_owned()));
        match ready {
            Ok(()) => Ok(started),
            Err(reason) => {
                started.stop();
                Err(StartError::Device(reason))
            }
        }
    }

    /// Stops the stream and joins its thread.
    pub(crate) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.try_send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for StreamThread {
    fn drop(&mut self) {
        self.stop();
    }
}
