// The pre-join preview: what the camera sends (or our initials while "camera off" is ticked),
// and a meter of the microphone's level.

import { api } from "../../api";
import { h, markSelfMirror } from "../../dom";
import { tx, txAttr } from "../../i18n";
import { avatarHue, initials } from "../../model";
import { mirrorsSelfView, type Settings } from "../../settings";

/** How often the level meter reads the microphone. */
export const LEVEL_POLL_MS = 100;
/** RMS shown as a full meter (speech is well below 1.0). */
export const LEVEL_FULL = 0.3;

/** The preview's picture and the level meter. */
export interface PreviewParts {
  preview: HTMLElement;
  canvas: HTMLCanvasElement;
  meter: HTMLElement;
  meterFill: HTMLElement;
}

/** The preview with its placeholders, and the (empty) level meter. */
export function previewParts(s: Settings): PreviewParts {
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
  return { preview, canvas, meter, meterFill };
}

/** Reads the microphone's level every [`LEVEL_POLL_MS`] until `disposed`; returns the stop. */
export function startLevelMeter(parts: PreviewParts, disposed: () => boolean): () => void {
  let levelTimer: number | undefined;
  const poll = (): void => {
    api
      .previewLevel()
      .then((level) => {
        const share = Math.min(1, Math.sqrt(level / LEVEL_FULL));
        parts.meterFill.style.width = `${Math.round(share * 100)}%`;
        parts.meter.setAttribute("aria-valuenow", level.toFixed(3));
      })
      .catch(() => undefined)
      .finally(() => {
        if (!disposed()) levelTimer = window.setTimeout(poll, LEVEL_POLL_MS);
      });
  };
  poll();
  return () => window.clearTimeout(levelTimer);
}
