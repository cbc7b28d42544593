// Switching devices mid-call: a popover with the camera, microphone and speaker pickers, lists
// that follow devices coming and going, and a device in use that went away said and replaced.

import { api, type Devices, errorDetail, errorText } from "../../api";
import { h } from "../../dom";
import { type Key, t, tx } from "../../i18n";
import { audioChoice, videoChoice } from "../../settings";
import type { Shell } from "../../shell";
import { toast } from "../../toast";
import { chooseScreenShare, ShareCancelled } from "../screen-picker";
import type { CallControls } from "./controls";
import type { CallGrid } from "./grid";
import { type CallState, cameraSwitched } from "./state";

/** A device setting the popover switches. */
type DeviceSetting = "camera" | "microphone" | "speaker";

/** What a lost device falls back to, by kind. */
const FALLBACK = {
  camera: { camera: "camera:" },
  microphone: { microphone: "mic:" },
  speaker: { speaker: "" },
};

/** The devices popover, opened by the devices control. */
export class DevicesPopover {
  readonly element: HTMLElement;
  private readonly cameraSelect = h("select", { class: "input", testid: "call-camera-select" });
  private readonly micSelect = h("select", { class: "input", testid: "call-microphone-select" });
  private readonly speakerSelect = h("select", { class: "input", testid: "call-speaker-select" });
  private unlisten: Promise<(() => void) | null>[] = [];

  constructor(
    private readonly app: Shell,
    private readonly state: CallState,
    private readonly controls: CallControls,
    private readonly grid: CallGrid,
  ) {
    this.element = h(
      "div",
      { class: "popover", attrs: { hidden: true }, testid: "devices-popover" },
      h("label", { class: "field" }, tx(h("span"), "prejoin.camera"), this.cameraSelect),
      h("label", { class: "field" }, tx(h("span"), "prejoin.microphone"), this.micSelect),
      h("label", { class: "field" }, tx(h("span"), "prejoin.speaker"), this.speakerSelect),
    );
    this.switchOnChange(this.cameraSelect, "camera", async (v) => {
      // Nothing of the screen goes out before the person has seen it and chosen it.
      const camera = videoChoice(app.settings.camera);
      const options = {
        corner: camera.kind === "camera" ? camera : null,
        permissionNote: app.info.screenPrivacySettings,
      };
      await api.switchCamera(
        app.settings.nickname,
        v === "screen" ? await chooseScreenShare(options) : videoChoice(v),
      );
      cameraSwitched(state, v);
      controls.showMicAndCamera();
    });
    this.switchOnChange(this.micSelect, "microphone", (v) => api.switchMicrophone(audioChoice(v)));
    this.switchOnChange(this.speakerSelect, "speaker", (v) => api.switchSpeaker(v || null));
  }

  /** Whether the popover is open. */
  get open(): boolean {
    return !this.element.hidden;
  }

  /** Opens the popover with fresh device lists, or closes it. */
  async toggle(): Promise<void> {
    this.element.hidden = !this.element.hidden;
    this.controls.devicesButton.classList.toggle("active", this.open);
    this.controls.devicesButton.setAttribute("aria-expanded", String(this.open));
    if (!this.open) return;
    this.fill(
      await api.listDevices().catch(() => ({ cameras: [], microphones: [], speakers: [] })),
    );
  }

  private fill(d: Devices): void {
    const opt = (value: string, label: string) => h("option", { text: label, attrs: { value } });
    const optKey = (value: string, key: Key) => tx(h("option", { attrs: { value } }), key);
    this.cameraSelect.replaceChildren(
      ...d.cameras.map((c) => opt(`camera:${c.id}`, c.name)),
      optKey("synthetic", "prejoin.synthetic"),
      optKey("screen", "prejoin.screen"),
      optKey("none", "prejoin.noCamera"),
    );
    this.micSelect.replaceChildren(
      optKey("mic:", "prejoin.systemDefault"),
      ...d.microphones.filter((m) => !m.isDefault).map((m) => opt(`mic:${m.name}`, m.name)),
      optKey("tone", "prejoin.tone"),
      optKey("none", "prejoin.noMicrophone"),
    );
    this.speakerSelect.replaceChildren(
      optKey("", "prejoin.systemDefault"),
      ...d.speakers.filter((s) => !s.isDefault).map((s) => opt(s.name, s.name)),
    );
    this.showSettings();
  }

  /** Shows the devices the settings name in the pickers. */
  private showSettings(): void {
    this.cameraSelect.value = this.app.settings.camera;
    this.micSelect.value = this.app.settings.microphone;
    this.speakerSelect.value = this.app.settings.speaker;
  }

  /** Switches a device when its picker changes; remembers the choice, or puts the picker back. */
  private switchOnChange(
    select: HTMLSelectElement,
    setting: DeviceSetting,
    apply: (value: string) => Promise<void>,
  ): void {
    select.addEventListener("change", async () => {
      try {
        await apply(select.value);
        await this.app.update({ [setting]: select.value });
        if (setting === "camera") this.grid.mirrorSelf(select.value);
      } catch (e) {
        if (!(e instanceof ShareCancelled))
          toast(t("call.switchFailed", { message: errorText(e) }), "error", errorDetail(e));
        select.value = this.app.settings[setting];
      }
    });
  }

  /** Devices that come and go: the lists follow, and a device in use that went away is said. */
  listen(): void {
    const changed = api
      .onDevicesChanged((d) => {
        if (!this.state.disposed && this.open) this.fill(d);
      })
      .catch(() => null);
    const fellBack = api
      .onDeviceFellBack((f) => {
        if (this.state.disposed) return;
        toast(t(`toast.lost.${f.kind}`, { name: f.lost }), "error");
        void this.app.update(FALLBACK[f.kind]).then(() => this.showSettings());
      })
      .catch(() => null);
    this.unlisten.push(changed, fellBack);
  }

  /** Stops following the devices. */
  dispose(): void {
    // Unlistening can fail once the app's event bridge is gone (the window closing): nothing
    // is left to listen to then.
    for (const unlisten of this.unlisten) void unlisten.then((u) => u?.()).catch(() => undefined);
  }
}
