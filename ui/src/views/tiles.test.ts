import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CallInfo, RemoteStats, Stats, TileState } from "../api";
import { CallBus } from "../call-bus";
import { retranslate, setLocale } from "../i18n";
import { hearsSound, tileStatusKey } from "../model";
import { BEN, byTestId, makeApp } from "../test-support";
import { renderCall } from "./call";

const room = { target: { kind: "create" as const, roomName: "Standup" }, label: "Standup" };
const ben = BEN;

function info(over: Partial<CallInfo> = {}): CallInfo {
  return {
    roomId: "room_9",
    userId: "me",
    members: [
      {
        userId: "me",
        userName: "Ann",
        isCreator: true,
        isSelf: true,
        tile: null,
        sharingScreen: false,
      },
    ],
    micMuted: false,
    cameraEnabled: true,
    hasCamera: true,
    ...over,
  };
}

function remote(state: TileState): RemoteStats {
  return {
    userId: "u2",
    tile: 0,
    connected: state !== "waitingForStream",
    fps: 0,
    kbps: 0,
    latencyMsP50: null,
    latencyMsP95: null,
    // Nothing is heard from a member who sends nothing: silence that is no mute.
    audioLevel: 0,
    framesDecoded: 0,
    videoOff: false,
    // A player that never connects is judged bad by the figures alone.
    quality: state === "waitingForStream" ? "bad" : "good",
    stream: "main",
    state,
  };
}

/** Switches the page's language as the settings do: the words already shown change too. */
function speak(locale: "en" | "zh-CN"): void {
  setLocale(locale);
  retranslate(document.body);
}

/** A backend whose figures are whatever `stats` holds when asked. */
function backend(stats: { now: Stats }): void {
  mockIPC((cmd) => (cmd === "call_stats" ? stats.now : null));
}

const tile = (i: number) => byTestId(`tile-${i}`)!;
const status = (i: number) => tile(i).querySelector(".tile-status")!.textContent;
const micMark = (i: number) => tile(i).querySelector<HTMLElement>(".mic-mark")!;

beforeEach(() => setLocale("en"));
afterEach(() => clearMocks());

describe("tile states", () => {
  it("have words in both languages, and only tiles that receive sound can look muted", () => {
    const all: TileState[] = [
      "connecting",
      "waitingForStream",
      "live",
      "cameraOff",
      "stalled",
      "reconnecting",
      "gone",
    ];
    expect(all.map(tileStatusKey)).toEqual([
      "call.connecting",
      "call.waitingFor",
      null,
      "call.cameraOff",
      "call.stalled",
      "call.reconnecting",
      "call.left",
    ]);
    expect(all.filter(hearsSound)).toEqual(["live", "cameraOff", "stalled"]);
  });

  it("wait for a member who sends nothing yet, with no muted mark, then show it live", async () => {
    const stats = {
      now: {
        publisher: null,
        remotes: [remote("waitingForStream")],
        listed: 0,
        ownState: "live",
        hasCamera: true,
      } as Stats,
    };
    backend(stats);
    const app = await makeApp("Ann");
    const bus = new CallBus();
    const view = renderCall(app, room, info(), bus);
    document.body.appendChild(view.element);
    bus.push({ type: "memberJoined", member: ben });
    await vi.waitFor(() => expect(tile(1).dataset.state).toBe("waitingForStream"), {
      timeout: 3_000,
    });
    expect(status(1)).toBe("Waiting for Ben Lee…");
    // Its player failing attempt after attempt is no reconnect.
    bus.push({ type: "playerState", userId: "u2", state: "disconnected" });
    bus.push({ type: "reconnecting", link: { kind: "player", userId: "u2" } });
    // Silent for longer than a mute takes to guess: still no mark, since no sound could come.
    await new Promise((r) => setTimeout(r, 2_600));
    expect(status(1)).toBe("Waiting for Ben Lee…");
    expect(tile(1).classList.contains("reconnecting")).toBe(false);
    expect(micMark(1).hidden).toBe(true);
    // Nor is a connection judged "bad" before it carries anything.
    expect(tile(1).querySelector<HTMLElement>("[data-testid=tile-quality]")!.hidden).toBe(true);

    speak("zh-CN");
    expect(status(1)).toBe("等待Ben Lee…");

    // Sending now, and silent: that silence is a mute.
    stats.now = { ...stats.now, remotes: [remote("live")] };
    await vi.waitFor(() => expect(tile(1).dataset.state).toBe("live"), { timeout: 3_000 });
    await vi.waitFor(() => expect(micMark(1).hidden).toBe(false), { timeout: 3_000 });

    // A stall dims the picture and says so.
    stats.now = { ...stats.now, remotes: [remote("stalled")] };
    await vi.waitFor(() => expect(status(1)).toBe("画面卡住"), { timeout: 3_000 });
    expect(
      tile(1).classList.contains("stalled") && tile(1).classList.contains("reconnecting"),
    ).toBe(true);
    speak("en");
    expect(status(1)).toBe("Picture stalled");
    stats.now = { ...stats.now, remotes: [remote("reconnecting")] };
    await vi.waitFor(() => expect(status(1)).toBe("Reconnecting…"), { timeout: 3_000 });
    expect(tile(1).classList.contains("stalled")).toBe(false);
    view.dispose();
  }, 15_000);

  it("show our own tile as camera off without a camera, with video shown as stopped", async () => {
    backend({
      now: { publisher: null, remotes: [], listed: 0, ownState: "cameraOff", hasCamera: false },
    });
    const app = await makeApp("Ann");
    const view = renderCall(app, room, info({ hasCamera: false }), new CallBus());
    document.body.appendChild(view.element);
    await vi.waitFor(() => expect(tile(0).dataset.state).toBe("cameraOff"));
    expect(status(0)).toBe("Camera off");
    expect(tile(0).classList.contains("video-off")).toBe(true);
    const cam = byTestId("toggle-camera")!;
    expect(cam.classList.contains("off")).toBe(true);
    expect(cam.textContent).toContain("Start video");
    view.dispose();
  });

  it("turn our own tile to camera off when No camera is chosen mid-call", async () => {
    const stats = {
      now: { publisher: null, remotes: [], listed: 0, ownState: "live", hasCamera: true } as Stats,
    };
    backend(stats);
    const app = await makeApp("Ann");
    const view = renderCall(app, room, info(), new CallBus());
    document.body.appendChild(view.element);
    await vi.waitFor(() => expect(tile(0).dataset.state).toBe("live"), { timeout: 3_000 });
    const cam = byTestId("toggle-camera")!;
    expect(cam.textContent).toContain("Stop video");
    expect(cam.classList.contains("off")).toBe(false);

    // The call now has no camera (chosen elsewhere, or the camera failed).
    stats.now = { ...stats.now, ownState: "cameraOff", hasCamera: false };
    await vi.waitFor(() => expect(tile(0).dataset.state).toBe("cameraOff"), { timeout: 3_000 });
    expect(tile(0).classList.contains("video-off")).toBe(true);
    expect(status(0)).toBe("Camera off");
    expect(cam.classList.contains("off")).toBe(true);
    expect(cam.textContent).toContain("Start video");
    speak("zh-CN");
    expect(status(0)).toBe("摄像头已关闭");
    view.dispose();
  });
});
