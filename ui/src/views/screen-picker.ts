// Before the screen goes out mid-call: the person sees every screen and window that could be
// shared, as the others would see it, and picks one (or none).

import { api, errorText, type ScreenSource, type VideoChoice } from "../api";
import { h, holdDialog } from "../dom";
import { tx } from "../i18n";

/** The person chose not to share: no error to report. */
export class ShareCancelled extends Error {}

/** Screens first (in the order given), then windows. */
export function orderSources(sources: ScreenSource[]): ScreenSource[] {
  return [
    ...sources.filter((s) => s.kind !== "window"),
    ...sources.filter((s) => s.kind === "window"),
  ];
}

/** The card's caption: screens by number (the system's name after it), windows by title. */
function caption(
  el: HTMLElement,
  source: ScreenSource,
  monitorNumber: number,
  hasMonitors: boolean,
): HTMLElement {
  if (source.kind === "desktop")
    return tx(el, hasMonitors ? "screen.allScreens" : "screen.entireScreen");
  if (source.kind === "monitor") {
    tx(el, "screen.monitor", { n: monitorNumber });
    if (source.label) el.dataset.name = source.label;
    return el;
  }
  if (source.label) {
    el.textContent = source.label;
    el.title = source.label;
    return el;
  }
  return tx(el, "screen.untitled");
}

/** What the picker offers beside the screens. */
export interface ShareOptions {
  /** The camera that can be shown in the screen's corner; null where there is none. */
  corner?: VideoChoice | null;
  /** Say that the system asks permission to record the screen, with a way to its settings (macOS). */
  permissionNote?: boolean;
}

/** The picker's parts that the choosing reads and changes. */
interface PickerParts {
  backdrop: HTMLElement;
  dialog: HTMLElement;
  cancel: HTMLButtonElement;
  share: HTMLButtonElement;
  status: HTMLElement;
  grid: HTMLElement;
  cornerBox: HTMLInputElement;
}

/** The dialog around the sources: heading, notes, the (empty) grid, the corner box, buttons. */
function pickerDialog(
  options: ShareOptions,
  onCancel: () => void,
  onShare: () => void,
): PickerParts {
  const cancel = tx(h("button", { class: "button", testid: "screen-cancel" }), "screen.cancel");
  cancel.addEventListener("click", onCancel);
  const share = tx(
    h("button", { class: "button primary", testid: "screen-share", attrs: { disabled: true } }),
    "screen.share",
  );
  share.addEventListener("click", onShare);
  const status = tx(
    h("p", { class: "muted", testid: "screen-status", attrs: { "aria-live": "polite" } }),
    "screen.loading",
  );
  const grid = h("div", { class: "screen-sources", testid: "screen-sources" });
  const cornerBox = h("input", { testid: "screen-corner", attrs: { type: "checkbox" } });
  const cornerRow = h("label", { class: "check" }, cornerBox, tx(h("span"), "screen.corner"));
  cornerRow.hidden = !options.corner;
  const dialog = h(
    "div",
    {
      class: "dialog card screen-dialog",
      attrs: { role: "dialog", "aria-modal": "true" },
      testid: "screen-dialog",
    },
    h("div", { class: "card-head" }, tx(h("h2"), "screen.title")),
    tx(h("p", { class: "muted" }), "screen.body"),
    permissionNote(options),
    status,
    grid,
    cornerRow,
    h("div", { class: "row end" }, cancel, share),
  );
  const backdrop = h("div", { class: "dialog-backdrop" }, dialog);
  return { backdrop, dialog, cancel, share, status, grid, cornerBox };
}

/** The note that the system asks permission to record the screen, with a way to its settings. */
function permissionNote(options: ShareOptions): HTMLElement {
  const openSettings = tx(
    h("button", { class: "link", testid: "screen-permission-settings" }),
    "screen.openPermission",
  );
  openSettings.addEventListener(
    "click",
    () => void api.openScreenPrivacySettings().catch(() => undefined),
  );
  const permission = h(
    "p",
    { class: "note", testid: "screen-permission" },
    tx(h("span"), "screen.permission"),
    " ",
    openSettings,
  );
  permission.hidden = !options.permissionNote;
  return permission;
}

/** One source's card: its picture (or a note that there is none) and its caption. */
function sourceCard(source: ScreenSource, label: HTMLElement): HTMLButtonElement {
  const picture = source.thumbnail
    ? h("img", {
        class: "screen-thumbnail",
        testid: "screen-thumbnail",
        attrs: { src: source.thumbnail, alt: "" },
      })
    : tx(h("div", { class: "screen-thumbnail empty" }), "screen.noPicture");
  return h(
    "button",
    {
      class: "screen-card",
      testid: "screen-source",
      attrs: {
        role: "option",
        "aria-selected": "false",
        "data-id": source.id,
        "data-kind": source.kind,
      },
    },
    picture,
    label,
  );
}

/** The cards under their headings: screens, then windows; a group with no card is left out. */
function sourceGroups(sources: ScreenSource[], cards: HTMLButtonElement[]): HTMLElement[] {
  const section = (key: "screen.screens" | "screen.windows", part: HTMLButtonElement[]) =>
    part.length
      ? [
          tx(h("h3", { class: "screen-group" }), key),
          h("div", { class: "screen-grid", attrs: { role: "listbox" } }, ...part),
        ]
      : [];
  const firstWindow = sources.findIndex((s) => s.kind === "window");
  const split = firstWindow < 0 ? cards.length : firstWindow;
  return [
    ...section("screen.screens", cards.slice(0, split)),
    ...section("screen.windows", cards.slice(split)),
  ];
}

/** The keys that move the selection, and by how much. */
const STEP: Record<string, number> = {
  ArrowRight: 1,
  ArrowDown: 1,
  ArrowLeft: -1,
  ArrowUp: -1,
};

/**
 * Shows what could be shared and resolves with the picked screen's choice; rejects with
 * [`ShareCancelled`] when the person declines (Cancel, Escape, a click beside the dialog).
 */
export function chooseScreenShare(options: ShareOptions = {}): Promise<VideoChoice> {
  return new Promise((resolve, reject) => {
    let cards: HTMLButtonElement[] = [];
    let sources: ScreenSource[] = [];
    let selected = -1;
    let done = false;
    const finish = (choice: VideoChoice | Error) => {
      if (done) return;
      done = true;
      release();
      backdrop.remove();
      document.removeEventListener("keydown", onKey, true);
      if (choice instanceof Error) reject(choice);
      else resolve(choice);
    };
    const shareSelected = () => {
      if (selected < 0) return;
      const choice: VideoChoice = { kind: "screen", id: sources[selected].id };
      if (options.corner && cornerBox.checked) choice.corner = options.corner;
      finish(choice);
    };
    const select = (index: number, focus = true) => {
      if (cards.length === 0) return;
      selected = Math.max(0, Math.min(cards.length - 1, index));
      cards.forEach((c, i) => {
        c.setAttribute("aria-selected", String(i === selected));
        c.tabIndex = i === selected ? 0 : -1;
        c.classList.toggle("selected", i === selected);
      });
      if (focus) cards[selected].focus();
      share.disabled = false;
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") finish(new ShareCancelled());
      else if (e.key in STEP && cards.length) select(selected + STEP[e.key]);
      else if (e.key === "Home" && cards.length) select(0);
      else if (e.key === "End" && cards.length) select(cards.length - 1);
      else if (e.key === "Enter" && cards.includes(document.activeElement as HTMLButtonElement))
        shareSelected();
      else return;
      e.preventDefault();
      e.stopPropagation();
    };

    const { backdrop, dialog, cancel, share, status, grid, cornerBox } = pickerDialog(
      options,
      () => finish(new ShareCancelled()),
      shareSelected,
    );
    backdrop.addEventListener("click", (e) => {
      if (e.target === backdrop) finish(new ShareCancelled());
    });
    document.addEventListener("keydown", onKey, true);
    const release = holdDialog(dialog);
    document.body.appendChild(backdrop);
    cancel.focus();

    const show = (listed: ScreenSource[]) => {
      sources = orderSources(listed);
      const hasMonitors = sources.some((s) => s.kind === "monitor");
      let monitors = 0;
      cards = sources.map((source, i) => {
        if (source.kind === "monitor") monitors += 1;
        const label = caption(h("span", { class: "screen-label" }), source, monitors, hasMonitors);
        const card = sourceCard(source, label);
        card.addEventListener("click", () => select(i));
        card.addEventListener("dblclick", () => {
          select(i);
          shareSelected();
        });
        return card;
      });
      grid.replaceChildren(...sourceGroups(sources, cards));
      if (cards.length) {
        status.hidden = true;
        select(0);
      } else {
        tx(status, "screen.nothing");
      }
    };
    api.screenSources().then(
      (listed) => {
        if (!done) show(listed);
      },
      (e) => finish(new Error(errorText(e))),
    );
  });
}
