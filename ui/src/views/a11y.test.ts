import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import axe from "axe-core";
import { setLocale } from "../i18n";
import { SOLO_CALL, byTestId, makeApp } from "../test-support";
import { CallBus } from "./call";
import { openSettings } from "./settings";

const DEVICES = { cameras: [{ id: "/dev/video0", name: "Camera" }], microphones: [{ name: "Mic", isDefault: true }], speakers: [] };

/** Every rule axe can judge in jsdom: colours need a real renderer, so contrast is left to the eye and the screenshots. */
async function violations(root: Element): Promise<string[]> {
  const result = await axe.run(root, { rules: { "color-contrast": { enabled: false } } });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

beforeEach(() => {
  setLocale("en");
  mockIPC((cmd) => {
    if (cmd === "list_devices") return DEVICES;
    if (cmd === "call_stats") return { publisher: null, remotes: [], listed: 0 };
    if (cmd === "list_rooms") return [];
    return null;
  });
});
afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("every view, to a screen reader", () => {
  it("the lobby", async () => {
    const app = await makeApp("Ann");
    app.showLobby();
    expect(await violations(document.body)).toEqual([]);
  });

  it("the pre-join", async () => {
    const app = await makeApp("Ann");
    app.showPrejoin({ target: { kind: "create", roomName: "R" }, label: "R" });
    expect(await violations(document.body)).toEqual([]);
  });

  it("the call, with a member, chat and people open", async () => {
    const app = await makeApp("Ann");
    const bus = new CallBus();
    const room = { target: { kind: "create" as const, roomName: "R" }, label: "R" };
    app.showCall(room, SOLO_CALL, bus);
    bus.push({ type: "memberJoined", member: { userId: "u2", userName: "Ben", isCreator: false, isSelf: false, tile: 0 } });
    byTestId("toggle-chat")!.click();
    expect(await violations(document.body)).toEqual([]);
    byTestId("toggle-people")!.click();
    expect(await violations(document.body)).toEqual([]);
  });

  it("the settings", async () => {
    const app = await makeApp("Ann");
    openSettings(app);
    expect(await violations(document.body)).toEqual([]);
  });
});
