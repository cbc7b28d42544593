// The call's side panes: chat (messages and the box to write in) and the people in the call.

import { api, type Member } from "../api";
import type { Shell } from "../shell";
import { clear, h } from "../dom";
import { getLocale, tx, txAttr } from "../i18n";
import { avatarHue, initials, listedMembers } from "../model";

/** The chat pane. */
export interface ChatPane {
  element: HTMLElement;
  /** The box to write in (focused when the pane opens). */
  input: HTMLInputElement;
  /** Shows a message; says whether it was ours. */
  add(userId: string, name: string, text: string, time: number): boolean;
}

/** Chat for the member `selfId`: what is said, read out as it comes, and a box that sends. */
export function renderChat(app: Shell, selfId: string): ChatPane {
  const messages = h("div", { class: "messages", testid: "chat-messages", attrs: { role: "log" } }, tx(h("div", { class: "empty" }), "call.noMessages"));
  txAttr(messages, "aria-label", "call.chat");
  const input = h("input", { class: "input", testid: "chat-input", attrs: { maxlength: 500, autocomplete: "off" } });
  txAttr(input, "placeholder", "call.chatPlaceholder");
  // A placeholder goes once something is typed: the box keeps its name.
  txAttr(input, "aria-label", "call.chatPlaceholder");
  const send = tx(h("button", { class: "button primary", testid: "chat-send" }), "call.send");
  const form = h("form", { class: "row compose" }, input, send);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    send.disabled = true;
    try {
      await api.sendText(text);
      input.value = "";
    } catch (err) {
      app.fail(err);
    } finally {
      send.disabled = false;
      input.focus();
    }
  });
  const add = (userId: string, name: string, text: string, time: number): boolean => {
    messages.querySelector(".empty")?.remove();
    const when = new Date(time || Date.now()).toLocaleTimeString(getLocale(), { hour: "2-digit", minute: "2-digit" });
    const mine = userId === selfId;
    messages.appendChild(
      h(
        "div",
        { class: mine ? "chat-message mine" : "chat-message", testid: "chat-message" },
        h("div", { class: "chat-meta" }, h("b", { text: name }), h("span", { class: "muted", text: when })),
        h("div", { class: "chat-text", text }),
      ),
    );
    messages.scrollTop = messages.scrollHeight;
    return mine;
  };
  return { element: h("div", { class: "pane chat" }, messages, form), input, add };
}

/** Lists `members` in `list`: initials, name, whether the room list shows them, the host's tag. */
export function renderPeople(list: HTMLElement, members: Member[]): void {
  clear(list);
  const listed = new Set(listedMembers(members).map((m) => m.userId));
  for (const m of members) {
    const avatar = h("span", { class: "avatar small", text: initials(m.userName), attrs: { "aria-hidden": "true" } });
    avatar.style.background = `hsl(${avatarHue(m.userId)} 45% 42%)`;
    list.appendChild(
      h(
        "div",
        { class: "person", attrs: { role: "listitem" } },
        avatar,
        h(
          "div",
          { class: "person-main" },
          m.isSelf ? tx(h("div"), "call.you", { name: m.userName }) : h("div", { text: m.userName }),
          listed.has(m.userId) ? tx(h("div", { class: "muted small" }), "call.listed") : null,
        ),
        m.isCreator ? tx(h("span", { class: "tag" }), "call.host") : null,
      ),
    );
  }
}
