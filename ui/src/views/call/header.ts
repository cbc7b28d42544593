// The call's header: whether our stream is up, the room's name and id, the invite to copy (with
// the offer to open a loopback-only server to the network), recording, and back to the grid.

import type { CallInfo } from "../../api";
import { clear, h } from "../../dom";
import { tx } from "../../i18n";
import { buildInvite, buildInviteLink, inviteServer, loopbackOnly } from "../../invite";
import type { RoomChoice, Shell } from "../../shell";

/** How long a copy button says "Copied". */
const COPIED_MS = 1500;

/** The call's header. */
export interface CallHeader {
  element: HTMLElement;
  /** Lit while our stream goes out. */
  linkDot: HTMLElement;
}

/** The header of the call `info` in `room`, with `extras` (recording, back to the grid) at its end. */
export function renderHeader(
  app: Shell,
  room: RoomChoice,
  info: CallInfo,
  ...extras: HTMLElement[]
): CallHeader {
  const roomIdText = h("code", { text: info.roomId, testid: "room-id" });
  const copy = tx(h("button", { class: "link", testid: "copy-invite" }), "call.copyInvite");
  const loopbackNote = h("div", {
    class: "note",
    testid: "loopback-only",
    attrs: { role: "status" },
  });
  loopbackNote.hidden = true;
  const copyLink = tx(h("button", { class: "link", testid: "copy-invite-link" }), "call.copyLink");
  copyLink.addEventListener("click", () => {
    const server = inviteServer(app);
    if (!server) return;
    if (loopbackOnly(app)) showLoopbackOffer(app, loopbackNote);
    void navigator.clipboard
      ?.writeText(buildInviteLink(server, info.roomId, room.target.roomKind))
      .then(() => {
        tx(copyLink, "call.copied");
        setTimeout(() => tx(copyLink, "call.copyLink"), COPIED_MS);
      });
  });
  copy.addEventListener("click", () => {
    const server = inviteServer(app);
    const text = server
      ? buildInvite(server, info.roomId, room.label, room.target.roomKind)
      : info.roomId;
    if (loopbackOnly(app)) showLoopbackOffer(app, loopbackNote);
    void navigator.clipboard?.writeText(text).then(() => {
      tx(copy, "call.copied");
      setTimeout(() => tx(copy, "call.copyInvite"), COPIED_MS);
    });
  });
  const linkDot = h("span", { class: "link-dot", testid: "publisher-state" });
  const element = h(
    "div",
    { class: "call-head" },
    linkDot,
    h("span", { class: "call-title", text: room.label, testid: "room-title" }),
    h(
      "span",
      { class: "muted" },
      tx(h("span"), "call.roomId"),
      " ",
      roomIdText,
      " ",
      copy,
      " ",
      copyLink,
    ),
    loopbackNote,
    ...extras,
  );
  return { element, linkDot };
}

// Reopening the room server to the network restarts it, which would end this call for its
// members; so the offer takes effect when the lobby starts hosting again.
function showLoopbackOffer(app: Shell, note: HTMLElement): void {
  clear(note);
  const open = tx(h("button", { class: "link", testid: "open-to-network" }), "call.openToNetwork");
  open.addEventListener("click", async () => {
    await app.update({ lan: true });
    clear(note);
    note.appendChild(tx(h("span"), "call.openedForNext"));
  });
  note.append(tx(h("span"), "call.loopbackOnly"), " ", open);
  note.hidden = false;
}
