/**
 * A small PNG decoder for tests: 8-bit RGB or RGBA, not interlaced (what
 * headless Chromium writes for screenshots). Returns RGBA pixels.
 *
 * @example
 * ```ts ignore
 * const img = decodePng(await Deno.readFile("shot.png"));
 * console.log(img.width, img.height, img.rgba.length);
 * ```
 * @module
 */
import { inflateSync } from "node:zlib";

/** A decoded image. */
export interface Image {
  width: number;
  height: number;
  /** 4 bytes per pixel, rows top to bottom. */
  rgba: Uint8Array;
}

/** Decodes a PNG; throws TypeError on anything it does not handle. */
export function decodePng(bytes: Uint8Array): Image {
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (!sig.every((b, i) => bytes[i] === b)) throw new TypeError("Not a PNG file: bad signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8, width = 0, height = 0, colorType = 0;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (type === "IHDR") {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      const depth = data[8];
      colorType = data[9];
      if (depth !== 8 || (colorType !== 2 && colorType !== 6) || data[12] !== 0) {
        throw new TypeError(
          `PNG kind not handled: depth ${depth}, colour type ${colorType}, interlace ${data[12]}`,
        );
      }
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    pos += 12 + len;
  }
  const raw = new Uint8Array(inflateSync(concat(idat)));
  const bpp = colorType === 6 ? 4 : 3;
  const stride = width * bpp;
  const cur = new Uint8Array(stride), prev = new Uint8Array(stride);
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const off = y * (stride + 1);
    const filter = raw[off];
    for (let i = 0; i < stride; i++) {
      const x = raw[off + 1 + i];
      const a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      let v: number;
      switch (filter) {
        case 0:
          v = x;
          break;
        case 1:
          v = x + a;
          break;
        case 2:
          v = x + b;
          break;
        case 3:
          v = x + ((a + b) >> 1);
          break;
        case 4: {
          const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
          v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default:
          throw new TypeError(`PNG row ${y} has an unknown filter ${filter}`);
      }
      cur[i] = v & 255;
    }
    for (let px = 0; px < width; px++) {
      const o = (y * width + px) * 4;
      rgba[o] = cur[px * bpp];
      rgba[o + 1] = cur[px * bpp + 1];
      rgba[o + 2] = cur[px * bpp + 2];
      rgba[o + 3] = bpp === 4 ? cur[px * bpp + 3] : 255;
    }
    prev.set(cur);
  }
  return { width, height, rgba };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Counts the pixels of a colour ("#0072b2") inside a rectangle (within `tolerance` per channel). */
export function countColor(
  img: Image,
  hex: string,
  rect: { x: number; y: number; w: number; h: number },
  tolerance = 8,
): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  const x0 = Math.max(0, Math.floor(rect.x)), y0 = Math.max(0, Math.floor(rect.y));
  const x1 = Math.min(img.width, Math.ceil(rect.x + rect.w)),
    y1 = Math.min(img.height, Math.ceil(rect.y + rect.h));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const o = (y * img.width + x) * 4;
      if (
        Math.abs(img.rgba[o] - r) <= tolerance && Math.abs(img.rgba[o + 1] - g) <= tolerance &&
        Math.abs(img.rgba[o + 2] - b) <= tolerance
      ) n++;
    }
  }
  return n;
}
