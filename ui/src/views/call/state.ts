// One call's state: who is in it, our microphone and camera, the layout and the side pane. The
// call screen's parts all read this one object and change it through the updates here.

import type { CallInfo, Encoding, Member, TileState } from "../../api";
import { removeMember, upsertMember } from "../../model";
import { NO_SPOTLIGHT, type Spotlight } from "../../spotlight";

/** A side pane of the call. */
export type Panel = "chat" | "people" | "diagnostics";

/** What the call screen knows of the call. */
export interface CallState {
  /** Set once the screen is gone: timers stop and events are dropped. */
  disposed: boolean;
  /** Set once leaving began: a second leave does nothing. */
  leaving: boolean;
  members: Member[];
  micMuted: boolean;
  cameraEnabled: boolean;
  /** Whether a picture source is chosen at all (a camera, the screen, a test pattern). */
  hasCamera: boolean;
  /** Our own tile's state as the call last said it (null before the first figures). */
  ownReported: TileState | null;
  /** How the others' pictures reach the page. */
  encoding: Encoding;
  spotlight: Spotlight;
  /** The grid cell shown large, as the call was last told (null: two by two). */
  spotlitCell: number | null;
  /** The grid cell filling the stage (null: none). */
  full: number | null;
  /** The side pane open (null: none). */
  panel: Panel | null;
  /** Chat messages from others that came while the chat was closed. */
  unread: number;
  /** Whether each tile shows its figures. */
  statsOn: boolean;
  /** Whether the slow uplink was said (it is said once per call). */
  uplinkToldSlow: boolean;
}

/** The state a call starts in, as the call said when it was joined. */
export function newCallState(info: CallInfo): CallState {
  return {
    disposed: false,
    leaving: false,
    members: info.members,
    micMuted: info.micMuted,
    cameraEnabled: info.cameraEnabled,
    hasCamera: info.hasCamera,
    ownReported: null,
    encoding: "i420",
    spotlight: NO_SPOTLIGHT,
    spotlitCell: null,
    full: null,
    panel: null,
    unread: 0,
    statsOn: false,
    uplinkToldSlow: false,
  };
}

/** Whether our video goes out: the camera is on and there is something to show. */
export function videoOn(s: CallState): boolean {
  return s.cameraEnabled && s.hasCamera;
}

/** Opens the side pane `which`, or closes it if it is the one open; an opened chat is read. */
export function togglePanel(s: CallState, which: Panel): void {
  s.panel = s.panel === which ? null : which;
  if (s.panel === "chat") s.unread = 0;
}

/** Shows the tile `index` over the whole stage, or puts it back if it was. */
export function toggleFull(s: CallState, index: number): void {
  s.full = s.full === index ? null : index;
}

/** Takes a member who joined or changed; gives them as they were before (undefined if new). */
export function putMember(s: CallState, member: Member): Member | undefined {
  const before = s.members.find((m) => m.userId === member.userId);
  s.members = upsertMember(s.members, member);
  return before;
}

/** Takes a member who left. */
export function dropMember(s: CallState, userId: string): void {
  s.members = removeMember(s.members, userId);
}

/** Our camera was turned on or off; our tile waits for figures of the new state. */
export function cameraToggled(s: CallState): void {
  s.cameraEnabled = !s.cameraEnabled;
  s.ownReported = null;
}

/** Our picture source became `choice` (as the device picker names it). */
export function cameraSwitched(s: CallState, choice: string): void {
  s.hasCamera = choice !== "none";
  s.ownReported = null;
}

/** Takes our own tile's state and whether we have a camera from the figures; says if either changed. */
export function takeOwnFigures(
  s: CallState,
  ownState: TileState | undefined,
  hasCamera: boolean | undefined,
): boolean {
  if (
    (!ownState || ownState === s.ownReported) &&
    (hasCamera === undefined || hasCamera === s.hasCamera)
  )
    return false;
  s.ownReported = ownState ?? s.ownReported;
  s.hasCamera = hasCamera ?? s.hasCamera;
  return true;
}
