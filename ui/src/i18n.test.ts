import { beforeEach, describe, expect, it } from "vitest";
import { dictionariesForTest, resolveLocale, retranslate, setLocale, t, tx, txAttr } from "./i18n";

describe("i18n", () => {
  beforeEach(() => setLocale("en"));

  it("follows a Chinese system locale unless overridden", () => {
    expect(resolveLocale("auto", "zh-CN")).toBe("zh-CN");
    expect(resolveLocale("auto", "zh_TW")).toBe("zh-CN");
    expect(resolveLocale("auto", "zh")).toBe("zh-CN");
    expect(resolveLocale("auto", "en-US")).toBe("en");
    expect(resolveLocale("auto", null)).toBe("en");
    expect(resolveLocale("en", "zh-CN")).toBe("en");
    expect(resolveLocale("zh-CN", "de-DE")).toBe("zh-CN");
  });

  it("fills placeholders and leaves unknown ones", () => {
    expect(t("toast.joined", { name: "Ann" })).toBe("Ann joined");
    setLocale("zh-CN");
    expect(t("toast.joined", { name: "小明" })).toBe("小明 加入了通话");
    expect(t("lobby.membersCount", { n: 2 })).toBe("2/{max} 人");
  });

  it("has every English text in Chinese, translated", () => {
    const en = dictionariesForTest.en;
    const zh = dictionariesForTest["zh-CN"];
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(zh[key].trim(), key).not.toBe("");
      // The same {placeholders} in both languages.
      const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(names(zh[key]), key).toEqual(names(en[key]));
    }
    const untranslated = (Object.keys(en) as (keyof typeof en)[]).filter((k) => zh[k] === en[k]);
    // Only the product name and version line read the same.
    expect(untranslated.sort()).toEqual([
      "app.name",
      "lobby.roomIdPlaceholder",
      "settings.version",
    ]);
  });

  it("re-translates marked elements in place", () => {
    const root = document.createElement("div");
    const label = tx(document.createElement("span"), "call.you", { name: "Ann" });
    const input = txAttr(document.createElement("input"), "placeholder", "call.chatPlaceholder");
    root.append(label, input);
    expect(label.textContent).toBe("Ann (you)");
    setLocale("zh-CN");
    retranslate(root);
    expect(label.textContent).toBe("Ann（我）");
    expect(input.placeholder).toBe("发消息给所有人");
    expect(document.documentElement.lang).toBe("zh-CN");
  });
});

describe("the Chinese UI", () => {
  // Names of things, not words: the app, protocols, systems, units, and the room ID's own shape.
  const NAMES = new Set(["Quartet", "RTMP", "API", "kbit", "macOS", "WebCodecs", "WebGL", "room"]);

  it("says everything in Chinese, names aside", () => {
    const english = Object.entries(dictionariesForTest["zh-CN"]).flatMap(([key, text]) =>
      (text.replace(/\{[a-zA-Z]+\}/g, "").match(/[A-Za-z][A-Za-z-]{2,}/g) ?? [])
        .filter((w) => !NAMES.has(w))
        .map((w) => `${key}: ${w}`),
    );
    expect(english).toEqual([]);
  });
});
