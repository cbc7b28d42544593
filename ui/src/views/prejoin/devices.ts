// The pre-join device pickers: camera, microphone and speaker, with what to say when one is
// missing, refused by the system or failing, and a way to a test source meanwhile.

import { api, type DeviceProblem, type Devices, errorDetail, errorText } from "../../api";
import { h, markSelfMirror } from "../../dom";
import { type Key, t, tx } from "../../i18n";
import { mirrorsSelfView, type Settings } from "../../settings";
import type { Shell } from "../../shell";
import { deviceErrorText } from "../call/events";

/** The pickers and the note under each. */
export interface DevicePickers {
  camera: HTMLSelectElement;
  microphone: HTMLSelectElement;
  speaker: HTMLSelectElement;
  cameraNote: HTMLElement;
  micNote: HTMLElement;
  speakerNote: HTMLElement;
  testSpeaker: HTMLButtonElement;
}

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

/** The pickers, empty until [`fillDevices`]. */
export function devicePickers(): DevicePickers {
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
  return { camera, microphone, speaker, cameraNote, micNote, speakerNote, testSpeaker };
}

/** Offers the machine's devices and the test sources, each picker on the saved choice. */
export function fillDevices(p: DevicePickers, d: Devices, s: Settings): void {
  p.camera.replaceChildren(
    ...d.cameras.map((c) => option(`camera:${c.id}`, c.name, false)),
    optionKey("synthetic", "prejoin.synthetic", false),
    optionKey("screen", "prejoin.screen", false),
    optionKey("none", "prejoin.noCamera", false),
  );
  pick(
    p.camera,
    s.camera === "camera:" && d.cameras.length > 0 ? `camera:${d.cameras[0].id}` : s.camera,
    "none",
  );
  p.microphone.replaceChildren(
    ...(d.microphones.length > 0 ? [optionKey("mic:", "prejoin.systemDefault", false)] : []),
    ...d.microphones.filter((m) => !m.isDefault).map((m) => option(`mic:${m.name}`, m.name, false)),
    optionKey("tone", "prejoin.tone", false),
    optionKey("none", "prejoin.noMicrophone", false),
  );
  pick(p.microphone, s.microphone, "none");
  p.speaker.replaceChildren(
    optionKey("", "prejoin.systemDefault", false),
    ...d.speakers.filter((m) => !m.isDefault).map((m) => option(m.name, m.name, false)),
  );
  pick(p.speaker, s.speaker, "");
}

/** Saves each change; a new camera or microphone restarts the preview. */
export function wirePickers(
  app: Shell,
  p: DevicePickers,
  canvas: HTMLCanvasElement,
  restartPreview: () => Promise<void>,
  disposed: () => boolean,
): void {
  p.camera.addEventListener("change", () => {
    void app.update({ camera: p.camera.value });
    markSelfMirror(canvas, mirrorsSelfView(p.camera.value));
    void restartPreview();
  });
  p.microphone.addEventListener("change", () => {
    void app.update({ microphone: p.microphone.value });
    void restartPreview();
  });
  p.speaker.addEventListener("change", () => {
    p.speakerNote.replaceChildren();
    void app.update({ speaker: p.speaker.value });
  });
  p.testSpeaker.addEventListener("click", () => void runSpeakerTest(p, disposed));
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

/** Says so when the machine has no camera or microphone at all, offering the test sources. */
export function noteMissing(p: DevicePickers, devices: Devices): void {
  if (devices.cameras.length === 0)
    noteWithFix(
      p.cameraNote,
      "prejoin.noCameraFound",
      "prejoin.useSynthetic",
      p.camera,
      "synthetic",
    );
  if (devices.microphones.length === 0)
    noteWithFix(p.micNote, "prejoin.noMicrophoneFound", "prejoin.useTone", p.microphone, "tone");
  if (devices.speakers.length === 0)
    showSpeakerProblem(p.speakerNote, { device: "speaker", reason: "noDevice", message: "" });
}

/** Says why the chosen speaker will not play (null: it does). */
function showSpeakerProblem(speakerNote: HTMLElement, p: DeviceProblem | null): void {
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
async function runSpeakerTest(p: DevicePickers, disposed: () => boolean): Promise<void> {
  p.testSpeaker.disabled = true;
  tx(p.testSpeaker, "prejoin.testingSpeaker");
  try {
    const problem = await api.testSpeaker(p.speaker.value || null);
    if (!disposed()) showSpeakerProblem(p.speakerNote, problem);
  } catch (e) {
    if (!disposed())
      p.speakerNote.replaceChildren(
        h("span", { text: errorText(e), title: errorDetail(e), attrs: { role: "alert" } }),
      );
  } finally {
    p.testSpeaker.disabled = false;
    tx(p.testSpeaker, "prejoin.testSpeaker");
  }
}

/** Says what the preview found wrong with each device; a refused camera gets `onDenied`. */
export function showProblems(
  p: DevicePickers,
  problems: DeviceProblem[],
  onDenied: (problem: DeviceProblem) => void,
): void {
  for (const problem of problems) {
    if (problem.device === "camera" && problem.reason === "permissionDenied") {
      onDenied(problem);
      continue;
    }
    // The device's own words are English: said in English, a tooltip otherwise.
    const words =
      problem.reason === "noDevice"
        ? t(problem.device === "camera" ? "prejoin.noCameraFound" : "prejoin.noMicrophoneFound")
        : deviceErrorText(problem.device, problem.message);
    if (problem.device === "camera")
      noteWithFix(
        p.cameraNote,
        "prejoin.noCameraFound",
        "prejoin.useSynthetic",
        p.camera,
        "synthetic",
        words,
        problem.message,
      );
    if (problem.device === "microphone")
      noteWithFix(
        p.micNote,
        "prejoin.noMicrophoneFound",
        "prejoin.useTone",
        p.microphone,
        "tone",
        words,
        problem.message,
      );
  }
}

/** The system keeps the camera from us: say how to allow it, open the page where it is
 * allowed (Windows, macOS), and offer to try again or use the test pattern meanwhile. */
export function showCameraDenied(
  app: Shell,
  p: DevicePickers,
  problem: DeviceProblem,
  retry: () => void,
  fail: (e: unknown) => void,
): void {
  const line = tx(
    h("div", { testid: "camera-denied", title: problem.message }),
    "prejoin.cameraDenied",
  );
  const actions = h("div", { class: "row" });
  if (app.info.cameraPrivacySettings) {
    const open = tx(
      h("button", { class: "button", testid: "open-camera-settings" }),
      "prejoin.openCameraSettings",
    );
    open.addEventListener("click", () => {
      api.openCameraPrivacySettings().catch(fail);
    });
    actions.append(open);
  }
  const again = tx(h("button", { class: "link", testid: "retry-camera" }), "prejoin.tryAgain");
  again.addEventListener("click", retry);
  const synthetic = tx(
    h("button", { class: "link", testid: "use-synthetic" }),
    "prejoin.useSynthetic",
  );
  synthetic.addEventListener("click", () => {
    p.camera.value = "synthetic";
    p.camera.dispatchEvent(new Event("change"));
  });
  actions.append(again, synthetic);
  p.cameraNote.replaceChildren(line, actions);
}
