// Which member is shown large: a member who starts sharing a screen takes the spotlight (the
// latest to start wins), a pin the person chose holds until a new share starts, and "back to
// grid" puts a share aside until its member stops and shares again. Our own share is never
// spotlighted: we would watch our own screen inside itself.

import type { Member } from "./api";

export interface Spotlight {
  /** The member the person pinned, if any. */
  pinned: string | null;
  /** Remote members sharing a screen, in the order they started. */
  sharers: string[];
  /** Sharers the person went back to the grid from; forgotten when they stop sharing. */
  dismissed: string[];
}

export const NO_SPOTLIGHT: Spotlight = { pinned: null, sharers: [], dismissed: [] };

const hasTile = (m: Member): boolean => m.isSelf || m.tile !== null;

/** Follows a new member list: new sharers go last and take the spotlight from any pin. */
export function followMembers(s: Spotlight, members: Member[]): Spotlight {
  const sharing = members
    .filter((m) => m.sharingScreen && !m.isSelf && hasTile(m))
    .map((m) => m.userId);
  const kept = s.sharers.filter((id) => sharing.includes(id));
  const started = sharing.filter((id) => !kept.includes(id));
  const present = members.some((m) => m.userId === s.pinned && hasTile(m));
  return {
    pinned: started.length > 0 || !present ? null : s.pinned,
    sharers: [...kept, ...started],
    dismissed: s.dismissed.filter((id) => sharing.includes(id)),
  };
}

/** The member shown large, or null for the two-by-two grid. */
export function spotlighted(s: Spotlight): string | null {
  if (s.pinned !== null) return s.pinned;
  for (let i = s.sharers.length - 1; i >= 0; i--) {
    if (!s.dismissed.includes(s.sharers[i])) return s.sharers[i];
  }
  return null;
}

/** The person's pin button on `userId`'s tile: shows it large, or, if it is, goes back to the grid. */
export function togglePin(s: Spotlight, userId: string): Spotlight {
  if (spotlighted(s) === userId) return backToGrid(s);
  return { ...s, pinned: userId };
}

/** "Back to grid": nothing large until someone starts sharing anew. */
export function backToGrid(s: Spotlight): Spotlight {
  return { ...s, pinned: null, dismissed: [...s.sharers] };
}

/** The grid cell (0 us, 1–3 the remote tiles) of the member shown large, or null. */
export function spotlightCell(s: Spotlight, members: Member[]): number | null {
  const id = spotlighted(s);
  const m = members.find((x) => x.userId === id);
  if (!m) return null;
  if (m.isSelf) return 0;
  return m.tile === null ? null : m.tile + 1;
}
