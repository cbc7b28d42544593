// A call invite as plain text: the server's address and the room's ID, which is all another
// Quartet (or a v1 client) needs to join. Pasted into the lobby's "room ID" field it is read back.

import type { RoomKind } from "./api";
import { t } from "./i18n";
import type { Shell } from "./shell";

export interface Invite {
  server: string;
  roomId: string;
  kind?: RoomKind;
}

/** The link that opens the app at this room's pre-join (`quartet://join?…`, read by the app and `quartet join --link`). */
export function buildInviteLink(server: string, roomId: string, kind?: RoomKind): string {
  const params = new URLSearchParams({ server, room: roomId });
  if (kind) params.set("kind", kind);
  return `quartet://join?${params.toString()}`;
}

/** The invite text for `roomId` on `server`, in the current language, ending with the link. */
export function buildInvite(
  server: string,
  roomId: string,
  roomName: string,
  kind?: RoomKind,
): string {
  return [
    t("invite.title", { room: roomName }),
    `${t("invite.server")}: ${server}`,
    `${t("invite.room")}: ${roomId}`,
    `${t("invite.link")}: ${buildInviteLink(server, roomId, kind)}`,
  ].join("\n");
}

/** The server and room of an invite (or of a `quartet://join?server=…&room=…` link); null when `text` is neither. */
export function parseInvite(text: string): Invite | null {
  const link = text.match(/quartet:\/\/join\?\S+/i);
  if (link) {
    const params = new URLSearchParams(link[0].slice(link[0].indexOf("?") + 1));
    const server = params.get("server");
    const roomId = params.get("room");
    return server && roomId ? { server: server.replace(/\/+$/, ""), roomId } : null;
  }
  // A text field drops the line breaks of a pasted invite, so neither part may rely on them: the
  // address ends where its port (or path) does, and the room is the value after the last label.
  const url = text.match(/https?:\/\/(?:\[[^\]\s]+\]|[A-Za-z0-9.-]+)(?::\d+)?(?:\/[^\s]*)?/);
  const room = text.match(/[:：]\s*([^\s:：]+)\s*$/);
  if (!url || url.index === undefined || !room || room.index === undefined) return null;
  if (room.index < url.index + url[0].length) return null;
  return { server: url[0].replace(/\/+$/, ""), roomId: room[1] };
}

/** The address others use to reach the server this app is in: the shared one when hosting. */
export function inviteServer(app: Shell): string | null {
  if (app.settings.mode === "host") return app.host?.shareUrl ?? null;
  const typed = app.settings.serverUrl.trim().replace(/\/+$/, "");
  if (!typed) return null;
  // As the app reads a typed address: `host:port` means http.
  return typed.includes("://") ? typed : `http://${typed}`;
}

/** Whether others cannot reach the call: hosted here, for this computer alone. */
export function loopbackOnly(app: Shell): boolean {
  return app.settings.mode === "host" && !!app.host && !app.host.lan;
}
