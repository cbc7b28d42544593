// One tile of the call's grid: a member's pictures, or their initials and what the call says
// of them (connecting, waiting, camera off, stalled), with name, mute, quality and sharing marks.

import { type Encoding, errorDetail, type Member, type Quality, type TileState } from "../api";
import { h, ICONS, icon, markSelfMirror, nameIcon } from "../dom";
import { tx, txAttr } from "../i18n";
import { avatarHue, hearsSound, initials, tileStatusKey } from "../model";
import { VideoFeed } from "../video/feed";

/** A cell of the grid (0 is us). */
export class Tile {
  readonly el: HTMLElement;
  private canvas: HTMLCanvasElement;
  private readonly placeholder: HTMLElement;
  private readonly avatar: HTMLElement;
  private readonly status: HTMLElement;
  private readonly name: HTMLElement;
  private readonly micMark: HTMLElement;
  private readonly qualityMark: HTMLElement;
  private readonly qualityLabel: HTMLElement;
  private readonly sharingMark: HTMLElement;
  readonly statsLine: HTMLElement;
  member: Member | null = null;
  /** What the call says the tile shows (null before its first figures). */
  state: TileState | null = null;
  private feed: VideoFeed | null = null;
  private hasFrame = false;
  private mirrored = false;

  constructor(
    readonly index: number,
    actions: HTMLElement,
  ) {
    this.canvas = this.newCanvas();
    this.avatar = h("div", { class: "avatar" });
    this.status = h("div", { class: "tile-status" });
    this.placeholder = h("div", { class: "placeholder" }, this.avatar, this.status);
    this.micMark = h(
      "span",
      { class: "mic-mark", attrs: { hidden: true, role: "img" } },
      icon(ICONS.micOff),
    );
    nameIcon(this.micMark, "call.muted");
    this.qualityLabel = h("span", { class: "quality-label" });
    this.qualityMark = h(
      "span",
      { class: "quality-mark", testid: "tile-quality", attrs: { hidden: true, role: "img" } },
      h("span", { class: "quality-dot" }),
      this.qualityLabel,
    );
    this.name = h("span", { class: "tile-name-text" });
    this.sharingMark = h(
      "span",
      { class: "sharing-mark", testid: "tile-sharing", attrs: { hidden: true } },
      icon(ICONS.screen),
    );
    this.sharingMark.append(
      tx(h("span", { class: "sharing-text" }), index === 0 ? "call.youShare" : "call.sharing"),
    );
    this.statsLine = h("div", { class: "tile-stats", testid: "tile-stats" });
    this.el = h(
      "div",
      { class: "tile empty", testid: `tile-${index}` },
      this.canvas,
      this.placeholder,
      h("div", { class: "tile-name" }, this.qualityMark, this.micMark, this.name, this.sharingMark),
      this.statsLine,
      actions,
    );
    this.showEmpty();
  }

  private newCanvas(): HTMLCanvasElement {
    const canvas = h("canvas", { class: "video", testid: "tile-canvas" });
    if (this.index === 0) markSelfMirror(canvas, this.mirrored);
    return canvas;
  }

  /** Mirrors our own picture (tile 0) or not, by the source it comes from. */
  setMirrored(mirrored: boolean): void {
    this.mirrored = mirrored;
    if (this.index === 0) markSelfMirror(this.canvas, mirrored);
  }

  /**
   * Shows `member` here, opening its pictures (`source`) when it is someone new. The feed follows
   * the member from player to player until it leaves the call, so it is opened once.
   */
  setMember(member: Member | null, source: string | null, encoding: Encoding): void {
    const same = member?.userId === this.member?.userId;
    this.member = member;
    this.el.classList.toggle("empty", !member);
    this.el.dataset.userId = member?.userId ?? "";
    this.sharingMark.hidden = !member?.sharingScreen;
    this.el.classList.toggle("sharing", !!member?.sharingScreen);
    if (!same) this.forgetState();
    if (!member) {
      this.closeFeed();
      this.showEmpty();
      return;
    }
    if (this.index === 0) tx(this.name, "call.you", { name: member.userName });
    else {
      delete this.name.dataset.i18n;
      this.name.textContent = member.userName;
    }
    this.avatar.textContent = initials(member.userName);
    this.avatar.style.background = `hsl(${avatarHue(member.userId)} 45% 42%)`;
    if (same && this.feed) return;
    this.closeFeed();
    this.setStatus("connecting");
    if (source) this.openFeed(source, encoding);
  }

  private openFeed(source: string, encoding: Encoding): void {
    const canvas = this.newCanvas();
    this.canvas.replaceWith(canvas);
    this.canvas = canvas;
    this.hasFrame = false;
    this.el.classList.remove("live");
    const id = this.index === 0 ? "self" : `tile-${this.index - 1}`;
    const feed = new VideoFeed(id, source, encoding, canvas, {
      onFrame: () => this.frame(),
      onEnded: () => this.feedEnded(feed),
    });
    this.feed = feed;
    feed.open().catch((e) => {
      feed.close(false);
      if (this.feed === feed) this.feed = null;
      console.warn(`tile ${this.index}: ${errorDetail(e)}`);
    });
  }

  /** The member has left the call (or the call ended): its feed has closed itself. */
  private feedEnded(feed: VideoFeed): void {
    if (this.feed === feed) this.feed = null;
  }

  private frame(): void {
    if (this.hasFrame) return;
    this.hasFrame = true;
    this.el.classList.add("live");
    this.setStatus("playing");
  }

  closeFeed(): void {
    this.feed?.close();
    this.feed = null;
    this.hasFrame = false;
    this.el.classList.remove("live");
  }

  private showEmpty(): void {
    this.avatar.textContent = "";
    this.avatar.style.background = "";
    this.name.textContent = "";
    delete this.name.dataset.i18n;
    tx(this.status, "call.emptyTile");
    this.micMark.hidden = true;
    this.setQuality(null);
    this.statsLine.textContent = "";
    this.el.classList.remove("speaking", "video-off", "reconnecting");
  }

  private forgetState(): void {
    this.state = null;
    delete this.el.dataset.state;
    // The previous member's state is not the new one's.
    this.el.classList.remove("stalled", "reconnecting", "video-off");
  }

  /** Shows what the call says of this tile: its words, dimmed while stalled or reconnecting. */
  setState(state: TileState): void {
    if (state === this.state) return;
    this.state = state;
    this.el.dataset.state = state;
    this.el.classList.toggle("video-off", state === "cameraOff");
    this.el.classList.toggle("reconnecting", state === "reconnecting" || state === "stalled");
    this.el.classList.toggle("stalled", state === "stalled");
    const key = tileStatusKey(state);
    if (key) tx(this.status, key, { name: this.member?.userName ?? "" });
    // No sound comes while waiting or reconnecting: its silence says nothing of a mute.
    if (this.index > 0 && !hearsSound(state)) this.micMark.hidden = true;
  }

  /** The feed's own word until the call's figures say more: connecting until its first picture. */
  private setStatus(status: "connecting" | "playing"): void {
    if (this.state !== null && this.state !== "live") return;
    tx(this.status, status === "connecting" ? "call.connecting" : "call.cameraOff");
  }

  setVideoOff(off: boolean): void {
    this.el.classList.toggle("video-off", off);
    if (off) tx(this.status, "call.cameraOff");
  }

  /** Shows the connection quality (a dot; named in words once it is not good), or hides it. */
  setQuality(quality: Quality | null): void {
    this.qualityMark.hidden = quality === null;
    this.qualityMark.classList.remove("good", "poor", "bad");
    if (quality === null) return;
    this.qualityMark.classList.add(quality);
    this.qualityMark.dataset.quality = quality;
    const key = `call.quality.${quality}` as const;
    txAttr(this.qualityMark, "title", key);
    txAttr(this.qualityMark, "aria-label", key);
    if (quality === "good") {
      this.qualityLabel.textContent = "";
      delete this.qualityLabel.dataset.i18n;
    } else tx(this.qualityLabel, key);
  }

  setMuted(muted: boolean): void {
    const silenceMeansMuted = this.index === 0 || this.state === null || hearsSound(this.state);
    this.micMark.hidden = !(muted && silenceMeansMuted);
  }

  setSpeaking(speaking: boolean): void {
    this.el.classList.toggle("speaking", speaking);
  }
}
