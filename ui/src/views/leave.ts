// Leaving a call we host: ask "Leave, or end for everyone?" once, unless the user said not to
// ask again; the window's close button goes through the same question.

import { api, type LeaveMode, type LeaveOptions } from "../api";
import { h, holdDialog } from "../dom";
import { tx } from "../i18n";
import type { HostLeave } from "../settings";
import type { Shell } from "../shell";

/** What leaving does without a question, or that the user must be asked. */
export type LeaveDecision = LeaveMode | "ask";

/**
 * How to leave: a member (or a host alone) just leaves; a remembered choice is followed, except
 * that a remembered "leave" on a server that cannot hand the room over would end the call for
 * everyone, so the user is asked after all.
 */
export function leaveDecision(options: LeaveOptions, remembered: HostLeave): LeaveDecision {
  if (!options.worthAsking) return "leave";
  if (remembered === "end") return "end";
  if (remembered === "leave" && options.canHandOver) return "leave";
  return "ask";
}

/** The user's answer: how to leave, and whether to stop asking. */
export interface LeaveAnswer {
  mode: LeaveMode;
  remember: boolean;
}

/** Asks the host how to leave; null when the user cancels (Escape, Cancel, outside click). */
export function askHowToLeave(options: LeaveOptions): Promise<LeaveAnswer | null> {
  document.querySelector("[data-testid=leave-dialog]")?.closest(".dialog-backdrop")?.remove();
  return new Promise((resolve) => {
    const remember = h("input", {
      attrs: { type: "checkbox" },
      testid: "leave-remember",
    }) as HTMLInputElement;
    const finish = (mode: LeaveMode | null) => {
      release();
      backdrop.remove();
      document.removeEventListener("keydown", onKey);
      resolve(mode ? { mode, remember: remember.checked } : null);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") finish(null);
    };
    const button = (
      key: "leave.handOver" | "leave.end" | "leave.cancel",
      cls: string,
      testid: string,
      mode: LeaveMode | null,
    ) => {
      const b = tx(h("button", { class: `button ${cls}`, testid }), key);
      b.addEventListener("click", () => finish(mode));
      return b;
    };
    const body = options.canHandOver
      ? tx(h("p", { testid: "leave-body" }), "leave.bodyHandOver", { name: options.heirName ?? "" })
      : tx(h("p", { testid: "leave-body" }), "leave.bodyEnds");
    const buttons = [button("leave.cancel", "", "leave-cancel", null)];
    if (options.canHandOver)
      buttons.push(button("leave.handOver", "primary", "leave-hand-over", "leave"));
    buttons.push(button("leave.end", "danger", "leave-end", "end"));
    const dialog = h(
      "div",
      {
        class: "dialog card",
        attrs: { role: "dialog", "aria-modal": "true" },
        testid: "leave-dialog",
      },
      h("div", { class: "card-head" }, tx(h("h2"), "leave.title")),
      body,
      h("label", { class: "check" }, remember, tx(h("span"), "leave.dontAsk")),
      h("div", { class: "row end" }, ...buttons),
    );
    const backdrop = h("div", { class: "dialog-backdrop" }, dialog);
    backdrop.addEventListener("click", (e) => {
      if (e.target === backdrop) finish(null);
    });
    document.addEventListener("keydown", onKey);
    const release = holdDialog(dialog);
    document.body.appendChild(backdrop);
    (buttons[1] ?? buttons[0]).focus();
  });
}

/**
 * How to leave the call now, asking if it matters; remembers the answer when told to. Null
 * when the user chose to stay. Without an answer from the app (the call just ended) it leaves.
 */
export async function chooseLeaveMode(app: Shell): Promise<LeaveMode | null> {
  let options: LeaveOptions | null;
  try {
    options = await api.callLeaveOptions();
  } catch {
    return "leave";
  }
  if (!options) return "leave";
  const decision = leaveDecision(options, app.settings.hostLeave);
  if (decision !== "ask") return decision;
  const answer = await askHowToLeave(options);
  if (!answer) return null;
  if (answer.remember) await app.update({ hostLeave: answer.mode });
  return answer.mode;
}
