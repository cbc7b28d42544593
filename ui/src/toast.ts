// Short notices: at the top of the window, or in the lane a view docks them to (the call puts
// them between its grid and its controls, where they cover no one's face); when the window is
// hidden, a system notification too. The same notice again soon counts on the one shown
// (see ./notices).

import {
  isPermissionGranted,
  requestPermission,
  sendNotification,
} from "@tauri-apps/plugin-notification";
import { api, errorDetail, errorText } from "./api";
import { h } from "./dom";
import { type Key, tx } from "./i18n";
import { countLabel, type NoticeRecord, noteNotice, noticeKey } from "./notices";

export const TOAST_MS = 4000;
/** How long a leaving notice fades before it is removed. */
const FADE_MS = 300;

/** A button on a notice (e.g. "Open folder"). */
export interface NoticeAction {
  key: Key;
  run: () => void;
}

/** What a notice may have besides its words. */
export interface NoticeOptions {
  action?: NoticeAction;
  /** Shown at the top of the window even while a view docks notices: it is about leaving
   * that view (e.g. the room was closed), so it must outlive it. */
  outlive?: boolean;
}

let host: HTMLElement | null = null;
let dock: HTMLElement | null = null;
const seen = new WeakMap<HTMLElement, NoticeRecord[]>();
const timers = new WeakMap<HTMLElement, number[]>();

/** Shows notices in `lane` (at the top of the window again once it leaves the page). */
export function dockNotices(lane: HTMLElement): void {
  dock = lane;
}

/** Stops showing notices in `lane` and clears it: its notices belonged to the view leaving. */
export function undockNotices(lane: HTMLElement): void {
  if (dock === lane) dock = null;
  for (const el of [...lane.children]) clearTimers(el as HTMLElement);
  lane.replaceChildren();
  seen.delete(lane);
}

function topHost(): HTMLElement {
  if (!host?.isConnected)
    host = document.body.appendChild(
      h("div", { class: "toasts", attrs: { "aria-live": "polite" } }),
    );
  return host;
}

function clearTimers(el: HTMLElement): void {
  for (const id of timers.get(el) ?? []) window.clearTimeout(id);
  timers.delete(el);
}

function scheduleRemoval(el: HTMLElement): void {
  clearTimers(el);
  el.classList.remove("leaving");
  timers.set(el, [
    window.setTimeout(() => el.classList.add("leaving"), TOAST_MS - FADE_MS),
    window.setTimeout(() => el.remove(), TOAST_MS),
  ]);
}

/** Shows `text`; `detail` (e.g. a device's own English error) is its tooltip. */
export function toast(
  text: string,
  kind: "info" | "error" = "info",
  detail?: string,
  options: NoticeOptions = {},
): void {
  const docked = !options.outlive && dock?.isConnected ? dock : null;
  const target = docked ?? topHost();
  const key = noticeKey(kind, text);
  const noted = noteNotice(seen.get(target) ?? [], key, Date.now());
  seen.set(target, noted.records);
  let el = [...target.children].find((c) => (c as HTMLElement).dataset.key === key) as
    | HTMLElement
    | undefined;
  if (!el) {
    el = h(
      "div",
      { class: `toast ${kind}`, testid: "toast" },
      h("span", { class: "toast-text", text }),
      h("span", { class: "toast-count", testid: "toast-count" }),
    );
    el.dataset.key = key;
    el.title = detail ?? text;
    if (options.action) {
      const { run } = options.action;
      el.append(
        tx(
          h("button", { class: "link toast-action", testid: "notice-action", on: { click: run } }),
          options.action.key,
        ),
      );
    }
  }
  const count = el.querySelector(".toast-count");
  if (count) count.textContent = countLabel(noted.count);
  // Newest first in the lane, where only one row shows; last at the top of the window.
  if (docked) target.prepend(el);
  else target.append(el);
  scheduleRemoval(el);
  if (noted.count === 1 && document.hidden) notify(text).catch(() => undefined);
}

/** A notice's button that shows `path`, a file the app saved, in the system's file manager. */
export function openFolder(path: string): NoticeAction {
  return {
    key: "common.openFolder",
    run: () =>
      void api.revealSavedFile(path).catch((e) => toast(errorText(e), "error", errorDetail(e))),
  };
}

async function notify(body: string): Promise<void> {
  let granted = await isPermissionGranted();
  if (!granted) granted = (await requestPermission()) === "granted";
  if (granted) sendNotification({ title: "Quartet", body });
}
