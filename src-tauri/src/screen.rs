//! "Share my screen": before the screen goes out, the page shows what would be shared.

use crate::error::AppError;
use crate::snapshot;
use base64::Engine;
use std::io::Cursor;

/// Size of the picture shown before sharing.
pub const PREVIEW_SIZE: (u32, u32) = (480, 270);

/// A picture of the main screen as a PNG `data:` URL, for the page's confirmation.
#[tauri::command]
pub async fn screen_preview() -> Result<String, AppError> {
    tokio::task::spawn_blocking(|| {
        let frame = quartet_media::source::screen_thumbnail(None, PREVIEW_SIZE.0, PREVIEW_SIZE.1)
            .map_err(quartet_call::CallError::from)?;
        png_data_url(&snapshot::frame_to_rgba(&frame, false))
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
}
