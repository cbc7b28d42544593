// Pure rules of the call screen: who is shown where, initials and colours for members without
// video, the speaking highlight, and the muted guess for members whose sound is silent.

import type { Member, TileState } from "./api";
import type { Key } from "./i18n";

export const REMOTE_TILES = 3;
/** RMS above which a member counts as speaking. */
export const SPEAKING_ON = 0.02;
/** RMS below which speaking may end… */
export const SPEAKING_OFF = 0.01;
/** …once it has stayed there this long, so the highlight does not flicker between words. */
export const SPEAKING_HOLD_MS = 600;
/** Sound this quiet is digital silence: what a muted member sends. */
export const SILENCE = 0.0005;
/** Silence this long shows the muted mark. */
export const MUTED_AFTER_MS = 2000;

/** Whether a tile's connection can be judged: not before its member sends anything, nor after it left. */
export function judgesQuality(state: TileState): boolean {
  return state !== "connecting" && state !== "waitingForStream" && state !== "gone";
}

/** The words on a tile in `state` (the name goes in `{name}`); null where the picture shows. */
export function tileStatusKey(state: TileState): Key | null {
  switch (state) {
    case "connecting":
      return "call.connecting";
    case "waitingForStream":
      return "call.waitingFor";
    case "cameraOff":
      return "call.cameraOff";
    case "stalled":
      return "call.stalled";
    case "reconnecting":
      return "call.reconnecting";
    case "gone":
      return "call.left";
    case "live":
      return null;
  }
}

/** Whether a tile in `state` receives the member's sound, so that its silence can mean muted. */
export function hearsSound(state: TileState): boolean {
  return state === "live" || state === "cameraOff" || state === "stalled";
}

/** The four cells of the grid: us, then remote tiles 0..2 (null where empty). */
export function gridCells(members: Member[]): (Member | null)[] {
  const cells: (Member | null)[] = [members.find((m) => m.isSelf) ?? null, null, null, null];
  for (const m of members) {
    if (!m.isSelf && m.tile !== null && m.tile >= 0 && m.tile < REMOTE_TILES) cells[m.tile + 1] = m;
  }
  return cells;
}

/** Members with no tile (more than four in the room), in list order. */
export function listedMembers(members: Member[]): Member[] {
  return members.filter((m) => !m.isSelf && m.tile === null);
}

/** Replaces or adds `member` (by userID), keeping the order of arrival. */
export function upsertMember(members: Member[], member: Member): Member[] {
  const i = members.findIndex((m) => m.userId === member.userId);
  if (i < 0) return [...members, member];
  const next = [...members];
  next[i] = member;
  return next;
}

export function removeMember(members: Member[], userId: string): Member[] {
  return members.filter((m) => m.userId !== userId);
}

/** Most grapheme clusters in initials (the room server's `MAX_INITIALS`). */
export const MAX_INITIALS = 2;
/** Longest grapheme cluster taken as an initial, in UTF-8 bytes (the room server's `MAX_GRAPHEME_BYTES`). */
export const MAX_GRAPHEME_BYTES = 16;
/** Initials of a name with nothing to take them from. */
const NO_INITIALS = "?";

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const utf8 = new TextEncoder();

/** What a reader sees as single characters: a combined accent or a flag stays whole. */
function graphemes(text: string): string[] {
  return [...segmenter.segment(text)].map((s) => s.segment);
}

/** Control and bidi characters, which a name may not show (the room server's `is_forbidden_in_name`). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;

/**
 * The initials of `name`, by the room server's rule for default avatars: the first grapheme of
 * the first word and of the last word, letters in upper case. "小明 Ann" → "小A", "ann lee" →
 * "AL", "王小明" → "王", "" → "?".
 */
export function initials(name: string): string {
  const words = name
    .split(/\s+/u)
    .filter((w) => w !== "" && ![...w].every((c) => FORBIDDEN.test(c)));
  const first = (word: string | undefined): string =>
    (word &&
      graphemes(word)
        .find(
          (g) =>
            utf8.encode(g).length <= MAX_GRAPHEME_BYTES && !FORBIDDEN.test(g) && !/\s/u.test(g),
        )
        ?.toUpperCase()) ??
    "";
  let out = first(words[0]);
  if (words.length > 1) out += first(words[words.length - 1]);
  // Upper-casing may lengthen a grapheme (ß → SS): keep within the limit.
  const kept = graphemes(out).slice(0, MAX_INITIALS);
  return kept.length === 0 ? NO_INITIALS : kept.join("");
}

/** A stable hue for a member's avatar. */
export function avatarHue(userId: string): number {
  let h = 0;
  for (const ch of userId) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h % 360;
}

/** Speaking with hysteresis: on at once above SPEAKING_ON, off after SPEAKING_HOLD_MS below SPEAKING_OFF. */
export class SpeakingDetector {
  private speaking = false;
  private quietSince: number | null = null;

  update(level: number, now: number): boolean {
    if (level >= SPEAKING_ON) {
      this.speaking = true;
      this.quietSince = null;
    } else if (level < SPEAKING_OFF) {
      this.quietSince ??= now;
      if (now - this.quietSince >= SPEAKING_HOLD_MS) this.speaking = false;
    } else {
      this.quietSince = null;
    }
    return this.speaking;
  }
}

/** Speaking this long while muted earns a "you are muted" hint. */
export const MUTED_TALK_MS = 1500;
/** Quiet this long while still muted earns the hint once more: a new attempt to speak, not the same one. */
export const MUTED_HINT_REARM_QUIET_MS = 60_000;

/**
 * Tells when someone has been talking into a muted microphone long enough to say so: once per
 * mute, and again only after a long quiet, so sound at the microphone does not repeat it.
 */
export class MutedTalkHint {
  private talkingSince: number | null = null;
  private quietSince: number | null = null;
  private hinted = false;

  update(muted: boolean, speaking: boolean, now: number): boolean {
    if (!muted) {
      this.talkingSince = null;
      this.quietSince = null;
      this.hinted = false;
      return false;
    }
    if (!speaking) {
      this.talkingSince = null;
      this.quietSince ??= now;
      if (now - this.quietSince >= MUTED_HINT_REARM_QUIET_MS) this.hinted = false;
      return false;
    }
    this.quietSince = null;
    this.talkingSince ??= now;
    if (this.hinted || now - this.talkingSince < MUTED_TALK_MS) return false;
    this.hinted = true;
    return true;
  }
}

/** A member whose sound has been digital silence for a while has most likely muted. */
export class MutedGuess {
  private silentSince: number | null = null;

  update(level: number, now: number): boolean {
    if (level > SILENCE) {
      this.silentSince = null;
      return false;
    }
    this.silentSince ??= now;
    return now - this.silentSince >= MUTED_AFTER_MS;
  }
}

/** What we send: size and the encoder's target, e.g. `480×270 · 180 kbps`. */
export function formatRung(width: number, height: number, targetKbps: number): string {
  return `${width}×${height} · ${formatKbps(targetKbps)}`;
}

export function formatKbps(kbps: number): string {
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbps` : `${Math.round(kbps)} kbps`;
}

/** The size to decode a tile's pictures at: the 16:9 picture that fits the tile, in device pixels. */
export function pictureSize(
  cssWidth: number,
  cssHeight: number,
  pixelRatio: number,
): [number, number] {
  const w = cssWidth * pixelRatio;
  const h = cssHeight * pixelRatio;
  const fitted = w / h > 16 / 9 ? [h * (16 / 9), h] : [w, w * (9 / 16)];
  return [Math.round(fitted[0]), Math.round(fitted[1])];
}
