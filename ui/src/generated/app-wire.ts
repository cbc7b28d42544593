// Generated from the app's command types (src-tauri/src/typescript.rs) by its typescript test: do not edit.
// QUARTET_WRITE_TYPES=1 cargo test -p quartet-app typescript writes it anew.

/** The room kinds of v1, each under its own path on the server (quartet_proto::RoomKind). */
export type RoomKind = "multi_room" | "double_room" | "live_room";

/** The picture we send, as the app names them (quartet_call::SendQuality). */
export type SendQuality = "360p15" | "540p30" | "720p15" | "720p30";

export type AppInfo = { 
/**
 * The app's version.
 */
version: string, 
/**
 * The system's locale (BCP 47), if known.
 */
locale: string | null, 
/**
 * Where logs are written.
 */
logDir: string | null, 
/**
 * Whether [`open_camera_privacy_settings`] has a page to open on this system.
 */
cameraPrivacySettings: boolean, 
/**
 * Whether sharing the screen needs the person's permission in the system's settings
 * (macOS), which `open_screen_privacy_settings` opens.
 */
screenPrivacySettings: boolean, };

export type HostInfo = { 
/**
 * The room server as this app reaches it.
 */
url: string, 
/**
 * Whether others on the LAN can join.
 */
lan: boolean, 
/**
 * The address others should enter (the LAN address in LAN mode, else `url`).
 */
shareUrl: string, 
/**
 * The RTMP base members' streams use.
 */
rtmpBase: string, 
/**
 * The preferred ports that were taken, and the ones used instead.
 */
movedPorts: Array<PortMove>, };

export type PortMove = { 
/**
 * `http` (the room server, the port people type) or `rtmp` (the relay).
 */
service: "http" | "rtmp", 
/**
 * The preferred port, taken.
 */
wanted: number, 
/**
 * The port used.
 */
used: number, };

export type RoomSummary = { 
/**
 * The room's ID.
 */
roomId: string, 
/**
 * Its display name.
 */
roomName: string, 
/**
 * The creator's nickname, when the creator is still listed.
 */
creatorName: string | null, 
/**
 * Members now.
 */
members: number, 
/**
 * Its capacity, when the server says (ext).
 */
maxMembers: number, 
/**
 * The kind it is listed under (and must be joined as).
 */
kind: RoomKind, };

export type Camera = { 
/**
 * What to ask for.
 */
id: string, 
/**
 * What to show.
 */
name: string, };

export type AudioDevice = { 
/**
 * Its name.
 */
name: string, 
/**
 * The system's default.
 */
isDefault: boolean, };

export type Devices = { 
/**
 * Cameras.
 */
cameras: Array<Camera>, 
/**
 * Microphones.
 */
microphones: Array<AudioDevice>, 
/**
 * Speakers.
 */
speakers: Array<AudioDevice>, };

export type DeviceFellBack = { 
/**
 * `camera`, `microphone` or `speaker`.
 */
kind: "camera" | "microphone" | "speaker", 
/**
 * The device that went away.
 */
lost: string, };

export type DeviceProblem = { 
/**
 * `camera`, `microphone` or `speaker`.
 */
device: "camera" | "microphone" | "speaker", 
/**
 * `noDevice`, `notFound`, `permissionDenied`, `unavailable` or `failed`.
 */
reason: "noDevice" | "notFound" | "permissionDenied" | "unavailable" | "failed", 
/**
 * The system's words.
 */
message: string, };

export type PreviewStatus = { 
/**
 * Problems with the camera or microphone (empty when both work or none was asked for).
 */
problems: Array<DeviceProblem>, 
/**
 * Whether pictures are coming.
 */
hasVideo: boolean, 
/**
 * Whether sound is coming.
 */
hasAudio: boolean, };

export type ScreenSource = { 
/**
 * What the share command takes back.
 */
id: string, 
/**
 * The monitor's or window's name; empty when the system gives none.
 */
label: string, 
/**
 * `desktop`, `monitor` or `window`.
 */
kind: "desktop" | "monitor" | "window", 
/**
 * Width in pixels, 0 when unknown.
 */
width: number, 
/**
 * Height in pixels, 0 when unknown.
 */
height: number, 
/**
 * Its picture as a PNG `data:` URL, `None` when it gave none.
 */
thumbnail: string | null, };

export type Target = { "kind": "create", 
/**
 * The new room's name.
 */
roomName: string, 
/**
 * Its kind; [`DEFAULT_CREATE_KIND`] when absent.
 */
roomKind?: RoomKind, } | { "kind": "join", 
/**
 * The room's ID.
 */
roomId: string, 
/**
 * The kind it is listed under; asked of the server when absent (an ID typed in).
 */
roomKind?: RoomKind, };

export type VideoChoice = { "kind": "camera", 
/**
 * The camera's id.
 */
id: string | null, } | { "kind": "synthetic" } | { "kind": "screen", 
/**
 * Its id, as `screen_sources` lists it.
 */
id?: string, 
/**
 * A camera (or the test pattern) shown in the screen's corner.
 */
corner?: VideoChoice, } | { "kind": "none" };

export type AudioChoice = { "kind": "microphone", 
/**
 * The microphone's name.
 */
name: string | null, } | { "kind": "tone" } | { "kind": "none" };

export type AudioProcessing = { 
/**
 * Echo cancellation.
 */
echoCancellation: boolean, 
/**
 * Noise suppression.
 */
noiseSuppression: boolean, 
/**
 * Automatic gain control.
 */
gainControl: boolean, };

export type JoinRequest = { 
/**
 * The room server's address.
 */
server: string, 
/**
 * Our nickname.
 */
nickname: string, 
/**
 * The room.
 */
target: Target, 
/**
 * Camera choice.
 */
video: VideoChoice, 
/**
 * Microphone choice.
 */
audio: AudioChoice, 
/**
 * The speaker's name; the default one when absent.
 */
speaker: string | null, 
/**
 * Join with the microphone muted.
 */
startMuted: boolean, 
/**
 * Join with the camera off.
 */
startCameraOff: boolean, 
/**
 * Data saver: play the others' small streams only.
 */
dataSaver: boolean, 
/**
 * How the microphone is cleaned; everything on when absent.
 */
audioProcessing: AudioProcessing, 
/**
 * The picture we send (`360p15`, `540p30`, `720p15`, `720p30`); the usual one when absent.
 */
sendQuality?: SendQuality, };

export type InviteEvent = { "type": "room", 
/**
 * The room server's base URL.
 */
server: string, 
/**
 * The room's ID.
 */
roomId: string, 
/**
 * Its kind, when the link says.
 */
kind: RoomKind | null, } | { "type": "refused", 
/**
 * Why, in English (the page says it in its own words).
 */
reason: string, };

export type ApiCallEntry = { 
/**
 * Unix ms.
 */
atMs: number, 
/**
 * The endpoint.
 */
endpoint: string, 
/**
 * The reply's code (0 success), if a v1 reply came.
 */
code: number | null, 
/**
 * The HTTP status when not 200.
 */
status: number | null, 
/**
 * Round trip, ms.
 */
ms: number, 
/**
 * What went wrong.
 */
error: string | null, };

export type ChannelEntry = { 
/**
 * Unix ms.
 */
atMs: number, 
/**
 * What it was.
 */
kind: string, 
/**
 * Who or why.
 */
detail: string, };

export type StreamVideo = { 
/**
 * Codec.
 */
codec: string, 
/**
 * Profile.
 */
profile: string | null, 
/**
 * Level.
 */
level: string | null, 
/**
 * Width as sent.
 */
width: number, 
/**
 * Height as sent.
 */
height: number, };

export type StreamAudio = { 
/**
 * Codec.
 */
codec: string, 
/**
 * Profile.
 */
profile: string | null, 
/**
 * Samples per second.
 */
sampleRate: number, 
/**
 * Channels.
 */
channels: number, };

export type StreamDetails = { 
/**
 * Whose.
 */
userId: string, 
/**
 * Their name.
 */
userName: string, 
/**
 * `main` or `small`.
 */
stream: "main" | "small", 
/**
 * Connected now.
 */
connected: boolean, 
/**
 * Reconnections after the first connection.
 */
reconnects: number, 
/**
 * Video codec, profile, level and size as sent.
 */
video: StreamVideo | null, 
/**
 * Audio codec, profile, rate and channels.
 */
audio: StreamAudio | null, 
/**
 * Frames shown per second.
 */
fps: number, 
/**
 * kbit/s received.
 */
kbps: number, 
/**
 * Time between the last two keyframes, ms.
 */
keyframeIntervalMs: number | null, 
/**
 * Capture → shown latency, median, ms.
 */
latencyMsP50: number | null, 
/**
 * Capture → shown latency, 95th percentile, ms.
 */
latencyMsP95: number | null, };

export type OwnStream = { 
/**
 * Connected to the RTMP server.
 */
connected: boolean, 
/**
 * Reconnections.
 */
reconnects: number, 
/**
 * Size sent.
 */
width: number, 
/**
 * Height sent.
 */
height: number, 
/**
 * Frames encoded per second.
 */
fps: number, 
/**
 * kbit/s sent.
 */
kbps: number, 
/**
 * Keyframes sent.
 */
keyframes: number, 
/**
 * Frames dropped.
 */
droppedFrames: number, 
/**
 * Encoding time, 95th percentile, ms.
 */
encodeMsP95: number | null, 
/**
 * Echo return loss enhancement of our cleaning, dB.
 */
erleDb: number | null, };

export type Diagnostics = { 
/**
 * Room API calls, oldest first.
 */
apiCalls: Array<ApiCallEntry>, 
/**
 * Event-channel frames, oldest first.
 */
events: Array<ChannelEntry>, 
/**
 * Our stream.
 */
own: OwnStream | null, 
/**
 * Every played stream.
 */
streams: Array<StreamDetails>, };

export type Encoding = "i420" | "h264";

export type LeaveMode = "leave" | "end";

export type LeaveOptions = { 
/**
 * We host the room.
 */
isHost: boolean, 
/**
 * Leaving hands the room over instead of closing it.
 */
canHandOver: boolean, 
/**
 * The name of who would become host.
 */
heirName: string | null, 
/**
 * How many others are in the room.
 */
others: number, 
/**
 * Leaving would end the call for someone else unless the user chooses: ask.
 */
worthAsking: boolean, };
