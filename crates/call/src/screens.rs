//! What a person can share instead of a camera, each with a picture to choose by.

use quartet_media::VideoFrame;
pub use quartet_media::source::{
    MAX_SCREEN_ID_LEN, ScreenId, ScreenIdError, ScreenKind, ShareableScreen,
};
use quartet_media::source::{SourceError, list_screen_sources_on, screen_thumbnail};

/// A shareable screen or window and what it shows now.
#[derive(Debug)]
pub struct ScreenChoice {
    /// What it is.
    pub screen: ShareableScreen,
    /// Its picture, fitted inside the size asked for; `None` when the screen gave none.
    pub thumbnail: Option<VideoFrame>,
}

/// Every screen and window that can be shared (screens first), with a picture of each inside
/// `width`×`height`. `display` picks an X display (`$DISPLAY` when `None`). Windows that give no
/// picture (closed since they were listed, or minimised) are left out. Blocks: one grab each.
pub fn shareable_screens(
    display: Option<&str>,
    width: u32,
    height: u32,
) -> Result<Vec<ScreenChoice>, SourceError> {
    let screens = list_screen_sources_on(display)?;
    Ok(screens
        .into_iter()
        .filter_map(|screen| {
            let thumbnail = screen_thumbnail(Some(&screen.id.to_string()), width, height);
            match (thumbnail, screen.kind) {
                (Ok(frame), _) => Some(ScreenChoice {
                    screen,
                    thumbnail: Some(frame),
                }),
                (Err(_), ScreenKind::Window) => None,
                (Err(e), _) => {
                    tracing::warn!("no picture of screen {}: {e}", screen.id);
                    Some(ScreenChoice {
                        screen,
                        thumbnail: None,
                    })
                }
            }
        })
        .collect())
}
