import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallBus } from "../call-bus";
import { setLocale } from "../i18n";
import { byTestId, makeApp, SOLO_CALL } from "../test-support";
import { renderCall } from "./call";

beforeEach(() => setLocale("en"));
afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

const info = SOLO_CALL;

describe("recording", () => {
  it("starts and stops from the controls, marks the call meanwhile and says where the file is", async () => {
    const calls: string[] = [];
    let failStart = true;
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "call_stats") return { publisher: null, remotes: [], listed: 0 };
      if (cmd === "call_record_start") {
        if (failStart) throw { kind: "io", message: "disk full" };
        return "/home/ann/Videos/Quartet/quartet-room_9-1.mp4";
      }
      if (cmd === "call_record_stop") return "/home/ann/Videos/Quartet/quartet-room_9-1.mp4";
      return null;
    });
    const app = await makeApp("Ann");
    const failed = vi.spyOn(app, "fail").mockImplementation(() => undefined);
    const view = renderCall(
      app,
      { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
      info,
      new CallBus(),
    );
    document.body.appendChild(view.element);
    const button = byTestId("record") as HTMLButtonElement;
    const mark = byTestId("recording-mark")!;
    expect(mark.hidden).toBe(true);

    // A start that fails says so and marks nothing.
    button.click();
    await vi.waitFor(() => expect(failed).toHaveBeenCalled());
    expect(mark.hidden).toBe(true);

    failStart = false;
    button.click();
    await vi.waitFor(() => expect(mark.hidden).toBe(false));
    expect(button.getAttribute("aria-pressed")).toBe("true");
    expect(button.textContent).toContain("Stop recording");

    button.click();
    await vi.waitFor(() => expect(mark.hidden).toBe(true));
    expect(calls.filter((c) => c === "call_record_stop")).toHaveLength(1);
    // Long paths are cut in the notice; the whole one is its tooltip.
    const notice = document.querySelector<HTMLElement>(".toast")!;
    expect(notice.textContent).toContain("Recording saved to /home/ann/Videos");
    expect(notice.outerHTML).toContain("quartet-room_9-1.mp4");
    expect(button.textContent).toContain("Record");
    // Where it went, one click away.
    const open = document.querySelector<HTMLButtonElement>(".toast button");
    expect(open?.textContent).toBe("Open folder");
    open?.click();
    await vi.waitFor(() => expect(calls).toContain("reveal_saved_file"));
    view.dispose();
  });
});
