//! What the grid shows, read from the call's view without keeping the call alive: snapshots
//! and recordings draw it.

use crate::call::Tile;
use crate::call::{NOTE_CAMERA_OFF, NOTE_CONNECTING, View};
use crate::devices::FrameSlot;
use crate::grid::{GridCell, compose_layout};
use crate::layout::{GRID_TILES, GridLayout};
use crate::tiles::REMOTE_TILES;
use image::RgbaImage;
use quartet_media::VideoFrame;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;

/// What the grid shows: watched, so holding it keeps no call alive.
#[derive(Clone)]
pub(crate) struct GridView {
    pub(crate) view: watch::Receiver<View>,
    pub(crate) preview: FrameSlot,
    pub(crate) layout: watch::Receiver<GridLayout>,
    /// Each shown player's pictures, held while this view draws every picture (a recording):
    /// a player decoding on demand decodes every picture only while someone holds them.
    pub(crate) watched: Option<HashMap<u64, FrameSlot>>,
}

impl GridView {
    /// The same view, holding every shown player's pictures, so each is decoded.
    pub(crate) fn watching(mut self) -> GridView {
        self.watched = Some(HashMap::new());
        self
    }

    /// Each of `tiles`' latest picture; a watching view first holds every shown player's
    /// pictures, and lets go of players no longer shown, so they decode on demand again.
    fn latest_frames(&mut self, tiles: &[Tile]) -> Vec<Option<Arc<VideoFrame>>> {
        let Some(held) = self.watched.as_mut() else {
            return tiles.iter().map(Tile::latest_frame).collect();
        };
        held.retain(|id, _| tiles.iter().any(|t| t.player_id() == *id));
        tiles
            .iter()
            .map(|t| {
                held.entry(t.player_id())
                    .or_insert_with(|| t.frames())
                    .borrow()
                    .clone()
            })
            .collect()
    }

    /// The grid as one `width`×`height` picture, laid out as the person sees it: us first,
    /// then the remote tiles in order; name labels, and a placeholder where there is none.
    pub(crate) fn picture(&mut self, width: u32, height: u32) -> RgbaImage {
        let view = self.view.borrow().clone();
        let own = self
            .preview
            .borrow()
            .clone()
            .filter(|_| view.camera_enabled && view.has_video && !view.ended);
        let mut remote: [Option<(String, Option<Arc<VideoFrame>>)>; REMOTE_TILES] =
            Default::default();
        for (t, frame) in view.tiles.iter().zip(self.latest_frames(&view.tiles)) {
            if let Some(slot) = remote.get_mut(t.slot) {
                *slot = Some((t.member.user_name.clone(), frame));
            }
        }
        let own_label = if view.mic_muted {
            format!("{} (you, muted)", view.user_name)
        } else {
            format!("{} (you)", view.user_name)
        };
        let mut cells = Vec::with_capacity(GRID_TILES);
        cells.push(GridCell {
            label: Some(&own_label),
            frame: own.as_deref(),
            note: Some(NOTE_CAMERA_OFF),
        });
        for r in &remote {
            cells.push(match r {
                Some((name, frame)) => GridCell {
                    label: Some(name),
                    frame: frame.as_deref(),
                    note: Some(if frame.is_some() {
                        NOTE_CAMERA_OFF
                    } else {
                        NOTE_CONNECTING
                    }),
                },
                None => GridCell::default(),
            });
        }
        compose_layout(width, height, *self.layout.borrow(), &cells)
    }
}
