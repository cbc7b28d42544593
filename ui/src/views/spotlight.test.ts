import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallBus } from "../call-bus";
import { setLocale } from "../i18n";
import { byTestId, makeApp, SOLO_CALL } from "../test-support";
import { renderCall } from "./call";

const room = { target: { kind: "create" as const, roomName: "Review" }, label: "Review" };
const ben = {
  userId: "u2",
  userName: "Ben",
  isCreator: false,
  isSelf: false,
  tile: 0,
  sharingScreen: false,
};
const cho = {
  userId: "u3",
  userName: "Cho",
  isCreator: false,
  isSelf: false,
  tile: 1,
  sharingScreen: false,
};

beforeEach(() => setLocale("en"));
afterEach(() => clearMocks());

describe("a shared screen", () => {
  it("is shown large with the others as a strip, the call is told, and the grid comes back on request", async () => {
    const layouts: (number | null)[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "call_set_layout") layouts.push((args as { spotlight: number | null }).spotlight);
      return null;
    });
    const app = await makeApp("Ann");
    const bus = new CallBus();
    document.body.appendChild(renderCall(app, room, SOLO_CALL, bus).element);
    const grid = byTestId("grid")!;
    const back = byTestId("back-to-grid")!;
    bus.push({ type: "memberJoined", member: ben });
    bus.push({ type: "memberJoined", member: cho });
    expect(grid.classList.contains("has-pin")).toBe(false);
    expect(back.hidden).toBe(true);

    bus.push({ type: "memberUpdated", member: { ...cho, sharingScreen: true } });
    const choTile = byTestId("tile-2")!;
    await vi.waitFor(() => expect(grid.classList.contains("has-pin")).toBe(true));
    expect(choTile.classList.contains("pinned")).toBe(true);
    expect(choTile.querySelector<HTMLElement>("[data-testid=tile-sharing]")!.hidden).toBe(false);
    expect(back.hidden).toBe(false);
    expect(document.body.textContent).toContain("Cho is sharing their screen");
    await vi.waitFor(() => expect(layouts).toEqual([2]));

    back.click();
    expect(grid.classList.contains("has-pin")).toBe(false);
    expect(back.hidden).toBe(true);
    await vi.waitFor(() => expect(layouts).toEqual([2, null]));
    // The same share carrying on does not take the spotlight back.
    bus.push({ type: "memberUpdated", member: { ...cho, userName: "Cho Y", sharingScreen: true } });
    expect(grid.classList.contains("has-pin")).toBe(false);

    // Stopping clears the mark; pinning by hand still works.
    bus.push({ type: "memberUpdated", member: { ...cho, sharingScreen: false } });
    expect(choTile.querySelector<HTMLElement>("[data-testid=tile-sharing]")!.hidden).toBe(true);
    byTestId("tile-1")!.querySelector<HTMLElement>("[data-testid=tile-pin]")!.click();
    expect(byTestId("tile-1")!.classList.contains("pinned")).toBe(true);
    await vi.waitFor(() => expect(layouts).toEqual([2, null, 1]));
  });
});
