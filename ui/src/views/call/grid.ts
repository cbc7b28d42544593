// The call's grid: four tiles, ours top left, each with pin, full-screen and save buttons; one
// member spotlit large with the others as a strip; others' pictures decoded at the size shown.

import { api } from "../../api";
import { h, ICONS, icon, nameIcon } from "../../dom";
import { t, tx } from "../../i18n";
import { gridCells, pictureSize } from "../../model";
import { mirrorsSelfView } from "../../settings";
import type { Shell } from "../../shell";
import { backToGrid, followMembers, togglePin as pinOrUnpin, spotlightCell } from "../../spotlight";
import { openFolder, toast } from "../../toast";
import { ResizeObserverShim } from "../settle";
import { Tile } from "../tile";
import { type CallState, toggleFull } from "./state";

/** The grid of a call, over its state. */
export class CallGrid {
  /** The grid itself. */
  readonly element: HTMLElement;
  /** The four tiles, ours first. */
  readonly tiles: Tile[];
  /** Back to two by two; shown (in the header) while a member is spotlit. */
  readonly backButton: HTMLButtonElement;
  private readonly pinButtons: HTMLButtonElement[] = [];
  private readonly fullButtons: HTMLButtonElement[] = [];
  private readonly resizer: ResizeObserverShim;

  constructor(
    private readonly app: Shell,
    private readonly state: CallState,
  ) {
    this.tiles = [0, 1, 2, 3].map((i) => new Tile(i, this.tileActions(i)));
    this.element = h(
      "div",
      { class: "grid", testid: "grid" },
      ...this.tiles.map((tile) => tile.el),
    );
    this.backButton = h(
      "button",
      { class: "button small", testid: "back-to-grid", attrs: { hidden: true } },
      icon(ICONS.grid),
      tx(h("span"), "call.backToGrid"),
    );
    this.backButton.addEventListener("click", () => {
      state.spotlight = backToGrid(state.spotlight);
      this.showSpotlight();
    });
    // Decoded pictures are made at the size they are shown (H.264 is decoded by the page at
    // whatever size was sent).
    this.resizer = new ResizeObserverShim(() => this.askForSizes());
    this.resizer.observe(this.element);
    document.addEventListener("keydown", this.onKey);
  }

  /** Our own tile. */
  get self(): Tile {
    return this.tiles[0];
  }

  private tileActions(index: number): HTMLElement {
    const pin = h(
      "button",
      {
        class: "icon-button small",
        testid: "tile-pin",
        on: { click: () => this.togglePin(index) },
      },
      icon(ICONS.pin),
    );
    nameIcon(pin, "call.pin");
    const expand = h(
      "button",
      {
        class: "icon-button small",
        testid: "tile-fullscreen",
        on: { click: () => this.toggleFull(index) },
      },
      icon(ICONS.expand),
    );
    nameIcon(expand, "call.fullscreen");
    const save = h(
      "button",
      {
        class: "icon-button small",
        testid: "tile-snapshot",
        on: { click: () => void this.saveTile(index) },
      },
      icon(ICONS.snapshot),
    );
    nameIcon(save, "call.saveTile");
    this.pinButtons.push(pin);
    this.fullButtons.push(expand);
    return h("div", { class: "tile-actions" }, pin, expand, save);
  }

  /** Puts the members into the tiles; a spotlit member who left is let go. */
  place(): void {
    this.state.spotlight = followMembers(this.state.spotlight, this.state.members);
    gridCells(this.state.members).forEach((member, i) => {
      // Remote pictures by member, not by tile: the feed follows the member until it leaves.
      const source = member && (i === 0 ? "self" : `member:${member.userId}`);
      this.tiles[i].setMember(member, source, this.state.encoding);
    });
  }

  /** Mirrors our tile when `camera` (a setting's value) is a real camera. */
  mirrorSelf(camera: string): void {
    this.self.setMirrored(mirrorsSelfView(camera));
  }

  /** Shows whether the tiles show their figures. */
  showStats(): void {
    this.element.classList.toggle("show-stats", this.state.statsOn);
  }

  private togglePin(index: number): void {
    const member = this.tiles[index].member;
    if (!member) return;
    this.state.spotlight = pinOrUnpin(this.state.spotlight, member.userId);
    this.showSpotlight();
  }

  /** Shows the spotlit member large (the others as a strip) and tells the call, for recordings. */
  showSpotlight(): void {
    const cell = spotlightCell(this.state.spotlight, this.state.members);
    this.element.classList.toggle("has-pin", cell !== null);
    for (const [i, tile] of this.tiles.entries()) tile.el.classList.toggle("pinned", i === cell);
    for (const [i, b] of this.pinButtons.entries()) {
      nameIcon(b, i === cell ? "call.unpin" : "call.pin");
    }
    this.backButton.hidden = cell === null;
    if (cell === this.state.spotlitCell) return;
    this.state.spotlitCell = cell;
    api.setLayout(cell).catch(() => undefined);
    this.resized();
  }

  private toggleFull(index: number): void {
    toggleFull(this.state, index);
    const full = this.state.full;
    for (const [i, tile] of this.tiles.entries()) tile.el.classList.toggle("full", i === full);
    for (const [i, b] of this.fullButtons.entries()) {
      nameIcon(b, i === full ? "call.exitFullscreen" : "call.fullscreen");
    }
  }

  private readonly onKey = (e: KeyboardEvent): void => {
    if (e.key === "Escape" && this.state.full !== null) this.toggleFull(this.state.full);
  };

  private async saveTile(index: number): Promise<void> {
    try {
      const member = this.tiles[index]?.member;
      if (index > 0 && !member) return;
      const path = await api.snapshotTile(index === 0 ? null : (member?.userId ?? null));
      toast(t("call.snapshotSaved", { path }), "info", undefined, { action: openFolder(path) });
    } catch (e) {
      this.app.fail(e);
    }
  }

  /** The tiles may have a new size (or member): pictures follow once it settles. */
  resized(): void {
    this.resizer.kick();
  }

  private askForSizes(): void {
    if (this.state.encoding !== "i420") return;
    for (const tile of this.tiles.slice(1)) {
      if (!tile.member) continue;
      const [w, h] = pictureSize(
        tile.el.clientWidth,
        tile.el.clientHeight,
        window.devicePixelRatio || 1,
      );
      if (w > 0 && h > 0) api.tileResize(tile.member.userId, w, h).catch(() => undefined);
    }
  }

  /** Stops every picture. */
  closeFeeds(): void {
    for (const tile of this.tiles) tile.closeFeed();
  }

  /** Stops listening for keys and sizes. */
  dispose(): void {
    document.removeEventListener("keydown", this.onKey);
    this.resizer.disconnect();
  }
}
