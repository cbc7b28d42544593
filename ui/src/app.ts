// The app's frame: top bar, the current view, and moving between lobby, pre-join and call.

import {
  type AppInfo,
  api,
  type CallInfo,
  errorText,
  type HostInfo,
  type InviteEvent,
  type Target,
} from "./api";
import type { CallBus } from "./call-bus";
import { clear, h, ICONS, icon, nameIcon } from "./dom";
import { resolveLocale, retranslate, setLocale, t } from "./i18n";
import { applyTheme, type Settings, type SettingsStore } from "./settings";
import type { RoomChoice, Shell, View } from "./shell";
import { toast } from "./toast";
import { allFeedStats } from "./video/feed";
import { renderCall } from "./views/call";
import { renderLobby } from "./views/lobby";
import { renderPrejoin } from "./views/prejoin";
import { openSettings } from "./views/settings";

/** The app's frame: what the views are shown in and ask things of. */
export class App implements Shell {
  host: HostInfo | null = null;
  private view: View | null = null;
  /** Whether the view shown is a call. */
  private inCall = false;
  private readonly main: HTMLElement;

  constructor(
    readonly root: HTMLElement,
    readonly store: SettingsStore,
    readonly info: AppInfo,
  ) {
    const settingsButton = h(
      "button",
      { class: "icon-button", testid: "open-settings", on: { click: () => openSettings(this) } },
      icon(ICONS.gear),
    );
    nameIcon(settingsButton, "settings.title");
    const brand = h(
      "div",
      { class: "brand" },
      h("img", { attrs: { src: "./icon.png", alt: "" } }),
      h("span", { text: "Quartet" }),
    );
    this.main = h("main", { class: "view" });
    root.append(
      h("header", { class: "topbar" }, brand, h("div", { class: "spacer" }), settingsButton),
      this.main,
    );
    applyTheme(this.settings.theme);
    // The end-to-end test reads the video figures from here.
    (window as unknown as { __quartet: unknown }).__quartet = { feedStats: allFeedStats };
  }

  get settings(): Settings {
    return this.store.get();
  }

  async update(patch: Partial<Settings>): Promise<Settings> {
    const before = this.settings.language;
    const next = await this.store.update(patch);
    if (next.language !== before) this.applyLanguage();
    applyTheme(next.theme);
    return next;
  }

  applyLanguage(): void {
    setLocale(resolveLocale(this.settings.language, this.info.locale));
    retranslate(document.body);
  }

  /** The room server in use: the hosted one or the one typed in. */
  serverUrl(): string | null {
    return this.settings.mode === "host"
      ? (this.host?.url ?? null)
      : this.settings.serverUrl.trim() || null;
  }

  async ensureHost(): Promise<HostInfo> {
    this.host = await api.hostStart(this.settings.lan);
    return this.host;
  }

  private show(view: View, inCall = false): void {
    this.inCall = inCall;
    this.view?.dispose();
    clear(this.main);
    this.view = view;
    this.main.appendChild(view.element);
  }

  showLobby(): void {
    this.show(renderLobby(this));
  }

  showPrejoin(room: RoomChoice): void {
    this.show(renderPrejoin(this, room));
  }

  showCall(room: RoomChoice, call: CallInfo, events: CallBus): void {
    this.show(renderCall(this, room, call, events), true);
  }

  /** Goes to the pre-join of the room an invite link names, on its server; a call under way is not left for it. */
  async openInvite(invite: InviteEvent): Promise<void> {
    if (invite.type === "refused") {
      toast(t("toast.inviteRefused"), "error", invite.reason);
      return;
    }
    if (this.inCall) {
      toast(t("toast.inviteInCall"));
      return;
    }
    const hostedHere =
      this.settings.mode === "host" &&
      (this.host?.url === invite.server || this.host?.shareUrl === invite.server);
    if (!hostedHere && invite.server !== this.serverUrl())
      await this.update({ mode: "remote", serverUrl: invite.server });
    const target: Target = invite.kind
      ? { kind: "join", roomId: invite.roomId, roomKind: invite.kind }
      : { kind: "join", roomId: invite.roomId };
    this.showPrejoin({ target, label: invite.roomId });
  }

  /** Opens the rooms of invite links: the one that launched the app, and any that arrive later. */
  listenForInvites(): void {
    void api.onInvite((invite) => void this.openInvite(invite)).catch(() => undefined);
    void api
      .takeInvite()
      .then((invite) => invite && this.openInvite(invite))
      .catch(() => undefined);
  }

  fail(e: unknown): void {
    toast(errorText(e), "error");
    console.warn(e);
  }
}
