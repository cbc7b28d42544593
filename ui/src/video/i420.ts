// Draws I420 pictures: WebGL with the colour conversion in a shader (three single-channel
// textures), or, where WebGL is missing, a conversion in script onto a 2D canvas.

const VERTEX = `
attribute vec2 pos;
varying vec2 uv;
void main() {
  uv = vec2((pos.x + 1.0) / 2.0, (1.0 - pos.y) / 2.0);
  gl_Position = vec4(pos, 0.0, 1.0);
}`;

// BT.601 limited range, as x264 and the decoders here produce.
const FRAGMENT = `
precision mediump float;
varying vec2 uv;
uniform sampler2D ty;
uniform sampler2D tu;
uniform sampler2D tv;
void main() {
  float y = 1.1643 * (texture2D(ty, uv).r - 0.0625);
  float u = texture2D(tu, uv).r - 0.5;
  float v = texture2D(tv, uv).r - 0.5;
  gl_FragColor = vec4(y + 1.5958 * v, y - 0.39173 * u - 0.81290 * v, y + 2.017 * u, 1.0);
}`;

export interface I420Drawer {
  draw(width: number, height: number, planes: Uint8Array): void;
}

/** What WebGL made, or an error that says what it could not make (a lost context makes nothing). */
function made<T>(thing: T | null, what: string): T {
  if (thing === null) throw new Error(`WebGL could not make a ${what}`);
  return thing;
}

class WebGlDrawer implements I420Drawer {
  private readonly textures: WebGLTexture[];

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly gl: WebGLRenderingContext,
  ) {
    const program = made(gl.createProgram(), "program");
    for (const [type, source] of [
      [gl.VERTEX_SHADER, VERTEX],
      [gl.FRAGMENT_SHADER, FRAGMENT],
    ] as const) {
      const shader = made(gl.createShader(type), "shader");
      gl.shaderSource(shader, source);
      gl.compileShader(shader);
      gl.attachShader(program, shader);
    }
    gl.linkProgram(program);
    gl.useProgram(program);
    const buffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const pos = gl.getAttribLocation(program, "pos");
    gl.enableVertexAttribArray(pos);
    gl.vertexAttribPointer(pos, 2, gl.FLOAT, false, 0, 0);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    this.textures = ["ty", "tu", "tv"].map((name, i) => {
      const tex = made(gl.createTexture(), "texture");
      gl.activeTexture(gl.TEXTURE0 + i);
      gl.bindTexture(gl.TEXTURE_2D, tex);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      gl.uniform1i(gl.getUniformLocation(program, name), i);
      return tex;
    });
  }

  draw(width: number, height: number, planes: Uint8Array): void {
    const gl = this.gl;
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    gl.viewport(0, 0, width, height);
    const luma = width * height;
    const sizes: [number, number, number][] = [
      [0, width, height],
      [luma, width / 2, height / 2],
      [luma + luma / 4, width / 2, height / 2],
    ];
    sizes.forEach(([offset, w, h], i) => {
      gl.activeTexture(gl.TEXTURE0 + i);
      gl.bindTexture(gl.TEXTURE_2D, this.textures[i]);
      gl.texImage2D(
        gl.TEXTURE_2D,
        0,
        gl.LUMINANCE,
        w,
        h,
        0,
        gl.LUMINANCE,
        gl.UNSIGNED_BYTE,
        planes.subarray(offset, offset + w * h),
      );
    });
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  }
}

class CanvasDrawer implements I420Drawer {
  private image: ImageData | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly ctx: CanvasRenderingContext2D,
  ) {}

  draw(width: number, height: number, planes: Uint8Array): void {
    if (this.canvas.width !== width || this.canvas.height !== height || !this.image) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.image = this.ctx.createImageData(width, height);
    }
    i420ToRgba(width, height, planes, this.image.data);
    this.ctx.putImageData(this.image, 0, 0);
  }
}

/** Converts I420 planes into RGBA bytes (BT.601 limited range). */
export function i420ToRgba(
  width: number,
  height: number,
  planes: Uint8Array,
  out: Uint8ClampedArray,
): void {
  const luma = width * height;
  const half = width / 2;
  for (let row = 0; row < height; row++) {
    for (let x = 0; x < width; x++) {
      const c = (row >> 1) * half + (x >> 1);
      const y = 1.1643 * (planes[row * width + x] - 16);
      const u = planes[luma + c] - 128;
      const v = planes[luma + luma / 4 + c] - 128;
      const o = (row * width + x) * 4;
      out[o] = y + 1.5958 * v;
      out[o + 1] = y - 0.39173 * u - 0.8129 * v;
      out[o + 2] = y + 2.017 * u;
      out[o + 3] = 255;
    }
  }
}

export function i420Drawer(canvas: HTMLCanvasElement): I420Drawer | null {
  const gl = canvas.getContext("webgl", {
    alpha: false,
    antialias: false,
    preserveDrawingBuffer: true,
  });
  if (gl) return new WebGlDrawer(canvas, gl);
  const ctx = canvas.getContext("2d");
  return ctx ? new CanvasDrawer(canvas, ctx) : null;
}
