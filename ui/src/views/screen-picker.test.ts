import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ScreenSource } from "../api";
import { setLocale } from "../i18n";
import { byTestId } from "../test-support";
import {
  chooseScreenShare,
  orderSources,
  ShareCancelled,
  type ShareOptions,
} from "./screen-picker";

const PNG = "data:image/png;base64,iVBORw0KGgo=";
const source = (
  id: string,
  kind: ScreenSource["kind"],
  label = "",
  thumbnail: string | null = PNG,
): ScreenSource => ({
  id,
  label,
  kind,
  width: 1280,
  height: 720,
  thumbnail,
});
// As a two-monitor desk lists them, with a window listed among the screens to check the order.
const SOURCES = [
  source("desktop@:0", "desktop"),
  source("window:0x2a00007@:0", "window", "Notes — draft"),
  source("monitor:1920x1080+0+0@:0", "monitor", "HDMI-1"),
  source("monitor:1280x1024+1920+0@:0", "monitor", "DP-2"),
  source("window:0x3c00001@:0", "window", "", null),
];

beforeEach(() => setLocale("en"));
afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

const cards = () => [
  ...document.querySelectorAll<HTMLButtonElement>('[data-testid="screen-source"]'),
];
const key = (k: string) =>
  document.activeElement!.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));

function open(
  sources: ScreenSource[] | Error = SOURCES,
  options: ShareOptions = {},
): Promise<unknown> {
  mockIPC((cmd) => {
    if (cmd !== "screen_sources") return null;
    if (sources instanceof Error) throw sources.message;
    return sources;
  });
  return chooseScreenShare(options).catch((e: unknown) => e);
}

describe("the screen picker", () => {
  it("puts screens before windows, keeping each group's order", () => {
    expect(orderSources(SOURCES).map((s) => s.kind)).toEqual([
      "desktop",
      "monitor",
      "monitor",
      "window",
      "window",
    ]);
  });

  it("shows every source as a captioned picture, screens first, the first one chosen", async () => {
    const chosen = open();
    await vi.waitFor(() => expect(cards()).toHaveLength(5));
    expect(cards().map((c) => c.dataset.id)).toEqual([
      "desktop@:0",
      "monitor:1920x1080+0+0@:0",
      "monitor:1280x1024+1920+0@:0",
      "window:0x2a00007@:0",
      "window:0x3c00001@:0",
    ]);
    expect(cards().map((c) => c.querySelector(".screen-label")!.textContent)).toEqual([
      "All screens",
      "Screen 1",
      "Screen 2",
      "Notes — draft",
      "Untitled window",
    ]);
    expect(cards()[1].querySelector<HTMLElement>(".screen-label")!.dataset.name).toBe("HDMI-1");
    expect(cards()[0].querySelector("img")!.getAttribute("src")).toBe(PNG);
    expect(cards()[4].querySelector("img")).toBeNull();
    expect([...document.querySelectorAll(".screen-group")].map((g) => g.textContent)).toEqual([
      "Screens",
      "Windows",
    ]);
    expect(cards()[0].getAttribute("aria-selected")).toBe("true");
    expect(document.activeElement).toBe(cards()[0]);
    (byTestId("screen-share") as HTMLButtonElement).click();
    expect(await chosen).toEqual({ kind: "screen", id: "desktop@:0" });
    expect(byTestId("screen-dialog")).toBeNull();
  });

  it("is driven by the keyboard: arrows move, Enter shares the chosen one", async () => {
    const chosen = open();
    await vi.waitFor(() => expect(cards()).toHaveLength(5));
    key("ArrowRight");
    key("ArrowDown");
    key("ArrowRight");
    expect(document.activeElement).toBe(cards()[3]);
    key("ArrowLeft");
    key("End");
    key("ArrowRight");
    expect(cards().map((c) => c.getAttribute("aria-selected"))).toEqual([
      "false",
      "false",
      "false",
      "false",
      "true",
    ]);
    key("Home");
    key("ArrowRight");
    expect(cards()[1].tabIndex).toBe(0);
    expect(cards()[0].tabIndex).toBe(-1);
    key("Enter");
    expect(await chosen).toEqual({ kind: "screen", id: "monitor:1920x1080+0+0@:0" });
  });

  it("shares a window picked with the mouse", async () => {
    const chosen = open();
    await vi.waitFor(() => expect(cards()).toHaveLength(5));
    cards()[3].click();
    expect(cards()[3].classList.contains("selected")).toBe(true);
    (byTestId("screen-share") as HTMLButtonElement).click();
    expect(await chosen).toEqual({ kind: "screen", id: "window:0x2a00007@:0" });
  });

  it("is cancelled by Escape, even before the list has come", async () => {
    mockIPC(() => new Promise(() => {}));
    const chosen = chooseScreenShare().catch((e: unknown) => e);
    expect(byTestId("screen-status")!.textContent).toBe("Looking for screens and windows…");
    expect((byTestId("screen-share") as HTMLButtonElement).disabled).toBe(true);
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
    expect(await chosen).toBeInstanceOf(ShareCancelled);
    expect(byTestId("screen-dialog")).toBeNull();
  });

  it("is cancelled by its Cancel button", async () => {
    const chosen = open();
    await vi.waitFor(() => expect(cards()).toHaveLength(5));
    (byTestId("screen-cancel") as HTMLButtonElement).click();
    expect(await chosen).toBeInstanceOf(ShareCancelled);
  });

  it("says so when there is nothing to share, and shares nothing", async () => {
    const chosen = open([]);
    await vi.waitFor(() =>
      expect(byTestId("screen-status")!.textContent).toBe("There is no screen or window to share."),
    );
    expect((byTestId("screen-share") as HTMLButtonElement).disabled).toBe(true);
    key("Enter");
    (byTestId("screen-cancel") as HTMLButtonElement).click();
    expect(await chosen).toBeInstanceOf(ShareCancelled);
  });

  it("reports a failed listing as an error, not a cancel", async () => {
    const chosen = await open(new Error("cannot reach X display :0"));
    expect(chosen).toBeInstanceOf(Error);
    expect(chosen).not.toBeInstanceOf(ShareCancelled);
    expect(byTestId("screen-dialog")).toBeNull();
  });

  it("speaks Chinese", async () => {
    setLocale("zh-CN");
    const chosen = open();
    await vi.waitFor(() => expect(cards()).toHaveLength(5));
    expect(cards()[0].querySelector(".screen-label")!.textContent).toBe("所有屏幕");
    expect(cards()[1].querySelector(".screen-label")!.textContent).toBe("屏幕 1");
    expect(byTestId("screen-share")!.textContent).toBe("共享");
    key("Escape");
    expect(await chosen).toBeInstanceOf(ShareCancelled);
  });

  it("offers the camera in the corner only when there is one, and says so in the choice", async () => {
    const plain = open();
    await vi.waitFor(() => expect(cards()).toHaveLength(5));
    expect(byTestId("screen-corner")!.closest("label")!.hidden).toBe(true);
    expect(byTestId("screen-permission")!.hidden).toBe(true);
    (byTestId("screen-share") as HTMLButtonElement).click();
    expect(await plain).toEqual({ kind: "screen", id: "desktop@:0" });

    const camera = { kind: "camera" as const, id: "/dev/video0" };
    const withCorner = open(SOURCES, { corner: camera, permissionNote: true });
    await vi.waitFor(() => expect(cards()).toHaveLength(5));
    expect(byTestId("screen-corner")!.closest("label")!.hidden).toBe(false);
    expect(byTestId("screen-permission")!.textContent).toContain("Screen Recording");
    (byTestId("screen-corner") as HTMLInputElement).click();
    (byTestId("screen-share") as HTMLButtonElement).click();
    expect(await withCorner).toEqual({ kind: "screen", id: "desktop@:0", corner: camera });
  });
});
