// The pre-join check: preview, device pickers, microphone level, a speaker test, "join muted",
// "camera off".

import { api, type Devices, errorDetail, errorText, type JoinRequest } from "../api";
import { CallBus } from "../call-bus";
import { h, ICONS, icon, markSelfMirror } from "../dom";
import { tx } from "../i18n";
import { audioChoice, audioProcessing, mirrorsSelfView, videoChoice } from "../settings";
import type { RoomChoice, Shell, View } from "../shell";
import { VideoFeed, videoEncoding } from "../video/feed";
import {
  type DevicePickers,
  devicePickers,
  fillDevices,
  noteMissing,
  showCameraDenied,
  showProblems,
  wirePickers,
} from "./prejoin/devices";
import { type PreviewParts, previewParts, startLevelMeter } from "./prejoin/preview";

export { LEVEL_FULL, LEVEL_POLL_MS } from "./prejoin/preview";

/** How the call starts: muted or not, camera off or not. */
interface StartChoices {
  joinMuted: HTMLInputElement;
  cameraOff: HTMLInputElement;
}

/** The "join muted" and "camera off" boxes, saved as they change; the preview shows the latter. */
function startChoices(app: Shell, preview: HTMLElement): StartChoices {
  const s = app.settings;
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
  joinMuted.addEventListener("change", () => void app.update({ joinMuted: joinMuted.checked }));
  cameraOff.addEventListener("change", () => {
    showCameraOff();
    void app.update({ cameraOff: cameraOff.checked });
  });
  return { joinMuted, cameraOff };
}

/** What joining asks of the call: the room, the chosen devices and how to start. */
function joinRequest(
  app: Shell,
  room: RoomChoice,
  server: string,
  p: DevicePickers,
  choices: StartChoices,
): JoinRequest {
  return {
    server,
    nickname: app.settings.nickname,
    target: room.target,
    video: videoChoice(p.camera.value),
    audio: audioChoice(p.microphone.value),
    speaker: p.speaker.value || null,
    startMuted: choices.joinMuted.checked,
    startCameraOff: choices.cameraOff.checked,
    dataSaver: app.settings.dataSaver,
    audioProcessing: audioProcessing(app.settings),
    sendQuality: app.settings.sendQuality,
  };
}

/** The page: the preview and meter beside the card of pickers, choices and buttons. */
function prejoinLayout(
  room: RoomChoice,
  shown: PreviewParts,
  p: DevicePickers,
  choices: StartChoices,
  error: HTMLElement,
  buttons: HTMLElement[],
): HTMLElement {
  const heading = room.target.kind === "create" ? "prejoin.creating" : "prejoin.joining";
  return h(
    "div",
    { class: "prejoin" },
    h(
      "div",
      { class: "prejoin-preview" },
      shown.preview,
      h("div", { class: "level" }, tx(h("span", { class: "muted" }), "prejoin.level"), shown.meter),
    ),
    h(
      "section",
      { class: "card prejoin-side" },
      tx(h("h2"), "prejoin.title"),
      tx(h("p", { class: "muted", testid: "prejoin-room" }), heading, { room: room.label }),
      h("label", { class: "field" }, tx(h("span"), "prejoin.camera"), p.camera, p.cameraNote),
      h("label", { class: "field" }, tx(h("span"), "prejoin.microphone"), p.microphone, p.micNote),
      h(
        "label",
        { class: "field" },
        tx(h("span"), "prejoin.speaker"),
        h("div", { class: "row" }, p.speaker, p.testSpeaker),
        p.speakerNote,
      ),
      h("label", { class: "check" }, choices.joinMuted, tx(h("span"), "prejoin.joinMuted")),
      h("label", { class: "check" }, choices.cameraOff, tx(h("span"), "prejoin.cameraOff")),
      error,
      h("div", { class: "row end" }, ...buttons),
    ),
  );
}

/** The Back button: stops the preview and returns to the lobby. */
function backButton(app: Shell): HTMLElement {
  const back = h(
    "button",
    { class: "button ghost", testid: "back" },
    icon(ICONS.back),
    tx(h("span"), "common.back"),
  );
  back.addEventListener("click", () => {
    void api.previewStop();
    app.showLobby();
  });
  return back;
}

/** The Join button: starts the call once; on failure hands the error to `failed`. */
function joinButton(
  app: Shell,
  room: RoomChoice,
  p: DevicePickers,
  choices: StartChoices,
  error: HTMLElement,
  failed: (e: unknown) => void,
): HTMLButtonElement {
  let joining = false;
  const join = tx(
    h("button", { class: "button primary large", testid: "join-now" }),
    "prejoin.join",
  );
  join.addEventListener("click", async () => {
    const server = app.serverUrl();
    if (!server || joining) return;
    joining = true;
    join.disabled = true;
    tx(join, "prejoin.starting");
    error.textContent = "";
    const request = joinRequest(app, room, server, p, choices);
    const bus = new CallBus();
    try {
      const info = await api.callStart(request, (e) => bus.push(e));
      app.showCall(room, info, bus);
    } catch (e) {
      joining = false;
      join.disabled = false;
      tx(join, "prejoin.join");
      failed(e);
    }
  });
  return join;
}

export function renderPrejoin(app: Shell, room: RoomChoice): View {
  const s = app.settings;
  let disposed = false;
  let stopLevel: (() => void) | undefined;
  const isDisposed = () => disposed;

  const shown = previewParts(s);
  const p = devicePickers();
  const choices = startChoices(app, shown.preview);
  const error = h("div", {
    class: "error-line",
    attrs: { role: "alert" },
    testid: "prejoin-error",
  });
  const fail = (e: unknown) => {
    error.textContent = errorText(e);
    error.title = errorDetail(e);
  };

  let feed: VideoFeed | null = null;

  let devices: Devices = { cameras: [], microphones: [], speakers: [] };
  const fill = (d: Devices) => {
    devices = d;
    fillDevices(p, d, s);
    markSelfMirror(shown.canvas, mirrorsSelfView(p.camera.value));
  };

  async function restartPreview(): Promise<void> {
    if (disposed) return;
    p.cameraNote.replaceChildren();
    p.micNote.replaceChildren();
    shown.preview.classList.remove("live");
    try {
      const status = await api.previewStart(
        app.settings.nickname,
        videoChoice(p.camera.value),
        audioChoice(p.microphone.value),
      );
      if (disposed) return;
      shown.preview.classList.toggle("no-video", !status.hasVideo);
      noteMissing(p, devices);
      showProblems(p, status.problems, (problem) =>
        showCameraDenied(app, p, problem, () => void restartPreview(), fail),
      );
    } catch (e) {
      fail(e);
    }
  }

  wirePickers(app, p, shown.canvas, restartPreview, isDisposed);
  const element = prejoinLayout(room, shown, p, choices, error, [
    backButton(app),
    joinButton(app, room, p, choices, error, (e) => {
      fail(e);
      void restartPreview();
    }),
  ]);

  // A device plugged in or removed shows at once; a preview whose device went away restarts.
  const unlistenDevices = api
    .onDevicesChanged((d) => {
      if (disposed) return;
      const before = [p.camera.value, p.microphone.value];
      fill(d);
      if (p.camera.value !== before[0] || p.microphone.value !== before[1]) void restartPreview();
    })
    .catch(() => null);

  void (async () => {
    try {
      fill(await api.listDevices());
    } catch (e) {
      fill({ cameras: [], microphones: [], speakers: [] });
      console.warn(e);
    }
    const encoding = await videoEncoding(s.videoPath);
    if (disposed) return;
    feed = new VideoFeed("preview", "preview", encoding, shown.canvas, {
      onFrame: () => shown.preview.classList.add("live"),
    });
    await feed.open().catch((e) => console.warn(e));
    await restartPreview();
    // Left meanwhile: no meter to start, and nothing to stop it later.
    if (disposed) return;
    stopLevel = startLevelMeter(shown, isDisposed);
  })();

  return {
    element,
    dispose() {
      disposed = true;
      void unlistenDevices.then((unlisten) => unlisten?.()).catch(() => undefined);
      stopLevel?.();
      feed?.close();
    },
  };
}
