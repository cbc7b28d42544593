import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import axe from "axe-core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallBus } from "../call-bus";
import { setLocale } from "../i18n";
import { byTestId, makeApp, SOLO_CALL } from "../test-support";
import { askHowToLeave } from "./leave";
import { openSettings } from "./settings";

const DEVICES = {
  cameras: [{ id: "/dev/video0", name: "Camera" }],
  microphones: [{ name: "Mic", isDefault: true }],
  speakers: [],
};

/** One member's stream and one room API call, so the panel's tables have rows. */
const DIAGNOSTICS = {
  apiCalls: [{ atMs: 0, endpoint: "add_pusher", code: 0, status: null, ms: 2, error: null }],
  events: [{ atMs: 0, kind: "pusher_change", detail: "" }],
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
    erleDb: null,
  },
  streams: [
    {
      userId: "u2",
      userName: "Ben",
      stream: "main",
      connected: true,
      reconnects: 0,
      video: { codec: "h264", profile: "High", level: "3.1", width: 640, height: 360 },
      audio: { codec: "aac", profile: "LC", sampleRate: 48000, channels: 1 },
      fps: 15,
      kbps: 600,
      keyframeIntervalMs: 2000,
      latencyMsP50: 80,
      latencyMsP95: 110,
    },
  ],
};

const BEN = {
  userId: "u2",
  userName: "Ben",
  isCreator: false,
  isSelf: false,
  tile: 0,
  sharingScreen: false,
};

/** A call with Ben in it, on the app's page. */
async function callWithBen(): Promise<void> {
  const app = await makeApp("Ann");
  const bus = new CallBus();
  app.showCall({ target: { kind: "create" as const, roomName: "R" }, label: "R" }, SOLO_CALL, bus);
  bus.push({ type: "memberJoined", member: BEN });
  await vi.waitFor(() =>
    expect(document.querySelector(".tile-name-text")?.textContent).toBeTruthy(),
  );
}

/** What a screen reader calls `el`: its label, else its text, else its tooltip. */
const accessibleName = (el: Element) =>
  el.getAttribute("aria-label") || el.textContent?.trim() || el.getAttribute("title") || "";

/** Every rule axe can judge in jsdom: colours need a real renderer, so contrast is left to the eye and the screenshots. */
async function violations(root: Element): Promise<string[]> {
  const result = await axe.run(root, { rules: { "color-contrast": { enabled: false } } });
  return result.violations.map(
    (v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
}

beforeEach(() => {
  setLocale("en");
  mockIPC((cmd) => {
    if (cmd === "list_devices") return DEVICES;
    if (cmd === "call_stats") return { publisher: null, remotes: [], listed: 0 };
    if (cmd === "list_rooms") return [];
    if (cmd === "call_diagnostics") return DIAGNOSTICS;
    return null;
  });
});
afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("every view, to a screen reader", () => {
  it("the lobby", async () => {
    const app = await makeApp("Ann");
    app.showLobby();
    expect(await violations(document.body)).toEqual([]);
  });

  it("the pre-join", async () => {
    const app = await makeApp("Ann");
    app.showPrejoin({ target: { kind: "create", roomName: "R" }, label: "R" });
    expect(await violations(document.body)).toEqual([]);
  });

  it("the call, with a member, chat and people open", async () => {
    const app = await makeApp("Ann");
    const bus = new CallBus();
    const room = { target: { kind: "create" as const, roomName: "R" }, label: "R" };
    app.showCall(room, SOLO_CALL, bus);
    bus.push({
      type: "memberJoined",
      member: {
        userId: "u2",
        userName: "Ben",
        isCreator: false,
        isSelf: false,
        tile: 0,
        sharingScreen: false,
      },
    });
    byTestId("toggle-chat")!.click();
    expect(await violations(document.body)).toEqual([]);
    byTestId("toggle-people")!.click();
    expect(await violations(document.body)).toEqual([]);
  });

  it("the settings", async () => {
    const app = await makeApp("Ann");
    openSettings(app);
    expect(await violations(document.body)).toEqual([]);
  });

  it("the leave question", async () => {
    await makeApp("Ann");
    void askHowToLeave({
      isHost: true,
      canHandOver: true,
      heirName: "Ben",
      others: 1,
      worthAsking: true,
    });
    expect(await violations(document.body)).toEqual([]);
  });

  it("the diagnostics panel, with a stream and a room call", async () => {
    await callWithBen();
    byTestId("toggle-diagnostics")!.click();
    await vi.waitFor(() => expect(byTestId("diagnostics-streams")?.textContent).toContain("h264"));
    expect(await violations(document.body)).toEqual([]);
  });

  it("the call in Chinese: every control named in Chinese, and no violation", async () => {
    setLocale("zh-CN");
    await callWithBen();
    const buttons = [...document.querySelectorAll("button")];
    expect(buttons.length).toBeGreaterThan(10);
    for (const b of buttons) {
      const name = accessibleName(b);
      // Icon-only buttons are named in the page's language, not by a tooltip alone.
      if (!b.textContent?.trim())
        expect(b.getAttribute("aria-label"), b.outerHTML).toMatch(/[\u4e00-\u9fff]/);
      expect(name, b.outerHTML).not.toBe("");
    }
    expect(await violations(document.body)).toEqual([]);
  });

  it("the toggles say whether they are on", async () => {
    await callWithBen();
    for (const id of [
      "toggle-mic",
      "toggle-camera",
      "toggle-chat",
      "toggle-people",
      "toggle-diagnostics",
      "toggle-stats",
      "record",
    ]) {
      expect(byTestId(id)!.getAttribute("aria-pressed"), id).toBe("false");
    }
    byTestId("toggle-people")!.click();
    expect(byTestId("toggle-people")!.getAttribute("aria-pressed")).toBe("true");
    byTestId("toggle-mic")!.click();
    await vi.waitFor(() =>
      expect(byTestId("toggle-mic")!.getAttribute("aria-pressed")).toBe("true"),
    );
    // One name whatever the state: "Mute, pressed" is muted.
    expect(byTestId("toggle-mic")!.getAttribute("aria-label")).toBe("Mute");
  });

  it("the chat: a box named also once written in, and messages read out as they come", async () => {
    await callWithBen();
    const input = byTestId("chat-input") as HTMLInputElement;
    input.value = "hello";
    expect(input.getAttribute("aria-label")).toBe("Message everyone");
    expect(byTestId("chat-messages")!.getAttribute("role")).toBe("log");
    expect(byTestId("people")!.getAttribute("role")).toBe("list");
  });
});
