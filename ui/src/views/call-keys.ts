// The call's keyboard: the shortcuts of ../shortcuts.ts bound to the call's controls, and
// push-to-talk. Kept apart from the call screen so the screen only says what each key does.

import { PUSH_TO_TALK_KEY, ariaShortcut, isMac, isTyping, matchShortcut, modalOpen, shortcutLabel, spaceActivates, type ShortcutAction } from "../shortcuts";

/** What the call does for its keys. */
export interface CallKeyActions {
  /** Runs a shortcut's action, as its control would. */
  run: Record<ShortcutAction, () => void>;
  /** Whether the microphone is muted now. */
  micMuted(): boolean;
  /** Mutes or unmutes (push-to-talk). */
  setMic(muted: boolean): void;
}

/**
 * Listens for the call's shortcuts on `doc` and shows each on its control (`buttons`) as the
 * tooltip and `aria-keyshortcuts`. Returns what stops listening.
 */
export function bindCallKeys(actions: CallKeyActions, buttons: Record<ShortcutAction, HTMLElement>, doc: Document = document): () => void {
  const mac = isMac(navigator.platform || navigator.userAgent);
  for (const [action, button] of Object.entries(buttons) as [ShortcutAction, HTMLElement][]) {
    button.setAttribute("aria-keyshortcuts", ariaShortcut(action, mac));
    // The keys read the same in every language: the tooltip is them alone.
    button.title = shortcutLabel(action, mac);
  }
  /** Unmuted by holding the push-to-talk key, to mute again when it is let go. */
  let talking = false;
  const stopTalking = () => {
    if (!talking) return;
    talking = false;
    actions.setMic(true);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    // A dialog over the call owns the keyboard, and a text field owns its letters.
    if (e.defaultPrevented || isTyping(e.target) || modalOpen(doc)) return;
    const action = matchShortcut(e, mac);
    if (action) {
      e.preventDefault();
      actions.run[action]();
    } else if (e.key === PUSH_TO_TALK_KEY && !spaceActivates(e.target) && actions.micMuted() && !talking && !e.repeat) {
      e.preventDefault();
      talking = true;
      actions.setMic(false);
    }
  };
  const onKeyUp = (e: KeyboardEvent) => {
    if (e.key === PUSH_TO_TALK_KEY) stopTalking();
  };
  // The key let go in another window never comes back here: losing the window ends the talk.
  const onBlur = () => stopTalking();
  doc.addEventListener("keydown", onKeyDown);
  doc.addEventListener("keyup", onKeyUp);
  doc.defaultView?.addEventListener("blur", onBlur);
  return () => {
    doc.removeEventListener("keydown", onKeyDown);
    doc.removeEventListener("keyup", onKeyUp);
    doc.defaultView?.removeEventListener("blur", onBlur);
  };
}
