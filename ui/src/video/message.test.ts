import { describe, expect, it } from "vitest";
import { i420ToRgba } from "./i420";
import { codecOf, HEADER_LEN, KIND_H264, KIND_I420, parseMessage, sameBytes } from "./message";
import { RateMeter, Samples } from "./meter";

function message(
  kind: number,
  flags: number,
  w: number,
  h: number,
  seq: number,
  config: number[],
  capture: number,
  sent: number,
  payload: number[],
): ArrayBuffer {
  const buf = new ArrayBuffer(HEADER_LEN + config.length + payload.length);
  const v = new DataView(buf);
  v.setUint8(0, kind);
  v.setUint8(1, flags);
  v.setUint16(2, w, true);
  v.setUint16(4, h, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, config.length, true);
  v.setFloat64(16, capture, true);
  v.setFloat64(24, sent, true);
  new Uint8Array(buf).set([...config, ...payload], HEADER_LEN);
  return buf;
}

describe("video messages", () => {
  it("reads an H.264 keyframe with its avcC record", () => {
    const m = parseMessage(
      message(KIND_H264, 1, 0, 0, 7, [1, 0x42, 0xe0, 0x1e], NaN, 1234.5, [0, 0, 0, 1, 0x65]),
    );
    expect(m.kind).toBe(KIND_H264);
    expect(m.keyframe).toBe(true);
    expect(m.seq).toBe(7);
    expect([...m.config!]).toEqual([1, 0x42, 0xe0, 0x1e]);
    expect(m.captureMs).toBeNull();
    expect(m.sentMs).toBe(1234.5);
    expect([...m.payload]).toEqual([0, 0, 0, 1, 0x65]);
    expect(codecOf(m.config!)).toBe("avc1.42e01e");
  });

  it("reads an I420 picture and checks its size", () => {
    const planes = new Array(4 * 2 * 1.5).fill(16);
    const m = parseMessage(message(KIND_I420, 1, 4, 2, 1, [], 99, 100, planes));
    expect([m.width, m.height, m.captureMs]).toEqual([4, 2, 99]);
    expect(m.config).toBeNull();
    expect(() => parseMessage(message(KIND_I420, 1, 4, 4, 1, [], 0, 0, planes))).toThrow();
    expect(() => parseMessage(new ArrayBuffer(8))).toThrow();
  });

  it("refuses what is not an avcC record", () => {
    expect(() => codecOf(new Uint8Array([0, 1, 2, 3]))).toThrow();
    expect(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(sameBytes(null, new Uint8Array([1]))).toBe(false);
  });

  it("converts I420 to RGBA", () => {
    // White luma, neutral chroma.
    const planes = new Uint8Array([235, 235, 235, 235, 128, 128]);
    const out = new Uint8ClampedArray(16);
    i420ToRgba(2, 2, planes, out);
    expect([...out.slice(0, 4)]).toEqual([255, 255, 255, 255]);
  });

  it("measures rates and percentiles over recent samples", () => {
    const r = new RateMeter();
    r.record(0, 1000);
    r.record(1000, 1000);
    expect(r.perSecond(1000)).toBe(1000);
    expect(r.perSecond(2500)).toBe(500);
    const s = new Samples();
    expect(s.percentile(50)).toBeNull();
    for (let i = 1; i <= 100; i++) s.push(i);
    s.push(NaN);
    expect(s.percentile(50)).toBe(50);
    expect(s.percentile(95)).toBe(95);
    expect(s.length).toBe(100);
  });
});
