import { describe, expect, it } from "vitest";
import {
  audioChoice,
  DEFAULTS,
  mirrorsSelfView,
  SettingsStore,
  sanitize,
  videoChoice,
} from "./settings";
import { MemoryStore } from "./test-support";

describe("settings", () => {
  it("falls back to defaults for missing or damaged values", () => {
    expect(sanitize(undefined)).toEqual(DEFAULTS);
    expect(sanitize("junk")).toEqual(DEFAULTS);
    const s = sanitize({
      nickname: "Ann",
      lan: "yes",
      mode: "cloud",
      language: "fr",
      videoPath: "webgl",
      extra: 1,
    });
    expect(s.nickname).toBe("Ann");
    expect(s.lan).toBe(false);
    expect(s.mode).toBe("host");
    expect(s.language).toBe("auto");
    expect(s.videoPath).toBe("webgl");
    expect("extra" in s).toBe(false);
  });

  it("persists updates through the store", async () => {
    const memory = new MemoryStore();
    const store = new SettingsStore(memory);
    expect(await store.load()).toEqual(DEFAULTS);
    await store.update({ nickname: "Ben", language: "zh-CN" });
    expect(memory.saved).toBe(1);
    const again = new SettingsStore(memory);
    const loaded = await again.load();
    expect(loaded.nickname).toBe("Ben");
    expect(loaded.language).toBe("zh-CN");
  });

  it("turns select values into device choices", () => {
    expect(videoChoice("camera:/dev/video0")).toEqual({ kind: "camera", id: "/dev/video0" });
    expect(videoChoice("camera:")).toEqual({ kind: "camera", id: null });
    expect(videoChoice("synthetic")).toEqual({ kind: "synthetic" });
    expect(videoChoice("none")).toEqual({ kind: "none" });
    expect(audioChoice("mic:USB Mic")).toEqual({ kind: "microphone", name: "USB Mic" });
    expect(audioChoice("mic:")).toEqual({ kind: "microphone", name: null });
    expect(audioChoice("tone")).toEqual({ kind: "tone" });
    expect(audioChoice("whatever")).toEqual({ kind: "none" });
  });

  it("mirrors our own picture from a real camera, not from the test pattern", () => {
    expect(mirrorsSelfView("camera:/dev/video0")).toBe(true);
    expect(mirrorsSelfView("camera:")).toBe(true);
    expect(mirrorsSelfView("synthetic")).toBe(false);
    expect(mirrorsSelfView("none")).toBe(false);
  });
});

describe("the colours", () => {
  it("follow the system unless light or dark is chosen, and a stored nonsense is the system's", async () => {
    // The page's own element takes the setting when it is chosen (see app.ts).
    const { applyTheme } = await import("./settings");
    const root = document.createElement("html");
    applyTheme("light", root);
    expect(root.dataset.theme).toBe("light");
    applyTheme("system", root);
    expect(root.dataset.theme).toBeUndefined();
    expect(sanitize({ theme: "neon" }).theme).toBe("system");
    expect(sanitize({ theme: "dark" }).theme).toBe("dark");
  });
});
