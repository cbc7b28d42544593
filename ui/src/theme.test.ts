/// <reference types="vite/client" />
// The stylesheet and the colours setting: a light palette for every dark one, taken when the
// system prefers light unless dark is chosen, or when light is chosen; readable text in both;
// the focus drawn; and the choice in Settings put on the page.

import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "./app";
import { setLocale } from "./i18n";
import { SettingsStore } from "./settings";
import css from "./styles.css?raw";
import { byTestId, MemoryStore, makeApp } from "./test-support";

/** The stylesheet's rules, as the page's parser reads them. */
function sheetRules(): CSSRule[] {
  const style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);
  const list = [...style.sheet!.cssRules];
  style.remove();
  return list;
}

/** The declarations of the stylesheet's top-level rules, by selector. */
function rules(): Map<string, CSSStyleDeclaration> {
  const out = new Map<string, CSSStyleDeclaration>();
  for (const rule of sheetRules()) {
    if (!(rule instanceof CSSStyleRule)) continue;
    for (const selector of rule.selectorText.split(",")) out.set(selector.trim(), rule.style);
  }
  return out;
}

/** The custom properties each rule of the stylesheet sets, by selector (inside a media rule: "@media … selector"). */
function palettes(): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  const read = (list: CSSRule[], prefix: string) => {
    for (const rule of list) {
      if (rule instanceof CSSMediaRule) read([...rule.cssRules], `@media ${rule.media.mediaText} `);
      if (!(rule instanceof CSSStyleRule)) continue;
      const vars = new Map<string, string>();
      for (let i = 0; i < rule.style.length; i++) {
        const name = rule.style[i];
        if (name.startsWith("--")) vars.set(name, rule.style.getPropertyValue(name).trim());
      }
      if (vars.size > 0) out.set(prefix + rule.selectorText, vars);
    }
  };
  read(sheetRules(), "");
  return out;
}

/** WCAG's contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const lum = (hex: string) => {
    const [r, g, bl] = [1, 3, 5]
      .map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

const DARK = ":root";
const LIGHT_CHOSEN = ':root[data-theme="light"]';
const LIGHT_SYSTEM = '@media (prefers-color-scheme: light) :root:not([data-theme="dark"])';

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
  delete document.documentElement.dataset.theme;
});

describe("the light palette", () => {
  it("sets every colour the dark one does, the same whether chosen or the system's", () => {
    const all = palettes();
    const dark = all.get(DARK)!;
    const chosen = all.get(LIGHT_CHOSEN)!;
    const system = all.get(LIGHT_SYSTEM)!;
    expect(dark.size).toBeGreaterThan(10);
    const colours = [...dark.keys()].filter((k) => dark.get(k)!.startsWith("#")).sort();
    expect([...chosen.keys()].sort()).toEqual(colours);
    expect([...system.entries()].sort()).toEqual([...chosen.entries()].sort());
  });

  it("keeps text readable in both (contrast, which the accessibility check cannot see in a test page)", () => {
    const all = palettes();
    for (const palette of [all.get(DARK)!, all.get(LIGHT_CHOSEN)!]) {
      const c = (name: string) => palette.get(name)!;
      // 4.5:1 for body text, as WCAG AA asks.
      for (const [fg, bg] of [
        ["--text", "--bg"],
        ["--text", "--panel"],
        ["--text", "--panel-2"],
        ["--muted", "--panel"],
        ["--accent-ink", "--accent"],
        ["--accent", "--panel"],
        ["--danger-ink", "--danger"],
      ]) {
        expect(
          contrast(c(fg), c(bg)),
          `${fg} on ${bg} (${c(fg)} on ${c(bg)})`,
        ).toBeGreaterThanOrEqual(4.5);
      }
    }
  });
});

describe("the focus", () => {
  it("is drawn, and a tile's buttons show when the keyboard reaches them, not only under the mouse", () => {
    const all = rules();
    expect(all.get(":focus-visible")?.getPropertyValue("outline")).toContain("solid");
    expect(all.get(".tile:hover .tile-actions")?.getPropertyValue("opacity")).toBe("1");
    expect(all.get(".tile:focus-within .tile-actions")?.getPropertyValue("opacity")).toBe("1");
  });
});

describe("the colours setting", () => {
  it("is the system's at first, so the page carries no theme of its own", async () => {
    await makeApp("Ann");
    expect(document.documentElement.dataset.theme).toBeUndefined();
  });

  it("is applied when the app starts with a stored choice", async () => {
    const store = new SettingsStore(new MemoryStore());
    await store.load();
    await store.update({ theme: "light" });
    new App(document.body.appendChild(document.createElement("div")), store, {
      version: "0.1.0",
      locale: "en-US",
      logDir: null,
      cameraPrivacySettings: false,
      screenPrivacySettings: false,
    });
    expect(document.documentElement.dataset.theme).toBe("light");
  });

  for (const [locale, label, options] of [
    ["en", "Colours", ["As the system", "Light", "Dark"]],
    ["zh-CN", "配色", ["跟随系统", "浅色", "深色"]],
  ] as const) {
    it(`is chosen in Settings, kept, and put on the page at once (${locale})`, async () => {
      setLocale(locale);
      mockIPC(() => null);
      const app = await makeApp("Ann");
      byTestId("open-settings")!.click();
      const select = byTestId("theme-select") as HTMLSelectElement;
      expect(select.closest("label")?.textContent).toContain(label);
      expect([...select.options].map((o) => o.textContent)).toEqual(options);
      expect(select.value).toBe("system");
      for (const [value, onPage] of [
        ["dark", "dark"],
        ["light", "light"],
        ["system", undefined],
      ] as const) {
        select.value = value;
        select.dispatchEvent(new Event("change"));
        await expect.poll(() => document.documentElement.dataset.theme).toBe(onPage);
        expect(app.settings.theme).toBe(value);
      }
    });
  }
});
