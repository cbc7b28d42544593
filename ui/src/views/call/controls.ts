// The call's controls: the microphone (with a live meter of what the others hear), the camera,
// devices, the side panes, figures, snapshot, recording, demo members, and leaving.

import { api, errorDetail, type LeaveMode } from "../../api";
import { h, ICONS, icon } from "../../dom";
import { type Key, t, tx, txAttr } from "../../i18n";
import type { Shell } from "../../shell";
import type { ShortcutAction } from "../../shortcuts";
import { openFolder, toast } from "../../toast";
import { chooseLeaveMode } from "../leave";
import type { RecordControl } from "../record";
import type { CallGrid } from "./grid";
import { type CallState, cameraToggled, type Panel, videoOn } from "./state";

/** How often the live microphone meter reads our level (as the pre-join meter does). */
export const MIC_METER_POLL_MS = 100;
/** RMS shown as a full meter (speech is well below 1.0). */
export const MIC_METER_FULL = 0.3;
/** Names of the demo members (drawn into their test patterns, so kept in Latin letters). */
export const DEMO_NAMES = ["Demo Ann", "Demo Ben", "Demo Cho"];

/** What the controls open elsewhere on the call screen. */
export interface ControlHooks {
  togglePanel(which: Panel): void;
  toggleStats(): void;
  toggleDevices(): void;
  /** Whether the devices popover is open. */
  devicesOpen(): boolean;
}

/** The row of controls under the grid, over the call's state. */
export class CallControls {
  readonly element: HTMLElement;
  readonly micButton: HTMLButtonElement;
  readonly camButton: HTMLButtonElement;
  readonly devicesButton: HTMLButtonElement;
  readonly chatButton: HTMLButtonElement;
  readonly peopleButton: HTMLButtonElement;
  readonly statsButton: HTMLButtonElement;
  readonly diagnosticsButton: HTMLButtonElement;
  readonly demoButton: HTMLButtonElement;
  readonly leaveButton: HTMLButtonElement;
  private readonly chatBadge = h("span", { class: "badge", attrs: { hidden: true } });
  private readonly peopleCount = h("span", { class: "count" });
  private readonly meter = new MicMeter();
  /** Changes to the microphone, in order: each toggle acts on the state the one before left. */
  private micQueue: Promise<void> = Promise.resolve();

  constructor(
    private readonly app: Shell,
    private readonly state: CallState,
    private readonly grid: CallGrid,
    record: RecordControl,
    private readonly hooks: ControlHooks,
  ) {
    this.micButton = control(ICONS.mic, "call.mute", "toggle-mic", () => void this.toggleMic());
    this.camButton = control(
      ICONS.cam,
      "call.stopVideo",
      "toggle-camera",
      () => void this.toggleCamera(),
    );
    this.devicesButton = control(ICONS.devices, "call.devices", "toggle-devices", () =>
      hooks.toggleDevices(),
    );
    this.chatButton = control(
      ICONS.chat,
      "call.chat",
      "toggle-chat",
      () => hooks.togglePanel("chat"),
      this.chatBadge,
    );
    this.peopleButton = control(
      ICONS.people,
      "call.members",
      "toggle-people",
      () => hooks.togglePanel("people"),
      this.peopleCount,
    );
    this.statsButton = control(ICONS.stats, "call.stats", "toggle-stats", () =>
      hooks.toggleStats(),
    );
    this.diagnosticsButton = control(
      ICONS.diagnostics,
      "call.diagnostics",
      "toggle-diagnostics",
      () => hooks.togglePanel("diagnostics"),
    );
    const snapshotButton = control(
      ICONS.snapshot,
      "call.snapshot",
      "snapshot-grid",
      () => void this.snapshotGrid(),
    );
    this.demoButton = control(ICONS.demo, "call.demo", "add-demo", () => void this.addDemo());
    txAttr(this.demoButton, "title", "call.demoHint");
    this.leaveButton = control(ICONS.leave, "call.leave", "leave", () => void this.leaveAsChosen());
    this.leaveButton.classList.add("danger");
    // Toggles keep one name and say whether they are on: "Mute, pressed" is muted.
    txAttr(this.micButton, "aria-label", "call.mute");
    txAttr(this.camButton, "aria-label", "call.stopVideo");
    for (const b of [this.chatButton, this.peopleButton, this.statsButton, this.diagnosticsButton])
      b.setAttribute("aria-pressed", "false");
    this.devicesButton.setAttribute("aria-expanded", "false");
    this.element = h(
      "div",
      { class: "controls" },
      h(
        "div",
        { class: "control-group" },
        this.micButton,
        this.meter.element,
        this.camButton,
        this.devicesButton,
      ),
      h(
        "div",
        { class: "control-group" },
        this.chatButton,
        this.peopleButton,
        this.statsButton,
        this.diagnosticsButton,
        snapshotButton,
        record.button,
        this.demoButton,
      ),
      h("div", { class: "control-group" }, this.leaveButton),
    );
  }

  /** The controls the call's keyboard shortcuts press. */
  get keyed(): Record<ShortcutAction, HTMLElement> {
    return {
      mute: this.micButton,
      camera: this.camButton,
      chat: this.chatButton,
      leave: this.leaveButton,
    };
  }

  /** Shows our microphone and camera on their controls and on our tile. */
  showMicAndCamera(): void {
    const muted = this.state.micMuted;
    setControl(
      this.micButton,
      muted ? ICONS.micOff : ICONS.mic,
      muted ? "call.unmute" : "call.mute",
      muted,
    );
    // Without a camera there is no video to stop: the control says so, like the others see it.
    const on = videoOn(this.state);
    setControl(
      this.camButton,
      on ? ICONS.cam : ICONS.camOff,
      on ? "call.stopVideo" : "call.startVideo",
      !on,
    );
    this.grid.self.setMuted(muted);
    this.grid.self.setState(on ? (this.state.ownReported ?? "connecting") : "cameraOff");
  }

  /** Shows which side pane is open. */
  showPanel(): void {
    for (const [button, which] of [
      [this.chatButton, "chat"],
      [this.peopleButton, "people"],
      [this.diagnosticsButton, "diagnostics"],
    ] as const) {
      button.classList.toggle("active", this.state.panel === which);
      button.setAttribute("aria-pressed", String(this.state.panel === which));
    }
  }

  /** Shows how many chat messages are unread (nothing when none are). */
  showUnread(): void {
    this.chatBadge.hidden = this.state.unread === 0;
    if (this.state.unread > 0) this.chatBadge.textContent = String(this.state.unread);
  }

  /** Shows how many are in the call. */
  showPeopleCount(): void {
    this.peopleCount.textContent = String(this.state.members.length);
  }

  /** Shows whether the tiles show their figures. */
  showStats(): void {
    this.statsButton.classList.toggle("active", this.state.statsOn);
    this.statsButton.setAttribute("aria-pressed", String(this.state.statsOn));
  }

  /** Mutes, unmutes or toggles the microphone once the changes asked before are done. */
  setMic(muted: boolean | "toggle"): Promise<void> {
    this.micQueue = this.micQueue.then(async () => {
      const want = muted === "toggle" ? !this.state.micMuted : muted;
      if (this.state.disposed || this.state.micMuted === want) return;
      try {
        await api.setMicMuted(want);
        this.state.micMuted = want;
        this.showMicAndCamera();
      } catch (e) {
        this.app.fail(e);
      }
    });
    return this.micQueue;
  }

  /** Mutes or unmutes, after the changes asked before. */
  toggleMic(): Promise<void> {
    return this.setMic("toggle");
  }

  /** Turns our camera on or off; with none, opens the devices to choose one. */
  async toggleCamera(): Promise<void> {
    // Nothing to start without a camera: offer the choice of one instead.
    if (!this.state.hasCamera) {
      if (!this.hooks.devicesOpen()) this.hooks.toggleDevices();
      return;
    }
    try {
      await api.setCameraEnabled(!this.state.cameraEnabled);
      cameraToggled(this.state);
      this.showMicAndCamera();
    } catch (e) {
      this.app.fail(e);
    }
  }

  private async snapshotGrid(): Promise<void> {
    try {
      const path = await api.snapshotGrid();
      toast(t("call.snapshotSaved", { path }), "info", undefined, { action: openFolder(path) });
    } catch (e) {
      this.app.fail(e);
    }
  }

  private async addDemo(): Promise<void> {
    this.demoButton.disabled = true;
    try {
      const n = await api.demoAddMembers(DEMO_NAMES);
      toast(t("toast.demoAdded", { n }));
    } catch (e) {
      this.app.fail(e);
    } finally {
      this.demoButton.disabled = false;
    }
  }

  /** Leaves as the user chooses (a host is asked), then runs `then`; nothing if they stay. */
  async leaveAsChosen(then?: () => void): Promise<void> {
    if (this.state.leaving) return;
    const mode = await chooseLeaveMode(this.app);
    if (mode === null) return;
    await this.leave(mode);
    then?.();
  }

  /** Leaves the call in `mode` and goes back to the lobby. */
  async leave(mode: LeaveMode = "leave"): Promise<void> {
    if (this.state.leaving) return;
    this.state.leaving = true;
    this.leaveButton.disabled = true;
    this.grid.closeFeeds();
    try {
      await api.callLeave(mode);
    } catch (e) {
      console.warn(errorDetail(e));
    }
    this.app.showLobby();
  }

  /** Starts the microphone meter, which runs until the call's screen is gone. */
  startMeter(): void {
    this.meter.poll(this.state);
  }

  /** Stops the meter. */
  dispose(): void {
    this.meter.stop();
  }
}

/** Our level after cleaning, so the meter shows what the others would hear (muted or not). */
class MicMeter {
  private readonly fill = h("div", { class: "meter-fill", testid: "call-mic-level" });
  readonly element = h(
    "div",
    {
      class: "meter mic-meter",
      attrs: { role: "meter", "aria-valuemin": 0, "aria-valuemax": 1, "aria-valuenow": 0 },
    },
    this.fill,
  );
  private timer = 0;

  constructor() {
    txAttr(this.element, "aria-label", "call.micLevel");
    txAttr(this.element, "title", "call.micLevel");
  }

  /** Reads the level now and again every poll, until `state` is disposed. */
  poll(state: CallState): void {
    api
      .micLevel()
      .then((level) => {
        this.fill.style.width = `${Math.round(Math.min(1, level / MIC_METER_FULL) * 100)}%`;
        this.element.setAttribute("aria-valuenow", level.toFixed(3));
      })
      .catch(() => undefined)
      .finally(() => {
        if (!state.disposed)
          this.timer = window.setTimeout(() => this.poll(state), MIC_METER_POLL_MS);
      });
  }

  stop(): void {
    window.clearTimeout(this.timer);
  }
}

/** A control button: icon, label, and what a click does (`extra`: a badge or count). */
function control(
  paths: string,
  key: Key,
  testid: string,
  onClick: () => void,
  extra?: HTMLElement,
): HTMLButtonElement {
  const label = tx(h("span", { class: "control-label" }), key);
  return h(
    "button",
    { class: "control", testid, on: { click: onClick } },
    icon(paths),
    label,
    extra ?? null,
  );
}

/** Shows a toggle control on or off: its icon, label and pressed state. */
function setControl(button: HTMLButtonElement, paths: string, key: Key, off: boolean): void {
  button.classList.toggle("off", off);
  button.setAttribute("aria-pressed", String(off));
  button.querySelector("svg")?.replaceWith(icon(paths));
  const label = button.querySelector<HTMLElement>(".control-label");
  if (label) tx(label, key);
}
