// Settings persisted with the store plugin, plus the device choices as the selects name them.

import { LazyStore } from "@tauri-apps/plugin-store";
import type { AudioChoice, AudioProcessing, SendQuality, VideoChoice } from "./api";
import type { LanguageSetting } from "./i18n";

export type VideoPath = "auto" | "webcodecs" | "webgl";
/** The page's colours: as the system says, or always light or dark. */
export type Theme = "system" | "light" | "dark";
/** What leaving a call we host does: ask each time, hand the room over, or end it for all. */
export type HostLeave = "ask" | "leave" | "end";

export interface Settings {
  nickname: string;
  mode: "host" | "remote";
  lan: boolean;
  serverUrl: string;
  language: LanguageSetting;
  /** `camera:<id>`, `camera:` (first camera), `synthetic` or `none`. */
  camera: string;
  /** `mic:<name>`, `mic:` (default), `tone` or `none`. */
  microphone: string;
  /** A speaker's name, or "" for the default. */
  speaker: string;
  joinMuted: boolean;
  cameraOff: boolean;
  videoPath: VideoPath;
  /** Play the others' small streams only (saves the downlink). */
  dataSaver: boolean;
  /** Remove the others' voices that the microphone hears from our speaker. */
  echoCancellation: boolean;
  /** Remove fans, keyboards and chatter around us. */
  noiseSuppression: boolean;
  /** Even out our voice's level. */
  gainControl: boolean;
  /** Leaving a call we host: ask, or what the user told us once with "Don't ask again". */
  hostLeave: HostLeave;
  /** The picture we send (HD needs a good uplink; the call steps down on a narrow one). */
  sendQuality: SendQuality;
  /** Light or dark colours, or the system's. */
  theme: Theme;
}

/** Shows the page in `theme`'s colours (the stylesheet follows the system unless told). */
export function applyTheme(theme: Theme, root: HTMLElement = document.documentElement): void {
  if (theme === "system") delete root.dataset.theme;
  else root.dataset.theme = theme;
}

export const DEFAULTS: Settings = {
  nickname: "",
  mode: "host",
  lan: false,
  serverUrl: "",
  language: "auto",
  camera: "camera:",
  microphone: "mic:",
  speaker: "",
  joinMuted: false,
  cameraOff: false,
  videoPath: "auto",
  dataSaver: false,
  echoCancellation: true,
  noiseSuppression: true,
  gainControl: true,
  hostLeave: "ask",
  sendQuality: "360p15",
  theme: "system",
};

/** The microphone cleaning switches of `s`, as the app takes them. */
export function audioProcessing(s: Settings): AudioProcessing {
  return {
    echoCancellation: s.echoCancellation,
    noiseSuppression: s.noiseSuppression,
    gainControl: s.gainControl,
  };
}

const KEY = "settings";

/** Keeps only known keys of the right type, so a damaged file falls back to defaults. */
export function sanitize(raw: unknown): Settings {
  const out: Settings = { ...DEFAULTS };
  if (typeof raw !== "object" || raw === null) return out;
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(DEFAULTS) as (keyof Settings)[]) {
    if (typeof r[key] === typeof DEFAULTS[key])
      (out as unknown as Record<string, unknown>)[key] = r[key];
  }
  if (out.mode !== "host" && out.mode !== "remote") out.mode = DEFAULTS.mode;
  if (!["auto", "en", "zh-CN"].includes(out.language)) out.language = DEFAULTS.language;
  if (!["auto", "webcodecs", "webgl"].includes(out.videoPath)) out.videoPath = DEFAULTS.videoPath;
  if (!["ask", "leave", "end"].includes(out.hostLeave)) out.hostLeave = DEFAULTS.hostLeave;
  if (!["360p15", "540p30", "720p15", "720p30"].includes(out.sendQuality))
    out.sendQuality = DEFAULTS.sendQuality;
  if (!["system", "light", "dark"].includes(out.theme)) out.theme = DEFAULTS.theme;
  return out;
}

export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  save(): Promise<void>;
}

export class SettingsStore {
  private value: Settings = { ...DEFAULTS };

  constructor(private readonly store: KeyValueStore = new LazyStore("settings.json")) {}

  async load(): Promise<Settings> {
    try {
      this.value = sanitize(await this.store.get<unknown>(KEY));
    } catch {
      this.value = { ...DEFAULTS };
    }
    return this.get();
  }

  get(): Settings {
    return { ...this.value };
  }

  async update(patch: Partial<Settings>): Promise<Settings> {
    this.value = sanitize({ ...this.value, ...patch });
    await this.store.set(KEY, this.value);
    await this.store.save();
    return this.get();
  }
}

export function videoChoice(key: string): VideoChoice {
  if (key === "synthetic") return { kind: "synthetic" };
  if (key === "screen") return { kind: "screen" };
  if (key.startsWith("camera:")) return { kind: "camera", id: key.slice(7) || null };
  return { kind: "none" };
}

/**
 * Whether our own picture from `camera` (a setting's value) is shown mirrored: a real camera is,
 * as a mirror is what people expect of themselves; a test pattern is not, or its text would read
 * backwards.
 */
export function mirrorsSelfView(camera: string): boolean {
  return videoChoice(camera).kind === "camera";
}

export function audioChoice(key: string): AudioChoice {
  if (key === "tone") return { kind: "tone" };
  if (key.startsWith("mic:")) return { kind: "microphone", name: key.slice(4) || null };
  return { kind: "none" };
}
