// The lobby's room list: the rooms of the server in use, each with its Join button.

import { api, errorDetail, errorText, type RoomKind, type RoomSummary } from "../../api";
import { clear, h } from "../../dom";
import { tx } from "../../i18n";
import type { Shell } from "../../shell";

/** How often the room list refreshes itself while the lobby is shown. */
export const ROOM_REFRESH_MS = 3000;
/** The label key of each room kind in the room list. */
export const KIND_LABEL = {
  multi_room: "lobby.kind.multi_room",
  double_room: "lobby.kind.double_room",
  live_room: "lobby.kind.live_room",
} as const satisfies Record<RoomKind, string>;

/** The room list, refreshing itself every [`ROOM_REFRESH_MS`] until disposed. */
export interface RoomLister {
  element: HTMLElement;
  /** Loads the list now (and schedules the next refresh). */
  load(): Promise<void>;
  clear(): void;
  dispose(): void;
}

/** The room list of the server in use; a successful load clears `error`. */
export function roomLister(
  app: Shell,
  error: HTMLElement,
  onJoin: (room: RoomSummary) => void,
): RoomLister {
  let disposed = false;
  let refreshTimer: number | undefined;
  const roomList = h("div", { class: "room-list", testid: "room-list" });

  async function load(): Promise<void> {
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
      show(rooms);
      error.textContent = "";
    } catch (e) {
      if (disposed) return;
      clear(roomList);
      roomList.appendChild(
        h("div", { class: "empty error", text: errorText(e), title: errorDetail(e) }),
      );
    }
    if (!disposed) refreshTimer = window.setTimeout(() => void load(), ROOM_REFRESH_MS);
  }

  function show(rooms: RoomSummary[]): void {
    clear(roomList);
    if (rooms.length === 0) {
      roomList.appendChild(tx(h("div", { class: "empty" }), "lobby.noRooms"));
      return;
    }
    for (const room of rooms) roomList.appendChild(roomRow(room, () => onJoin(room)));
  }

  return {
    element: roomList,
    load,
    clear: () => clear(roomList),
    dispose() {
      disposed = true;
      window.clearTimeout(refreshTimer);
    },
  };
}

/** One room in the list: its name and kind, who made it, how full it is, and its Join button. */
function roomRow(room: RoomSummary, onJoin: () => void): HTMLElement {
  const full = room.members >= room.maxMembers;
  const join = tx(
    h("button", { class: "button", attrs: { disabled: full }, testid: "join-room" }),
    full ? "lobby.full" : "lobby.join",
  );
  join.addEventListener("click", onJoin);
  const dots = h("span", { class: "dots" });
  for (let i = 0; i < room.maxMembers; i++)
    dots.appendChild(h("i", { class: i < room.members ? "on" : "" }));
  return h(
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
  );
}
