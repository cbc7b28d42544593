//! Hand-over of the audio cleaning switches and the echo reference from the publisher's handle
//! to its audio capture thread, and of the canceller's figures back.

use super::lock;
use crate::mixer::MixTap;
use crate::processing::{AudioProcessing, ProcessingStats, Processor};
use std::sync::Mutex;

/// What the handle asks of the capture thread's [`Processor`], and what it reports back.
#[derive(Debug)]
pub(super) struct Cleaning {
    settings: Mutex<Option<AudioProcessing>>,
    far_end: Mutex<Option<MixTap>>,
    state: Mutex<(AudioProcessing, ProcessingStats)>,
}

impl Cleaning {
    pub(super) fn new(settings: AudioProcessing) -> Cleaning {
        Cleaning {
            settings: Mutex::new(None),
            far_end: Mutex::new(None),
            state: Mutex::new((settings, ProcessingStats::default())),
        }
    }

    pub(super) fn ask_settings(&self, settings: AudioProcessing) {
        *lock(&self.settings) = Some(settings);
        lock(&self.state).0 = settings;
    }

    pub(super) fn ask_far_end(&self, tap: MixTap) {
        *lock(&self.far_end) = Some(tap);
    }

    /// Applies what was asked since the last call.
    pub(super) fn apply(&self, processor: &mut Processor) {
        if let Some(s) = lock(&self.settings).take() {
            processor.set_settings(s);
        }
        if let Some(tap) = lock(&self.far_end).take() {
            processor.set_far_end(Some(tap));
        }
    }

    pub(super) fn report(&self, processor: &Processor) {
        lock(&self.state).1 = processor.stats();
    }

    /// The switches in force and the canceller's figures.
    pub(super) fn state(&self) -> (AudioProcessing, ProcessingStats) {
        *lock(&self.state)
    }
}
