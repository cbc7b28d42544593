import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setLocale } from "../i18n";
import { sanitize } from "../settings";
import { byTestId, makeApp } from "../test-support";
import { renderPrejoin } from "./prejoin";
import { openSettings } from "./settings";

beforeEach(() => setLocale("en"));
afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("picture quality", () => {
  it("is chosen in settings, in either language, and sent with the next join", async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
      if (cmd === "list_devices") return { cameras: [], microphones: [], speakers: [] };
      if (cmd === "preview_start") return { problems: [], hasVideo: true, hasAudio: true };
      if (cmd === "preview_level") return 0;
      if (cmd === "call_start") throw { kind: "unreachable", message: "no server here" };
      return null;
    });
    const app = await makeApp("Ann");
    await app.update({
      camera: "synthetic",
      microphone: "tone",
      mode: "remote",
      serverUrl: "http://127.0.0.1:9",
    });
    openSettings(app);
    const select = byTestId("send-quality-select") as HTMLSelectElement;
    expect(select.value).toBe("360p15");
    expect([...select.options].map((o) => o.textContent)).toContain(
      "HD: 1280×720, 30 fps (a fast uplink)",
    );
    select.value = "720p30";
    select.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(app.settings.sendQuality).toBe("720p30"));
    document.body.innerHTML = "";
    await app.update({ language: "zh-CN" });
    openSettings(app);
    const zh = byTestId("send-quality-select") as HTMLSelectElement;
    expect(zh.value).toBe("720p30");
    expect(zh.options[0].textContent).toBe("标准：640×360，15 帧/秒");
    await app.update({ language: "en" });
    document.body.innerHTML = "";

    const view = renderPrejoin(app, { target: { kind: "create", roomName: "R" }, label: "R" });
    document.body.appendChild(view.element);
    const join = byTestId("join-now") as HTMLButtonElement;
    await vi.waitFor(() => expect(join.disabled).toBe(false));
    join.click();
    await vi.waitFor(() => expect(calls.some((c) => c.cmd === "call_start")).toBe(true));
    const request = calls.find((c) => c.cmd === "call_start")!.args.request as Record<
      string,
      unknown
    >;
    expect(request.sendQuality).toBe("720p30");
    view.dispose();
  });

  it("falls back to the usual picture from a damaged settings file", () => {
    expect(sanitize({ sendQuality: "8k" }).sendQuality).toBe("360p15");
    expect(sanitize({ sendQuality: "540p30" }).sendQuality).toBe("540p30");
  });
});
