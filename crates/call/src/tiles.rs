//! Which remote members get the three tiles of the four-up grid.
//!
//! First come, first served, and stable: a member keeps its tile until it leaves; members who
//! arrive when the tiles are taken are listed, in order of arrival; when a played member
//! leaves, the longest-waiting listed member takes the freed tile.

/// Tiles for remote members (the fourth tile of the grid is our own picture).
pub const REMOTE_TILES: usize = 3;

/// Who holds which tile, and who waits for one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileAssignment {
    slots: [Option<String>; REMOTE_TILES],
    listed: Vec<String>,
}

/// One difference between two assignments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TileChange {
    /// `user_id` now holds tile `slot`: start playing it.
    Played {
        /// The member.
        user_id: String,
        /// The tile.
        slot: usize,
    },
    /// `user_id` no longer holds tile `slot`: stop playing it.
    Freed {
        /// The member.
        user_id: String,
        /// The tile.
        slot: usize,
    },
}

impl TileAssignment {
    /// The member holding tile `slot`.
    pub fn holder(&self, slot: usize) -> Option<&str> {
        self.slots.get(slot).and_then(|s| s.as_deref())
    }

    /// The tile `user_id` holds, if any.
    pub fn slot_of(&self, user_id: &str) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.as_deref() == Some(user_id))
    }

    /// Members waiting for a tile, longest-waiting first.
    pub fn listed(&self) -> &[String] {
        &self.listed
    }

    /// Every (tile, member) pair in tile order.
    pub fn played(&self) -> impl Iterator<Item = (usize, &str)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_deref().map(|id| (i, id)))
    }
}

/// The assignment for the remote members `present` (in order of arrival), starting from
/// `previous`: holders still present keep their tiles, newcomers queue behind those already
/// listed, and free tiles go to the front of the queue, lowest tile first.
pub fn assign_tiles(previous: &TileAssignment, present: &[String]) -> TileAssignment {
    let is_present = |id: &String| present.contains(id);
    let mut slots = previous.slots.clone();
    for slot in &mut slots {
        if slot.as_ref().is_some_and(|id| !is_present(id)) {
            *slot = None;
        }
    }
    let mut queue: Vec<String> = previous
        .listed
        .iter()
        .filter(|id| is_present(id))
        .cloned()
        .collect();
    for id in present {
        let placed = slots.iter().any(|s| s.as_ref() == Some(id)) || queue.contains(id);
        if !placed {
            queue.push(id.clone());
        }
    }
    let mut queue = queue.into_iter();
    for slot in &mut slots {
        if slot.is_none() {
            *slot = queue.next();
        }
    }
    TileAssignment {
        slots,
        listed: queue.collect(),
    }
}

/// What to start and stop to go from `old` to `new`: tiles freed first, then tiles taken.
pub fn tile_changes(old: &TileAssignment, new: &TileAssignment) -> Vec<TileChange> {
    let mut freed = Vec::new();
    let mut played = Vec::new();
    for (slot, (before, after)) in old.slots.iter().zip(&new.slots).enumerate() {
        if before == after {
            continue;
        }
        if let Some(user_id) = before {
            freed.push(TileChange::Freed {
                user_id: user_id.clone(),
                slot,
            });
        }
        if let Some(user_id) = after {
            played.push(TileChange::Played {
                user_id: user_id.clone(),
                slot,
            });
        }
    }
    freed.extend(played);
    freed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn slots(a: &TileAssignment) -> Vec<Option<&str>> {
        (0..REMOTE_TILES).map(|i| a.holder(i)).collect()
    }

    #[test]
    fn first_come_first_served_and_the_rest_listed() {
        let a = assign_tiles(&TileAssignment::default(), &ids(&["b", "c", "d", "e", "f"]));
        assert_eq!(slots(&a), vec![Some("b"), Some("c"), Some("d")]);
        assert_eq!(a.listed(), ids(&["e", "f"]).as_slice());
        assert_eq!(a.slot_of("d"), Some(2));
        assert_eq!(a.slot_of("e"), None);
    }

    #[test]
    fn tiles_are_stable_when_others_come_and_go() {
        let a = assign_tiles(&TileAssignment::default(), &ids(&["b", "c", "d"]));
        // c leaves: b and d keep their tiles; the next newcomer takes c's.
        let b = assign_tiles(&a, &ids(&["b", "d"]));
        assert_eq!(slots(&b), vec![Some("b"), None, Some("d")]);
        let c = assign_tiles(&b, &ids(&["b", "d", "x"]));
        assert_eq!(slots(&c), vec![Some("b"), Some("x"), Some("d")]);
        // A reordered list (a resync) moves nobody.
        let d = assign_tiles(&c, &ids(&["x", "d", "b"]));
        assert_eq!(d, c);
    }

    #[test]
    fn the_longest_waiting_listed_member_takes_a_freed_tile() {
        let a = assign_tiles(&TileAssignment::default(), &ids(&["b", "c", "d", "e"]));
        let a = assign_tiles(&a, &ids(&["b", "c", "d", "e", "f"]));
        assert_eq!(a.listed(), ids(&["e", "f"]).as_slice());
        // Even if the server lists f before e now, e has waited longer.
        let b = assign_tiles(&a, &ids(&["b", "d", "f", "e"]));
        assert_eq!(slots(&b), vec![Some("b"), Some("e"), Some("d")]);
        assert_eq!(b.listed(), ids(&["f"]).as_slice());
        assert_eq!(
            tile_changes(&a, &b),
            vec![
                TileChange::Freed {
                    user_id: "c".into(),
                    slot: 1
                },
                TileChange::Played {
                    user_id: "e".into(),
                    slot: 1
                },
            ]
        );
    }

    #[test]
    fn a_listed_member_leaving_changes_no_tile() {
        let a = assign_tiles(&TileAssignment::default(), &ids(&["b", "c", "d", "e"]));
        let b = assign_tiles(&a, &ids(&["b", "c", "d"]));
        assert!(tile_changes(&a, &b).is_empty());
        assert!(b.listed().is_empty());
    }

    #[test]
    fn changes_from_empty_and_to_empty() {
        let empty = TileAssignment::default();
        let a = assign_tiles(&empty, &ids(&["b", "c"]));
        assert_eq!(
            tile_changes(&empty, &a),
            vec![
                TileChange::Played {
                    user_id: "b".into(),
                    slot: 0
                },
                TileChange::Played {
                    user_id: "c".into(),
                    slot: 1
                },
            ]
        );
        let gone = assign_tiles(&a, &[]);
        assert_eq!(gone, empty);
        assert_eq!(tile_changes(&a, &gone).len(), 2);
        assert_eq!(a.played().collect::<Vec<_>>(), vec![(0, "b"), (1, "c")]);
    }

    #[test]
    fn a_member_listed_twice_gets_one_place() {
        let a = assign_tiles(&TileAssignment::default(), &ids(&["b", "b", "c"]));
        assert_eq!(slots(&a), vec![Some("b"), Some("c"), None]);
        assert!(a.listed().is_empty());
    }
}
