import { afterEach, describe, expect, it, vi } from "vitest";

// `videoEncoding` remembers what the webview can decode, so each case loads the module afresh.
async function encodingWith(supported: boolean | null, path: "auto" | "webcodecs" | "webgl") {
  vi.resetModules();
  if (supported !== null) {
    vi.stubGlobal("EncodedVideoChunk", class {});
    vi.stubGlobal("VideoDecoder", {
      isConfigSupported: async () => ({ supported }),
    });
  }
  const { videoEncoding } = await import("./feed");
  return videoEncoding(path);
}

describe("how pictures come to the page", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("is H.264 where WebCodecs decodes it, unless Settings asks for WebGL", async () => {
    expect(await encodingWith(true, "auto")).toBe("h264");
    expect(await encodingWith(true, "webcodecs")).toBe("h264");
    expect(await encodingWith(true, "webgl")).toBe("i420");
  });

  it("is decoded I420 where WebCodecs is missing or cannot decode H.264", async () => {
    expect(await encodingWith(null, "auto")).toBe("i420");
    expect(await encodingWith(false, "auto")).toBe("i420");
  });
});
