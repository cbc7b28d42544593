import { beforeEach, describe, expect, it } from "vitest";
import { setLocale } from "./i18n";
import { buildInvite, inviteServer, parseInvite } from "./invite";
import { makeApp } from "./test-support";

beforeEach(() => setLocale("en"));

describe("invites", () => {
  it("carry the server and the room, and read back in either language", () => {
    const en = buildInvite("http://192.168.1.20:8080", "room_42", "Standup");
    expect(en).toBe("Join my Quartet call “Standup”\nServer: http://192.168.1.20:8080\nRoom ID: room_42");
    expect(parseInvite(en)).toEqual({ server: "http://192.168.1.20:8080", roomId: "room_42" });
    setLocale("zh-CN");
    const zh = buildInvite("http://10.0.0.5:41234/", "room_7", "周会");
    expect(zh).toContain("房间号: room_7");
    expect(parseInvite(zh)).toEqual({ server: "http://10.0.0.5:41234", roomId: "room_7" });
  });

  it("read a join link, and nothing from a bare room ID", () => {
    const link = "quartet://join?server=http%3A%2F%2F10.0.0.5%3A8080&room=room_9";
    expect(parseInvite(`see ${link}`)).toEqual({ server: "http://10.0.0.5:8080", roomId: "room_9" });
    // As a text field keeps it: line breaks dropped.
    expect(parseInvite(buildInvite("http://192.168.1.20:8080", "room_42", "S").replaceAll("\n", ""))).toEqual({
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
    app.host = { url: "http://127.0.0.1:8080", lan: true, shareUrl: "http://192.168.1.20:8080", rtmpBase: "" };
    expect(inviteServer(app)).toBe("http://192.168.1.20:8080");
    await app.update({ mode: "remote", serverUrl: " 10.0.0.5:8080/ " });
    expect(inviteServer(app)).toBe("http://10.0.0.5:8080");
    await app.update({ serverUrl: "https://rooms.example" });
    expect(inviteServer(app)).toBe("https://rooms.example");
    await app.update({ serverUrl: "" });
    expect(inviteServer(app)).toBeNull();
  });
});
