// What the page's tests share: settings kept in memory, a fresh app on an empty page, and
// elements by their test id.

import type { AppInfo, CallInfo, Member } from "./api";
import { App } from "./app";
import { type KeyValueStore, SettingsStore } from "./settings";

/** Settings kept in memory; counts saves. */
export class MemoryStore implements KeyValueStore {
  data = new Map<string, unknown>();
  saved = 0;
  async get<T>(key: string): Promise<T | undefined> {
    return this.data.get(key) as T | undefined;
  }
  async set(key: string, value: unknown): Promise<void> {
    this.data.set(key, value);
  }
  async save(): Promise<void> {
    this.saved++;
  }
}

/** An app on an empty page, with `nickname` set and `info` over version 0.1.0 in en-US. */
export async function makeApp(nickname = "", info: Partial<AppInfo> = {}): Promise<App> {
  const store = new SettingsStore(new MemoryStore());
  await store.load();
  await store.update({ nickname });
  document.body.innerHTML = "";
  const root = document.createElement("div");
  document.body.appendChild(root);
  return new App(root, store, {
    version: "0.1.0",
    locale: "en-US",
    logDir: null,
    cameraPrivacySettings: false,
    screenPrivacySettings: false,
    ...info,
  });
}

/** The element with `data-testid="id"`. */
export const byTestId = (id: string) =>
  document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

/** Ben Lee, another member, shown in the first remote tile. */
export const BEN: Member = {
  userId: "u2",
  userName: "Ben Lee",
  isCreator: false,
  isSelf: false,
  tile: 0,
  sharingScreen: false,
};

/** A call with only us in it: room_9, Ann, mic on, camera on. */
export const SOLO_CALL: CallInfo = {
  roomId: "room_9",
  userId: "me",
  members: [
    {
      userId: "me",
      userName: "Ann",
      isCreator: true,
      isSelf: true,
      tile: null,
      sharingScreen: false,
    },
  ],
  micMuted: false,
  cameraEnabled: true,
  hasCamera: true,
};
