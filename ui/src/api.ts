// Typed wrappers over the app's commands. Every failure is an `AppError` with a stable `kind`.

import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type {
  AppInfo,
  AudioChoice,
  AudioProcessing,
  DeviceFellBack,
  DeviceProblem,
  Devices,
  Diagnostics,
  Encoding,
  HostInfo,
  InviteEvent,
  JoinRequest,
  LeaveMode,
  LeaveOptions,
  PreviewStatus,
  RoomSummary,
  ScreenSource,
  VideoChoice,
} from "./generated/app-wire";
import type { CallEvent, CallInfo, Stats } from "./generated/call-wire";
import { isKey, t } from "./i18n";

// What the commands take and give, generated from the app's Rust types.
export type {
  ApiCallEntry,
  AppInfo,
  AudioChoice,
  AudioDevice,
  AudioProcessing,
  Camera,
  ChannelEntry,
  DeviceFellBack,
  DeviceProblem,
  Devices,
  Diagnostics,
  Encoding,
  HostInfo,
  InviteEvent,
  JoinRequest,
  LeaveMode,
  LeaveOptions,
  OwnStream,
  PortMove,
  PreviewStatus,
  RoomKind,
  RoomSummary,
  ScreenSource,
  SendQuality,
  StreamAudio,
  StreamDetails,
  StreamVideo,
  Target,
  VideoChoice,
} from "./generated/app-wire";
// What the page hears of a call, generated from the Rust types the app sends.
export type {
  CallEvent,
  CallInfo,
  Link,
  Member,
  PublisherStats,
  Quality,
  RemoteStats,
  Stats,
  TileState,
} from "./generated/call-wire";

export interface AppError {
  kind: string;
  message: string;
}

export function isAppError(e: unknown): e is AppError {
  return (
    typeof e === "object" && e !== null && "kind" in e && typeof (e as AppError).kind === "string"
  );
}

/** What to tell a person about a failure, in the current language. */
export function errorText(e: unknown): string {
  if (isAppError(e)) {
    const key = `error.${e.kind}`;
    return isKey(key) ? t(key) : t("error.unknown");
  }
  return t("error.unknown");
}

/** The English detail of a failure, for tooltips and logs. */
export function errorDetail(e: unknown): string {
  if (isAppError(e)) return e.message;
  return e instanceof Error ? e.message : String(e);
}

export const api = {
  appInfo: () => invoke<AppInfo>("app_info"),
  openLogsFolder: () => invoke<void>("open_logs_folder"),
  revealSavedFile: (path: string) => invoke<void>("reveal_saved_file", { path }),
  openCameraPrivacySettings: () => invoke<void>("open_camera_privacy_settings"),
  openScreenPrivacySettings: () => invoke<void>("open_screen_privacy_settings"),
  hostStart: (lan: boolean) => invoke<HostInfo>("host_start", { lan }),
  hostStatus: () => invoke<HostInfo | null>("host_status"),
  hostStop: () => invoke<void>("host_stop"),
  listRooms: (server: string) => invoke<RoomSummary[]>("list_rooms", { server }),
  listDevices: () => invoke<Devices>("list_devices"),
  /** Plays a short chime on `speaker` (null: the system default); the problem when it cannot. */
  testSpeaker: (speaker: string | null) =>
    invoke<DeviceProblem | null>("test_speaker", { speaker }),
  previewStart: (nickname: string, video: VideoChoice, audio: AudioChoice) =>
    invoke<PreviewStatus>("preview_start", { nickname, video, audio }),
  previewLevel: () => invoke<number>("preview_level"),
  previewStop: () => invoke<void>("preview_stop"),
  callStart: (request: JoinRequest, onEvent: (e: CallEvent) => void) => {
    const events = new Channel<CallEvent>();
    events.onmessage = onEvent;
    return invoke<CallInfo>("call_start", { request, events });
  },
  callInfo: () => invoke<CallInfo>("call_info"),
  /** Leaves the call: as host, handing the room over (`leave`) or ending it for all (`end`). */
  callLeave: (mode: LeaveMode) => invoke<void>("call_leave", { mode }),
  callLeaveOptions: () => invoke<LeaveOptions>("call_leave_options"),
  /** Quits the app (after leaving the call as the user chose). */
  appQuit: () => invoke<void>("app_quit"),
  /** Calls `handler` when the window's close was held so the page can ask how to leave. */
  onCloseRequested: (handler: () => void) => listen("close-requested", handler),
  takeInvite: () => invoke<InviteEvent | null>("take_invite"),
  onDevicesChanged: (handler: (devices: Devices) => void) =>
    listen<Devices>("devices-changed", (e) => handler(e.payload)),
  onDeviceFellBack: (handler: (lost: DeviceFellBack) => void) =>
    listen<DeviceFellBack>("device-fell-back", (e) => handler(e.payload)),
  onInvite: (handler: (invite: InviteEvent) => void) =>
    listen<InviteEvent>("invite-link", (e) => handler(e.payload)),
  setMicMuted: (muted: boolean) => invoke<void>("call_set_mic_muted", { muted }),
  setCameraEnabled: (enabled: boolean) => invoke<void>("call_set_camera_enabled", { enabled }),
  setDataSaver: (enabled: boolean) => invoke<void>("call_set_data_saver", { enabled }),
  setAudioProcessing: (processing: AudioProcessing) =>
    invoke<void>("call_set_audio_processing", { processing }),
  micLevel: () => invoke<number>("call_mic_level"),
  switchCamera: (nickname: string, video: VideoChoice) =>
    invoke<void>("call_switch_camera", { nickname, video }),
  switchMicrophone: (audio: AudioChoice) => invoke<void>("call_switch_microphone", { audio }),
  switchSpeaker: (speaker: string | null) => invoke<void>("call_switch_speaker", { speaker }),
  sendText: (text: string) => invoke<void>("call_send_text", { text }),
  stats: () => invoke<Stats>("call_stats"),
  diagnostics: () => invoke<Diagnostics>("call_diagnostics"),
  /** Writes one zip for a bug report; its path. */
  exportDiagnostics: (settings: unknown) => invoke<string>("export_diagnostics", { settings }),
  demoAddMembers: (names: string[]) => invoke<number>("demo_add_members", { names }),
  snapshotGrid: () => invoke<string>("snapshot_grid"),
  /** Every screen and window that can be shared (screens first), each with its picture. */
  screenSources: () => invoke<ScreenSource[]>("screen_sources"),
  /** Starts recording the call as we see and hear it; the MP4's path. */
  recordStart: () => invoke<string>("call_record_start"),
  /** Finishes the recording; its path, or null when none was under way. */
  recordStop: () => invoke<string | null>("call_record_stop"),
  setLayout: (spotlight: number | null) => invoke<void>("call_set_layout", { spotlight }),
  snapshotTile: (member: string | null) => invoke<string>("snapshot_tile", { member }),
  /** Opens feed `feed` of `source`: `preview`, `self` or `member:<userId>`. */
  videoOpen: (feed: string, source: string, encoding: Encoding, channel: Channel<ArrayBuffer>) =>
    invoke<void>("video_open", { feed, source, encoding, channel }),
  /** Decodes member `userId`'s pictures at the size its tile is shown at (I420 feeds). */
  tileResize: (userId: string, width: number, height: number) =>
    invoke<void>("tile_resize", { userId, width, height }),
  videoAck: (feed: string, seq: number) => invoke<void>("video_ack", { feed, seq }),
  videoClose: (feed: string) => invoke<void>("video_close", { feed }),
};
