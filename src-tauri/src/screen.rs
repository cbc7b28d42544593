//! "Share my screen": before anything goes out, the page shows each screen and window that
//! could be shared, and the person picks one.

use crate::error::AppError;
use crate::snapshot;
use base64::Engine;
use quartet_call::{ScreenChoice, ScreenKind};
use serde::Serialize;
use std::io::Cursor;
#[cfg(test)]
use ts_rs::TS;

/// The system's page where screen recording is allowed, where the system asks for it: macOS
/// shows other apps' windows to a screen grab only once the person allows it there.
pub const SCREEN_PRIVACY_SETTINGS: Option<&str> = if cfg!(target_os = "macos") {
    Some("x-apple.systempreferences:com.apple.preference.security?Privacy_ScreenCapture")
} else {
    None
};

/// Opens the system's screen-recording privacy settings (macOS).
#[tauri::command]
pub fn open_screen_privacy_settings(app: tauri::AppHandle) -> Result<(), AppError> {
    crate::commands::open_settings_page(&app, SCREEN_PRIVACY_SETTINGS, "screen recording settings")
}

/// Box each screen's picture is fitted into (its shape kept).
pub const THUMBNAIL_SIZE: (u32, u32) = (320, 180);

/// One screen or window the page offers.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(TS))]
#[cfg_attr(test, ts(rename = "ScreenSource"))]
#[serde(rename_all = "camelCase")]
pub struct ScreenSourceView {
    /// What the share command takes back.
    pub id: String,
    /// The monitor's or window's name; empty when the system gives none.
    pub label: String,
    /// `desktop`, `monitor` or `window`.
    #[cfg_attr(test, ts(type = "\"desktop\" | \"monitor\" | \"window\""))]
    pub kind: &'static str,
    /// Width in pixels, 0 when unknown.
    pub width: u32,
    /// Height in pixels, 0 when unknown.
    pub height: u32,
    /// Its picture as a PNG `data:` URL, `None` when it gave none.
    pub thumbnail: Option<String>,
}

/// `choice` as the page shows it.
pub fn view(choice: &ScreenChoice) -> Result<ScreenSourceView, AppError> {
    let screen = &choice.screen;
    Ok(ScreenSourceView {
        id: screen.id.to_string(),
        label: screen.label.clone(),
        kind: match screen.kind {
            ScreenKind::Desktop => "desktop",
            ScreenKind::Monitor => "monitor",
            ScreenKind::Window => "window",
        },
        width: screen.width,
        height: screen.height,
        thumbnail: choice
            .thumbnail
            .as_ref()
            .map(|f| png_data_url(&snapshot::frame_to_rgba(f, false)))
            .transpose()?,
    })
}

/// The screens and windows that can be shared (screens first), each with its picture.
#[tauri::command]
pub async fn screen_sources() -> Result<Vec<ScreenSourceView>, AppError> {
    tokio::task::spawn_blocking(|| {
        quartet_call::shareable_screens(None, THUMBNAIL_SIZE.0, THUMBNAIL_SIZE.1)
            .map_err(quartet_call::CallError::from)?
            .iter()
            .map(view)
            .collect()
    })
    .await
    .map_err(|e| AppError::Io(e.to_string()))?
}

/// `image` as a `data:image/png;base64,…` URL.
pub fn png_data_url(image: &image::RgbaImage) -> Result<String, AppError> {
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| AppError::Io(e.to_string()))?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_becomes_a_png_the_page_can_show() {
        let image = image::RgbaImage::from_pixel(4, 2, image::Rgba([10, 20, 30, 255]));
        let url = png_data_url(&image).unwrap();
        let b64 = url.strip_prefix("data:image/png;base64,").unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let back = image::load_from_memory(&png).unwrap().to_rgba8();
        assert_eq!(back, image);
    }

    #[test]
    fn a_window_is_offered_by_its_id_and_title_with_its_picture() {
        let choice = ScreenChoice {
            screen: quartet_call::ShareableScreen {
                id: quartet_call::ScreenId::parse("window:0x2a00007@:0").unwrap(),
                label: "Notes".into(),
                kind: ScreenKind::Window,
                width: 800,
                height: 600,
            },
            thumbnail: Some(quartet_call::VideoFrame::black(4, 2)),
        };
        let v = view(&choice).unwrap();
        assert_eq!(
            (v.id.as_str(), v.label.as_str(), v.kind),
            ("window:0x2a00007@:0", "Notes", "window")
        );
        assert!(v.thumbnail.unwrap().starts_with("data:image/png;base64,"));
        let json = serde_json::to_value(
            view(&ScreenChoice {
                thumbnail: None,
                ..choice
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(json["thumbnail"], serde_json::Value::Null);
        assert_eq!(json["kind"], "window");
    }
}
