// Before the screen goes out mid-call: the person sees what the others would see, and says yes.

import { api, errorText } from "../api";
import { h } from "../dom";
import { tx } from "../i18n";

/** The person chose not to share: no error to report. */
export class ShareCancelled extends Error {}

/** Shows the screen as it would be shared; true when the person chooses to share it. */
export async function confirmScreenShare(): Promise<boolean> {
  let picture: string;
  try {
    picture = await api.screenPreview();
  } catch (e) {
    throw new Error(errorText(e));
  }
  return new Promise((resolve) => {
    const finish = (share: boolean) => {
      backdrop.remove();
      document.removeEventListener("keydown", onKey);
      resolve(share);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") finish(false);
    };
    const cancel = tx(h("button", { class: "button", testid: "screen-cancel" }), "screen.cancel");
    cancel.addEventListener("click", () => finish(false));
    const share = tx(h("button", { class: "button primary", testid: "screen-share" }), "screen.share");
    share.addEventListener("click", () => finish(true));
    const img = h("img", { class: "screen-preview", testid: "screen-preview", attrs: { src: picture } });
    const dialog = h(
      "div",
      { class: "dialog card", attrs: { role: "dialog", "aria-modal": "true" }, testid: "screen-dialog" },
      h("div", { class: "card-head" }, tx(h("h2"), "screen.title")),
      tx(h("p", { class: "muted" }), "screen.body"),
      img,
      h("div", { class: "row end" }, cancel, share),
    );
    const backdrop = h("div", { class: "dialog-backdrop" }, dialog);
    backdrop.addEventListener("click", (e) => {
      if (e.target === backdrop) finish(false);
    });
    document.addEventListener("keydown", onKey);
    document.body.appendChild(backdrop);
    share.focus();
  });
}
