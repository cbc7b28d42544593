import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallBus } from "../call-bus";
import { setLocale } from "../i18n";
import { mirrorsSelfView, videoChoice } from "../settings";
import { byTestId, makeApp, SOLO_CALL } from "../test-support";
import { renderCall } from "./call";

beforeEach(() => setLocale("en"));
afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

const info = SOLO_CALL;

describe("sharing the screen", () => {
  it("is a picture source like a camera, never mirrored", () => {
    expect(videoChoice("screen")).toEqual({ kind: "screen" });
    expect(mirrorsSelfView("screen")).toBe(false);
  });

  it("starts and stops mid-call from the devices, without leaving", async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
      if (cmd === "call_stats") return { publisher: null, remotes: [], listed: 0 };
      if (cmd === "list_devices")
        return { cameras: [{ id: "cam0", name: "Webcam" }], microphones: [], speakers: [] };
      if (cmd === "screen_sources")
        return [
          {
            id: "desktop@:0",
            label: "",
            kind: "desktop",
            width: 1920,
            height: 1080,
            thumbnail: "data:image/png;base64,iVBORw0KGgo=",
          },
        ];
      return null;
    });
    const app = await makeApp("Ann");
    await app.update({ camera: "camera:cam0" });
    const view = renderCall(
      app,
      { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
      info,
      new CallBus(),
    );
    document.body.appendChild(view.element);
    (byTestId("toggle-devices") as HTMLButtonElement).click();
    const camera = byTestId("call-camera-select") as HTMLSelectElement;
    await vi.waitFor(() =>
      expect([...camera.options].map((o) => o.textContent)).toContain("Share my screen"),
    );
    // First the person sees what would go out, and may decline: nothing is sent then.
    camera.value = "screen";
    camera.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(byTestId("screen-dialog")).not.toBeNull());
    await vi.waitFor(() =>
      expect((byTestId("screen-thumbnail") as HTMLImageElement).src).toContain("data:image/png"),
    );
    (byTestId("screen-cancel") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(camera.value).toBe("camera:cam0"));
    expect(calls.some((c) => c.cmd === "call_switch_camera")).toBe(false);
    expect(document.querySelector(".toast")).toBeNull();

    camera.value = "screen";
    camera.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(byTestId("screen-source")).not.toBeNull());
    (byTestId("screen-share") as HTMLButtonElement).click();
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "call_switch_camera")?.args.video).toEqual({
        kind: "screen",
        id: "desktop@:0",
      }),
    );
    expect(byTestId("screen-dialog")).toBeNull();
    camera.value = "camera:cam0";
    camera.dispatchEvent(new Event("change"));
    await vi.waitFor(() =>
      expect(calls.filter((c) => c.cmd === "call_switch_camera").at(-1)?.args.video).toEqual({
        kind: "camera",
        id: "cam0",
      }),
    );
    expect(calls.some((c) => c.cmd === "call_leave")).toBe(false);
    view.dispose();
  });
});
