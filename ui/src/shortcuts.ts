// Keyboard shortcuts in a call. With Ctrl (⌘ on macOS), so they never take a letter from someone
// typing; and never while the focus is in a text field, where Ctrl+E or Ctrl+D may mean something.
// Push-to-talk: while muted, holding Space unmutes until it is let go, except where Space
// presses the focused control (a button, a check box), which it keeps doing for keyboard users.

/** What a shortcut does. */
export type ShortcutAction = "mute" | "camera" | "chat" | "leave";

/** Each action's key, pressed with Ctrl (⌘ on macOS) and, where set, Shift. */
export const SHORTCUTS: Record<ShortcutAction, { key: string; shift: boolean }> = {
  mute: { key: "d", shift: false },
  camera: { key: "e", shift: false },
  chat: { key: "c", shift: true },
  leave: { key: "l", shift: true },
};

/** The key held to talk while muted. */
export const PUSH_TO_TALK_KEY = " ";

/** Whether the system is a Mac (⌘ instead of Ctrl), from `navigator.platform` or the user agent. */
export function isMac(platform: string): boolean {
  return /mac|iphone|ipad/i.test(platform);
}

/** The letter a key stands for: its own where it is a Latin one, else the key's place ("KeyD" is d), so a Cyrillic or Greek layout keeps the shortcuts. */
function letterOf(e: { key: string; code?: string }): string {
  if (/^[a-z]$/i.test(e.key)) return e.key.toLowerCase();
  const place = /^Key([A-Z])$/.exec(e.code ?? "");
  return place ? place[1].toLowerCase() : e.key.toLowerCase();
}

/** The action `e` asks for, if any. */
export function matchShortcut(
  e: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "shiftKey" | "altKey"> & { code?: string },
  mac: boolean,
): ShortcutAction | null {
  const command = mac ? e.metaKey && !e.ctrlKey : e.ctrlKey && !e.metaKey;
  if (!command || e.altKey) return null;
  const key = letterOf(e);
  for (const [action, s] of Object.entries(SHORTCUTS) as [
    ShortcutAction,
    { key: string; shift: boolean },
  ][]) {
    if (s.key === key && s.shift === e.shiftKey) return action;
  }
  return null;
}

/** How a shortcut is written on this system: "Ctrl+Shift+C", or "⇧⌘C" on a Mac. */
export function shortcutLabel(action: ShortcutAction, mac: boolean): string {
  const s = SHORTCUTS[action];
  const key = s.key.toUpperCase();
  if (mac) return `${s.shift ? "⇧" : ""}⌘${key}`;
  return `Ctrl+${s.shift ? "Shift+" : ""}${key}`;
}

/** The same for `aria-keyshortcuts` ("Control+Shift+C", "Meta+D"). */
export function ariaShortcut(action: ShortcutAction, mac: boolean): string {
  const s = SHORTCUTS[action];
  return `${mac ? "Meta" : "Control"}+${s.shift ? "Shift+" : ""}${s.key.toUpperCase()}`;
}

/** Whether keys typed at `target` are text: an input, a text area, a select or editable content. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

/** Roles whose element Space presses or ticks, as it does a button. */
const SPACE_ROLES = [
  "button",
  "checkbox",
  "switch",
  "radio",
  "menuitem",
  "menuitemcheckbox",
  "menuitemradio",
  "option",
  "tab",
  "link",
];

/** Whether Space at `target` presses it (a button, a link, a check box), so it is no push-to-talk. */
export function spaceActivates(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (isTyping(target)) return true;
  if (
    ["BUTTON", "SUMMARY"].includes(target.tagName) ||
    (target.tagName === "A" && target.hasAttribute("href"))
  )
    return true;
  return SPACE_ROLES.includes(target.getAttribute("role") ?? "");
}

/** Whether a modal dialog is open in `doc`: the keys are then its own, not the call's. */
export function modalOpen(doc: Document = document): boolean {
  return doc.querySelector('[role="dialog"][aria-modal="true"]') !== null;
}
