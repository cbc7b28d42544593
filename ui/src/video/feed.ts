// One tile's pictures: opens a feed over a Channel, draws each message (WebGL for I420,
// WebCodecs for H.264) and acknowledges it, so Rust sends the next one. Measures what it
// receives: rate, bytes, and time from sending to drawn.

import { Channel } from "@tauri-apps/api/core";
import { api, type Encoding } from "../api";
import type { VideoPath } from "../settings";
import { type I420Drawer, i420Drawer } from "./i420";
import {
  codecOf,
  type FrameMessage,
  KIND_END,
  KIND_H264,
  KIND_I420,
  parseMessage,
  sameBytes,
} from "./message";
import { RateMeter, Samples } from "./meter";

export interface FeedStats {
  feed: string;
  encoding: Encoding;
  frames: number;
  fps: number;
  kibPerSecond: number;
  sendToDrawMsP50: number | null;
  sendToDrawMsP95: number | null;
  captureToDrawMsP50: number | null;
  decodeErrors: number;
  /** Messages received (drawn or not). */
  received: number;
  /** The WebCodecs decoder's state and queue, for diagnosis. */
  decoder: string;
}

export interface FeedHooks {
  /** A picture was drawn. */
  onFrame?: () => void;
  /** The feed's source is gone for good (the member left the call); the feed has closed. */
  onEnded?: () => void;
}

const open = new Map<string, VideoFeed>();
/**
 * Access units queued in the decoder or decoded but not yet out, beyond which the page skips to
 * the next keyframe. WebKit's decoder holds two or three pictures until more input comes, so
 * acknowledgements are sent when a unit enters the decoder, not when it comes out, and the
 * decoder's own backlog is watched here.
 */
export const MAX_DECODER_BACKLOG = 8;
/** Numbers each opening, so Rust never mixes up a feed with the one it replaced. */
let openings = 0;

/** Every open feed's figures (also read by the end-to-end test). */
export function allFeedStats(): FeedStats[] {
  return [...open.values()].map((f) => f.stats());
}

interface Pending {
  seq: number;
  sentMs: number;
}

export class VideoFeed {
  private drawer: I420Drawer | null = null;
  private ctx2d: CanvasRenderingContext2D | null = null;
  private decoder: VideoDecoder | null = null;
  private config: Uint8Array | null = null;
  private pending = new Map<number, Pending>();
  private closed = false;
  /** This opening's name on the Rust side. */
  private readonly wireId: string;
  private frames = 0;
  private decodeErrors = 0;
  private received = 0;
  /** Dropping access units until the next keyframe (the decoder fell behind). */
  private skipping = false;
  private readonly fps = new RateMeter();
  private readonly bytes = new RateMeter();
  private readonly sendToDraw = new Samples();
  private readonly captureToDraw = new Samples();

  constructor(
    readonly id: string,
    readonly source: string,
    readonly encoding: Encoding,
    readonly canvas: HTMLCanvasElement,
    private readonly hooks: FeedHooks = {},
  ) {
    this.wireId = `${id}#${++openings}`;
  }

  async open(): Promise<void> {
    open.get(this.id)?.close(false);
    open.set(this.id, this);
    const channel = new Channel<ArrayBuffer>();
    channel.onmessage = (data) => this.receive(data);
    await api.videoOpen(this.wireId, this.source, this.encoding, channel);
    // Closed while opening: the close may have reached Rust before the open.
    if (this.closed) api.videoClose(this.wireId).catch(() => undefined);
  }

  /** Stops drawing; `tellRust` also stops the feed on the Rust side. */
  close(tellRust = true): void {
    if (this.closed) return;
    this.closed = true;
    if (open.get(this.id) === this) open.delete(this.id);
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.decoder = null;
    if (tellRust) api.videoClose(this.wireId).catch(() => undefined);
  }

  stats(): FeedStats {
    const now = performance.now();
    return {
      feed: this.id,
      encoding: this.encoding,
      frames: this.frames,
      fps: this.fps.perSecond(now),
      kibPerSecond: this.bytes.perSecond(now) / 1024,
      sendToDrawMsP50: this.sendToDraw.percentile(50),
      sendToDrawMsP95: this.sendToDraw.percentile(95),
      captureToDrawMsP50: this.captureToDraw.percentile(50),
      decodeErrors: this.decodeErrors,
      received: this.received,
      decoder: this.decoder
        ? `${this.decoder.state}/${this.decoder.decodeQueueSize}/${this.pending.size}`
        : "none",
    };
  }

  private receive(data: ArrayBuffer): void {
    if (this.closed) return;
    let message: FrameMessage;
    try {
      message = parseMessage(data);
    } catch (e) {
      console.warn(`feed ${this.id}: ${String(e)}`);
      return;
    }
    this.received++;
    this.bytes.record(performance.now(), data.byteLength);
    if (message.kind === KIND_I420) {
      this.drawI420(message);
      this.drawn(message.sentMs, message.captureMs);
      this.ack(message.seq);
    } else if (message.kind === KIND_H264) {
      this.decodeH264(message);
    } else if (message.kind === KIND_END) {
      this.close();
      this.hooks.onEnded?.();
    }
  }

  private drawI420(m: FrameMessage): void {
    this.drawer ??= i420Drawer(this.canvas);
    this.drawer?.draw(m.width, m.height, m.payload);
  }

  private decodeH264(m: FrameMessage): void {
    if (m.keyframe && m.config && (!this.decoder || !sameBytes(m.config, this.config))) {
      this.configure(m.config);
    }
    const decoder = this.decoder;
    if (m.keyframe) this.skipping = false;
    else if (decoder && decoder.decodeQueueSize + this.pending.size > MAX_DECODER_BACKLOG)
      this.skipping = true;
    if (decoder?.state !== "configured" || this.skipping) {
      this.ack(m.seq);
      return;
    }
    const timestamp = m.seq * 1000;
    this.pending.set(timestamp, { seq: m.seq, sentMs: m.sentMs });
    try {
      decoder.decode(
        new EncodedVideoChunk({ type: m.keyframe ? "key" : "delta", timestamp, data: m.payload }),
      );
    } catch (e) {
      this.failed(e);
    }
    this.ack(m.seq);
  }

  private configure(avcC: Uint8Array): void {
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.config = avcC.slice();
    this.ctx2d ??= this.canvas.getContext("2d");
    this.decoder = new VideoDecoder({
      output: (frame) => this.output(frame),
      error: (e) => this.failed(e),
    });
    this.decoder.configure({
      codec: codecOf(avcC),
      description: this.config,
      optimizeForLatency: true,
    });
  }

  private output(frame: VideoFrame): void {
    const p = this.pending.get(frame.timestamp);
    this.pending.delete(frame.timestamp);
    if (!this.closed && this.ctx2d) {
      if (this.canvas.width !== frame.displayWidth || this.canvas.height !== frame.displayHeight) {
        this.canvas.width = frame.displayWidth;
        this.canvas.height = frame.displayHeight;
      }
      this.ctx2d.drawImage(frame, 0, 0);
    }
    frame.close();
    if (p) this.drawn(p.sentMs, null);
  }

  private failed(e: unknown): void {
    this.decodeErrors++;
    console.warn(`feed ${this.id}: decoder failed: ${String(e)}`);
    // Start again at the next keyframe; what was queued will never be drawn.
    this.config = null;
    this.pending.clear();
  }

  private drawn(sentMs: number, captureMs: number | null): void {
    const now = Date.now();
    this.frames++;
    this.fps.record(performance.now(), 1);
    this.sendToDraw.push(now - sentMs);
    if (captureMs !== null) this.captureToDraw.push(now - captureMs);
    this.hooks.onFrame?.();
  }

  private ack(seq: number): void {
    api.videoAck(this.wireId, seq).catch(() => undefined);
  }
}

/** How pictures come to this page: H.264 for WebCodecs where it can decode it and Settings
 * does not ask for WebGL, decoded I420 otherwise. */
export async function videoEncoding(path: VideoPath): Promise<Encoding> {
  return path !== "webgl" && (await webCodecsSupported()) ? "h264" : "i420";
}

let webCodecs: Promise<boolean> | null = null;

/** Whether this webview can decode H.264 with WebCodecs (WebKitGTK needs the GStreamer libav plugins). */
export function webCodecsSupported(): Promise<boolean> {
  webCodecs ??= (async () => {
    if (typeof VideoDecoder === "undefined" || typeof EncodedVideoChunk === "undefined")
      return false;
    try {
      const r = await VideoDecoder.isConfigSupported({
        codec: "avc1.42E01E",
        optimizeForLatency: true,
      });
      return r.supported === true;
    } catch {
      return false;
    }
  })();
  return webCodecs;
}
