// The call's figures, read twice a second: each tile's frame rate, bitrate and latency (shown
// when the stats are on), who is speaking, who seems muted, and whether our own stream is up.

import { api, type Stats } from "../../api";
import { t } from "../../i18n";
import {
  formatKbps,
  formatRung,
  judgesQuality,
  MutedGuess,
  MutedTalkHint,
  SpeakingDetector,
} from "../../model";
import { toast } from "../../toast";
import type { CallControls } from "./controls";
import type { CallGrid } from "./grid";
import { type CallState, takeOwnFigures } from "./state";

/** How often the figures behind the speaking highlight and the stats overlay are read. */
export const STATS_POLL_MS = 500;

/** A feed's figures as the page measures them (read by the end-to-end test too). */
interface FeedStats {
  feed: string;
  kibPerSecond: number;
  sendToDrawMsP50: number | null;
}

/** The call's figures, shown on its tiles. */
export class CallStats {
  private readonly speaking = new Map<string, SpeakingDetector>();
  private readonly selfSpeaking = new SpeakingDetector();
  private readonly mutedTalk = new MutedTalkHint();
  private readonly mutedGuess = new Map<string, MutedGuess>();
  private timer: number | undefined;

  constructor(
    private readonly state: CallState,
    private readonly grid: CallGrid,
    private readonly controls: CallControls,
    private readonly linkDot: HTMLElement,
  ) {}

  /** Shows the figures on the tiles, or hides them. */
  toggle(): void {
    this.state.statsOn = !this.state.statsOn;
    this.controls.showStats();
    this.grid.showStats();
  }

  /** Reads the figures now and every poll, until the call's screen is gone. */
  poll(): void {
    api
      .stats()
      .then((s) => this.apply(s))
      .catch(() => undefined)
      .finally(() => {
        if (!this.state.disposed) this.timer = window.setTimeout(() => this.poll(), STATS_POLL_MS);
      });
  }

  /** Forgets what was learned of a member who left. */
  forget(userId: string): void {
    this.speaking.delete(userId);
    this.mutedGuess.delete(userId);
  }

  stop(): void {
    window.clearTimeout(this.timer);
  }

  private apply(s: Stats): void {
    const now = performance.now();
    const feeds = new Map(
      (window as unknown as { __quartet: { feedStats: () => FeedStats[] } }).__quartet
        .feedStats()
        .map((f) => [f.feed, f]),
    );
    this.applyOwn(s, now);
    const tiles = this.grid.tiles;
    for (const r of s.remotes) {
      const tile = tiles[r.tile + 1];
      if (!tile || tile.member?.userId !== r.userId) continue;
      const speak = this.speaking.get(r.userId) ?? new SpeakingDetector();
      this.speaking.set(r.userId, speak);
      const mute = this.mutedGuess.get(r.userId) ?? new MutedGuess();
      this.mutedGuess.set(r.userId, mute);
      if (r.state) tile.setState(r.state);
      else tile.setVideoOff(r.videoOff);
      tile.setSpeaking(speak.update(r.audioLevel, now));
      tile.setMuted(mute.update(r.audioLevel, now));
      tile.setQuality(r.state && !judgesQuality(r.state) ? null : r.quality);
      const feed = feeds.get(`tile-${r.tile}`);
      const parts = [`${r.fps.toFixed(0)} fps`, formatKbps(r.kbps)];
      if (r.latencyMsP50 !== null) parts.push(t("call.latency", { n: Math.round(r.latencyMsP50) }));
      if (r.stream === "small") parts.push(t("call.smallStream"));
      let page = "";
      if (feed) {
        page = `\nIPC ${feed.kibPerSecond.toFixed(0)} KiB/s`;
        if (feed.sendToDrawMsP50 !== null)
          page += ` · ${t("call.toScreen", { n: Math.round(feed.sendToDrawMsP50) })}`;
      }
      tile.statsLine.textContent = parts.join(" · ") + page;
    }
  }

  /** Our own figures: what we send, whether our link is up, whether we talk into a muted mic. */
  private applyOwn(s: Stats, now: number): void {
    if (s.publisher) {
      const p = s.publisher;
      const rung = formatRung(p.width, p.height, p.targetKbps);
      this.grid.self.statsLine.textContent = `${p.fps.toFixed(0)} fps · ${formatKbps(p.kbps)} · ${rung}${p.connected ? "" : " · …"}`;
      // Connected is not enough: a stalled uplink carries nothing either.
      this.linkDot.classList.toggle(
        "up",
        p.connected && s.ownState !== "stalled" && s.ownState !== "reconnecting",
      );
      const talking = this.selfSpeaking.update(p.micLevel, now);
      this.grid.self.setSpeaking(talking && !this.state.micMuted);
      if (this.mutedTalk.update(this.state.micMuted, talking, now)) toast(t("call.talkingMuted"));
    }
    if (takeOwnFigures(this.state, s.ownState, s.hasCamera)) this.controls.showMicAndCamera();
  }
}
