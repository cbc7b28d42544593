// The tester's panel: streams with their codecs, room API calls with codes and times, events,
// and an export that writes a zip and says where.

import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Diagnostics } from "../api";
import { CallBus } from "../call-bus";
import { setLocale } from "../i18n";
import { byTestId, makeApp as makeTestApp, SOLO_CALL } from "../test-support";
import { renderCall } from "./call";
import { clockTime, codecLine, DIAGNOSTICS_ROWS } from "./diagnostics";

const makeApp = () => makeTestApp("Ann");

const room = { target: { kind: "create" as const, roomName: "R" }, label: "R" };
const info = SOLO_CALL;

const at = new Date(2026, 11, 5, 9, 30, 5, 42).getTime();
const sample: Diagnostics = {
  apiCalls: [
    ...Array.from({ length: DIAGNOSTICS_ROWS + 5 }, (_, i) => ({
      atMs: at + i,
      endpoint: "pusher_heartbeat",
      code: 0,
      status: null,
      ms: 1.25,
      error: null,
    })),
    {
      atMs: at + 100,
      endpoint: "add_pusher",
      code: 5,
      status: null,
      ms: 3.5,
      error: "您请求的房间成员不存在",
    },
  ],
  events: [{ atMs: at + 200, kind: "pusher_change", detail: "" }],
  own: {
    connected: true,
    reconnects: 0,
    width: 640,
    height: 360,
    fps: 15,
    kbps: 700,
    keyframes: 3,
    droppedFrames: 0,
    encodeMsP95: 4,
    erleDb: 30.5,
  },
  streams: [
    {
      userId: "bob",
      userName: "Bob",
      stream: "small",
      connected: true,
      reconnects: 1,
      video: { codec: "h264", profile: "High", level: "3.1", width: 320, height: 180 },
      audio: { codec: "aac", profile: "LC", sampleRate: 48000, channels: 1 },
      fps: 14.9,
      kbps: 312,
      keyframeIntervalMs: 2000,
      latencyMsP50: 84,
      latencyMsP95: 120,
    },
  ],
};

beforeEach(() => setLocale("en"));
afterEach(() => clearMocks());

describe("diagnostics", () => {
  it("reads codecs and times as a tester writes them", () => {
    expect(codecLine(sample.streams[0])).toBe("h264 High 3.1 320×180 · aac LC 48 kHz mono");
    expect(codecLine({ video: null, audio: null })).toBe("—");
    expect(clockTime(at)).toBe("09:30:05.042");
  });

  for (const [locale, heading] of [
    ["en", "Room API calls"],
    ["zh-CN", "房间 API 调用"],
  ] as const) {
    it(`shows streams, calls and events in a call (${locale})`, async () => {
      setLocale(locale);
      mockIPC((cmd) => (cmd === "call_diagnostics" ? sample : null));
      const view = renderCall(await makeApp(), room, info, new CallBus());
      document.body.appendChild(view.element);
      (byTestId("toggle-diagnostics") as HTMLButtonElement).click();
      await vi.waitFor(() =>
        expect(byTestId("diagnostics-streams")?.textContent).toContain("h264 High 3.1 320×180"),
      );
      expect(byTestId("diagnostics")?.textContent).toContain(heading);
      const api = byTestId("diagnostics-api")!.querySelectorAll("tbody tr");
      expect(api.length).toBe(DIAGNOSTICS_ROWS);
      // Newest first: the failed add_pusher with its code and the original's message.
      expect([...api[0].querySelectorAll("td")].map((td) => td.textContent)).toEqual([
        "09:30:05.142",
        "add_pusher",
        "5",
        "3.5",
        "您请求的房间成员不存在",
      ]);
      expect(byTestId("diagnostics-events")?.textContent).toContain("pusher_change");
      expect(byTestId("diagnostics-own")?.textContent).toContain("640×360");
      view.dispose();
    });
  }

  it("exports one zip and says where it went", async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "export_diagnostics")
        return "/home/ann/Pictures/Quartet/quartet-diagnostics-1.zip";
      return cmd === "call_diagnostics" ? sample : null;
    });
    const app = await makeApp();
    const view = renderCall(app, room, info, new CallBus());
    document.body.appendChild(view.element);
    (byTestId("toggle-diagnostics") as HTMLButtonElement).click();
    (byTestId("export-diagnostics") as HTMLButtonElement).click();
    await vi.waitFor(() =>
      expect(document.querySelector(".toast-text")?.textContent).toBe(
        "Diagnostics saved to /home/ann/Pictures/Quartet/quartet-diagnostics-1.zip",
      ),
    );
    const sent = calls.find((c) => c.cmd === "export_diagnostics")?.args as {
      settings: { nickname: string };
    };
    expect(sent.settings.nickname).toBe("Ann");
    view.dispose();
  });
});
