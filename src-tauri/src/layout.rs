//! The grid as the page lays it out, so snapshots and recordings show what the person sees.

use crate::commands::AppState;
use crate::error::AppError;
use quartet_call::GridLayout;
use tauri::State;

/// The layout for the page's spotlight: the large cell (0 us, 1–3 the remote tiles), or none
/// for two by two.
pub fn layout_for(spotlight: Option<usize>) -> GridLayout {
    spotlight.map_or(GridLayout::Grid, GridLayout::Spotlight)
}

/// Tells the call how the page lays the grid out.
#[tauri::command]
pub async fn call_set_layout(
    state: State<'_, AppState>,
    spotlight: Option<usize>,
) -> Result<(), AppError> {
    state
        .call
        .current()
        .await?
        .set_layout(layout_for(spotlight));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_spotlight_is_the_grid() {
        assert_eq!(layout_for(None), GridLayout::Grid);
        assert_eq!(layout_for(Some(2)), GridLayout::Spotlight(2));
    }
}
