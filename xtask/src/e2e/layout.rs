//! The call at the window's smallest size with the chat open: no control, tile, notice lane or
//! chat field may cover another or leave the window (the Leave button once ran over the chat
//! input there).

use super::{screenshot, script, wait_until};
use anyhow::{Context, Result, ensure};
use fantoccini::Client;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// The window's smallest inner size, CSS pixels (`minWidth`×`minHeight` in tauri.conf.json).
pub const MIN_VIEWPORT: (u32, u32) = (860, 580);
/// Boxes may touch: overlaps narrower than this (sub-pixel rounding) do not count.
const TOLERANCE: f64 = 0.5;
/// Time for the window to take a new size and the page to lay itself out again.
const RESIZE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the page must keep apart, and the visible boxes of each, as JSON.
const BOXES_JS: &str = "\
    const pick = [['.call-head', 'header'], ['.grid .tile', 'tile'], \
      ['[data-testid=notices]', 'notice lane'], ['.controls .control, .controls .mic-meter', 'control'], \
      ['[data-testid=chat-input]', 'chat input'], ['[data-testid=chat-send]', 'chat send']];\
    const out = [];\
    for (const [selector, kind] of pick) document.querySelectorAll(selector).forEach((el, i) => {\
      const r = el.getBoundingClientRect();\
      if (r.width > 0 && r.height > 0) out.push({ name: `${kind} ${el.dataset.testid || i}`, x: r.x, y: r.y, w: r.width, h: r.height });\
    });\
    return JSON.stringify({ boxes: out, width: window.innerWidth, height: window.innerHeight });";

/// A named box on the page, CSS pixels.
#[derive(Debug, Clone)]
pub struct PageBox {
    /// What it is, e.g. `control leave`.
    pub name: String,
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

struct Layout {
    boxes: Vec<PageBox>,
    width: f64,
    height: f64,
}

/// What is wrong with a layout in a `width`×`height` window: every pair of boxes that overlap,
/// every box that runs out of the window.
pub fn layout_problems(boxes: &[PageBox], width: f64, height: f64) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, a) in boxes.iter().enumerate() {
        if a.x < -TOLERANCE
            || a.y < -TOLERANCE
            || a.x + a.w > width + TOLERANCE
            || a.y + a.h > height + TOLERANCE
        {
            problems.push(format!(
                "{} runs out of the {width}x{height} window: {a:?}",
                a.name
            ));
        }
        for b in &boxes[i + 1..] {
            let across = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
            let down = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
            if across > TOLERANCE && down > TOLERANCE {
                problems.push(format!(
                    "{} overlaps {} by {across:.0}x{down:.0}",
                    a.name, b.name
                ));
            }
        }
    }
    problems
}

/// Shrinks the window to [`MIN_VIEWPORT`], saves a screenshot as `shot`, checks that nothing
/// overlaps, and gives the window its size back.
pub(super) async fn check_min_size(client: &Client, shot: &Path) -> Result<()> {
    let before = client.get_window_size().await?;
    let (want_w, want_h) = MIN_VIEWPORT;
    client.set_window_size(want_w, want_h).await?;
    // The window's frame (if any) is outside the page: grow the window by what it takes.
    let layout = read(client).await?;
    let (extra_w, extra_h) = (
        (f64::from(want_w) - layout.width).max(0.0) as u32,
        (f64::from(want_h) - layout.height).max(0.0) as u32,
    );
    if extra_w > 0 || extra_h > 0 {
        client
            .set_window_size(want_w + extra_w, want_h + extra_h)
            .await?;
    }
    let layout = wait_until("the smallest window", RESIZE_TIMEOUT, || async {
        let l = read(client).await?;
        let fits = (l.width - f64::from(want_w)).abs() <= 1.0
            && (l.height - f64::from(want_h)).abs() <= 1.0;
        Ok(fits.then_some(l))
    })
    .await?;
    screenshot(client, shot).await?;
    let problems = layout_problems(&layout.boxes, layout.width, layout.height);
    eprintln!(
        "e2e: at {}x{} with the chat open: {} boxes, {} problems",
        layout.width,
        layout.height,
        layout.boxes.len(),
        problems.len()
    );
    client
        .set_window_size(
            u32::try_from(before.0).unwrap_or(want_w),
            u32::try_from(before.1).unwrap_or(want_h),
        )
        .await?;
    ensure!(
        problems.is_empty(),
        "the call's layout breaks at the smallest window:\n{}",
        problems.join("\n")
    );
    Ok(())
}

async fn read(client: &Client) -> Result<Layout> {
    let json = script(client, BOXES_JS, vec![]).await?;
    let v: Value = serde_json::from_str(json.as_str().context("the page gave no boxes")?)?;
    let num = |v: &Value, k: &str| v[k].as_f64().with_context(|| format!("no {k} in {v}"));
    let boxes = v["boxes"]
        .as_array()
        .context("no boxes")?
        .iter()
        .map(|b| {
            Ok(PageBox {
                name: b["name"].as_str().unwrap_or("?").to_owned(),
                x: num(b, "x")?,
                y: num(b, "y")?,
                w: num(b, "w")?,
                h: num(b, "h")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Layout {
        boxes,
        width: num(&v, "width")?,
        height: num(&v, "height")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(name: &str, x: f64, y: f64, w: f64, h: f64) -> PageBox {
        PageBox {
            name: name.into(),
            x,
            y,
            w,
            h,
        }
    }

    #[test]
    fn overlaps_and_overflow_are_found_and_touching_is_not() {
        let chat = b("chat input", 560.0, 530.0, 220.0, 36.0);
        let leave_over = b("control leave", 700.0, 520.0, 60.0, 48.0);
        let leave_beside = b("control leave", 480.0, 520.0, 80.0, 48.0);
        let found = layout_problems(&[chat.clone(), leave_over], 860.0, 580.0);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("chat input overlaps control leave"));
        // Sharing an edge (and sub-pixel rounding) is not an overlap.
        assert!(layout_problems(&[chat.clone(), leave_beside], 860.0, 580.0).is_empty());
        let off = b("control demo", 840.0, 520.0, 60.0, 48.0);
        let found = layout_problems(&[off], 860.0, 580.0);
        assert!(
            found[0].contains("runs out of the 860x580 window"),
            "{found:?}"
        );
    }
}
