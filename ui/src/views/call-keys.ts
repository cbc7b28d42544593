// The call's keyboard: the shortcuts of ../shortcuts.ts bound to the call's controls, and
// push-to-talk. Kept apart from the call screen so the screen only says what each key does.

import { h } from "../dom";
import { type Key, t } from "../i18n";
import {
  ariaShortcut,
  isMac,
  isTyping,
  matchShortcut,
  modalOpen,
  PUSH_TO_TALK_KEY,
  type ShortcutAction,
  shortcutLabel,
  spaceActivates,
} from "../shortcuts";

/** What the call does for its keys. */
export interface CallKeyActions {
  /** Runs a shortcut's action, as its control would; done when the call has taken it. */
  run: Record<ShortcutAction, () => void | Promise<void>>;
  /** Whether the microphone is muted now. */
  micMuted(): boolean;
  /** Mutes or unmutes (push-to-talk). */
  setMic(muted: boolean): void;
}

/** What a screen reader is told after a shortcut toggled a control, by whether it is now pressed. */
const SAID: Partial<Record<ShortcutAction, [Key, Key]>> = {
  mute: ["call.saidUnmuted", "call.saidMuted"],
  camera: ["call.saidCameraOn", "call.saidCameraOff"],
};

/** The call's keyboard, bound. */
export interface CallKeys {
  /** A status line, read by screen readers and not drawn, that says what a shortcut did. */
  status: HTMLElement;
  /** Stops listening. */
  dispose(): void;
}

/**
 * Listens for the call's shortcuts on `doc` and shows each on its control (`buttons`) as the
 * tooltip and `aria-keyshortcuts`. The focus stays where it was, so what a toggle did is said in
 * `status`.
 */
export function bindCallKeys(
  actions: CallKeyActions,
  buttons: Record<ShortcutAction, HTMLElement>,
  doc: Document = document,
): CallKeys {
  const status = h("div", {
    class: "sr-only",
    testid: "call-keys-status",
    attrs: { role: "status" },
  });
  const say = async (action: ShortcutAction) => {
    await actions.run[action]();
    const said = SAID[action];
    if (said)
      status.textContent = t(said[buttons[action].getAttribute("aria-pressed") === "true" ? 1 : 0]);
  };
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
      void say(action);
    } else if (
      e.key === PUSH_TO_TALK_KEY &&
      !spaceActivates(e.target) &&
      actions.micMuted() &&
      !talking &&
      !e.repeat
    ) {
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
  return {
    status,
    dispose() {
      doc.removeEventListener("keydown", onKeyDown);
      doc.removeEventListener("keyup", onKeyUp);
      doc.defaultView?.removeEventListener("blur", onBlur);
    },
  };
}
