import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallBus } from "../call-bus";
import { setLocale } from "../i18n";
import { CHAT_NOTICE_CHARS, ELLIPSIS } from "../notices";
import { BEN, byTestId, makeApp, SOLO_CALL } from "../test-support";
import { toast } from "../toast";
import { renderCall } from "./call";
import { renderPrejoin } from "./prejoin";

type Calls = { cmd: string; args: Record<string, unknown> }[];

function backend(
  calls: Calls,
  answers: Record<string, (args: Record<string, unknown>) => unknown> = {},
): void {
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    return answers[cmd]?.(a) ?? null;
  });
}

const flush = () => new Promise((r) => setTimeout(r, 0));
const info = SOLO_CALL;
const room = { target: { kind: "create" as const, roomName: "Standup" }, label: "Standup" };
const ben = BEN;
const lane = () => byTestId("notices")!;
const laneTexts = () => [...lane().querySelectorAll(".toast")].map((n) => n.textContent);
const topTexts = () => [...document.querySelectorAll(".toasts .toast")].map((n) => n.textContent);

beforeEach(() => setLocale("en"));
afterEach(() => clearMocks());

async function startCall(
  calls: Calls,
  answers: Record<string, (args: Record<string, unknown>) => unknown> = {},
) {
  backend(calls, { call_stats: () => ({ publisher: null, remotes: [], listed: 0 }), ...answers });
  const app = await makeApp("Ann");
  const bus = new CallBus();
  const view = renderCall(app, room, info, bus);
  app.root.appendChild(view.element);
  await flush();
  return { app, bus, view };
}

describe("notices in a call", () => {
  it("sit in their own lane, not over the tiles, and say a repeat once with a count", async () => {
    const { bus, view } = await startCall([]);
    bus.push({ type: "memberJoined", member: ben });
    bus.push({ type: "memberLeft", member: { ...ben, tile: null }, freedTile: 0 });
    bus.push({ type: "memberJoined", member: ben });
    bus.push({ type: "memberLeft", member: { ...ben, tile: null }, freedTile: 0 });
    await flush();
    // The lane is a sibling of the grid: nothing in it overlays a tile.
    expect(lane().parentElement).toBe(byTestId("grid")!.parentElement);
    expect(byTestId("grid")!.querySelector(".toast")).toBeNull();
    expect(topTexts()).toEqual([]);
    // Newest first; each repeat counted on the one notice.
    expect(laneTexts()).toEqual(["Ben Lee left×2", "Ben Lee joined×2"]);
    view.dispose();
  });

  it("leave with the call, except the one that says why the call ended", async () => {
    const { app, bus, view } = await startCall([]);
    const lobby = vi.spyOn(app, "showLobby").mockImplementation(() => view.dispose());
    bus.push({ type: "memberLeft", member: { ...ben, tile: null }, freedTile: 0 });
    await flush();
    expect(laneTexts()).toEqual(["Ben Lee left"]);
    bus.push({ type: "roomClosed", reason: "creator_left" });
    await vi.waitFor(() => expect(lobby).toHaveBeenCalled());
    expect(lane().children).toHaveLength(0);
    expect(topTexts()).toEqual(["The room was closed."]);
    // Notices after the call are at the top of the window again.
    toast("Later");
    expect(topTexts()).toEqual(["The room was closed.", "Later"]);
  });

  it("show a chat message briefly while the chat is closed, shortened, with a way to it", async () => {
    const { bus, view } = await startCall([]);
    bus.push({ type: "memberJoined", member: ben });
    const long = "word ".repeat(CHAT_NOTICE_CHARS);
    bus.push({ type: "text", userId: "u2", nickName: "Ben Lee", text: long, time: 0 });
    await flush();
    expect(document.querySelector("[data-testid=toggle-chat] .badge")?.textContent).toBe("1");
    const notice = lane().querySelector(".toast")!;
    const text = notice.querySelector(".toast-text")!.textContent!;
    expect(text.startsWith("Ben Lee: word word")).toBe(true);
    expect(text.endsWith(ELLIPSIS)).toBe(true);
    expect(text.length).toBeLessThan(long.length);
    const open = notice.querySelector<HTMLButtonElement>("[data-testid=notice-action]")!;
    expect(open.textContent).toBe("Open chat");
    open.click();
    expect(byTestId("toggle-chat")!.classList.contains("active")).toBe(true);
    expect(document.querySelector("[data-testid=toggle-chat] .badge")?.hasAttribute("hidden")).toBe(
      true,
    );

    // With the chat open, the message is there to read: no notice.
    lane().replaceChildren();
    bus.push({ type: "text", userId: "u2", nickName: "Ben Lee", text: "again", time: 0 });
    await flush();
    expect(byTestId("chat-messages")?.textContent).toContain("again");
    expect(laneTexts()).toEqual([]);
    view.dispose();
  });

  it("offer to open the folder of a saved snapshot, in either language", async () => {
    const calls: Calls = [];
    const path = "/home/ann/Pictures/Quartet/quartet-Ben-Lee-1.png";
    const { view } = await startCall(calls, { snapshot_tile: () => path });
    (byTestId("tile-0")!.querySelector("[data-testid=tile-snapshot]") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(lane().querySelector(".toast")).not.toBeNull());
    const notice = lane().querySelector<HTMLElement>(".toast")!;
    expect(notice.querySelector(".toast-text")?.textContent).toBe(`Snapshot saved to ${path}`);
    // Cut short in the lane, the whole path is in its tooltip.
    expect(notice.title).toBe(`Snapshot saved to ${path}`);
    const open = notice.querySelector<HTMLButtonElement>("[data-testid=notice-action]")!;
    expect(open.textContent).toBe("Open folder");
    open.click();
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "reveal_saved_file")?.args).toEqual({ path }),
    );
    setLocale("zh-CN");
    (byTestId("snapshot-grid") as HTMLButtonElement).click();
    await vi.waitFor(() =>
      expect(lane().querySelectorAll("[data-testid=notice-action]")).toHaveLength(2),
    );
    expect(lane().querySelector("[data-testid=notice-action]")?.textContent).toBe("打开文件夹");
    view.dispose();
  });
});

describe("pre-join preview", () => {
  it("shows what the others will see when joining with the camera off", async () => {
    backend([], {
      list_devices: () => ({
        cameras: [{ id: "cam0", name: "Webcam" }],
        microphones: [],
        speakers: [],
      }),
      preview_start: () => ({ problems: [], hasVideo: true, hasAudio: true }),
      preview_level: () => 0,
    });
    const app = await makeApp("Ann Lee");
    const view = renderPrejoin(app, room);
    app.root.appendChild(view.element);
    const preview = byTestId("preview")!;
    const note = byTestId("preview-camera-off")!;
    expect(preview.classList.contains("camera-off")).toBe(false);
    const off = byTestId("camera-off") as HTMLInputElement;
    off.checked = true;
    off.dispatchEvent(new Event("change"));
    expect(preview.classList.contains("camera-off")).toBe(true);
    expect(note.textContent).toBe("ALYou will join with your camera off");
    await vi.waitFor(() => expect(app.settings.cameraOff).toBe(true));
    view.dispose();

    // Ticked before: the preview says so from the start.
    const again = renderPrejoin(app, room);
    app.root.appendChild(again.element);
    expect(
      again.element.querySelector("[data-testid=preview]")!.classList.contains("camera-off"),
    ).toBe(true);
    again.dispose();
  });
});
