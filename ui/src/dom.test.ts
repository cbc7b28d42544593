import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { h, holdDialog } from "./dom";
import { setLocale } from "./i18n";
import { byTestId, makeApp } from "./test-support";
import { askHowToLeave } from "./views/leave";

const tab = (shiftKey = false) =>
  document.dispatchEvent(
    new KeyboardEvent("keydown", { key: "Tab", shiftKey, bubbles: true, cancelable: true }),
  );
const pressEscape = () =>
  document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("a dialog", () => {
  it("keeps Tab inside, skips what cannot take the focus, and gives the focus back", () => {
    const opener = h("button", { text: "open" });
    const first = h("button", { text: "first" });
    const off = h("button", { text: "off", attrs: { disabled: true } });
    const hidden = h("div", { attrs: { hidden: true } }, h("button", { text: "hidden" }));
    const last = h("input");
    const dialog = h(
      "div",
      { attrs: { role: "dialog" } },
      h("h2", { text: "Title" }),
      first,
      off,
      hidden,
      last,
    );
    document.body.append(opener, dialog);
    opener.focus();
    const release = holdDialog(dialog);
    expect(document.getElementById(dialog.getAttribute("aria-labelledby")!)?.textContent).toBe(
      "Title",
    );
    // From outside, Tab goes in.
    tab();
    expect(document.activeElement).toBe(first);
    last.focus();
    tab();
    expect(document.activeElement).toBe(first);
    tab(true);
    expect(document.activeElement).toBe(last);
    release();
    expect(document.activeElement).toBe(opener);
    // Released, Tab is the browser's again.
    last.focus();
    tab();
    expect(document.activeElement).toBe(last);
  });

  it("the leave question: focus on its answer, Tab around its buttons, back to where it was on Escape", async () => {
    const opener = h("button", { text: "Leave" });
    document.body.append(opener);
    opener.focus();
    const answer = askHowToLeave({
      isHost: true,
      canHandOver: true,
      heirName: "Ben",
      others: 1,
      worthAsking: true,
    });
    expect(document.activeElement).toBe(byTestId("leave-hand-over"));
    byTestId("leave-end")!.focus();
    tab();
    expect(document.activeElement).toBe(byTestId("leave-remember"));
    pressEscape();
    expect(await answer).toBeNull();
    expect(document.activeElement).toBe(opener);
  });

  it("the settings: focus on the first setting, back on the settings button when closed", async () => {
    setLocale("en");
    mockIPC(() => null);
    await makeApp("Ann");
    const gear = byTestId("open-settings")!;
    gear.focus();
    gear.click();
    const dialog = byTestId("settings")!;
    expect(dialog.contains(document.activeElement)).toBe(true);
    expect(document.activeElement?.tagName).toBe("SELECT");
    pressEscape();
    expect(byTestId("settings")).toBeNull();
    expect(document.activeElement).toBe(gear);
  });
});
