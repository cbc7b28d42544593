import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Devices } from "../api";
import { CallBus } from "../call-bus";
import { setLocale } from "../i18n";
import { byTestId, makeApp, SOLO_CALL } from "../test-support";
import { renderCall } from "./call";
import { renderPrejoin } from "./prejoin";

const BUILT_IN: Devices = {
  cameras: [{ id: "/dev/video0", name: "Built-in camera" }],
  microphones: [{ name: "Built-in microphone", isDefault: true }],
  speakers: [],
};
const WITH_HEADSET: Devices = {
  ...BUILT_IN,
  cameras: [...BUILT_IN.cameras, { id: "/dev/video2", name: "USB camera" }],
  microphones: [...BUILT_IN.microphones, { name: "Headset", isDefault: false }],
};

const options = (testid: string) =>
  [...byTestId(testid)!.querySelectorAll("option")].map((o) => o.getAttribute("value"));

beforeEach(() => setLocale("en"));
afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("devices that follow the machine", () => {
  it("show up in the pre-join as they are plugged in and go as they are removed", async () => {
    mockIPC((cmd) => (cmd === "list_devices" ? BUILT_IN : null), { shouldMockEvents: true });
    const app = await makeApp("Ann");
    const view = renderPrejoin(app, { target: { kind: "create", roomName: "R" }, label: "R" });
    document.body.appendChild(view.element);
    await vi.waitFor(() => expect(options("camera-select")).toContain("camera:/dev/video0"));
    expect(options("camera-select")).not.toContain("camera:/dev/video2");

    await emit("devices-changed", WITH_HEADSET);
    await vi.waitFor(() => expect(options("camera-select")).toContain("camera:/dev/video2"));
    expect(options("microphone-select")).toContain("mic:Headset");

    await emit("devices-changed", BUILT_IN);
    await vi.waitFor(() => expect(options("microphone-select")).not.toContain("mic:Headset"));
    // Its level meter stops with it, before the page it polls from is gone.
    view.dispose();
  });

  it("say in the call when a device in use went away, and the default takes its place", async () => {
    mockIPC(
      (cmd) =>
        cmd === "list_devices"
          ? WITH_HEADSET
          : cmd === "call_stats"
            ? { publisher: null, remotes: [], listed: 0 }
            : null,
      {
        shouldMockEvents: true,
      },
    );
    const app = await makeApp("Ann");
    await app.update({ microphone: "mic:Headset" });
    document.body.appendChild(
      renderCall(
        app,
        { target: { kind: "create", roomName: "R" }, label: "R" },
        SOLO_CALL,
        new CallBus(),
      ).element,
    );
    await emit("device-fell-back", { kind: "microphone", lost: "Headset" });
    await vi.waitFor(() =>
      expect(document.body.textContent).toContain(
        "The microphone “Headset” went away; using the default microphone.",
      ),
    );
    await vi.waitFor(() => expect(app.settings.microphone).toBe("mic:"));

    setLocale("zh-CN");
    await emit("device-fell-back", { kind: "camera", lost: "USB camera" });
    await vi.waitFor(() =>
      expect(document.body.textContent).toContain("摄像头“USB camera”已断开，改用默认摄像头。"),
    );
    expect(app.settings.camera).toBe("camera:");
  });
});
