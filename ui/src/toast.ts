// Short notices in the corner of the window; when the window is hidden, a system notification.

import { isPermissionGranted, requestPermission, sendNotification } from "@tauri-apps/plugin-notification";
import { h } from "./dom";

export const TOAST_MS = 4000;

let host: HTMLElement | null = null;

/** Shows `text`; `detail` (e.g. a device's own English error) is its tooltip. */
export function toast(text: string, kind: "info" | "error" = "info", detail?: string): void {
  if (!host?.isConnected) host = document.body.appendChild(h("div", { class: "toasts", attrs: { "aria-live": "polite" } }));
  const el = h("div", { class: `toast ${kind}`, text, testid: "toast" });
  if (detail) el.title = detail;
  host.appendChild(el);
  setTimeout(() => el.classList.add("leaving"), TOAST_MS - 300);
  setTimeout(() => el.remove(), TOAST_MS);
  if (document.hidden) notify(text).catch(() => undefined);
}

async function notify(body: string): Promise<void> {
  let granted = await isPermissionGranted();
  if (!granted) granted = (await requestPermission()) === "granted";
  if (granted) sendNotification({ title: "Quartet", body });
}
