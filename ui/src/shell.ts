// What a view may ask of the app's frame. The views take it as an argument, so they never import
// the app that shows them.

import type { AppInfo, CallInfo, HostInfo, Target } from "./api";
import type { CallBus } from "./call-bus";
import type { Settings } from "./settings";

/** A screen the app shows: its element, and what to let go when it is replaced. */
export interface View {
  element: HTMLElement;
  dispose(): void;
}

/** The room someone chose to enter, and how to name it. */
export interface RoomChoice {
  target: Target;
  /** The room's name, for headings. */
  label: string;
}

/** The app as the views see it: settings, the hosted server, and moving between screens. */
export interface Shell {
  readonly info: AppInfo;
  readonly host: HostInfo | null;
  readonly settings: Settings;
  /** Saves a change of settings; gives the settings after it. */
  update(patch: Partial<Settings>): Promise<Settings>;
  /** The room server in use: the hosted one or the one typed in. */
  serverUrl(): string | null;
  /** Starts hosting (or keeps hosting) and says where. */
  ensureHost(): Promise<HostInfo>;
  showLobby(): void;
  showPrejoin(room: RoomChoice): void;
  showCall(room: RoomChoice, call: CallInfo, events: CallBus): void;
  /** Tells the user what went wrong. */
  fail(e: unknown): void;
}
