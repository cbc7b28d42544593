// The pre-join check: preview, device pickers, microphone level, a speaker test, "join muted",
// "camera off".

import {
  api,
  type DeviceProblem,
  type Devices,
  errorDetail,
  errorText,
  type JoinRequest,
} from "../api";
import { CallBus } from "../call-bus";
import { h, ICONS, icon, markSelfMirror } from "../dom";
import { type Key, t, tx, txAttr } from "../i18n";
import { avatarHue, initials } from "../model";
import { audioChoice, audioProcessing, mirrorsSelfView, videoChoice } from "../settings";
import type { RoomChoice, Shell, View } from "../shell";
import { VideoFeed } from "../video/feed";
import { deviceErrorText } from "./call/events";

/** How often the level meter reads the microphone. */
export const LEVEL_POLL_MS = 100;
/** RMS shown as a full meter (speech is well below 1.0). */
export const LEVEL_FULL = 0.3;

function option(value: string, label: string, selected: boolean): HTMLOptionElement {
  const o = h("option", { text: label, attrs: { value } });
  o.selected = selected;
  return o;
}

function optionKey(value: string, key: Key, selected: boolean): HTMLOptionElement {
  const o = tx(h("option", { attrs: { value } }), key);
  o.selected = selected;
  return o;
}

/** The select's value, or `fallback` when that value is not among its options. */
function pick(select: HTMLSelectElement, wanted: string, fallback: string): void {
  select.value = [...select.options].some((o) => o.value === wanted) ? wanted : fallback;
}

export function renderPrejoin(app: Shell, room: RoomChoice): View {
  const s = app.settings;
  let disposed = false;
  let joining = false;
  let levelTimer: number | undefined;

  const canvas = h("canvas", { class: "video", testid: "preview-canvas" });
  markSelfMirror(canvas, mirrorsSelfView(s.camera));
  const previewOff = tx(h("div", { class: "placeholder-text" }), "prejoin.previewOff");
  // What the others will see while "camera off" is ticked: our initials, as on a call tile.
  const offAvatar = h("div", { class: "avatar", text: initials(s.nickname) });
  offAvatar.style.background = `hsl(${avatarHue(s.nickname)} 45% 42%)`;
  const cameraOffNote = h(
    "div",
    { class: "camera-off-note", testid: "preview-camera-off" },
    offAvatar,
    tx(h("span"), "prejoin.joinCameraOff"),
  );
  const preview = h(
    "div",
    { class: "preview", testid: "preview" },
    canvas,
    previewOff,
    cameraOffNote,
  );
  const meterFill = h("div", { class: "meter-fill", testid: "mic-level" });
  const meter = h(
    "div",
    {
      class: "meter",
      attrs: { role: "meter", "aria-valuemin": 0, "aria-valuemax": 1, "aria-valuenow": 0 },
    },
    meterFill,
  );
  txAttr(meter, "aria-label", "call.micLevel");

  const camera = h("select", { class: "input", testid: "camera-select" });
  const microphone = h("select", { class: "input", testid: "microphone-select" });
  const speaker = h("select", {
    class: "input",
    testid: "speaker-select",
    attrs: { style: "flex: 1; min-width: 0" },
  });
  const cameraNote = h("div", { class: "device-note", testid: "camera-note" });
  const micNote = h("div", { class: "device-note", testid: "microphone-note" });
  const speakerNote = h("div", { class: "device-note", testid: "speaker-note" });
  const testSpeaker = tx(
    h("button", { class: "button", testid: "test-speaker", attrs: { type: "button" } }),
    "prejoin.testSpeaker",
  );

  const joinMuted = h("input", {
    attrs: { type: "checkbox", checked: s.joinMuted },
    testid: "join-muted",
  });
  const cameraOff = h("input", {
    attrs: { type: "checkbox", checked: s.cameraOff },
    testid: "camera-off",
  });
  const showCameraOff = () => preview.classList.toggle("camera-off", cameraOff.checked);
  showCameraOff();
  const join = tx(
    h("button", { class: "button primary large", testid: "join-now" }),
    "prejoin.join",
  );
  const back = h(
    "button",
    { class: "button ghost", testid: "back" },
    icon(ICONS.back),
    tx(h("span"), "common.back"),
  );
  const error = h("div", {
    class: "error-line",
    attrs: { role: "alert" },
    testid: "prejoin-error",
  });

  const feed = new VideoFeed("preview", "preview", "i420", canvas, {
    onFrame: () => preview.classList.add("live"),
  });

  let devices: Devices = { cameras: [], microphones: [], speakers: [] };

  /** Says so when the machine has no camera or microphone at all, offering the test sources. */
  function noteMissing(): void {
    if (devices.cameras.length === 0)
      noteWithFix(cameraNote, "prejoin.noCameraFound", "prejoin.useSynthetic", camera, "synthetic");
    if (devices.microphones.length === 0)
      noteWithFix(micNote, "prejoin.noMicrophoneFound", "prejoin.useTone", microphone, "tone");
    if (devices.speakers.length === 0)
      showSpeakerProblem({ device: "speaker", reason: "noDevice", message: "" });
  }

  /** Says why the chosen speaker will not play (null: it does). */
  function showSpeakerProblem(p: DeviceProblem | null): void {
    if (!p) {
      speakerNote.replaceChildren();
      return;
    }
    const key: Key =
      p.reason === "noDevice"
        ? "prejoin.noSpeakerFound"
        : p.reason === "notFound"
          ? "prejoin.speakerNotFound"
          : "prejoin.speakerFailed";
    speakerNote.replaceChildren(
      tx(h("span", { testid: "speaker-problem", title: p.message, attrs: { role: "alert" } }), key),
    );
  }

  /** Plays the chime on the chosen speaker, and says so when it cannot. */
  async function runSpeakerTest(): Promise<void> {
    testSpeaker.disabled = true;
    tx(testSpeaker, "prejoin.testingSpeaker");
    try {
      const problem = await api.testSpeaker(speaker.value || null);
      if (!disposed) showSpeakerProblem(problem);
    } catch (e) {
      if (!disposed)
        speakerNote.replaceChildren(
          h("span", { text: errorText(e), title: errorDetail(e), attrs: { role: "alert" } }),
        );
    } finally {
      testSpeaker.disabled = false;
      tx(testSpeaker, "prejoin.testSpeaker");
    }
  }

  function fillDevices(d: Devices): void {
    devices = d;
    camera.replaceChildren(
      ...d.cameras.map((c) => option(`camera:${c.id}`, c.name, false)),
      optionKey("synthetic", "prejoin.synthetic", false),
      optionKey("screen", "prejoin.screen", false),
      optionKey("none", "prejoin.noCamera", false),
    );
    pick(
      camera,
      s.camera === "camera:" && d.cameras.length > 0 ? `camera:${d.cameras[0].id}` : s.camera,
      "none",
    );
    markSelfMirror(canvas, mirrorsSelfView(camera.value));
    microphone.replaceChildren(
      ...(d.microphones.length > 0 ? [optionKey("mic:", "prejoin.systemDefault", false)] : []),
      ...d.microphones
        .filter((m) => !m.isDefault)
        .map((m) => option(`mic:${m.name}`, m.name, false)),
      optionKey("tone", "prejoin.tone", false),
      optionKey("none", "prejoin.noMicrophone", false),
    );
    pick(microphone, s.microphone, "none");
    speaker.replaceChildren(
      optionKey("", "prejoin.systemDefault", false),
      ...d.speakers.filter((m) => !m.isDefault).map((m) => option(m.name, m.name, false)),
    );
    pick(speaker, s.speaker, "");
  }

  function noteWithFix(
    note: HTMLElement,
    text: Key,
    fix: Key,
    select: HTMLSelectElement,
    value: string,
    detail?: string,
    tooltip?: string,
  ): void {
    if (select.value === value) {
      note.replaceChildren();
      return;
    }
    const button = tx(
      h("button", { class: "link", testid: value === "synthetic" ? "use-synthetic" : "use-tone" }),
      fix,
    );
    button.addEventListener("click", () => {
      select.value = value;
      select.dispatchEvent(new Event("change"));
    });
    const line = detail ? h("span", { text: detail, title: tooltip ?? "" }) : tx(h("span"), text);
    note.replaceChildren(line, " ", button);
  }

  /** The system keeps the camera from us: say how to allow it, open the page where it is
   * allowed (Windows, macOS), and offer to try again or use the test pattern meanwhile. */
  function showCameraDenied(p: DeviceProblem): void {
    const line = tx(
      h("div", { testid: "camera-denied", title: p.message }),
      "prejoin.cameraDenied",
    );
    const actions = h("div", { class: "row" });
    if (app.info.cameraPrivacySettings) {
      const open = tx(
        h("button", { class: "button", testid: "open-camera-settings" }),
        "prejoin.openCameraSettings",
      );
      open.addEventListener("click", () => {
        api.openCameraPrivacySettings().catch((e) => {
          error.textContent = errorText(e);
          error.title = errorDetail(e);
        });
      });
      actions.append(open);
    }
    const retry = tx(h("button", { class: "link", testid: "retry-camera" }), "prejoin.tryAgain");
    retry.addEventListener("click", () => void restartPreview());
    const synthetic = tx(
      h("button", { class: "link", testid: "use-synthetic" }),
      "prejoin.useSynthetic",
    );
    synthetic.addEventListener("click", () => {
      camera.value = "synthetic";
      camera.dispatchEvent(new Event("change"));
    });
    actions.append(retry, synthetic);
    cameraNote.replaceChildren(line, actions);
  }

  function showProblems(problems: DeviceProblem[]): void {
    for (const p of problems) {
      if (p.device === "camera" && p.reason === "permissionDenied") {
        showCameraDenied(p);
        continue;
      }
      // The device's own words are English: said in English, a tooltip otherwise.
      const words =
        p.reason === "noDevice"
          ? t(p.device === "camera" ? "prejoin.noCameraFound" : "prejoin.noMicrophoneFound")
          : deviceErrorText(p.device, p.message);
      if (p.device === "camera")
        noteWithFix(
          cameraNote,
          "prejoin.noCameraFound",
          "prejoin.useSynthetic",
          camera,
          "synthetic",
          words,
          p.message,
        );
      if (p.device === "microphone")
        noteWithFix(
          micNote,
          "prejoin.noMicrophoneFound",
          "prejoin.useTone",
          microphone,
          "tone",
          words,
          p.message,
        );
    }
  }

  async function restartPreview(): Promise<void> {
    if (disposed) return;
    cameraNote.replaceChildren();
    micNote.replaceChildren();
    preview.classList.remove("live");
    try {
      const status = await api.previewStart(
        app.settings.nickname,
        videoChoice(camera.value),
        audioChoice(microphone.value),
      );
      if (disposed) return;
      preview.classList.toggle("no-video", !status.hasVideo);
      noteMissing();
      showProblems(status.problems);
    } catch (e) {
      error.textContent = errorText(e);
      error.title = errorDetail(e);
    }
  }

  function pollLevel(): void {
    api
      .previewLevel()
      .then((level) => {
        const share = Math.min(1, Math.sqrt(level / LEVEL_FULL));
        meterFill.style.width = `${Math.round(share * 100)}%`;
        meter.setAttribute("aria-valuenow", level.toFixed(3));
      })
      .catch(() => undefined)
      .finally(() => {
        if (!disposed) levelTimer = window.setTimeout(pollLevel, LEVEL_POLL_MS);
      });
  }

  camera.addEventListener("change", () => {
    void app.update({ camera: camera.value });
    markSelfMirror(canvas, mirrorsSelfView(camera.value));
    void restartPreview();
  });
  microphone.addEventListener("change", () => {
    void app.update({ microphone: microphone.value });
    void restartPreview();
  });
  speaker.addEventListener("change", () => {
    speakerNote.replaceChildren();
    void app.update({ speaker: speaker.value });
  });
  testSpeaker.addEventListener("click", () => void runSpeakerTest());
  joinMuted.addEventListener("change", () => void app.update({ joinMuted: joinMuted.checked }));
  cameraOff.addEventListener("change", () => {
    showCameraOff();
    void app.update({ cameraOff: cameraOff.checked });
  });
  back.addEventListener("click", () => {
    void api.previewStop();
    app.showLobby();
  });

  join.addEventListener("click", async () => {
    const server = app.serverUrl();
    if (!server || joining) return;
    joining = true;
    join.disabled = true;
    tx(join, "prejoin.starting");
    error.textContent = "";
    const request: JoinRequest = {
      server,
      nickname: app.settings.nickname,
      target: room.target,
      video: videoChoice(camera.value),
      audio: audioChoice(microphone.value),
      speaker: speaker.value || null,
      startMuted: joinMuted.checked,
      startCameraOff: cameraOff.checked,
      dataSaver: app.settings.dataSaver,
      audioProcessing: audioProcessing(app.settings),
      sendQuality: app.settings.sendQuality,
    };
    const bus = new CallBus();
    try {
      const info = await api.callStart(request, (e) => bus.push(e));
      app.showCall(room, info, bus);
    } catch (e) {
      joining = false;
      join.disabled = false;
      tx(join, "prejoin.join");
      error.textContent = errorText(e);
      error.title = errorDetail(e);
      void restartPreview();
    }
  });

  const heading = room.target.kind === "create" ? "prejoin.creating" : "prejoin.joining";
  const element = h(
    "div",
    { class: "prejoin" },
    h(
      "div",
      { class: "prejoin-preview" },
      preview,
      h("div", { class: "level" }, tx(h("span", { class: "muted" }), "prejoin.level"), meter),
    ),
    h(
      "section",
      { class: "card prejoin-side" },
      tx(h("h2"), "prejoin.title"),
      tx(h("p", { class: "muted", testid: "prejoin-room" }), heading, { room: room.label }),
      h("label", { class: "field" }, tx(h("span"), "prejoin.camera"), camera, cameraNote),
      h("label", { class: "field" }, tx(h("span"), "prejoin.microphone"), microphone, micNote),
      h(
        "label",
        { class: "field" },
        tx(h("span"), "prejoin.speaker"),
        h("div", { class: "row" }, speaker, testSpeaker),
        speakerNote,
      ),
      h("label", { class: "check" }, joinMuted, tx(h("span"), "prejoin.joinMuted")),
      h("label", { class: "check" }, cameraOff, tx(h("span"), "prejoin.cameraOff")),
      error,
      h("div", { class: "row end" }, back, join),
    ),
  );

  // A device plugged in or removed shows at once; a preview whose device went away restarts.
  const unlistenDevices = api
    .onDevicesChanged((d) => {
      if (disposed) return;
      const before = [camera.value, microphone.value];
      fillDevices(d);
      if (camera.value !== before[0] || microphone.value !== before[1]) void restartPreview();
    })
    .catch(() => null);

  void (async () => {
    try {
      fillDevices(await api.listDevices());
    } catch (e) {
      fillDevices({ cameras: [], microphones: [], speakers: [] });
      console.warn(e);
    }
    await feed.open().catch((e) => console.warn(e));
    await restartPreview();
    pollLevel();
  })();

  return {
    element,
    dispose() {
      disposed = true;
      void unlistenDevices.then((unlisten) => unlisten?.()).catch(() => undefined);
      window.clearTimeout(levelTimer);
      feed.close();
    },
  };
}
