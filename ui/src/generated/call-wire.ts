// Generated from src-tauri/src/calls/wire.rs by its typescript test: do not edit.
// QUARTET_WRITE_TYPES=1 cargo test -p quartet-app typescript writes it anew.

/** What a tile shows (quartet_call::TileState). */
export type TileState = "connecting" | "waitingForStream" | "live" | "cameraOff" | "stalled" | "reconnecting" | "gone";

/** How well a tile's stream gets to us (quartet_call::Quality). */
export type Quality = "good" | "poor" | "bad";

export type Member = { 
/**
 * The member's userID.
 */
userId: string, 
/**
 * Nickname.
 */
userName: string, 
/**
 * Created the room.
 */
isCreator: boolean, 
/**
 * This is us.
 */
isSelf: boolean, 
/**
 * The remote tile it is played in (`0..3`), if any.
 */
tile: number | null, 
/**
 * Its stream shows a shared screen.
 */
sharingScreen: boolean, };

export type Link = { 
/**
 * `room`, `publisher` or `player`.
 */
kind: "room" | "publisher" | "player", 
/**
 * Whose player.
 */
userId: string | null, };

export type CallEvent = { "type": "joined", 
/**
 * The room.
 */
roomId: string, 
/**
 * Our userID.
 */
userId: string, 
/**
 * Everyone, us included.
 */
members: Array<Member>, } | { "type": "memberJoined", 
/**
 * Who, and where shown.
 */
member: Member, } | { "type": "memberLeft", 
/**
 * Who.
 */
member: Member, 
/**
 * The tile they held.
 */
freedTile: number | null, } | { "type": "becameHost" } | { "type": "memberPromoted", 
/**
 * Who, and which tile.
 */
member: Member, } | { "type": "memberUpdated", 
/**
 * Who, as now.
 */
member: Member, } | { "type": "text", 
/**
 * Sender.
 */
userId: string, 
/**
 * Sender's nickname.
 */
nickName: string, 
/**
 * The text.
 */
text: string, 
/**
 * Unix ms.
 */
time: number, } | { "type": "roomClosed", 
/**
 * The server's reason.
 */
reason: string, } | { "type": "reconnecting", 
/**
 * Which.
 */
link: Link, } | { "type": "reconnected", 
/**
 * Which.
 */
link: Link, } | { "type": "deviceError", 
/**
 * `camera`, `microphone` or `speaker`.
 */
device: "camera" | "microphone" | "speaker", 
/**
 * The system's words.
 */
message: string, } | { "type": "uplinkLimited", 
/**
 * Width sent.
 */
width: number, 
/**
 * Height sent.
 */
height: number, 
/**
 * Frames per second sent.
 */
fps: number, 
/**
 * Video bitrate asked of the encoder, kbit/s.
 */
videoKbps: number, } | { "type": "publisherState", 
/**
 * `connecting`, `live`, `disconnected` or `stopped`.
 */
state: "connecting" | "live" | "disconnected" | "stopped", } | { "type": "playerState", 
/**
 * Whose.
 */
userId: string, 
/**
 * `connecting`, `playing`, `firstFrame`, `disconnected`, `failed` or `stopped`.
 */
state: "connecting" | "playing" | "firstFrame" | "disconnected" | "failed" | "stopped", };

export type CallInfo = { 
/**
 * The room.
 */
roomId: string, 
/**
 * Our userID.
 */
userId: string, 
/**
 * Everyone, us included.
 */
members: Array<Member>, 
/**
 * Our microphone is muted.
 */
micMuted: boolean, 
/**
 * Our camera is on.
 */
cameraEnabled: boolean, 
/**
 * We have a camera (or another picture source) to send from.
 */
hasCamera: boolean, };

export type PublisherStats = { 
/**
 * Connected to the RTMP server.
 */
connected: boolean, 
/**
 * Frames encoded per second.
 */
fps: number, 
/**
 * kbit/s sent.
 */
kbps: number, 
/**
 * Frames dropped because encoding or the network fell behind.
 */
droppedFrames: number, 
/**
 * Level of the microphone's latest sound, muted or not (0.0 silence).
 */
micLevel: number, 
/**
 * Width sent (less than configured while our uplink is narrow).
 */
width: number, 
/**
 * Height sent.
 */
height: number, 
/**
 * Video bitrate asked of the encoder, kbit/s.
 */
targetKbps: number, 
/**
 * Sending less than configured because our own uplink cannot carry it.
 */
uplinkLimited: boolean, };

export type RemoteStats = { 
/**
 * Whose.
 */
userId: string, 
/**
 * The tile.
 */
tile: number, 
/**
 * Connected to the RTMP server.
 */
connected: boolean, 
/**
 * Frames shown per second.
 */
fps: number, 
/**
 * kbit/s received.
 */
kbps: number, 
/**
 * Capture → shown latency, median, ms.
 */
latencyMsP50: number | null, 
/**
 * Capture → shown latency, 95th percentile, ms.
 */
latencyMsP95: number | null, 
/**
 * Level of their latest sound (0.0 silence).
 */
audioLevel: number, 
/**
 * Frames decoded since start.
 */
framesDecoded: number, 
/**
 * Their latest picture is a "camera off" frame.
 */
videoOff: boolean, 
/**
 * Connection quality of the tile: `good`, `poor` or `bad` (`quartet_call::quality`).
 */
quality: Quality, 
/**
 * Which of the member's streams the tile plays: `main` or `small`.
 */
stream: "main" | "small", 
/**
 * What the tile shows (`quartet_call::TileState`): `connecting`, `waitingForStream`,
 * `live`, `cameraOff`, `stalled`, `reconnecting` or `gone`.
 */
state: TileState, };

export type Stats = { 
/**
 * Our stream.
 */
publisher: PublisherStats | null, 
/**
 * Each played member.
 */
remotes: Array<RemoteStats>, 
/**
 * Members listed but not played.
 */
listed: number, 
/**
 * What our own tile shows, named as a remote tile's `state`.
 */
ownState: TileState, 
/**
 * We have a camera (or another picture source) to send from.
 */
hasCamera: boolean, };
