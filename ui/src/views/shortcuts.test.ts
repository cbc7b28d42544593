import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallBus } from "../call-bus";
import { setLocale } from "../i18n";
import { byTestId, makeApp, SOLO_CALL } from "../test-support";
import { renderCall } from "./call";
import { openSettings } from "./settings";

type Call = { cmd: string; args: Record<string, unknown> };

let view: { dispose(): void } | null = null;

/** A member who just leaves, with no question. */
const MEMBER_LEAVES = {
  isHost: false,
  canHandOver: false,
  heirName: null,
  others: 0,
  worthAsking: false,
};
/** A host with others in the call, who is asked how to leave. */
const HOST_IS_ASKED = {
  isHost: true,
  canHandOver: true,
  heirName: "Ben",
  others: 1,
  worthAsking: true,
};

async function inCall(micMuted = false, leaveOptions: object = MEMBER_LEAVES): Promise<Call[]> {
  const calls: Call[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    if (cmd === "call_stats") return { publisher: null, remotes: [], listed: 0 };
    if (cmd === "call_leave_options") return leaveOptions;
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
const release = (key: string) =>
  document.body.dispatchEvent(new KeyboardEvent("keyup", { key, bubbles: true }));
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
    await vi.waitFor(() =>
      expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([true]),
    );
    // The focus did not move to the button, so what happened is said.
    await vi.waitFor(() =>
      expect(byTestId("call-keys-status")!.textContent).toBe("Microphone muted"),
    );
    press("d", { ctrlKey: true });
    await vi.waitFor(() =>
      expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([true, false]),
    );
    await vi.waitFor(() => expect(byTestId("call-keys-status")!.textContent).toBe("Microphone on"));
    expect(byTestId("toggle-mic")!.getAttribute("aria-keyshortcuts")).toBe("Control+D");
    expect(byTestId("toggle-mic")!.title).toBe("Ctrl+D");
  });

  it("turns the camera off and on with Ctrl+E", async () => {
    const calls = await inCall();
    const cam = byTestId("toggle-camera")!;
    expect(cam.getAttribute("aria-keyshortcuts")).toBe("Control+E");
    press("e", { ctrlKey: true });
    await vi.waitFor(() =>
      expect(sent(calls, "call_set_camera_enabled").map((c) => c.args.enabled)).toEqual([false]),
    );
    await vi.waitFor(() => expect(cam.getAttribute("aria-pressed")).toBe("true"));
    await vi.waitFor(() => expect(byTestId("call-keys-status")!.textContent).toBe("Camera off"));
    press("e", { ctrlKey: true });
    await vi.waitFor(() =>
      expect(sent(calls, "call_set_camera_enabled").map((c) => c.args.enabled)).toEqual([
        false,
        true,
      ]),
    );
    await vi.waitFor(() => expect(cam.getAttribute("aria-pressed")).toBe("false"));
  });

  it("opens and closes chat with Ctrl+Shift+C", async () => {
    await inCall();
    const chat = byTestId("toggle-chat")!;
    expect(chat.getAttribute("aria-keyshortcuts")).toBe("Control+Shift+C");
    press("C", { ctrlKey: true, shiftKey: true });
    expect(chat.getAttribute("aria-pressed")).toBe("true");
    expect(document.activeElement).toBe(byTestId("chat-input"));
    // The chat box has the focus now; the shortcut is the page's, so it is pressed from elsewhere.
    press("C", { ctrlKey: true, shiftKey: true });
    expect(chat.getAttribute("aria-pressed")).toBe("false");
  });

  it("leaves with Ctrl+Shift+L, as the Leave button does", async () => {
    const calls = await inCall();
    expect(byTestId("leave")!.getAttribute("aria-keyshortcuts")).toBe("Control+Shift+L");
    press("L", { ctrlKey: true, shiftKey: true });
    await vi.waitFor(() => expect(sent(calls, "call_leave")).toHaveLength(1));
  });

  it("asks a host how to leave with Ctrl+Shift+L, and stays when the question is cancelled", async () => {
    const calls = await inCall(false, HOST_IS_ASKED);
    press("L", { ctrlKey: true, shiftKey: true });
    await vi.waitFor(() => expect(byTestId("leave-dialog")).not.toBeNull());
    expect(sent(calls, "call_leave")).toEqual([]);
    // While the question is open the keys are its own: the call is not muted behind it.
    press("d", { ctrlKey: true });
    byTestId("leave-cancel")!.click();
    expect(byTestId("leave-dialog")).toBeNull();
    await new Promise((r) => setTimeout(r, 50));
    expect(sent(calls, "call_leave")).toEqual([]);
    expect(sent(calls, "call_set_mic_muted")).toEqual([]);
  });

  it("talks while Space is held when muted, and mutes again when it is let go", async () => {
    const calls = await inCall(true);
    press(" ");
    await vi.waitFor(() =>
      expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([false]),
    );
    press(" ", { repeat: true });
    release(" ");
    await vi.waitFor(() =>
      expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([false, true]),
    );
  });

  it("does nothing while someone types in the chat box", async () => {
    const calls = await inCall(true);
    byTestId("toggle-chat")!.click();
    const input = byTestId("chat-input")!;
    press("d", { ctrlKey: true }, input);
    press("e", { ctrlKey: true }, input);
    press("C", { ctrlKey: true, shiftKey: true }, input);
    press("L", { ctrlKey: true, shiftKey: true }, input);
    press(" ", {}, input);
    input.dispatchEvent(new KeyboardEvent("keyup", { key: " ", bubbles: true }));
    await new Promise((r) => setTimeout(r, 50));
    expect(sent(calls, "call_set_mic_muted")).toEqual([]);
    expect(sent(calls, "call_set_camera_enabled")).toEqual([]);
    expect(sent(calls, "call_leave_options")).toEqual([]);
    expect(byTestId("toggle-chat")!.getAttribute("aria-pressed")).toBe("true");
  });

  it("keeps Space for the focused button, which it presses, rather than talking", async () => {
    const calls = await inCall(true);
    press(" ", {}, byTestId("toggle-people")!);
    await new Promise((r) => setTimeout(r, 50));
    expect(sent(calls, "call_set_mic_muted")).toEqual([]);
  });

  it("does not talk on Space when not muted, and ends the talk when the window loses the focus", async () => {
    const calls = await inCall(false);
    press(" ");
    release(" ");
    await new Promise((r) => setTimeout(r, 50));
    expect(sent(calls, "call_set_mic_muted")).toEqual([]);
    press("d", { ctrlKey: true });
    await vi.waitFor(() =>
      expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([true]),
    );
    press(" ");
    await vi.waitFor(() =>
      expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([true, false]),
    );
    // Let go in another window: this one never hears the key come up.
    window.dispatchEvent(new Event("blur"));
    await vi.waitFor(() =>
      expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([
        true,
        false,
        true,
      ]),
    );
    expect(byTestId("toggle-mic")!.getAttribute("aria-pressed")).toBe("true");
  });
});

describe("in Chinese, the keyboard", () => {
  it("says what a shortcut did in Chinese", async () => {
    setLocale("zh-CN");
    await inCall();
    press("d", { ctrlKey: true });
    await vi.waitFor(() => expect(byTestId("call-keys-status")!.textContent).toBe("麦克风已静音"));
    press("e", { ctrlKey: true });
    await vi.waitFor(() => expect(byTestId("call-keys-status")!.textContent).toBe("摄像头已关闭"));
  });
});

describe("on a Mac", () => {
  it("the keys are Command's, and Ctrl+D is left alone", async () => {
    vi.spyOn(navigator, "platform", "get").mockReturnValue("MacIntel");
    try {
      const calls = await inCall();
      expect(byTestId("toggle-mic")!.title).toBe("⌘D");
      expect(byTestId("toggle-mic")!.getAttribute("aria-keyshortcuts")).toBe("Meta+D");
      press("d", { ctrlKey: true });
      await new Promise((r) => setTimeout(r, 50));
      expect(sent(calls, "call_set_mic_muted")).toEqual([]);
      press("d", { metaKey: true });
      await vi.waitFor(() =>
        expect(sent(calls, "call_set_mic_muted").map((c) => c.args.muted)).toEqual([true]),
      );
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe("the settings list the keys", () => {
  for (const [locale, heading, mute, talk, space] of [
    ["en", "Keyboard shortcuts in a call", "Mute or unmute", "Talk while muted (hold)", "Space"],
    ["zh-CN", "通话中的快捷键", "静音或取消静音", "静音时按住说话", "空格键"],
  ] as const) {
    it(`with what each does (${locale})`, async () => {
      setLocale(locale);
      mockIPC(() => null);
      openSettings(await makeApp("Ann"));
      expect(byTestId("settings")!.textContent).toContain(heading);
      expect(byTestId("shortcut-mute")!.textContent).toBe(`${mute}Ctrl+D`);
      expect(byTestId("shortcut-camera")!.textContent).toContain("Ctrl+E");
      expect(byTestId("shortcut-chat")!.textContent).toContain("Ctrl+Shift+C");
      expect(byTestId("shortcut-leave")!.textContent).toContain("Ctrl+Shift+L");
      expect(byTestId("shortcut-talk")!.textContent).toBe(`${talk}${space}`);
    });
  }
});
