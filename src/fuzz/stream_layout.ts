/**
 * The layout of a valid stream: where each field sits, which bytes are NORMAL
 * page data, where the section checksums are. The fuzzer uses it to aim
 * mutations at fields (lengths and counts at their limits) and to _forge_ a
 * mutant: recompute its section checksums so that the mutation reaches the
 * checks behind them, as an attacker who knows the format (CRC-32 is no MAC)
 * would. Only for valid seed streams: it trusts what it walks.
 *
 * @example
 * ```ts ignore
 * const layout = streamLayout(seed.bytes);
 * const mutant = seed.bytes.slice();
 * mutant[layout.fields[3].at] ^= 1;
 * forgeChecksums(mutant, layout);
 * ```
 * @module
 */
import { crc32 } from "node:zlib";
import {
  ADDR_BLOCK,
  ADDR_FULL,
  ADDR_MASK,
  HEADER_BYTES,
  KIND_DEFLATE,
  KIND_MASK,
  KIND_NORMAL,
  KIND_XBZRLE,
  KIND_ZERO,
  SECTION_ABORT,
  SECTION_DEVICE,
  SECTION_END,
  SECTION_RAM,
  SECTION_SETUP,
} from "../stream/format.ts";
import { PAGE_SIZE } from "../guest/ram.ts";

/** One integer field of the stream. */
export interface Field {
  name: string;
  at: number;
  /** Width in bytes: 1, 2 or 4 (big-endian). */
  width: 1 | 2 | 4;
}

/** Where things are in a valid stream. */
export interface StreamLayout {
  fields: Field[];
  /** Offsets of the section checksums (eos, device, end), in order. */
  crcs: number[];
  /** NORMAL page data, `[start, end)`, left out of the section checksums. */
  pageData: [number, number][];
  /** Offsets at which each section starts (its type byte), in order. */
  sections: number[];
}

/**
 * Walks a valid stream. Throws on anything it does not expect (it is for
 * seeds, which the destination loaded cleanly).
 *
 * @example
 * ```ts ignore
 * console.log(streamLayout(seed.bytes).crcs.length);
 * ```
 */
export function streamLayout(b: Uint8Array): StreamLayout {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fields: Field[] = [];
  const crcs: number[] = [];
  const pageData: [number, number][] = [];
  const sections: number[] = [];
  const f = (name: string, at: number, width: 1 | 2 | 4) => fields.push({ name, at, width });
  f("magic", 0, 4);
  f("version", 4, 2);
  f("flags", 6, 2);
  let p = HEADER_BYTES;
  while (p < b.length) {
    sections.push(p);
    const type = b[p];
    f("section type", p, 1);
    p++;
    if (type === SECTION_SETUP) {
      f("page size", p, 4);
      f("capabilities", p + 4, 4);
      f("block count", p + 8, 2);
      const count = v.getUint16(p + 8);
      p += 10;
      for (let i = 0; i < count; i++) {
        f("block name length", p, 1);
        p += 1 + b[p];
        f("block pages", p, 4);
        p += 4;
      }
      f("params length", p, 2);
      p += 2 + v.getUint16(p);
    } else if (type === SECTION_RAM) {
      f("round", p, 4);
      p += 4;
      for (;;) {
        const flags = b[p];
        f("record flags", p, 1);
        p++;
        if (flags === 0) {
          crcs.push(p);
          p += 4;
          break;
        }
        const addr = flags & ADDR_MASK;
        if (addr === ADDR_FULL) {
          f("block id", p, 2);
          f("page", p + 2, 4);
          p += 6;
        } else if (addr === ADDR_BLOCK) {
          f("page", p, 4);
          p += 4;
        }
        const kind = flags & KIND_MASK;
        if (kind === KIND_ZERO) continue;
        if (kind === KIND_NORMAL) {
          f("run count", p, 2);
          const count = v.getUint16(p);
          p += 2;
          p = (p + 7) & ~7;
          pageData.push([p, p + count * PAGE_SIZE]);
          p += count * PAGE_SIZE;
          for (let i = 0; i < count; i++) f("page crc", p + 4 * i, 4);
          p += 4 * count;
        } else if (kind === KIND_XBZRLE) {
          f("xbzrle length", p, 2);
          p += 2 + v.getUint16(p);
        } else if (kind === KIND_DEFLATE) {
          f("deflate count", p, 2);
          f("deflate length", p + 2, 4);
          p += 6 + v.getUint32(p + 2);
        } else throw new Error(`record kind ${kind} at ${p - 1}`);
      }
    } else if (type === SECTION_DEVICE) {
      f("device length", p, 4);
      p += 4 + v.getUint32(p);
      crcs.push(p);
      p += 4;
    } else if (type === SECTION_END) {
      crcs.push(p);
      p += 4;
    } else if (type === SECTION_ABORT) {
      f("abort length", p, 2);
      p += 2 + v.getUint16(p);
    } else throw new Error(`section type ${type} at ${p - 1}`);
  }
  if (p !== b.length) throw new Error(`layout ends at ${p}, stream at ${b.length}`);
  return { fields, crcs, pageData, sections };
}

/**
 * Rewrites every section checksum of `b` (same length as the stream the
 * layout describes) so that it matches the bytes now there: the running
 * CRC-32 from offset 0, page data left out, earlier checksums included.
 *
 * @example
 * ```ts ignore
 * forgeChecksums(mutant, layout);
 * ```
 */
export function forgeChecksums(b: Uint8Array, layout: StreamLayout): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let crc = 0;
  let from = 0;
  let d = 0;
  for (const at of layout.crcs) {
    if (at + 4 > b.length) return;
    while (d < layout.pageData.length && layout.pageData[d][0] < at) {
      const [s, e] = layout.pageData[d++];
      crc = crc32(b.subarray(from, s), crc);
      from = e;
    }
    crc = crc32(b.subarray(from, at), crc);
    v.setUint32(at, crc >>> 0);
    from = at;
  }
}
