//! Snapshots of a tile or of the whole grid, written as PNG files.

use crate::error::AppError;
use image::{Rgba, RgbaImage};
use quartet_call::grid::yuv_to_rgb;
use quartet_call::{CallHandle, VideoFrame, unix_micros};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Size of a grid snapshot: four 640×360 tiles.
pub const GRID_SNAPSHOT_SIZE: (u32, u32) = (1280, 720);

/// A picture as RGBA, mirrored left to right when asked (the self view as the user sees it).
pub fn frame_to_rgba(frame: &VideoFrame, mirrored: bool) -> RgbaImage {
    let (w, h) = (frame.width(), frame.height());
    let (y, u, v) = (frame.y(), frame.u(), frame.v());
    let half = (w / 2) as usize;
    RgbaImage::from_fn(w, h, |x, row| {
        let sx = if mirrored { w - 1 - x } else { x } as usize;
        let r = row as usize;
        let [cr, cg, cb] = yuv_to_rgb(
            y[r * w as usize + sx],
            u[(r / 2) * half + sx / 2],
            v[(r / 2) * half + sx / 2],
        );
        Rgba([cr, cg, cb, 255])
    })
}

/// Saves the whole grid, laid out as on screen, under `dir`; returns the file's path.
pub async fn save_grid(call: CallHandle, dir: PathBuf) -> Result<String, AppError> {
    call.refresh_pictures().await;
    save_off_thread("grid".to_owned(), dir, move || {
        let (w, h) = GRID_SNAPSHOT_SIZE;
        call.snapshot_grid(w, h)
    })
    .await
}

/// Saves one tile's picture (`None`: it has none yet) as `what` under `dir`; returns the path.
pub async fn save_frame(
    frame: Option<Arc<VideoFrame>>,
    what: String,
    dir: PathBuf,
) -> Result<String, AppError> {
    let frame =
        frame.ok_or_else(|| AppError::InvalidInput("this tile has no picture yet".into()))?;
    // Others see us unmirrored, and so does the snapshot.
    save_off_thread(what, dir, move || frame_to_rgba(&frame, false)).await
}

/// Draws a picture and writes it as a snapshot of `what` under `dir`, on a blocking thread
/// (both take milliseconds); returns the file's path.
async fn save_off_thread(
    what: String,
    dir: PathBuf,
    draw: impl FnOnce() -> RgbaImage + Send + 'static,
) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let name = file_name(&what, unix_micros() / 1000);
        save(&draw(), &dir, &name).map(|p| p.display().to_string())
    })
    .await
    .map_err(|e| AppError::Io(e.to_string()))?
}

/// A file name for a snapshot of `what`, unique to the millisecond.
pub fn file_name(what: &str, unix_ms: i64) -> String {
    let what: String = what
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    format!("quartet-{what}-{unix_ms}.png")
}

/// Writes `image` as `dir/name`, creating `dir`; returns the path.
pub fn save(image: &RgbaImage, dir: &Path, name: &str) -> Result<PathBuf, AppError> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    image
        .save_with_format(&path, image::ImageFormat::Png)
        .map_err(|e| AppError::Io(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// `path` when it names a file inside `dir` (after resolving links and `..`): the page may
/// only have the file manager show what the app saved there.
pub fn saved_file(dir: &Path, path: &Path) -> Result<PathBuf, AppError> {
    let dir = dir.canonicalize()?;
    let file = path
        .canonicalize()
        .map_err(|e| AppError::InvalidInput(format!("{}: {e}", path.display())))?;
    if file.is_file() && file.starts_with(&dir) {
        Ok(file)
    } else {
        Err(AppError::InvalidInput(format!(
            "{} is not a file the app saved",
            path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_convert_and_mirror() {
        let mut f = VideoFrame::black(4, 2);
        // A bright column on the left.
        let (y, _, _) = f.planes_mut();
        y[0] = 235;
        y[4] = 235;
        let plain = frame_to_rgba(&f, false);
        let mirrored = frame_to_rgba(&f, true);
        assert_eq!(plain.dimensions(), (4, 2));
        assert!(plain.get_pixel(0, 0)[0] > 200);
        assert!(plain.get_pixel(3, 0)[0] < 40);
        assert!(mirrored.get_pixel(3, 1)[0] > 200);
        assert!(mirrored.get_pixel(0, 1)[0] < 40);
    }

    #[test]
    fn snapshots_are_written_as_png() {
        let dir = std::env::temp_dir().join(format!("quartet-app-snap-{}", std::process::id()));
        let name = file_name("tile Ann/1", 42);
        assert_eq!(name, "quartet-tile-Ann-1-42.png");
        let path = save(&RgbaImage::new(8, 8), &dir, &name).unwrap();
        let back = image::open(&path).unwrap();
        assert_eq!((back.width(), back.height()), (8, 8));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn only_files_saved_in_the_folder_are_shown() {
        let root = std::env::temp_dir().join(format!("quartet-app-saved-{}", std::process::id()));
        let dir = root.join("Quartet");
        let name = file_name("self", 7);
        let inside = save(&RgbaImage::new(2, 2), &dir, &name).unwrap();
        let outside = save(&RgbaImage::new(2, 2), &root, &name).unwrap();
        assert_eq!(
            saved_file(&dir, &inside).unwrap(),
            inside.canonicalize().unwrap()
        );
        let sneaky = dir.join("..").join(&name);
        for refused in [outside.as_path(), sneaky.as_path(), dir.as_path()] {
            assert!(
                matches!(saved_file(&dir, refused), Err(AppError::InvalidInput(_))),
                "{}",
                refused.display()
            );
        }
        assert!(saved_file(&dir, &dir.join("missing.png")).is_err());
        std::fs::remove_dir_all(root).unwrap();
    }
}
