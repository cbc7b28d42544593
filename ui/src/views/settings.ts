// The settings dialog: language, video decoding path, logs, version.

import { api } from "../api";
import { h, holdDialog, ICONS, icon, nameIcon } from "../dom";
import { type Key, tx } from "../i18n";
import { audioProcessing, type Settings } from "../settings";
import type { Shell } from "../shell";
import { isMac, shortcutLabel } from "../shortcuts";
import { exportNow } from "./diagnostics";

function select<K extends keyof Settings>(
  app: Shell,
  key: K,
  options: [Settings[K] & string, Key][],
  testid: string,
): HTMLSelectElement {
  const el = h("select", { class: "input", testid });
  for (const [value, label] of options)
    el.appendChild(tx(h("option", { attrs: { value } }), label));
  el.value = String(app.settings[key]);
  el.addEventListener("change", () => void app.update({ [key]: el.value } as Partial<Settings>));
  return el;
}

/** The language picker: each language is named in itself, whatever the current one. */
function languageSelect(app: Shell): HTMLSelectElement {
  const language = select(
    app,
    "language",
    [
      ["auto", "settings.languageAuto"],
      ["en", "settings.languageAuto"],
      ["zh-CN", "settings.languageAuto"],
    ],
    "language-select",
  );
  language.options[1].textContent = "English";
  language.options[2].textContent = "简体中文";
  delete language.options[1].dataset.i18n;
  delete language.options[2].dataset.i18n;
  return language;
}

/** The pickers after the language's, each in its labelled field, in the dialog's order. */
function choiceFields(app: Shell): HTMLElement[] {
  const video = select(
    app,
    "videoPath",
    [
      ["auto", "settings.videoAuto"],
      ["webcodecs", "settings.videoWebcodecs"],
      ["webgl", "settings.videoWebgl"],
    ],
    "video-path-select",
  );
  // Taken at the next join: the camera is opened at this size.
  const sendQuality = select(
    app,
    "sendQuality",
    [
      ["360p15", "settings.quality360p15"],
      ["540p30", "settings.quality540p30"],
      ["720p15", "settings.quality720p15"],
      ["720p30", "settings.quality720p30"],
    ],
    "send-quality-select",
  );
  const hostLeave = select(
    app,
    "hostLeave",
    [
      ["ask", "settings.hostLeaveAsk"],
      ["leave", "settings.hostLeaveLeave"],
      ["end", "settings.hostLeaveEnd"],
    ],
    "host-leave-select",
  );
  const theme = select(
    app,
    "theme",
    [
      ["system", "settings.themeSystem"],
      ["light", "settings.themeLight"],
      ["dark", "settings.themeDark"],
    ],
    "theme-select",
  );
  return [
    h("label", { class: "field" }, tx(h("span"), "settings.theme"), theme),
    h("label", { class: "field" }, tx(h("span"), "settings.video"), video),
    h("label", { class: "field" }, tx(h("span"), "settings.sendQuality"), sendQuality),
    h("label", { class: "field" }, tx(h("span"), "settings.hostLeave"), hostLeave),
  ];
}

/** The keyboard shortcuts, one row each, as this system writes them. */
function shortcutRows(): HTMLElement[] {
  const mac = isMac(navigator.platform || navigator.userAgent);
  const rows = (["mute", "camera", "chat", "leave"] as const).map((action) =>
    h(
      "div",
      { class: "row shortcut", testid: `shortcut-${action}` },
      tx(h("span", { class: "grow" }), `shortcut.${action}`),
      h("kbd", { text: shortcutLabel(action, mac) }),
    ),
  );
  rows.push(
    h(
      "div",
      { class: "row shortcut", testid: "shortcut-talk" },
      tx(h("span", { class: "grow" }), "shortcut.pushToTalk"),
      tx(h("kbd"), "shortcut.space"),
    ),
  );
  return rows;
}

/** The data saver switch. */
function dataSaverSwitch(app: Shell): HTMLElement {
  const dataSaver = h("input", {
    attrs: { type: "checkbox" },
    testid: "data-saver",
  }) as HTMLInputElement;
  dataSaver.checked = app.settings.dataSaver;
  dataSaver.addEventListener("change", () => {
    void app.update({ dataSaver: dataSaver.checked });
    // A call in progress takes it at once; with none, the next join does.
    api.setDataSaver(dataSaver.checked).catch(() => undefined);
  });
  return h("label", { class: "check" }, dataSaver, tx(h("span"), "settings.dataSaver"));
}

/** The sound cleaning switches (echo, noise, gain). */
function cleaningSwitches(app: Shell): HTMLElement[] {
  // Each cleaning switch applies to a call in progress at once, and to every later join.
  return (["echoCancellation", "noiseSuppression", "gainControl"] as const).map((key) => {
    const box = h("input", {
      attrs: { type: "checkbox" },
      testid: `audio-${key}`,
    }) as HTMLInputElement;
    box.checked = app.settings[key];
    box.addEventListener("change", async () => {
      await app.update({ [key]: box.checked });
      api.setAudioProcessing(audioProcessing(app.settings)).catch(() => undefined);
    });
    return h("label", { class: "check" }, box, tx(h("span"), `settings.${key}`));
  });
}

/** The logs field: open their folder, export diagnostics, and where they are kept. */
function logsField(app: Shell): HTMLElement {
  const logs = tx(h("button", { class: "button", testid: "open-logs" }), "settings.openLogs");
  logs.addEventListener("click", () => api.openLogsFolder().catch((e) => app.fail(e)));
  const exportButton = tx(
    h("button", { class: "button", testid: "settings-export-diagnostics" }),
    "diag.export",
  ) as HTMLButtonElement;
  exportButton.addEventListener("click", () => void exportNow(app, exportButton));
  return h(
    "div",
    { class: "field" },
    tx(h("span"), "settings.logs"),
    h("div", { class: "row" }, logs, exportButton),
    h("div", { class: "muted small", text: app.info.logDir ?? "" }),
  );
}

export function openSettings(app: Shell): void {
  if (document.querySelector(".dialog-backdrop")) return;
  const close = () => {
    release();
    backdrop.remove();
    document.removeEventListener("keydown", onKey);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape") close();
  };
  const language = languageSelect(app);
  const choices = choiceFields(app);
  const done = tx(
    h("button", { class: "button primary", testid: "settings-done" }),
    "settings.done",
  );
  done.addEventListener("click", close);
  const x = h("button", { class: "icon-button", on: { click: close } }, icon(ICONS.close));
  nameIcon(x, "common.close");

  const dialog = h(
    "div",
    { class: "dialog card", attrs: { role: "dialog", "aria-modal": "true" }, testid: "settings" },
    h("div", { class: "card-head" }, tx(h("h2"), "settings.title"), x),
    h("label", { class: "field" }, tx(h("span"), "settings.language"), language),
    ...choices,
    dataSaverSwitch(app),
    h("div", { class: "field" }, tx(h("span"), "settings.sound"), ...cleaningSwitches(app)),
    h("div", { class: "field" }, tx(h("span"), "settings.shortcuts"), ...shortcutRows()),
    logsField(app),
    h(
      "div",
      { class: "row end" },
      tx(h("span", { class: "muted small grow" }), "settings.version", {
        version: app.info.version,
      }),
      done,
    ),
  );
  const backdrop = h("div", { class: "dialog-backdrop" }, dialog);
  backdrop.addEventListener("click", (e) => {
    if (e.target === backdrop) close();
  });
  document.addEventListener("keydown", onKey);
  const release = holdDialog(dialog);
  document.body.appendChild(backdrop);
  language.focus();
}
