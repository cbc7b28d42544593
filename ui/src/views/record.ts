// "Record" in the call: writes the call as we see and hear it to an MP4 (the app tells the room,
// so everyone sees that it is being recorded), with a mark in the call's header while it runs.

import { api } from "../api";
import { h, ICONS, icon } from "../dom";
import { t, tx, txAttr } from "../i18n";
import type { Shell } from "../shell";
import { openFolder, toast } from "../toast";

/** The Record control and the header's recording mark. */
export interface RecordControl {
  button: HTMLButtonElement;
  mark: HTMLElement;
}

export function recordControl(app: Shell): RecordControl {
  const label = tx(h("span", { class: "control-label" }), "call.record");
  const button = h(
    "button",
    { class: "control", testid: "record", attrs: { "aria-pressed": "false" } },
    icon(ICONS.record),
    label,
  ) as HTMLButtonElement;
  // One name, and whether it runs: "Record, pressed" is recording.
  txAttr(button, "aria-label", "call.record");
  const mark = tx(
    h("span", {
      class: "recording-mark",
      testid: "recording-mark",
      attrs: { hidden: true, role: "status" },
    }),
    "call.recording",
  );
  let recording = false;
  const show = (on: boolean) => {
    recording = on;
    mark.hidden = !on;
    button.classList.toggle("active", on);
    button.setAttribute("aria-pressed", String(on));
    tx(label, on ? "call.stopRecording" : "call.record");
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      if (recording) {
        const path = await api.recordStop();
        show(false);
        if (path)
          toast(t("call.recordingSaved", { path }), "info", undefined, {
            action: openFolder(path),
          });
      } else {
        await api.recordStart();
        show(true);
      }
    } catch (e) {
      app.fail(e);
    } finally {
      button.disabled = false;
    }
  });
  return { button, mark };
}
