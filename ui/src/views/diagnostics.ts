// The tester's panel in a call: every stream's codecs and figures, every room API call with its
// code and time, every event-channel frame, and "Export diagnostics" for a bug report.

import {
  type ApiCallEntry,
  api,
  type ChannelEntry,
  type Diagnostics,
  type StreamDetails,
} from "../api";
import { clear, h } from "../dom";
import { type Key, t, tx } from "../i18n";
import type { Shell } from "../shell";
import { openFolder, toast } from "../toast";

/** How often the open panel reads the call's diagnostics. */
export const DIAGNOSTICS_POLL_MS = 1000;
/** Newest rows shown of the API calls and of the events (the export holds them all). */
export const DIAGNOSTICS_ROWS = 40;

export interface DiagnosticsPane {
  element: HTMLElement;
  /** Starts (or stops) reading while the pane is shown. */
  show(visible: boolean): void;
  dispose(): void;
}

/** Wall-clock time with milliseconds, as in the logs. */
export function clockTime(unixMs: number): string {
  const d = new Date(unixMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/** One stream's codec line: "h264 High 3.1 640×360 · aac LC 48 kHz mono". */
export function codecLine(s: Pick<StreamDetails, "video" | "audio">): string {
  const parts: string[] = [];
  if (s.video) {
    const size = s.video.width ? `${s.video.width}×${s.video.height}` : "";
    parts.push([s.video.codec, s.video.profile, s.video.level, size].filter(Boolean).join(" "));
  }
  if (s.audio) {
    const channels =
      s.audio.channels === 1
        ? "mono"
        : s.audio.channels === 2
          ? "stereo"
          : `${s.audio.channels} ch`;
    parts.push(
      [s.audio.codec, s.audio.profile, `${s.audio.sampleRate / 1000} kHz`, channels]
        .filter(Boolean)
        .join(" "),
    );
  }
  return parts.join(" · ") || "—";
}

const num = (v: number | null, digits = 0) => (v === null ? "—" : v.toFixed(digits));

function table(head: Key[], rows: (string | number)[][], testid: string): HTMLElement {
  return h(
    "table",
    { class: "diag-table", testid },
    h("thead", {}, h("tr", {}, ...head.map((k) => tx(h("th"), k)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", { text: String(c) }))))),
  );
}

function streamRows(d: Diagnostics): (string | number)[][] {
  return d.streams.map((s) => [
    `${s.userName} (${s.stream})`,
    codecLine(s),
    num(s.fps, 1),
    num(s.kbps),
    num(s.keyframeIntervalMs),
    num(s.latencyMsP50),
    s.reconnects,
  ]);
}

function apiRows(calls: ApiCallEntry[]): (string | number)[][] {
  return calls
    .slice(-DIAGNOSTICS_ROWS)
    .reverse()
    .map((c) => [
      clockTime(c.atMs),
      c.endpoint,
      c.code ?? (c.status ? `HTTP ${c.status}` : "—"),
      num(c.ms, 1),
      c.error ?? "",
    ]);
}

function eventRows(events: ChannelEntry[]): (string | number)[][] {
  return events
    .slice(-DIAGNOSTICS_ROWS)
    .reverse()
    .map((e) => [clockTime(e.atMs), e.kind, e.detail]);
}

export function renderDiagnostics(app: Shell): DiagnosticsPane {
  const body = h("div", { class: "diag-body", testid: "diagnostics-body" });
  const exportButton = tx(
    h("button", { class: "button", testid: "export-diagnostics" }),
    "diag.export",
  );
  exportButton.addEventListener("click", () => void exportNow(app, exportButton));
  const element = h(
    "div",
    { class: "pane diagnostics", testid: "diagnostics" },
    h("div", { class: "row" }, exportButton),
    body,
  );
  let timer: number | undefined;
  let visible = false;

  function render(d: Diagnostics): void {
    clear(body);
    const own = d.own
      ? `${d.own.width}×${d.own.height} · ${num(d.own.fps, 1)} fps · ${num(d.own.kbps)} kbit/s · ${d.own.keyframes} · ${num(d.own.erleDb, 1)} dB`
      : "—";
    body.append(
      tx(h("h3"), "diag.own"),
      h("div", { class: "muted", text: own, testid: "diagnostics-own" }),
      tx(h("h3"), "diag.streams"),
      table(
        [
          "diag.member",
          "diag.codecs",
          "diag.fps",
          "diag.kbps",
          "diag.keyframeMs",
          "diag.latencyMs",
          "diag.reconnects",
        ],
        streamRows(d),
        "diagnostics-streams",
      ),
      tx(h("h3"), "diag.api"),
      table(
        ["diag.time", "diag.endpoint", "diag.code", "diag.ms", "diag.error"],
        apiRows(d.apiCalls),
        "diagnostics-api",
      ),
      tx(h("h3"), "diag.events"),
      table(["diag.time", "diag.event", "diag.detail"], eventRows(d.events), "diagnostics-events"),
    );
  }

  function poll(): void {
    api
      .diagnostics()
      .then(render)
      .catch(() => undefined)
      .finally(() => {
        if (visible) timer = window.setTimeout(poll, DIAGNOSTICS_POLL_MS);
      });
  }

  return {
    element,
    show(on: boolean) {
      if (on === visible) return;
      visible = on;
      window.clearTimeout(timer);
      if (on) poll();
    },
    dispose() {
      visible = false;
      window.clearTimeout(timer);
    },
  };
}

/** Writes the zip for a bug report and says where it went. */
export async function exportNow(app: Shell, button?: HTMLButtonElement): Promise<void> {
  if (button) button.disabled = true;
  try {
    const path = await api.exportDiagnostics(app.settings);
    toast(t("diag.exported", { path }), "info", undefined, { action: openFolder(path) });
  } catch (e) {
    app.fail(e);
  } finally {
    if (button) button.disabled = false;
  }
}
