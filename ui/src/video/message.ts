// The binary messages of a video feed (see src-tauri/src/video.rs for the layout).

export const HEADER_LEN = 32;
export const KIND_I420 = 1;
export const KIND_H264 = 2;
/** The feed's player stopped or was replaced: nothing follows, open the tile again. */
export const KIND_END = 3;
export const FLAG_KEYFRAME = 1;

export interface FrameMessage {
  kind: number;
  keyframe: boolean;
  width: number;
  height: number;
  seq: number;
  /** The avcC record (H.264 keyframes), else null. */
  config: Uint8Array | null;
  /** Capture time, Unix ms, or null. */
  captureMs: number | null;
  /** When Rust sent it, Unix ms. */
  sentMs: number;
  payload: Uint8Array;
}

export function parseMessage(buffer: ArrayBuffer): FrameMessage {
  if (buffer.byteLength < HEADER_LEN)
    throw new Error(`video message of ${buffer.byteLength} bytes`);
  const view = new DataView(buffer);
  const kind = view.getUint8(0);
  const configLen = view.getUint32(12, true);
  if (HEADER_LEN + configLen > buffer.byteLength) throw new Error("video message cut short");
  const capture = view.getFloat64(16, true);
  const message: FrameMessage = {
    kind,
    keyframe: (view.getUint8(1) & FLAG_KEYFRAME) !== 0,
    width: view.getUint16(2, true),
    height: view.getUint16(4, true),
    seq: view.getUint32(8, true),
    config: configLen > 0 ? new Uint8Array(buffer, HEADER_LEN, configLen) : null,
    captureMs: Number.isNaN(capture) ? null : capture,
    sentMs: view.getFloat64(24, true),
    payload: new Uint8Array(buffer, HEADER_LEN + configLen),
  };
  if (
    kind === KIND_I420 &&
    message.payload.byteLength !== (message.width * message.height * 3) / 2
  ) {
    throw new Error(
      `I420 ${message.width}x${message.height} with ${message.payload.byteLength} bytes`,
    );
  }
  return message;
}

/** The WebCodecs codec string (`avc1.PPCCLL`) of an avcC record. */
export function codecOf(avcC: Uint8Array): string {
  if (avcC.byteLength < 4 || avcC[0] !== 1) throw new Error("not an avcC record");
  const hex = (b: number) => b.toString(16).padStart(2, "0");
  return `avc1.${hex(avcC[1])}${hex(avcC[2])}${hex(avcC[3])}`;
}

export function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === b) return true;
  if (!a || !b || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
