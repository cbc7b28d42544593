// The lobby: who we are, which room server (hosted here or elsewhere), its rooms, and a new room.

import { errorDetail, errorText, type HostInfo, type RoomKind, type RoomSummary } from "../api";
import { clear, h, ICONS, icon, nameIcon } from "../dom";
import { t, tx, txAttr } from "../i18n";
import { inviteServer, parseInvite } from "../invite";
import type { Shell, View } from "../shell";
import { KIND_LABEL, type RoomLister, roomLister } from "./lobby/rooms";

export { KIND_LABEL, ROOM_REFRESH_MS } from "./lobby/rooms";

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

/** The server card: host here (on the LAN or not) or connect elsewhere. */
interface ServerCard {
  card: HTMLElement;
  /** Shows the chosen mode and starts it: hosting, or the remote server's rooms. */
  start(): void;
  /** Switches to the given remote server (its rooms are loaded by whoever asked). */
  useServer(server: string): Promise<void>;
}

/** Builds the server card; its changes reload `rooms`. */
function serverCard(app: Shell, rooms: RoomLister): ServerCard {
  const s = app.settings;
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

  const showMode = () => {
    const host = app.settings.mode === "host";
    hostPane.hidden = !host;
    remotePane.hidden = host;
  };
  const startHost = () => hostHere(app, hostLine, portLine, rooms);
  modeHost.addEventListener("change", async () => {
    await app.update({ mode: "host" });
    showMode();
    await startHost();
  });
  modeRemote.addEventListener("change", async () => {
    await app.update({ mode: "remote" });
    showMode();
    rooms.clear();
    if (app.settings.serverUrl) await rooms.load();
  });
  lan.addEventListener("change", async () => {
    await app.update({ lan: lan.checked });
    await startHost();
  });
  const connectNow = async () => {
    await app.update({ serverUrl: serverUrl.value.trim() });
    rooms.clear();
    await rooms.load();
  };
  connect.addEventListener("click", () => void connectNow());
  serverUrl.addEventListener("keydown", (e) => {
    if (e.key === "Enter") void connectNow();
  });

  const card = h(
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
  );
  return {
    card,
    start() {
      showMode();
      if (app.settings.mode === "host") void startHost();
      else void rooms.load();
    },
    async useServer(server) {
      await app.update({ mode: "remote", serverUrl: server });
      serverUrl.value = server;
      modeRemote.checked = true;
      showMode();
    },
  };
}

/** Starts hosting here and says where others reach it (and which ports had to move). */
async function hostHere(
  app: Shell,
  hostLine: HTMLElement,
  portLine: HTMLElement,
  rooms: RoomLister,
): Promise<void> {
  tx(hostLine, "lobby.hostStarting");
  try {
    const info = await app.ensureHost();
    if (info.lan) tx(hostLine, "lobby.hostShare", { url: info.shareUrl });
    else tx(hostLine, "lobby.hostLocal", { url: info.url });
    clear(portLine);
    for (const note of portNotes(info)) portLine.appendChild(tx(h("div"), note.key, note.vars));
    hostLine.dataset.url = info.url;
    hostLine.dataset.shareUrl = info.shareUrl;
    await rooms.load();
  } catch (e) {
    hostLine.textContent = errorText(e);
    hostLine.title = errorDetail(e);
  }
}

/** The new room card: create one (named, of a kind), or join one by its id or an invite. */
function newRoomCard(
  app: Shell,
  needName: () => string | null,
  error: HTMLElement,
  server: ServerCard,
): { card: HTMLElement; roomName: HTMLInputElement } {
  const roomName = h("input", {
    class: "input",
    testid: "room-name",
    attrs: { maxlength: 48, autocomplete: "off" },
  });
  txAttr(roomName, "placeholder", "lobby.roomNameDefault", {
    name: app.settings.nickname || DEFAULT_ROOM_OWNER,
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
    if (invite && invite.server !== inviteServer(app) && invite.server !== app.serverUrl())
      await server.useServer(invite.server);
    const id = invite?.roomId ?? typed;
    app.showPrejoin({ target: { kind: "join", roomId: id }, label: id });
  });

  const card = h(
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
  );
  return { card, roomName };
}

export function renderLobby(app: Shell): View {
  const s = app.settings;
  const error = h("div", { class: "error-line", testid: "lobby-error", attrs: { role: "alert" } });
  const nickname = h("input", {
    class: "input",
    testid: "nickname",
    attrs: { maxlength: 32, autocomplete: "off", value: s.nickname },
  });
  txAttr(nickname, "placeholder", "lobby.nicknamePlaceholder");

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

  const rooms = roomLister(app, error, (room) => {
    if (needName())
      app.showPrejoin({ target: joinTarget(room), label: room.roomName || room.roomId });
  });
  const server = serverCard(app, rooms);
  const newRoom = newRoomCard(app, needName, error, server);
  nickname.addEventListener("change", () => void app.update({ nickname: nickname.value.trim() }));
  nickname.addEventListener("input", () => {
    const name = nickname.value.trim();
    txAttr(newRoom.roomName, "placeholder", "lobby.roomNameDefault", {
      name: name || DEFAULT_ROOM_OWNER,
    });
  });
  const refresh = h(
    "button",
    { class: "icon-button", testid: "refresh-rooms", on: { click: () => void rooms.load() } },
    icon(ICONS.refresh),
  );
  nameIcon(refresh, "lobby.refresh");

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
        server.card,
        newRoom.card,
      ),
      h(
        "section",
        { class: "card rooms" },
        h("div", { class: "card-head" }, tx(h("h2"), "lobby.rooms"), refresh),
        rooms.element,
      ),
    ),
  );

  server.start();
  if (!s.nickname) setTimeout(() => nickname.focus(), 0);
  return { element, dispose: () => rooms.dispose() };
}
