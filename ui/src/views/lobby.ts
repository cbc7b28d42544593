// The lobby: who we are, which room server (hosted here or elsewhere), its rooms, and a new room.

import {
  api,
  errorDetail,
  errorText,
  type HostInfo,
  type RoomKind,
  type RoomSummary,
} from "../api";
import { clear, h, ICONS, icon, nameIcon } from "../dom";
import { t, tx, txAttr } from "../i18n";
import { inviteServer, parseInvite } from "../invite";
import type { Shell, View } from "../shell";

/** How often the room list refreshes itself while the lobby is shown. */
export const ROOM_REFRESH_MS = 3000;
/** The label key of each room kind in the room list. */
export const KIND_LABEL = {
  multi_room: "lobby.kind.multi_room",
  double_room: "lobby.kind.double_room",
  live_room: "lobby.kind.live_room",
} as const satisfies Record<RoomKind, string>;

/** The kind a room is joined as: the one it is listed under (a server listing no kind: asked on join). */
export function joinTarget(room: Pick<RoomSummary, "roomId" | "kind">) {
  return room.kind in KIND_LABEL
    ? { kind: "join" as const, roomId: room.roomId, roomKind: room.kind }
    : { kind: "join" as const, roomId: room.roomId };
}

/** What to say about each port hosting could not have: which one was taken, which one is used. */
export function portNotes(info: HostInfo): {
  key: "lobby.portMovedHttp" | "lobby.portMovedRtmp";
  vars: { wanted: number; used: number };
}[] {
  return (info.movedPorts ?? []).map((m) => ({
    key: m.service === "http" ? "lobby.portMovedHttp" : "lobby.portMovedRtmp",
    vars: { wanted: m.wanted, used: m.used },
  }));
}

/** Whose room the suggested room name says it is before we have a name. */
const DEFAULT_ROOM_OWNER = "Quartet";

export function renderLobby(app: Shell): View {
  let disposed = false;
  let refreshTimer: number | undefined;
  const s = app.settings;

  // --- You
  const nickname = h("input", {
    class: "input",
    testid: "nickname",
    attrs: { maxlength: 32, autocomplete: "off", value: s.nickname },
  });
  txAttr(nickname, "placeholder", "lobby.nicknamePlaceholder");
  nickname.addEventListener("change", () => void app.update({ nickname: nickname.value.trim() }));
  nickname.addEventListener("input", () => {
    const name = nickname.value.trim();
    txAttr(roomName, "placeholder", "lobby.roomNameDefault", { name: name || DEFAULT_ROOM_OWNER });
  });

  // --- Server
  const modeHost = h("input", {
    attrs: { type: "radio", name: "mode", value: "host", checked: s.mode === "host" },
    testid: "mode-host",
  });
  const modeRemote = h("input", {
    attrs: { type: "radio", name: "mode", value: "remote", checked: s.mode === "remote" },
    testid: "mode-remote",
  });
  const lan = h("input", { attrs: { type: "checkbox", checked: s.lan }, testid: "lan" });
  const hostLine = h("div", { class: "note", testid: "host-address" });
  const portLine = h("div", { class: "note", testid: "host-ports" });
  const serverUrl = h("input", {
    class: "input",
    testid: "server-url",
    attrs: { value: s.serverUrl, autocomplete: "off", spellcheck: "false" },
  });
  txAttr(serverUrl, "placeholder", "lobby.serverUrlPlaceholder");
  const connect = tx(h("button", { class: "button", testid: "connect" }), "lobby.connect");
  const hostPane = h(
    "div",
    { class: "stack" },
    h("label", { class: "check" }, lan, tx(h("span"), "lobby.lan")),
    hostLine,
    portLine,
  );
  const remotePane = h("div", { class: "row" }, serverUrl, connect);

  // --- Rooms
  const roomList = h("div", { class: "room-list", testid: "room-list" });
  const refresh = h(
    "button",
    { class: "icon-button", testid: "refresh-rooms", on: { click: () => void loadRooms() } },
    icon(ICONS.refresh),
  );
  nameIcon(refresh, "lobby.refresh");

  // --- New room
  const roomName = h("input", {
    class: "input",
    testid: "room-name",
    attrs: { maxlength: 48, autocomplete: "off" },
  });
  txAttr(roomName, "placeholder", "lobby.roomNameDefault", {
    name: s.nickname || DEFAULT_ROOM_OWNER,
  });
  const create = tx(
    h("button", { class: "button primary", testid: "create-room" }),
    "lobby.create",
  );
  const newKind = h("select", { class: "input", testid: "room-kind-choice" });
  for (const kind of Object.keys(KIND_LABEL) as RoomKind[])
    newKind.appendChild(tx(h("option", { attrs: { value: kind } }), KIND_LABEL[kind]));
  const roomId = h("input", {
    class: "input",
    testid: "room-id-input",
    attrs: { autocomplete: "off", spellcheck: "false" },
  });
  txAttr(roomId, "placeholder", "lobby.roomIdPlaceholder");
  const joinById = tx(h("button", { class: "button", testid: "join-by-id" }), "lobby.join");

  const error = h("div", { class: "error-line", testid: "lobby-error", attrs: { role: "alert" } });

  function needName(): string | null {
    const name = nickname.value.trim();
    if (!name) {
      error.textContent = t("lobby.needName");
      nickname.focus();
      return null;
    }
    error.textContent = "";
    if (name !== app.settings.nickname) void app.update({ nickname: name });
    return name;
  }

  function showMode(): void {
    const host = app.settings.mode === "host";
    hostPane.hidden = !host;
    remotePane.hidden = host;
  }

  async function startHost(): Promise<void> {
    tx(hostLine, "lobby.hostStarting");
    try {
      const info = await app.ensureHost();
      if (info.lan) tx(hostLine, "lobby.hostShare", { url: info.shareUrl });
      else tx(hostLine, "lobby.hostLocal", { url: info.url });
      clear(portLine);
      for (const note of portNotes(info)) portLine.appendChild(tx(h("div"), note.key, note.vars));
      hostLine.dataset.url = info.url;
      hostLine.dataset.shareUrl = info.shareUrl;
      await loadRooms();
    } catch (e) {
      hostLine.textContent = errorText(e);
      hostLine.title = errorDetail(e);
    }
  }

  async function loadRooms(): Promise<void> {
    window.clearTimeout(refreshTimer);
    const server = app.serverUrl();
    if (!server) {
      clear(roomList);
      return;
    }
    if (!roomList.firstChild)
      roomList.appendChild(tx(h("div", { class: "empty" }), "lobby.loadingRooms"));
    try {
      const rooms = await api.listRooms(server);
      if (disposed) return;
      showRooms(rooms);
      error.textContent = "";
    } catch (e) {
      if (disposed) return;
      clear(roomList);
      roomList.appendChild(
        h("div", { class: "empty error", text: errorText(e), title: errorDetail(e) }),
      );
    }
    if (!disposed) refreshTimer = window.setTimeout(() => void loadRooms(), ROOM_REFRESH_MS);
  }

  function showRooms(rooms: RoomSummary[]): void {
    clear(roomList);
    if (rooms.length === 0) {
      roomList.appendChild(tx(h("div", { class: "empty" }), "lobby.noRooms"));
      return;
    }
    for (const room of rooms) {
      const full = room.members >= room.maxMembers;
      const join = tx(
        h("button", { class: "button", attrs: { disabled: full }, testid: "join-room" }),
        full ? "lobby.full" : "lobby.join",
      );
      join.addEventListener("click", () => {
        if (needName())
          app.showPrejoin({ target: joinTarget(room), label: room.roomName || room.roomId });
      });
      const dots = h("span", { class: "dots" });
      for (let i = 0; i < room.maxMembers; i++)
        dots.appendChild(h("i", { class: i < room.members ? "on" : "" }));
      roomList.appendChild(
        h(
          "div",
          { class: "room", testid: "room", attrs: { "data-room-id": room.roomId } },
          h(
            "div",
            { class: "room-main" },
            h(
              "div",
              { class: "room-name" },
              h("span", { text: room.roomName || room.roomId }),
              room.kind in KIND_LABEL
                ? tx(h("span", { class: "kind-tag", testid: "room-kind" }), KIND_LABEL[room.kind])
                : null,
            ),
            room.creatorName
              ? tx(h("div", { class: "room-sub" }), "lobby.createdBy", { name: room.creatorName })
              : null,
          ),
          h(
            "div",
            { class: "room-count" },
            dots,
            tx(h("span"), "lobby.membersCount", { n: room.members, max: room.maxMembers }),
          ),
          join,
        ),
      );
    }
  }

  modeHost.addEventListener("change", async () => {
    await app.update({ mode: "host" });
    showMode();
    await startHost();
  });
  modeRemote.addEventListener("change", async () => {
    await app.update({ mode: "remote" });
    showMode();
    clear(roomList);
    if (app.settings.serverUrl) await loadRooms();
  });
  lan.addEventListener("change", async () => {
    await app.update({ lan: lan.checked });
    await startHost();
  });
  const connectNow = async () => {
    await app.update({ serverUrl: serverUrl.value.trim() });
    clear(roomList);
    await loadRooms();
  };
  connect.addEventListener("click", () => void connectNow());
  serverUrl.addEventListener("keydown", (e) => {
    if (e.key === "Enter") void connectNow();
  });
  create.addEventListener("click", () => {
    const name = needName();
    if (!name) return;
    if (!app.serverUrl()) {
      error.textContent = errorText({ kind: "unreachable", message: "" });
      return;
    }
    const label = roomName.value.trim() || t("lobby.roomNameDefault", { name });
    app.showPrejoin({
      target: { kind: "create", roomName: label, roomKind: newKind.value as RoomKind },
      label,
    });
  });
  roomName.addEventListener("keydown", (e) => {
    if (e.key === "Enter") create.click();
  });
  joinById.addEventListener("click", async () => {
    const typed = roomId.value.trim();
    if (!typed || !needName()) return;
    // A pasted invite names its server too: use that server unless it is the one in use.
    const invite = parseInvite(typed);
    if (invite && invite.server !== inviteServer(app) && invite.server !== app.serverUrl()) {
      await app.update({ mode: "remote", serverUrl: invite.server });
      serverUrl.value = invite.server;
      modeRemote.checked = true;
      showMode();
    }
    const id = invite?.roomId ?? typed;
    app.showPrejoin({ target: { kind: "join", roomId: id }, label: id });
  });

  const element = h(
    "div",
    { class: "lobby" },
    h(
      "section",
      { class: "hero" },
      tx(h("h1"), "lobby.title"),
      tx(h("p", { class: "muted" }), "app.tagline"),
    ),
    h(
      "div",
      { class: "lobby-columns" },
      h(
        "div",
        { class: "stack" },
        h(
          "section",
          { class: "card" },
          tx(h("h2"), "lobby.you"),
          h("label", { class: "field" }, tx(h("span"), "lobby.nickname"), nickname),
        ),
        h(
          "section",
          { class: "card" },
          tx(h("h2"), "lobby.server"),
          h(
            "div",
            { class: "segmented" },
            h("label", {}, modeHost, tx(h("span"), "lobby.modeHost")),
            h("label", {}, modeRemote, tx(h("span"), "lobby.modeRemote")),
          ),
          hostPane,
          remotePane,
        ),
        h(
          "section",
          { class: "card" },
          tx(h("h2"), "lobby.newRoom"),
          h(
            "label",
            { class: "field" },
            tx(h("span"), "lobby.roomName"),
            h("div", { class: "row" }, roomName, create),
          ),
          h("label", { class: "field" }, tx(h("span"), "lobby.roomKind"), newKind),
          h(
            "label",
            { class: "field" },
            tx(h("span"), "lobby.joinById"),
            h("div", { class: "row" }, roomId, joinById),
          ),
          error,
        ),
      ),
      h(
        "section",
        { class: "card rooms" },
        h("div", { class: "card-head" }, tx(h("h2"), "lobby.rooms"), refresh),
        roomList,
      ),
    ),
  );

  showMode();
  if (app.settings.mode === "host") void startHost();
  else void loadRooms();
  if (!s.nickname) setTimeout(() => nickname.focus(), 0);

  return {
    element,
    dispose() {
      disposed = true;
      window.clearTimeout(refreshTimer);
    },
  };
}
