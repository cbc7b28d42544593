import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { setLocale } from "../i18n";
import { SOLO_CALL, byTestId, makeApp } from "../test-support";
import { CallBus, renderCall } from "./call";

type Call = { cmd: string; args: Record<string, unknown> };

let view: { dispose(): void } | null = null;

async function inCall(micMuted = false): Promise<Call[]> {
  const calls: Call[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    if (cmd === "call_stats") return { publisher: null, remotes: [], listed: 0 };
    if (cmd === "call_leave_options") return { isHost: false, handsOver: false, heir: null, others: 0 };
    return null;
  });
  const app = await makeApp("Ann");
  const room = { target: { kind: "create" as const, roomName: "R" }, label: "R" };
  view = renderCall(app, room, { ...SOLO_CALL, micMuted }, new CallBus());
  document.body.appendChild((view as unknown as { element: HTMLElement }).element);
  return calls;
}

const press = (key: string, mods: KeyboardEventInit = {}, target: EventTarget = document.body) =>
  target.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, ...mods }));
const release = (key: string) => document.body.dispatchEvent(new KeyboardEvent("keyup", { key, bubbles: true }));
const sent = (calls: Call[], cmd: string) => calls.filter((c) => c.cmd === cmd);

beforeEach(() => setLocale("en"));
afterEach(() => {
  view?.dispose();
  view = null;
  clearMocks();
  document.body.innerHTML = "";
});

describe("in a call, the keyboard", () => {
  it("mutes and unmutes with Ctrl+D", async () => {
    const calls = await inCall();
    press("d", { ctrlKey: true });
    await vi.waitFor(() => expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([true]));
    press("d", { ctrlKey: true });
    await vi.waitFor(() => expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([true, false]));
    expect(byTestId("toggle-mic")!.getAttribute("aria-keyshortcuts")).toBe("Control+D");
    expect(byTestId("toggle-mic")!.title).toBe("Ctrl+D");
  });

  it("turns the camera off with Ctrl+E", async () => {
    const calls = await inCall();
    press("e", { ctrlKey: true });
    await vi.waitFor(() => expect(sent(calls, "call_set_camera_enabled").map((c) => c.args.enabled)).toEqual([false]));
  });

  it("opens and closes chat with Ctrl+Shift+C", async () => {
    await inCall();
    press("C", { ctrlKey: true, shiftKey: true });
    expect(byTestId("toggle-chat")!.classList.contains("active")).toBe(true);
    press("C", { ctrlKey: true, shiftKey: true });
    expect(byTestId("toggle-chat")!.classList.contains("active")).toBe(false);
  });

  it("leaves with Ctrl+Shift+L, as the Leave button does", async () => {
    const calls = await inCall();
    press("L", { ctrlKey: true, shiftKey: true });
    await vi.waitFor(() => expect(sent(calls, "call_leave")).toHaveLength(1));
  });

  it("talks while Space is held when muted, and mutes again when it is let go", async () => {
    const calls = await inCall(true);
    press(" ");
    await vi.waitFor(() => expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([false]));
    press(" ", { repeat: true });
    release(" ");
    await vi.waitFor(() => expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([false, true]));
  });

  it("does nothing while someone types in the chat box", async () => {
    const calls = await inCall(true);
    const input = byTestId("chat-input")!;
    press("d", { ctrlKey: true }, input);
    press(" ", {}, input);
    await new Promise((r) => setTimeout(r, 50));
    expect(sent(calls, "call_set_mic_muted")).toEqual([]);
  });
});
