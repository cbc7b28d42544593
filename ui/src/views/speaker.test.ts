// A speaker that cannot play is said so: next to the pre-join picker, and as a toast in a call.

import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DeviceProblem, Devices } from "../api";
import { CallBus } from "../call-bus";
import { setLocale } from "../i18n";
import { byTestId, makeApp as makeTestApp, SOLO_CALL } from "../test-support";
import { renderCall } from "./call";
import { renderPrejoin } from "./prejoin";

const makeApp = () => makeTestApp("Ann");

const room = { target: { kind: "create" as const, roomName: "R" }, label: "R" };

type Calls = { cmd: string; args: Record<string, unknown> }[];

function backend(calls: Calls, devices: Devices, test: () => DeviceProblem | null): void {
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    if (cmd === "list_devices") return devices;
    if (cmd === "preview_start") return { problems: [], hasVideo: false, hasAudio: true };
    if (cmd === "preview_level") return 0;
    if (cmd === "test_speaker") return test();
    return null;
  });
}

const withSpeakers: Devices = {
  cameras: [],
  microphones: [],
  speakers: [
    { name: "Laptop speakers", isDefault: true },
    { name: "USB headset", isDefault: false },
  ],
};

beforeEach(() => setLocale("en"));
afterEach(() => clearMocks());

describe("pre-join speaker test", () => {
  it("plays on the chosen speaker and says nothing when it plays", async () => {
    const calls: Calls = [];
    backend(calls, withSpeakers, () => null);
    const view = renderPrejoin(await makeApp(), room);
    document.body.appendChild(view.element);
    const select = byTestId("speaker-select") as HTMLSelectElement;
    await vi.waitFor(() => expect(select.options.length).toBe(2));
    expect(byTestId("speaker-note")?.textContent).toBe("");

    const test = byTestId("test-speaker") as HTMLButtonElement;
    expect(test.textContent).toBe("Test speaker");
    test.click();
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "test_speaker")?.args).toEqual({ speaker: null }),
    );
    await vi.waitFor(() => expect(test.disabled).toBe(false));
    expect(byTestId("speaker-problem")).toBeNull();

    select.value = "USB headset";
    select.dispatchEvent(new Event("change"));
    test.click();
    await vi.waitFor(() =>
      expect(calls.filter((c) => c.cmd === "test_speaker")[1]?.args).toEqual({
        speaker: "USB headset",
      }),
    );
    view.dispose();
  });

  it("says why the speaker cannot play, in English and Chinese", async () => {
    const problem: DeviceProblem = {
      device: "speaker",
      reason: "unavailable",
      message: 'speaker "Default Audio Device" cannot be opened: not available',
    };
    backend([], withSpeakers, () => problem);
    let view = renderPrejoin(await makeApp(), room);
    document.body.appendChild(view.element);
    await vi.waitFor(() =>
      expect((byTestId("speaker-select") as HTMLSelectElement).options.length).toBe(2),
    );
    (byTestId("test-speaker") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(byTestId("speaker-problem")).not.toBeNull());
    expect(byTestId("speaker-problem")?.textContent).toBe(
      "The speaker cannot play sound: you will not hear the others.",
    );
    expect(byTestId("speaker-problem")?.title).toContain("Default Audio Device");
    view.dispose();

    setLocale("zh-CN");
    backend([], withSpeakers, () => ({
      ...problem,
      reason: "notFound",
      message: 'speaker "USB headset" not found',
    }));
    view = renderPrejoin(await makeApp(), room);
    document.body.appendChild(view.element);
    await vi.waitFor(() =>
      expect((byTestId("speaker-select") as HTMLSelectElement).options.length).toBe(2),
    );
    (byTestId("test-speaker") as HTMLButtonElement).click();
    await vi.waitFor(() =>
      expect(byTestId("speaker-problem")?.textContent).toBe(
        "该扬声器已断开连接：你将听不到其他人的声音。",
      ),
    );
    view.dispose();
  });

  it("says so at once when the machine has no speaker", async () => {
    setLocale("zh-CN");
    backend([], { cameras: [], microphones: [], speakers: [] }, () => ({
      device: "speaker",
      reason: "noDevice",
      message: "no speaker found",
    }));
    const view = renderPrejoin(await makeApp(), room);
    document.body.appendChild(view.element);
    await vi.waitFor(() =>
      expect(byTestId("speaker-problem")?.textContent).toBe(
        "未检测到扬声器：你将听不到其他人的声音。",
      ),
    );
    view.dispose();
  });
});

describe("speaker trouble in a call", () => {
  const info = SOLO_CALL;

  for (const [locale, words] of [
    ["en", "Speaker: no speaker found"],
    ["zh-CN", "扬声器无法使用。"],
  ] as const) {
    it(`is a toast (${locale})`, async () => {
      setLocale(locale);
      mockIPC(() => null);
      const bus = new CallBus();
      const view = renderCall(await makeApp(), room, info, bus);
      document.body.appendChild(view.element);
      bus.push({ type: "deviceError", device: "speaker", message: "no speaker found" });
      await vi.waitFor(() =>
        expect(document.querySelector(".toast.error")?.textContent).toBe(words),
      );
      expect(document.querySelector<HTMLElement>(".toast.error")?.title).toBe("no speaker found");
      view.dispose();
    });
  }
});

describe("switching the speaker in a call", () => {
  const info = SOLO_CALL;

  it("says a refused switch in one language and keeps the speaker that plays", async () => {
    setLocale("zh-CN");
    mockIPC((cmd) => {
      if (cmd === "list_devices") return withSpeakers;
      if (cmd === "call_switch_speaker")
        throw { kind: "device", message: 'speaker "USB headset" not found' };
      return null;
    });
    const app = await makeApp();
    const view = renderCall(app, room, info, new CallBus());
    document.body.appendChild(view.element);
    (byTestId("toggle-devices") as HTMLButtonElement).click();
    const select = byTestId("call-speaker-select") as HTMLSelectElement;
    await vi.waitFor(() =>
      expect([...select.options].map((o) => o.value)).toContain("USB headset"),
    );
    select.value = "USB headset";
    select.dispatchEvent(new Event("change"));
    const toast = await vi.waitFor(() => {
      const el = document.querySelector<HTMLElement>(".toast.error");
      expect(el).not.toBeNull();
      return el!;
    });
    expect(toast.textContent).toBe("无法切换：设备无法使用。");
    expect(toast.title).toBe('speaker "USB headset" not found');
    expect(select.value).toBe(app.settings.speaker);
    view.dispose();
  });
});
