import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallBus } from "./call-bus";
import { setLocale } from "./i18n";
import { buildInvite, buildInviteLink, inviteServer, parseInvite } from "./invite";
import { byTestId, makeApp, SOLO_CALL } from "./test-support";
import { renderCall } from "./views/call";

beforeEach(() => setLocale("en"));

describe("invites", () => {
  it("carry the server and the room, and read back in either language", () => {
    const en = buildInvite("http://192.168.1.20:8080", "room_42", "Standup");
    expect(en).toBe(
      "Join my Quartet call “Standup”\nServer: http://192.168.1.20:8080\nRoom ID: room_42\nLink: quartet://join?server=http%3A%2F%2F192.168.1.20%3A8080&room=room_42",
    );
    expect(parseInvite(en)).toEqual({ server: "http://192.168.1.20:8080", roomId: "room_42" });
    setLocale("zh-CN");
    const zh = buildInvite("http://10.0.0.5:41234/", "room_7", "周会");
    expect(zh).toContain("房间号: room_7");
    expect(parseInvite(zh)).toEqual({ server: "http://10.0.0.5:41234", roomId: "room_7" });
  });

  it("read a join link, and nothing from a bare room ID", () => {
    const link = "quartet://join?server=http%3A%2F%2F10.0.0.5%3A8080&room=room_9";
    expect(parseInvite(`see ${link}`)).toEqual({
      server: "http://10.0.0.5:8080",
      roomId: "room_9",
    });
    // As a text field keeps it: line breaks dropped.
    expect(
      parseInvite(buildInvite("http://192.168.1.20:8080", "room_42", "S").replaceAll("\n", "")),
    ).toEqual({
      server: "http://192.168.1.20:8080",
      roomId: "room_42",
    });
    expect(parseInvite("room_9")).toBeNull();
    expect(parseInvite("http://10.0.0.5:8080")).toBeNull();
  });
});

describe("the server an invite names", () => {
  it("is the shared address when hosting and the typed one, as a URL, otherwise", async () => {
    const app = await makeApp("Ann");
    app.host = {
      url: "http://127.0.0.1:8080",
      lan: true,
      shareUrl: "http://192.168.1.20:8080",
      rtmpBase: "",
      movedPorts: [],
    };
    expect(inviteServer(app)).toBe("http://192.168.1.20:8080");
    await app.update({ mode: "remote", serverUrl: " 10.0.0.5:8080/ " });
    expect(inviteServer(app)).toBe("http://10.0.0.5:8080");
    await app.update({ serverUrl: "https://rooms.example" });
    expect(inviteServer(app)).toBe("https://rooms.example");
    await app.update({ serverUrl: "" });
    expect(inviteServer(app)).toBeNull();
  });
});

describe("invite links", () => {
  afterEach(() => clearMocks());

  it("are what the app and quartet join --link read, kind included", () => {
    const link = buildInviteLink("http://10.0.0.5:8080", "room_9", "live_room");
    expect(link).toBe(
      "quartet://join?server=http%3A%2F%2F10.0.0.5%3A8080&room=room_9&kind=live_room",
    );
    expect(parseInvite(link)).toEqual({ server: "http://10.0.0.5:8080", roomId: "room_9" });
  });

  it("open that room's pre-join on its server, and never leave a call for it", async () => {
    mockIPC(() => null);
    const app = await makeApp("Ann");
    const shown = vi.spyOn(app, "showPrejoin").mockImplementation(() => undefined);
    await app.openInvite({
      type: "room",
      server: "http://10.0.0.5:8080",
      roomId: "room_9",
      kind: "double_room",
    });
    expect(app.settings.mode).toBe("remote");
    expect(app.settings.serverUrl).toBe("http://10.0.0.5:8080");
    expect(shown).toHaveBeenCalledWith({
      target: { kind: "join", roomId: "room_9", roomKind: "double_room" },
      label: "room_9",
    });

    await app.openInvite({
      type: "refused",
      reason: "the link's server is not an http(s) address: ftp://x",
    });
    expect(document.body.textContent).toContain("This invite link cannot be used.");
    expect(shown).toHaveBeenCalledTimes(1);
  });
});

describe("the call's invite link button", () => {
  afterEach(() => clearMocks());

  it("copies the link of the room on the address others reach", async () => {
    mockIPC(() => null);
    const writeText = vi.fn(async (_: string) => undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const app = await makeApp("Ann");
    app.host = {
      url: "http://127.0.0.1:8080",
      lan: true,
      shareUrl: "http://192.168.1.20:8080",
      rtmpBase: "",
      movedPorts: [],
    };
    const room = {
      target: { kind: "join" as const, roomId: "room_9", roomKind: "multi_room" as const },
      label: "room_9",
    };
    document.body.appendChild(renderCall(app, room, SOLO_CALL, new CallBus()).element);
    byTestId("copy-invite-link")!.click();
    expect(writeText).toHaveBeenCalledWith(
      "quartet://join?server=http%3A%2F%2F192.168.1.20%3A8080&room=room_9&kind=multi_room",
    );
    await vi.waitFor(() => expect(byTestId("copy-invite-link")!.textContent).toBe("Copied"));
  });
});
