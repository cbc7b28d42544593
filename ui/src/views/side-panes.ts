// The call's side panes: chat (messages and the box to write in), the people in the call, and
// the tester's diagnostics; one open at a time, beside the grid.

import { api, type Member } from "../api";
import { clear, h } from "../dom";
import { getLocale, tx, txAttr } from "../i18n";
import { avatarHue, initials, listedMembers } from "../model";
import { chatNotice } from "../notices";
import type { Shell } from "../shell";
import { toast } from "../toast";
import { type CallState, type Panel, togglePanel } from "./call/state";
import { renderDiagnostics } from "./diagnostics";

/** The controls that open the panes: they show which is open and how many messages are unread. */
export interface PaneButtons {
  showPanel(): void;
  showUnread(): void;
}

/** The side panel: one pane at a time, or none. */
export interface SidePanel {
  element: HTMLElement;
  /** Opens the pane `which`, or closes it if it is the one open. */
  toggle(which: Panel): void;
  /** Shows a chat message; one from another while the chat is closed is counted and told. */
  addMessage(userId: string, name: string, text: string, time: number): void;
  /** Lists the call's members in the people pane. */
  showPeople(): void;
  dispose(): void;
}

/** The side panel of the call `state`, for the member `selfId`. */
export function renderSidePanel(
  app: Shell,
  state: CallState,
  selfId: string,
  buttons: PaneButtons,
): SidePanel {
  const chat = renderChat(app, selfId);
  const peopleList = h("div", { class: "people", testid: "people", attrs: { role: "list" } });
  const peoplePane = h("div", { class: "pane" }, peopleList);
  const diagnostics = renderDiagnostics(app);
  const element = h(
    "aside",
    { class: "side", attrs: { hidden: true } },
    chat.element,
    peoplePane,
    diagnostics.element,
  );
  const toggle = (which: Panel): void => {
    togglePanel(state, which);
    element.hidden = state.panel === null;
    chat.element.hidden = state.panel !== "chat";
    peoplePane.hidden = state.panel !== "people";
    diagnostics.element.hidden = state.panel !== "diagnostics";
    element.classList.toggle("wide", state.panel === "diagnostics");
    diagnostics.show(state.panel === "diagnostics");
    buttons.showPanel();
    if (state.panel === "chat") {
      buttons.showUnread();
      chat.input.focus();
    }
  };
  const addMessage = (userId: string, name: string, text: string, time: number): void => {
    const mine = chat.add(userId, name, text, time);
    if (state.panel === "chat" || mine) return;
    state.unread++;
    buttons.showUnread();
    toast(chatNotice(name, text), "info", undefined, {
      action: { key: "call.openChat", run: () => state.panel !== "chat" && toggle("chat") },
    });
  };
  return {
    element,
    toggle,
    addMessage,
    showPeople: () => renderPeople(peopleList, state.members),
    dispose: () => diagnostics.dispose(),
  };
}

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
  const messages = h(
    "div",
    { class: "messages", testid: "chat-messages", attrs: { role: "log" } },
    tx(h("div", { class: "empty" }), "call.noMessages"),
  );
  txAttr(messages, "aria-label", "call.chat");
  const input = h("input", {
    class: "input",
    testid: "chat-input",
    attrs: { maxlength: 500, autocomplete: "off" },
  });
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
    const when = new Date(time || Date.now()).toLocaleTimeString(getLocale(), {
      hour: "2-digit",
      minute: "2-digit",
    });
    const mine = userId === selfId;
    messages.appendChild(
      h(
        "div",
        { class: mine ? "chat-message mine" : "chat-message", testid: "chat-message" },
        h(
          "div",
          { class: "chat-meta" },
          h("b", { text: name }),
          h("span", { class: "muted", text: when }),
        ),
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
    const avatar = h("span", {
      class: "avatar small",
      text: initials(m.userName),
      attrs: { "aria-hidden": "true" },
    });
    avatar.style.background = `hsl(${avatarHue(m.userId)} 45% 42%)`;
    list.appendChild(
      h(
        "div",
        { class: "person", attrs: { role: "listitem" } },
        avatar,
        h(
          "div",
          { class: "person-main" },
          m.isSelf
            ? tx(h("div"), "call.you", { name: m.userName })
            : h("div", { text: m.userName }),
          listed.has(m.userId) ? tx(h("div", { class: "muted small" }), "call.listed") : null,
        ),
        m.isCreator ? tx(h("span", { class: "tag" }), "call.host") : null,
      ),
    );
  }
}
