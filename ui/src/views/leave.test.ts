import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CallInfo, LeaveOptions } from "../api";
import { CallBus } from "../call-bus";
import { setLocale } from "../i18n";
import { byTestId, makeApp } from "../test-support";
import { renderCall } from "./call";
import { askHowToLeave, leaveDecision } from "./leave";
import { openSettings } from "./settings";

const host = (over: Partial<LeaveOptions> = {}): LeaveOptions => ({
  isHost: true,
  canHandOver: true,
  heirName: "Ben",
  others: 2,
  worthAsking: true,
  ...over,
});
const member: LeaveOptions = {
  isHost: false,
  canHandOver: false,
  heirName: null,
  others: 2,
  worthAsking: false,
};

beforeEach(() => setLocale("en"));
afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("leave decision", () => {
  it("asks a host with others present, and nobody else", () => {
    expect(leaveDecision(host(), "ask")).toBe("ask");
    expect(leaveDecision(member, "ask")).toBe("leave");
    expect(leaveDecision(host({ others: 0, worthAsking: false, heirName: null }), "ask")).toBe(
      "leave",
    );
  });

  it("follows a remembered answer, except a hand-over the server cannot do", () => {
    expect(leaveDecision(host(), "leave")).toBe("leave");
    expect(leaveDecision(host(), "end")).toBe("end");
    expect(leaveDecision(host({ canHandOver: false }), "end")).toBe("end");
    // Leaving would end the call for everyone here: that was not what the user chose.
    expect(leaveDecision(host({ canHandOver: false }), "leave")).toBe("ask");
  });
});

describe("leave dialog", () => {
  it("names the next host and answers with the user's choice", async () => {
    const answer = askHowToLeave(host());
    expect(byTestId("leave-body")?.textContent).toContain("Ben as host");
    (byTestId("leave-hand-over") as HTMLButtonElement).click();
    expect(await answer).toEqual({ mode: "leave", remember: false });
    expect(byTestId("leave-dialog")).toBeNull();

    const again = askHowToLeave(host());
    (byTestId("leave-remember") as HTMLInputElement).checked = true;
    (byTestId("leave-end") as HTMLButtonElement).click();
    expect(await again).toEqual({ mode: "end", remember: true });
  });

  it("offers no hand-over where the server ends the call anyway, in either language", async () => {
    setLocale("zh-CN");
    const answer = askHowToLeave(host({ canHandOver: false }));
    expect(byTestId("leave-hand-over")).toBeNull();
    expect(byTestId("leave-body")?.textContent).toBe(
      "你是主持人。此服务器会在主持人离开时为所有人结束通话。",
    );
    expect(byTestId("leave-end")?.textContent).toBe("为所有人结束");
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    expect(await answer).toBeNull();
  });
});

describe("leaving a call", () => {
  const info: CallInfo = {
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
      {
        userId: "u2",
        userName: "Ben",
        isCreator: false,
        isSelf: false,
        tile: 0,
        sharingScreen: false,
      },
    ],
    micMuted: false,
    cameraEnabled: true,
    hasCamera: true,
  };

  async function inCall(options: LeaveOptions) {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC(
      (cmd, args) => {
        calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
        if (cmd === "call_leave_options") return options;
        if (cmd === "call_stats") return { publisher: null, remotes: [], listed: 0 };
        return null;
      },
      { shouldMockEvents: true },
    );
    const app = await makeApp("Ann");
    const lobby = vi.spyOn(app, "showLobby").mockImplementation(() => undefined);
    const view = renderCall(
      app,
      { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
      info,
      new CallBus(),
    );
    document.body.appendChild(view.element);
    return { app, calls, lobby, view };
  }

  it("asks the host, stays on Stay, and ends for everyone once told so for good", async () => {
    const { app, calls, lobby, view } = await inCall(host());
    (byTestId("leave") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(byTestId("leave-dialog")).not.toBeNull());
    (byTestId("leave-cancel") as HTMLButtonElement).click();
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.some((c) => c.cmd === "call_leave")).toBe(false);

    (byTestId("leave") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(byTestId("leave-dialog")).not.toBeNull());
    (byTestId("leave-remember") as HTMLInputElement).checked = true;
    (byTestId("leave-end") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(lobby).toHaveBeenCalled());
    expect(calls.find((c) => c.cmd === "call_leave")?.args).toEqual({ mode: "end" });
    expect(app.settings.hostLeave).toBe("end");
    view.dispose();

    // The choice can be taken back in settings.
    openSettings(app);
    const select = byTestId("host-leave-select") as HTMLSelectElement;
    expect(select.value).toBe("end");
    select.value = "ask";
    select.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(app.settings.hostLeave).toBe("ask"));
  });

  it("lets a member leave without a question", async () => {
    const { calls, lobby, view } = await inCall(member);
    (byTestId("leave") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(lobby).toHaveBeenCalled());
    expect(byTestId("leave-dialog")).toBeNull();
    expect(calls.find((c) => c.cmd === "call_leave")?.args).toEqual({ mode: "leave" });
    view.dispose();
  });

  it("asks the same when the window is closed, then hands over and quits", async () => {
    const { calls, view } = await inCall(host());
    // The view registers its listener as it renders; let that settle.
    await new Promise((r) => setTimeout(r, 0));
    await emit("close-requested");
    await vi.waitFor(() => expect(byTestId("leave-dialog")).not.toBeNull());
    (byTestId("leave-hand-over") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(calls.some((c) => c.cmd === "app_quit")).toBe(true));
    expect(calls.find((c) => c.cmd === "call_leave")?.args).toEqual({ mode: "leave" });
    view.dispose();
  });

  it("tells the heir it is now the host", async () => {
    const bus = new CallBus();
    mockIPC((cmd) => (cmd === "call_stats" ? { publisher: null, remotes: [], listed: 0 } : null));
    const app = await makeApp("Ben");
    const view = renderCall(
      app,
      { target: { kind: "join", roomId: "room_9" }, label: "room_9" },
      info,
      bus,
    );
    document.body.appendChild(view.element);
    bus.push({ type: "becameHost" });
    await vi.waitFor(() =>
      expect(document.querySelector(".toast")?.textContent).toBe(
        "The host left: you are now the host.",
      ),
    );
    view.dispose();
  });
});
