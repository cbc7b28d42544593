import { describe, expect, it } from "vitest";
import {
  ariaShortcut,
  isMac,
  isTyping,
  matchShortcut,
  modalOpen,
  shortcutLabel,
  spaceActivates,
} from "./shortcuts";

const key = (
  k: string,
  mods: { ctrl?: boolean; meta?: boolean; shift?: boolean; alt?: boolean } = {},
) => ({
  key: k,
  ctrlKey: !!mods.ctrl,
  metaKey: !!mods.meta,
  shiftKey: !!mods.shift,
  altKey: !!mods.alt,
});

describe("shortcuts", () => {
  it("are Ctrl elsewhere and Command on a Mac, never a bare letter", () => {
    expect(matchShortcut(key("d", { ctrl: true }), false)).toBe("mute");
    expect(matchShortcut(key("D", { meta: true }), true)).toBe("mute");
    expect(matchShortcut(key("d", { meta: true }), false)).toBeNull();
    expect(matchShortcut(key("d"), false)).toBeNull();
    expect(matchShortcut(key("e", { ctrl: true }), false)).toBe("camera");
    expect(matchShortcut(key("C", { ctrl: true, shift: true }), false)).toBe("chat");
    expect(matchShortcut(key("c", { ctrl: true }), false)).toBeNull();
    expect(matchShortcut(key("L", { meta: true, shift: true }), true)).toBe("leave");
    expect(matchShortcut(key("d", { ctrl: true, alt: true }), false)).toBeNull();
    // A Russian layout: the key's place is D's.
    expect(matchShortcut({ ...key("в", { ctrl: true }), code: "KeyD" }, false)).toBe("mute");
    expect(matchShortcut({ ...key("в", { ctrl: true }), code: "Digit1" }, false)).toBeNull();
    // A Latin letter counts as typed, wherever its key sits (Dvorak, AZERTY).
    expect(matchShortcut({ ...key("d", { ctrl: true }), code: "KeyQ" }, false)).toBe("mute");
  });

  it("are written as each system writes them", () => {
    expect(shortcutLabel("chat", false)).toBe("Ctrl+Shift+C");
    expect(shortcutLabel("mute", true)).toBe("⌘D");
    expect(ariaShortcut("leave", false)).toBe("Control+Shift+L");
    expect(isMac("MacIntel")).toBe(true);
    expect(isMac("Linux x86_64")).toBe(false);
  });

  it("leave text fields alone", () => {
    expect(isTyping(document.createElement("input"))).toBe(true);
    expect(isTyping(document.createElement("textarea"))).toBe(true);
    expect(isTyping(document.createElement("button"))).toBe(false);
    expect(isTyping(null)).toBe(false);
  });

  it("leave Space to what it presses", () => {
    const el = (tag: string, attrs: Record<string, string> = {}) => {
      const e = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      return e;
    };
    expect(spaceActivates(el("button"))).toBe(true);
    expect(spaceActivates(el("a", { href: "#" }))).toBe(true);
    expect(spaceActivates(el("div", { role: "button" }))).toBe(true);
    expect(spaceActivates(el("input", { type: "checkbox" }))).toBe(true);
    expect(spaceActivates(el("div"))).toBe(false);
    expect(spaceActivates(document.body)).toBe(false);
    expect(spaceActivates(el("a"))).toBe(false);
  });

  it("step aside for a modal dialog", () => {
    document.body.innerHTML = '<div role="dialog"></div>';
    expect(modalOpen()).toBe(false);
    document.body.innerHTML = '<div role="dialog" aria-modal="true"></div>';
    expect(modalOpen()).toBe(true);
    document.body.innerHTML = "";
  });
});
