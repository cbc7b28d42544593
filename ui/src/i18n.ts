// Two languages, chosen from the system locale unless the user picks one in Settings.
// Elements made with `tx()` remember their key, so a language change re-translates the page
// in place without rebuilding it (a call's video keeps playing).

import { en, type Key } from "./i18n/en";
import { zhCN } from "./i18n/zh-CN";

export type Locale = "en" | "zh-CN";
export type LanguageSetting = "auto" | Locale;

export type { Key };

const dictionaries: Record<Locale, Record<Key, string>> = { en, "zh-CN": zhCN };

let current: Locale = "en";

/** The language to show: the override, else the system's when it is Chinese, else English. */
export function resolveLocale(
  setting: LanguageSetting | string | undefined,
  system: string | null | undefined,
): Locale {
  if (setting === "en" || setting === "zh-CN") return setting;
  const sys = (system ?? "").replace("_", "-").toLowerCase();
  return sys === "zh" || sys.startsWith("zh-") ? "zh-CN" : "en";
}

export function setLocale(locale: Locale): void {
  current = locale;
  if (typeof document !== "undefined") document.documentElement.lang = locale;
}

export function getLocale(): Locale {
  return current;
}

export type Vars = Record<string, string | number>;

/** The text of `key` in the current language, with `{name}` placeholders filled. */
export function t(key: Key, vars: Vars = {}): string {
  const template = dictionaries[current][key] ?? en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

export function isKey(key: string): key is Key {
  return key in en;
}

/** Sets `el`'s text to `key` and remembers it for re-translation. */
export function tx<E extends HTMLElement>(el: E, key: Key, vars: Vars = {}): E {
  el.dataset.i18n = key;
  el.dataset.i18nVars = JSON.stringify(vars);
  el.textContent = t(key, vars);
  return el;
}

/** Sets an attribute (placeholder, title, aria-label) to `key` and remembers it. */
export function txAttr<E extends HTMLElement>(
  el: E,
  attr: "placeholder" | "title" | "aria-label",
  key: Key,
  vars: Vars = {},
): E {
  el.dataset[`i18n${attr === "aria-label" ? "Aria" : attr[0].toUpperCase() + attr.slice(1)}`] = key;
  el.dataset.i18nVars = JSON.stringify(vars);
  el.setAttribute(attr, t(key, vars));
  return el;
}

/** Re-translates every remembered text under `root`. */
export function retranslate(root: ParentNode): void {
  root
    .querySelectorAll<HTMLElement>(
      "[data-i18n],[data-i18n-placeholder],[data-i18n-title],[data-i18n-aria]",
    )
    .forEach((el) => {
      const vars = JSON.parse(el.dataset.i18nVars ?? "{}") as Vars;
      const text = el.dataset.i18n;
      if (text && isKey(text)) el.textContent = t(text, vars);
      for (const [data, attr] of [
        ["i18nPlaceholder", "placeholder"],
        ["i18nTitle", "title"],
        ["i18nAria", "aria-label"],
      ] as const) {
        const k = el.dataset[data];
        if (k && isKey(k)) el.setAttribute(attr, t(k, vars));
      }
    });
}

export const dictionariesForTest = dictionaries;
