//! Telling the room that our stream shows a shared screen, so members show it large.
//!
//! The room server carries the flag (`sharingScreen` on `add_pusher`, an extension) and lists
//! it with every member; a v1 server ignores it and nobody's layout changes. The flag is told
//! by a task of its own, so the call never waits on the room server, and only the latest value
//! is sent: switching back and forth faster than the server answers sends the last one once.

use crate::config::VideoInput;
use quartet_media::publish::VideoContent;
use quartet_room::SessionHandle;
use tokio::sync::watch;

/// Whether the room should see our stream as a shared screen: a screen is the source and
/// pictures go out (a screen behind "camera off" shows nothing worth showing large).
pub fn is_sharing(input: &VideoInput, camera_enabled: bool) -> bool {
    camera_enabled && input.content() == VideoContent::Screen
}

/// The latest sharing state, told to the room by its own task.
pub(crate) struct SharingTeller {
    state: watch::Sender<bool>,
}

impl SharingTeller {
    /// Starts telling `session`; nothing is sent until the state first becomes true, since
    /// the room starts every member as not sharing.
    pub(crate) fn start(session: SessionHandle) -> SharingTeller {
        let (state, mut wanted) = watch::channel(false);
        tokio::spawn(async move {
            // Ends when the call drops its teller.
            while wanted.changed().await.is_ok() {
                let sharing = *wanted.borrow_and_update();
                if let Err(e) = session.set_sharing_screen(sharing).await {
                    tracing::info!(error = %e, sharing, "could not tell the room about sharing");
                }
            }
        });
        SharingTeller { state }
    }

    /// Tells the room `sharing` unless that is what it was last told.
    pub(crate) fn set(&self, sharing: bool) {
        self.state.send_if_modified(|told| {
            let changed = *told != sharing;
            *told = sharing;
            changed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_screen_that_is_sent_counts_as_sharing() {
        let screen = VideoInput::Screen(None);
        assert!(is_sharing(&screen, true));
        assert!(!is_sharing(&screen, false));
        assert!(!is_sharing(&VideoInput::Camera(None), true));
        assert!(!is_sharing(&VideoInput::None, true));
    }
}
