import type { Channel } from "@tauri-apps/api/core";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type AppInfo,
  type CallEvent,
  errorText,
  type HostInfo,
  type PortMove,
  type PreviewStatus,
} from "../api";
import { CallBus } from "../call-bus";
import { setLocale } from "../i18n";
import { BEN, byTestId, makeApp as makeTestApp, SOLO_CALL } from "../test-support";
import { HEADER_LEN, KIND_END } from "../video/message";
import { renderCall } from "./call";
import { renderLobby } from "./lobby";
import { renderPrejoin } from "./prejoin";
import { openSettings } from "./settings";

const makeApp = (nickname = "", info: Partial<AppInfo> = {}) =>
  makeTestApp(nickname, { logDir: "/tmp/logs", ...info });

const flush = () => new Promise((r) => setTimeout(r, 0));

type Calls = { cmd: string; args: Record<string, unknown> }[];

function mockBackend(
  calls: Calls,
  answers: Record<string, (args: Record<string, unknown>) => unknown>,
): void {
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    const answer = answers[cmd];
    if (!answer) return null;
    return answer(a);
  });
}

beforeEach(() => setLocale("en"));
afterEach(() => clearMocks());

/** A call view with Ben Lee joining it, on a backend answering `answers` besides the figures. */
async function callWithBen(
  calls: Calls,
  answers: Record<string, (args: Record<string, unknown>) => unknown> = {},
) {
  mockBackend(calls, {
    call_stats: () => ({ publisher: null, remotes: [], listed: 0 }),
    ...answers,
  });
  const app = await makeApp("Ann");
  const bus = new CallBus();
  const view = renderCall(
    app,
    { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
    SOLO_CALL,
    bus,
  );
  document.body.appendChild(view.element);
  bus.push({ type: "memberJoined", member: BEN });
  return { view, bus, ben: BEN };
}

describe("errors", () => {
  it("translate by kind and fall back for unknown ones", () => {
    expect(errorText({ kind: "roomFull", message: "code 5001" })).toBe("This room is full.");
    setLocale("zh-CN");
    expect(errorText({ kind: "roomFull", message: "code 5001" })).toBe("该房间已满。");
    expect(errorText({ kind: "somethingNew", message: "" })).toBe("出了点问题。");
    expect(errorText(new Error("x"))).toBe("出了点问题。");
  });
});

describe("lobby", () => {
  it("hosts, lists rooms with member counts and asks for a name before joining", async () => {
    const calls: Calls = [];
    mockBackend(calls, {
      host_start: () => ({
        url: "http://127.0.0.1:8080",
        lan: false,
        shareUrl: "http://127.0.0.1:8080",
        rtmpBase: "rtmp://127.0.0.1:1935/live",
      }),
      list_rooms: () => [
        {
          roomId: "room_1",
          roomName: "Standup",
          creatorName: "Ann",
          members: 2,
          maxMembers: 4,
          kind: "multi_room",
        },
        {
          roomId: "room_2",
          roomName: "Full house",
          creatorName: null,
          members: 4,
          maxMembers: 4,
          kind: "multi_room",
        },
      ],
    });
    const app = await makeApp();
    const shown = vi.spyOn(app, "showPrejoin").mockImplementation(() => undefined);
    const view = renderLobby(app);
    document.body.appendChild(view.element);
    await vi.waitFor(() => expect(document.querySelectorAll("[data-testid=room]").length).toBe(2));

    expect(calls.find((c) => c.cmd === "host_start")?.args).toEqual({ lan: false });
    expect(calls.find((c) => c.cmd === "list_rooms")?.args).toEqual({
      server: "http://127.0.0.1:8080",
    });
    expect(byTestId("host-address")?.textContent).toContain("http://127.0.0.1:8080");
    const rooms = [...document.querySelectorAll<HTMLElement>("[data-testid=room]")];
    expect(rooms[0].textContent).toContain("Standup");
    expect(rooms[0].textContent).toContain("2 of 4");
    expect(rooms[0].textContent).toContain("Host: Ann");
    const joins = document.querySelectorAll<HTMLButtonElement>("[data-testid=join-room]");
    expect(joins[1].disabled).toBe(true);
    expect(joins[1].textContent).toBe("Full");

    joins[0].click();
    expect(shown).not.toHaveBeenCalled();
    expect(byTestId("lobby-error")?.textContent).toBe("Enter your name first.");

    const nickname = byTestId("nickname") as HTMLInputElement;
    nickname.value = "Ben";
    joins[0].click();
    expect(shown).toHaveBeenCalledWith({
      target: { kind: "join", roomId: "room_1", roomKind: "multi_room" },
      label: "Standup",
    });
    view.dispose();
  });

  it("lists every room kind with its label and joins each as the kind it is listed under", async () => {
    mockBackend([], {
      host_start: () => ({
        url: "http://127.0.0.1:8080",
        lan: false,
        shareUrl: "http://127.0.0.1:8080",
        rtmpBase: "",
      }),
      list_rooms: () => [
        {
          roomId: "room_m",
          roomName: "Team",
          creatorName: "Ann",
          members: 1,
          maxMembers: 4,
          kind: "multi_room",
        },
        {
          roomId: "room_d",
          roomName: "Pair",
          creatorName: "Ben",
          members: 1,
          maxMembers: 2,
          kind: "double_room",
        },
        {
          roomId: "room_l",
          roomName: "Show",
          creatorName: "Cho",
          members: 2,
          maxMembers: 4,
          kind: "live_room",
        },
        {
          roomId: "room_x",
          roomName: "Pair full",
          creatorName: "Dan",
          members: 2,
          maxMembers: 2,
          kind: "double_room",
        },
      ],
    });
    const app = await makeApp("Eve");
    const shown = vi.spyOn(app, "showPrejoin").mockImplementation(() => undefined);
    const view = renderLobby(app);
    document.body.appendChild(view.element);
    await vi.waitFor(() => expect(document.querySelectorAll("[data-testid=room]").length).toBe(4));
    const labels = [...document.querySelectorAll("[data-testid=room-kind]")].map(
      (e) => e.textContent,
    );
    expect(labels).toEqual(["Group call", "Two-person call", "Live room", "Two-person call"]);
    const joins = document.querySelectorAll<HTMLButtonElement>("[data-testid=join-room]");
    expect(joins[3].disabled).toBe(true);
    joins[1].click();
    expect(shown).toHaveBeenLastCalledWith({
      target: { kind: "join", roomId: "room_d", roomKind: "double_room" },
      label: "Pair",
    });
    joins[2].click();
    expect(shown).toHaveBeenLastCalledWith({
      target: { kind: "join", roomId: "room_l", roomKind: "live_room" },
      label: "Show",
    });

    // An ID typed in names no kind: the app finds it.
    (byTestId("room-id-input") as HTMLInputElement).value = " room_d ";
    byTestId("join-by-id")?.click();
    expect(shown).toHaveBeenLastCalledWith({
      target: { kind: "join", roomId: "room_d" },
      label: "room_d",
    });

    // A new room is a group call unless another kind is chosen.
    byTestId("create-room")?.click();
    expect(shown).toHaveBeenLastCalledWith({
      target: { kind: "create", roomName: "Eve's room", roomKind: "multi_room" },
      label: "Eve's room",
    });
    (byTestId("room-kind-choice") as HTMLSelectElement).value = "double_room";
    byTestId("create-room")?.click();
    expect(shown).toHaveBeenLastCalledWith({
      target: { kind: "create", roomName: "Eve's room", roomKind: "double_room" },
      label: "Eve's room",
    });

    await app.update({ language: "zh-CN" });
    expect(document.querySelector("[data-testid=room-kind]")?.textContent).toBe("多人通话");
    view.dispose();
  });

  it("shows why the room list cannot be read", async () => {
    mockBackend([], {
      host_start: () => ({
        url: "http://127.0.0.1:8080",
        lan: false,
        shareUrl: "http://127.0.0.1:8080",
        rtmpBase: "",
      }),
      list_rooms: () => {
        throw { kind: "unreachable", message: "connection refused" };
      },
    });
    const app = await makeApp("Ann");
    const view = renderLobby(app);
    document.body.appendChild(view.element);
    await vi.waitFor(() =>
      expect(byTestId("room-list")?.textContent).toContain("Cannot reach the room server"),
    );
    view.dispose();
  });

  it("suggests a room name in the language chosen, also after switching", async () => {
    mockBackend([], {
      host_start: () => ({
        url: "http://127.0.0.1:8080",
        lan: false,
        shareUrl: "http://127.0.0.1:8080",
        rtmpBase: "",
      }),
      list_rooms: () => [],
    });
    const app = await makeApp("小明");
    await app.update({ language: "zh-CN" });
    const view = renderLobby(app);
    document.body.appendChild(view.element);
    const roomName = byTestId("room-name") as HTMLInputElement;
    expect(roomName.placeholder).toBe("小明的房间");

    await app.update({ language: "en" });
    expect(roomName.placeholder).toBe("小明's room");

    // A name typed afterwards is kept through the next switch.
    const nickname = byTestId("nickname") as HTMLInputElement;
    nickname.value = "Ann";
    nickname.dispatchEvent(new Event("input"));
    expect(roomName.placeholder).toBe("Ann's room");
    await app.update({ language: "zh-CN" });
    expect(roomName.placeholder).toBe("Ann的房间");
    view.dispose();
  });
});

describe("pre-join", () => {
  const denied: PreviewStatus = {
    problems: [
      {
        device: "camera",
        reason: "permissionDenied",
        message: 'camera "Integrated Camera" is blocked',
      },
    ],
    hasVideo: false,
    hasAudio: true,
  };

  function backend(calls: Calls, statuses: PreviewStatus[]): void {
    mockBackend(calls, {
      list_devices: () => ({
        cameras: [{ id: "Integrated Camera", name: "Integrated Camera" }],
        microphones: [{ name: "Mic", isDefault: true }],
        speakers: [],
      }),
      preview_start: () => statuses.shift() ?? { problems: [], hasVideo: true, hasAudio: true },
      preview_level: () => 0,
    });
  }

  const room = { target: { kind: "create" as const, roomName: "R" }, label: "R" };

  it("explains a camera the system refuses and opens its privacy settings", async () => {
    const calls: Calls = [];
    backend(calls, [denied]);
    const app = await makeApp("Ann", { cameraPrivacySettings: true });
    const view = renderPrejoin(app, room);
    document.body.appendChild(view.element);
    await vi.waitFor(() => expect(byTestId("camera-denied")).not.toBeNull());
    expect(byTestId("camera-denied")?.textContent).toContain("not allowed to use the camera");
    expect(byTestId("camera-denied")?.title).toContain("Integrated Camera");

    const open = byTestId("open-camera-settings") as HTMLButtonElement;
    expect(open.textContent).toBe("Open camera privacy settings");
    open.click();
    await vi.waitFor(() =>
      expect(calls.some((c) => c.cmd === "open_camera_privacy_settings")).toBe(true),
    );

    // Once allowed, trying again opens the camera.
    (byTestId("retry-camera") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(calls.filter((c) => c.cmd === "preview_start").length).toBe(2));
    await vi.waitFor(() => expect(byTestId("camera-denied")).toBeNull());
    expect(byTestId("camera-note")?.textContent).toBe("");
    view.dispose();
  });

  it("offers no settings button where the system has no such page, in either language", async () => {
    const calls: Calls = [];
    backend(calls, [denied]);
    setLocale("zh-CN");
    const app = await makeApp("Ann", { cameraPrivacySettings: false });
    const view = renderPrejoin(app, room);
    document.body.appendChild(view.element);
    await vi.waitFor(() => expect(byTestId("camera-denied")).not.toBeNull());
    expect(byTestId("camera-denied")?.textContent).toContain("没有使用摄像头的权限");
    expect(byTestId("open-camera-settings")).toBeNull();
    expect(byTestId("retry-camera")?.textContent).toBe("重试");

    // A camera's preview is mirrored; the test pattern's is not, so its text reads right.
    expect(byTestId("preview-canvas")?.dataset.selfMirror).toBe("true");
    (byTestId("use-synthetic") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(calls.filter((c) => c.cmd === "preview_start").length).toBe(2));
    expect(calls.filter((c) => c.cmd === "preview_start")[1].args.video).toEqual({
      kind: "synthetic",
    });
    expect(byTestId("preview-canvas")?.dataset.selfMirror).toBe("false");
    expect(byTestId("preview-canvas")?.classList.contains("mirrored")).toBe(false);
    expect(errorText({ kind: "cameraDenied", message: "" })).toBe(
      "系统不允许 Quartet 使用摄像头。",
    );
    view.dispose();
  });
});

describe("settings", () => {
  it("keeps the data saver, applies it to a call at once and sends it with the next join", async () => {
    const calls: Calls = [];
    mockBackend(calls, {});
    const app = await makeApp("Ann");
    openSettings(app);
    const saver = byTestId("data-saver") as HTMLInputElement;
    expect(saver.checked).toBe(false);
    expect(saver.parentElement?.textContent).toBe(
      "Data saver: play the others' small streams only",
    );
    saver.checked = true;
    saver.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(app.settings.dataSaver).toBe(true));
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "call_set_data_saver")?.args).toEqual({ enabled: true }),
    );
    await app.update({ language: "zh-CN" });
    openSettings(app);
    const again = document.querySelectorAll<HTMLInputElement>('[data-testid="data-saver"]');
    expect(again[again.length - 1].checked).toBe(true);
    expect(again[again.length - 1].parentElement?.textContent).toBe("省流量：只播放其他人的小画面");
  });

  it("switches each microphone cleaning on its own, for the call in progress and later joins", async () => {
    const calls: Calls = [];
    mockBackend(calls, {});
    const app = await makeApp("Ann");
    expect([
      app.settings.echoCancellation,
      app.settings.noiseSuppression,
      app.settings.gainControl,
    ]).toEqual([true, true, true]);
    openSettings(app);
    const echo = byTestId("audio-echoCancellation") as HTMLInputElement;
    expect(echo.checked).toBe(true);
    expect(echo.parentElement?.textContent).toContain("Echo cancellation");
    echo.checked = false;
    echo.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(app.settings.echoCancellation).toBe(false));
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "call_set_audio_processing")?.args).toEqual({
        processing: { echoCancellation: false, noiseSuppression: true, gainControl: true },
      }),
    );
  });
});

describe("call", () => {
  const info = SOLO_CALL;

  it("mirrors our own tile for a real camera only", async () => {
    const calls: Calls = [];
    mockBackend(calls, {
      call_stats: () => ({ publisher: null, remotes: [], listed: 0 }),
      list_devices: () => ({
        cameras: [{ id: "cam0", name: "Webcam" }],
        microphones: [],
        speakers: [],
      }),
    });
    const app = await makeApp("Ann");
    await app.update({ camera: "synthetic" });
    const bus = new CallBus();
    const view = renderCall(
      app,
      { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
      info,
      bus,
    );
    document.body.appendChild(view.element);
    const canvas = () => byTestId("tile-0")!.querySelector<HTMLCanvasElement>("canvas")!;
    await vi.waitFor(() =>
      expect(calls.some((c) => c.cmd === "video_open" && c.args.source === "self")).toBe(true),
    );
    expect(canvas().dataset.selfMirror).toBe("false");
    expect(canvas().classList.contains("mirrored")).toBe(false);

    (byTestId("toggle-devices") as HTMLButtonElement).click();
    const camera = byTestId("call-camera-select") as HTMLSelectElement;
    await vi.waitFor(() =>
      expect([...camera.options].map((o) => o.value)).toContain("camera:cam0"),
    );
    camera.value = "camera:cam0";
    camera.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(canvas().dataset.selfMirror).toBe("true"));
    expect(canvas().classList.contains("mirrored")).toBe(true);
    // Other members' tiles are never mirrored.
    expect(byTestId("tile-1")!.querySelector("canvas")!.classList.contains("mirrored")).toBe(false);
    view.dispose();
  });

  it("holds events until the call screen listens", () => {
    const bus = new CallBus();
    const seen: CallEvent[] = [];
    bus.push({ type: "roomClosed", reason: "x" });
    bus.listen((e) => seen.push(e));
    bus.push({ type: "publisherState", state: "live" });
    expect(seen.map((e) => e.type)).toEqual(["roomClosed", "publisherState"]);
  });

  it("fills tiles as members come and go, chats, mutes and leaves", async () => {
    const calls: Calls = [];
    mockBackend(calls, {
      call_stats: () => ({ publisher: null, remotes: [], listed: 0 }),
    });
    const app = await makeApp("Ann");
    const lobby = vi.spyOn(app, "showLobby").mockImplementation(() => undefined);
    const bus = new CallBus();
    const view = renderCall(
      app,
      { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
      info,
      bus,
    );
    document.body.appendChild(view.element);
    await vi.waitFor(() =>
      expect(calls.some((c) => c.cmd === "video_open" && c.args.source === "self")).toBe(true),
    );
    expect(byTestId("room-id")?.textContent).toBe("room_9");
    expect(byTestId("tile-0")?.textContent).toContain("Ann (you)");

    bus.push({
      type: "memberJoined",
      member: {
        userId: "u2",
        userName: "Ben Lee",
        isCreator: false,
        isSelf: false,
        tile: 1,
        sharingScreen: false,
      },
    });
    await flush();
    const tile2 = byTestId("tile-2")!;
    expect(tile2.dataset.userId).toBe("u2");
    expect(tile2.textContent).toContain("Ben Lee");
    expect(tile2.querySelector(".avatar")?.textContent).toBe("BL");
    expect(tile2.textContent).toContain("Connecting…");
    await vi.waitFor(() =>
      expect(
        calls.some(
          (c) =>
            c.cmd === "video_open" &&
            c.args.source === "member:u2" &&
            String(c.args.feed).startsWith("tile-1#"),
        ),
      ).toBe(true),
    );
    // No WebCodecs here: decoded pictures, for the others and for us alike.
    expect(calls.find((c) => c.args.source === "member:u2")?.args.encoding).toBe("i420");
    expect(calls.find((c) => c.args.source === "self")?.args.encoding).toBe("i420");
    // A tile's snapshot names its member, not its place, which may change hands meanwhile.
    (tile2.querySelector("[data-testid=tile-snapshot]") as HTMLButtonElement).click();
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "snapshot_tile")?.args).toEqual({ member: "u2" }),
    );
    expect(document.querySelector(".toast")?.textContent).toBe("Ben Lee joined");

    bus.push({ type: "text", userId: "u2", nickName: "Ben Lee", text: "hi all", time: 0 });
    await flush();
    expect(byTestId("chat-messages")?.textContent).toContain("hi all");
    expect(document.querySelector("[data-testid=toggle-chat] .badge")?.textContent).toBe("1");

    (byTestId("toggle-chat") as HTMLButtonElement).click();
    const input = byTestId("chat-input") as HTMLInputElement;
    input.value = "hello";
    (byTestId("chat-send") as HTMLButtonElement).click();
    await vi.waitFor(() =>
      expect(calls.find((c) => c.cmd === "call_send_text")?.args).toEqual({ text: "hello" }),
    );

    (byTestId("toggle-mic") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(byTestId("toggle-mic")?.classList.contains("off")).toBe(true));
    expect(calls.find((c) => c.cmd === "call_set_mic_muted")?.args).toEqual({ muted: true });
    expect(byTestId("toggle-mic")?.textContent).toContain("Unmute");

    bus.push({
      type: "memberLeft",
      member: {
        userId: "u2",
        userName: "Ben Lee",
        isCreator: false,
        isSelf: false,
        tile: null,
        sharingScreen: false,
      },
      freedTile: 1,
    });
    await flush();
    expect(tile2.classList.contains("empty")).toBe(true);
    const opened = calls.find((c) => c.cmd === "video_open" && c.args.source === "member:u2")!.args
      .feed;
    expect(calls.some((c) => c.cmd === "video_close" && c.args.feed === opened)).toBe(true);

    (byTestId("leave") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(lobby).toHaveBeenCalled());
    expect(calls.some((c) => c.cmd === "call_leave")).toBe(true);
    view.dispose();
  });

  it("opens a member's feed once and closes it when the feed says the member is gone", async () => {
    const calls: Calls = [];
    const { view, bus, ben } = await callWithBen(calls);
    const opens = () =>
      calls.filter((c) => c.cmd === "video_open" && c.args.source === "member:u2");
    await vi.waitFor(() => expect(opens()).toHaveLength(1));
    const first = opens()[0].args;
    // News of the same member is not a reason to open again.
    bus.push({ type: "memberUpdated", member: { ...ben, sharingScreen: true } });
    await flush();
    expect(opens()).toHaveLength(1);

    const end = new ArrayBuffer(HEADER_LEN);
    new DataView(end).setUint8(0, KIND_END);
    (first.channel as Channel<ArrayBuffer>).onmessage(end);
    expect(calls.some((c) => c.cmd === "video_close" && c.args.feed === first.feed)).toBe(true);
    await flush();
    expect(opens()).toHaveLength(1);
    bus.push({ type: "memberLeft", member: { ...ben, tile: null }, freedTile: 0 });
    await flush();
    expect(byTestId("tile-1")?.classList.contains("empty")).toBe(true);
    expect(opens()).toHaveLength(1);
    view.dispose();
  });

  it("closes a member's feed that was still opening when the member left", async () => {
    const calls: Calls = [];
    let opened: () => void = () => undefined;
    const { view, bus, ben } = await callWithBen(calls, {
      video_open: (args) =>
        args.source === "self" ? null : new Promise<null>((r) => (opened = () => r(null))),
    });
    const open = () => calls.find((c) => c.cmd === "video_open" && c.args.source === "member:u2");
    await vi.waitFor(() => expect(open()).toBeDefined());
    bus.push({ type: "memberLeft", member: { ...ben, tile: null }, freedTile: 0 });
    await flush();
    const feed = open()!.args.feed;
    const closes = () => calls.filter((c) => c.cmd === "video_close" && c.args.feed === feed);
    expect(closes()).toHaveLength(1);
    // The close may have reached the app before the open: it is said again once the open is done.
    opened();
    await vi.waitFor(() => expect(closes()).toHaveLength(2));
    view.dispose();
  });

  it("does not retry a feed the app refuses to open", async () => {
    const calls: Calls = [];
    mockBackend(calls, {
      call_stats: () => ({ publisher: null, remotes: [], listed: 0 }),
      video_open: (args) => {
        if (args.source !== "self") throw { kind: "invalidInput", message: "no video source" };
        return null;
      },
    });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const app = await makeApp("Ann");
    const bus = new CallBus();
    const view = renderCall(
      app,
      { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
      info,
      bus,
    );
    document.body.appendChild(view.element);
    bus.push({ type: "memberJoined", member: BEN });
    await vi.waitFor(() => expect(warn).toHaveBeenCalled());
    await flush();
    expect(
      calls.filter((c) => c.cmd === "video_open" && c.args.source === "member:u2"),
    ).toHaveLength(1);
    expect(byTestId("tile-1")?.textContent).toContain("Connecting…");
    warn.mockRestore();
    view.dispose();
  });

  it("goes back to the lobby when the room closes", async () => {
    const calls: Calls = [];
    mockBackend(calls, { call_stats: () => ({ publisher: null, remotes: [], listed: 0 }) });
    const app = await makeApp("Ann");
    const lobby = vi.spyOn(app, "showLobby").mockImplementation(() => undefined);
    const bus = new CallBus();
    const view = renderCall(
      app,
      { target: { kind: "join", roomId: "room_9" }, label: "room_9" },
      info,
      bus,
    );
    bus.push({ type: "roomClosed", reason: "creator_left" });
    await vi.waitFor(() => expect(lobby).toHaveBeenCalled());
    expect(calls.some((c) => c.cmd === "call_leave")).toBe(true);
    view.dispose();
  });

  it("marks each member's tile with its connection quality, in both languages", async () => {
    const calls: Calls = [];
    let quality = "poor";
    const remote = () => ({
      userId: "u2",
      tile: 1,
      connected: true,
      fps: 7,
      kbps: 260,
      latencyMsP50: 2200,
      latencyMsP95: 2600,
      audioLevel: 0,
      framesDecoded: 100,
      videoOff: false,
      quality,
    });
    mockBackend(calls, {
      call_stats: () => ({ publisher: null, remotes: [remote()], listed: 0 }),
    });
    const app = await makeApp("Ann");
    const bus = new CallBus();
    const view = renderCall(
      app,
      { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
      info,
      bus,
    );
    document.body.appendChild(view.element);
    // Our own tile has no indicator; an empty tile neither.
    expect(
      byTestId("tile-0")?.querySelector<HTMLElement>("[data-testid=tile-quality]")?.hidden,
    ).toBe(true);
    bus.push({
      type: "memberJoined",
      member: {
        userId: "u2",
        userName: "Ben Lee",
        isCreator: false,
        isSelf: false,
        tile: 1,
        sharingScreen: false,
      },
    });
    const mark = () =>
      byTestId("tile-2")!.querySelector<HTMLElement>("[data-testid=tile-quality]")!;
    await vi.waitFor(() => expect(mark().hidden).toBe(false), { timeout: 3_000 });
    expect(mark().classList.contains("poor")).toBe(true);
    expect(mark().textContent).toBe("Poor connection");
    expect(mark().getAttribute("aria-label")).toBe("Poor connection");
    expect(
      byTestId("tile-3")?.querySelector<HTMLElement>("[data-testid=tile-quality]")?.hidden,
    ).toBe(true);

    setLocale("zh-CN");
    quality = "bad";
    await vi.waitFor(() => expect(mark().textContent).toBe("网络很差"), { timeout: 3_000 });
    expect(mark().classList.contains("bad") && !mark().classList.contains("poor")).toBe(true);

    // Good is a quiet dot, named only in its tooltip.
    quality = "good";
    await vi.waitFor(() => expect(mark().classList.contains("good")).toBe(true), {
      timeout: 3_000,
    });
    expect(mark().textContent).toBe("");
    expect(mark().title).toBe("网络良好");

    bus.push({
      type: "memberLeft",
      member: {
        userId: "u2",
        userName: "Ben Lee",
        isCreator: false,
        isSelf: false,
        tile: null,
        sharingScreen: false,
      },
      freedTile: 1,
    });
    await vi.waitFor(() => expect(mark().hidden).toBe(true));
    view.dispose();
  }, 15_000);

  it("lights our tile while we talk, says when we talk muted, and switches speakers", async () => {
    const calls: Calls = [];
    let micLevel = 0.2;
    mockBackend(calls, {
      call_stats: () => ({
        publisher: {
          connected: true,
          fps: 15,
          kbps: 400,
          droppedFrames: 0,
          micLevel,
          width: 640,
          height: 360,
          targetKbps: 500,
          uplinkLimited: false,
        },
        remotes: [],
        listed: 0,
      }),
      list_devices: () => ({
        cameras: [],
        microphones: [],
        speakers: [{ name: "Desk speakers", isDefault: false }],
      }),
    });
    const app = await makeApp("Ann");
    const bus = new CallBus();
    const view = renderCall(
      app,
      { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
      info,
      bus,
    );
    document.body.appendChild(view.element);
    const own = byTestId("tile-0")!;
    await vi.waitFor(() => expect(own.classList.contains("speaking")).toBe(true), {
      timeout: 3_000,
    });
    expect(document.querySelector(".toast")).toBeNull();

    // Muted, our tile stays dark, and talking on is met with a hint.
    (byTestId("toggle-mic") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(byTestId("toggle-mic")?.classList.contains("off")).toBe(true));
    await vi.waitFor(() => expect(own.classList.contains("speaking")).toBe(false), {
      timeout: 3_000,
    });
    await vi.waitFor(
      () =>
        expect(document.querySelector(".toast")?.textContent).toBe(
          "You are muted. Unmute to be heard.",
        ),
      {
        timeout: 5_000,
      },
    );
    micLevel = 0;

    (byTestId("toggle-devices") as HTMLButtonElement).click();
    const speaker = byTestId("call-speaker-select") as HTMLSelectElement;
    await vi.waitFor(() =>
      expect([...speaker.options].map((o) => o.value)).toEqual(["", "Desk speakers"]),
    );
    speaker.value = "Desk speakers";
    speaker.dispatchEvent(new Event("change"));
    await vi.waitFor(() => expect(app.settings.speaker).toBe("Desk speakers"));
    expect(calls.find((c) => c.cmd === "call_switch_speaker")?.args).toEqual({
      speaker: "Desk speakers",
    });
    view.dispose();
  }, 15_000);

  it("says once that our uplink is slow and shows what we send instead", async () => {
    const calls: Calls = [];
    mockBackend(calls, {
      call_stats: () => ({
        publisher: {
          connected: true,
          fps: 10,
          kbps: 210,
          droppedFrames: 0,
          micLevel: 0,
          width: 480,
          height: 270,
          targetKbps: 180,
          uplinkLimited: true,
        },
        remotes: [],
        listed: 0,
      }),
    });
    const app = await makeApp("Ann");
    const bus = new CallBus();
    const view = renderCall(
      app,
      { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
      info,
      bus,
    );
    document.body.appendChild(view.element);
    bus.push({ type: "uplinkLimited", width: 480, height: 270, fps: 10, videoKbps: 180 });
    bus.push({ type: "uplinkLimited", width: 320, height: 180, fps: 10, videoKbps: 90 });
    await vi.waitFor(() => expect(document.querySelectorAll(".toast").length).toBe(1));
    expect(document.querySelector(".toast")?.textContent).toBe(
      "Your connection is slow: sending lower quality",
    );
    (byTestId("toggle-stats") as HTMLButtonElement | null)?.click();
    await vi.waitFor(
      () => expect(byTestId("tile-0")?.textContent).toContain("480×270 · 180 kbps"),
      { timeout: 5_000 },
    );
    view.dispose();
  });

  it("passes events from the call channel to the screen", async () => {
    const calls: Calls = [];
    mockBackend(calls, {
      call_start: (args) => {
        (args.events as Channel<CallEvent>).onmessage({ type: "publisherState", state: "live" });
        return info;
      },
    });
    const { api } = await import("../api");
    const seen: CallEvent[] = [];
    const got = await api.callStart(
      {
        server: "http://127.0.0.1:8080",
        nickname: "Ann",
        target: { kind: "create", roomName: "R" },
        video: { kind: "synthetic" },
        audio: { kind: "tone" },
        speaker: null,
        dataSaver: false,
        startMuted: false,
        startCameraOff: false,
        audioProcessing: { echoCancellation: true, noiseSuppression: true, gainControl: true },
      },
      (e) => seen.push(e),
    );
    expect(got.roomId).toBe("room_9");
    expect(seen).toEqual([{ type: "publisherState", state: "live" }]);
    expect((calls[0].args.request as { video: unknown }).video).toEqual({ kind: "synthetic" });
  });
});

describe("hosting and invites", () => {
  const hostAt = (lan: boolean, movedPorts: PortMove[] = []): HostInfo => ({
    url: "http://127.0.0.1:41234",
    lan,
    shareUrl: lan ? "http://192.168.1.20:41234" : "http://127.0.0.1:41234",
    rtmpBase: "",
    movedPorts,
  });
  const info = SOLO_CALL;

  function clipboard() {
    const writeText = vi.fn(async (_text: string) => undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    return writeText;
  }

  it("names the taken port and the one used, and says nothing when the port was free", async () => {
    mockBackend([], {
      host_start: () => hostAt(false, [{ service: "http", wanted: 8080, used: 41234 }]),
      list_rooms: () => [],
    });
    const app = await makeApp("Ann");
    let view = renderLobby(app);
    document.body.appendChild(view.element);
    await vi.waitFor(() =>
      expect(byTestId("host-ports")?.textContent).toContain("Port 8080 is taken"),
    );
    expect(byTestId("host-ports")?.textContent).toContain("uses port 41234");
    await app.update({ language: "zh-CN" });
    expect(byTestId("host-ports")?.textContent).toContain("端口 8080 已被其他程序占用");
    expect(byTestId("host-ports")?.textContent).toContain("41234");
    view.dispose();
    view.element.remove();

    mockBackend([], { host_start: () => hostAt(false), list_rooms: () => [] });
    view = renderLobby(await makeApp("Ann"));
    document.body.appendChild(view.element);
    await vi.waitFor(() => expect(byTestId("host-address")?.textContent).toContain("41234"));
    expect(byTestId("host-ports")?.textContent).toBe("");
    view.dispose();
  });

  it("copies server and room, and says when only this computer can join", async () => {
    const calls: Calls = [];
    mockBackend(calls, { call_stats: () => ({ publisher: null, remotes: [], listed: 0 }) });
    const writeText = clipboard();
    const app = await makeApp("Ann");
    app.host = hostAt(false);
    let view = renderCall(
      app,
      { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
      info,
      new CallBus(),
    );
    document.body.appendChild(view.element);
    expect(byTestId("loopback-only")?.hidden).toBe(true);
    byTestId("copy-invite")?.click();
    expect(writeText).toHaveBeenLastCalledWith(
      "Join my Quartet call “Standup”\nServer: http://127.0.0.1:41234\nRoom ID: room_9\nLink: quartet://join?server=http%3A%2F%2F127.0.0.1%3A41234&room=room_9",
    );
    expect(byTestId("loopback-only")?.hidden).toBe(false);
    expect(byTestId("loopback-only")?.textContent).toContain("Only this computer can join");
    // The offer reopens hosting to the network from the lobby, not under this call.
    expect(app.settings.lan).toBe(false);
    byTestId("open-to-network")?.click();
    await vi.waitFor(() => expect(app.settings.lan).toBe(true));
    expect(byTestId("loopback-only")?.textContent).toContain("next call");
    expect(calls.some((c) => c.cmd === "host_start")).toBe(false);
    view.dispose();
    view.element.remove();

    app.host = hostAt(true);
    view = renderCall(
      app,
      { target: { kind: "create", roomName: "Standup" }, label: "Standup" },
      info,
      new CallBus(),
    );
    document.body.appendChild(view.element);
    byTestId("copy-invite")?.click();
    expect(writeText).toHaveBeenLastCalledWith(
      expect.stringContaining("Server: http://192.168.1.20:41234\nRoom ID: room_9"),
    );
    expect(byTestId("loopback-only")?.hidden).toBe(true);
    view.dispose();
  });

  it("joins the room of a pasted invite on the invite's server", async () => {
    mockBackend([], { host_start: () => hostAt(false), list_rooms: () => [] });
    const app = await makeApp("Ben");
    const shown = vi.spyOn(app, "showPrejoin").mockImplementation(() => undefined);
    const view = renderLobby(app);
    document.body.appendChild(view.element);
    (byTestId("room-id-input") as HTMLInputElement).value =
      "Join my Quartet call “Standup”\nServer: http://192.168.1.20:8080\nRoom ID: room_9";
    byTestId("join-by-id")?.click();
    await vi.waitFor(() =>
      expect(shown).toHaveBeenCalledWith({
        target: { kind: "join", roomId: "room_9" },
        label: "room_9",
      }),
    );
    expect(app.settings.mode).toBe("remote");
    expect(app.serverUrl()).toBe("http://192.168.1.20:8080");
    view.dispose();
  });
});
