// The rules behind notices: which ones repeat an earlier one (shown once, with a count), and
// how a chat message is shortened into one. Pure, so they are tested without a page.

/** The same notice again within this long of its last showing counts on it instead of
 * stacking another: long enough to catch a member rejoining in a loop, short enough that
 * an event an hour later is news again. */
export const NOTICE_REPEAT_MS = 10_000;
/** Characters (as the eye counts them) of a chat message shown in its notice: one line at
 * the window's smallest size; the chat pane has the whole message. */
export const CHAT_NOTICE_CHARS = 80;
/** Characters of the sender's name in a chat notice. */
export const CHAT_NOTICE_NAME_CHARS = 24;
/** Ends a shortened text. */
export const ELLIPSIS = "…";

/** A notice seen lately: its identity, when it was last shown and how often in a row. */
export interface NoticeRecord {
  key: string;
  lastAt: number;
  count: number;
}

/** What is the same notice: the same words of the same kind. */
export function noticeKey(kind: string, text: string): string {
  return `${kind}\n${text}`;
}

/** The records after `key` is shown at `now` (ms): records quiet for longer than
 * [`NOTICE_REPEAT_MS`] forgotten, `key`'s counted; and how often `key` has now been shown
 * in a row (1: it is new). */
export function noteNotice(
  records: readonly NoticeRecord[],
  key: string,
  now: number,
): { records: NoticeRecord[]; count: number } {
  const kept = records.filter((r) => now - r.lastAt <= NOTICE_REPEAT_MS);
  const earlier = kept.find((r) => r.key === key);
  const count = (earlier?.count ?? 0) + 1;
  const others = kept.filter((r) => r.key !== key);
  return { records: [...others, { key, lastAt: now, count }], count };
}

/** How a repeated notice shows its count ("" the first time). */
export function countLabel(count: number): string {
  return count > 1 ? `×${count}` : "";
}

/** The user-perceived characters of `text` (a CJK character, an emoji with its modifiers). */
function graphemes(text: string): string[] {
  if (typeof Intl !== "undefined" && "Segmenter" in Intl) {
    return [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(text)].map(
      (s) => s.segment,
    );
  }
  return Array.from(text);
}

/** `text` on one line (runs of white space, line breaks included, made one space) and at
 * most `max` characters, the last of them [`ELLIPSIS`] when it was cut. */
export function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  const chars = graphemes(line);
  if (chars.length <= max) return line;
  return (
    chars
      .slice(0, Math.max(0, max - 1))
      .join("")
      .trimEnd() + ELLIPSIS
  );
}

/** A chat message as a notice: "sender: text", both shortened. */
export function chatNotice(name: string, text: string): string {
  return `${truncate(name, CHAT_NOTICE_NAME_CHARS)}: ${truncate(text, CHAT_NOTICE_CHARS)}`;
}
