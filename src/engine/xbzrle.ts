/**
 * XBZRLE: the delta of a page against an older copy of it, as QEMU's later
 * format (zero runs and non-zero runs with ULEB128 lengths). The source XORs
 * the page with the copy in its page cache; runs of zero (unchanged bytes)
 * are skipped, runs of non-zero (changed bytes) carry the page's new bytes.
 *
 * ```
 * encoding := pair* last
 * pair     := zrun:uleb128 nzrun:uleb128 bytes:u8[nzrun]
 * last     := (nothing: the rest of the page, after the last pair, is unchanged)
 * uleb128  := 1 or 2 bytes, 7 bits each, low group first, bit 7 = more follows;
 *             the shortest form only (no 0x80 0x00), values 0..4096
 * ```
 *
 * Rules (the decoder checks every one and names the offset that breaks it):
 * - `zrun` is the count of unchanged bytes before the run; it may be 0 only in
 *   the first pair (the page changed at byte 0);
 * - `nzrun` is at least 1, and its bytes are the page's new bytes, each of
 *   which differs from the old copy (runs are maximal: the encoder never puts
 *   an unchanged byte in a non-zero run);
 * - the runs never go past the end of the page, the bytes never past the end
 *   of the encoding, and the encoding never ends between a zero run and its
 *   non-zero run;
 * - an unchanged page has no encoding (length 0): the source sends nothing.
 *
 * The encoder compares 8 bytes at a time along long unchanged stretches
 * (Float64Array views, with care for the values whose equality is not bit
 * equality: +0/-0 and NaN), 4 bytes at a time elsewhere (Int32Array views),
 * and finds run boundaries inside a word with bit tricks.
 *
 * @example
 * ```ts
 * import { decodeXbzrle, encodeXbzrle } from "./xbzrle.ts";
 * const old = new Uint8Array(4096), cur = new Uint8Array(4096);
 * cur[1234] = 7;
 * const out = new Uint8Array(4096);
 * const len = encodeXbzrle(old, cur, out);
 * console.log(len); // 4: zrun 1234 (2 bytes), nzrun 1, the byte
 * decodeXbzrle(out.subarray(0, len), old);
 * console.log(old[1234]); // 7
 * ```
 * @module
 */
import { PAGE_SIZE } from "../guest/ram.ts";

const WORDS = PAGE_SIZE >> 2;
/** Largest run length (a whole page). */
const RUN_MAX = PAGE_SIZE;

/** Index of the lowest set bit of a non-zero 32-bit value. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** A small memo of Int32Array views, so that a hot loop over one buffer allocates none. */
class WordViews {
  #buf: ArrayBufferLike | null = null;
  #words: Int32Array<ArrayBufferLike> = new Int32Array(0);
  #doubles: Float64Array<ArrayBufferLike> = new Float64Array(0);
  #buf2: ArrayBufferLike | null = null;
  #words2: Int32Array<ArrayBufferLike> = new Int32Array(0);
  #doubles2: Float64Array<ArrayBufferLike> = new Float64Array(0);
  /** The Float64Array view of the buffer {@link of} returned last. */
  doubles: Float64Array<ArrayBufferLike> = new Float64Array(0);

  /** The whole-buffer Int32Array view of `b`'s buffer (and its Float64Array in {@link doubles}). */
  of(b: Uint8Array): Int32Array<ArrayBufferLike> {
    const buf = b.buffer;
    if (buf === this.#buf) {
      this.doubles = this.#doubles;
      return this.#words;
    }
    if (buf !== this.#buf2) {
      this.#buf2 = buf;
      this.#words2 = new Int32Array(buf, 0, buf.byteLength >> 2);
      this.#doubles2 = new Float64Array(buf, 0, buf.byteLength >> 3);
    }
    // Swap, so that the buffer just used is the first one looked at next time.
    [this.#buf, this.#buf2] = [this.#buf2, this.#buf];
    [this.#words, this.#words2] = [this.#words2, this.#words];
    [this.#doubles, this.#doubles2] = [this.#doubles2, this.#doubles];
    this.doubles = this.#doubles;
    return this.#words;
  }
}
const OLD_VIEWS = new WordViews();
const CUR_VIEWS = new WordViews();

function checkPage(p: Uint8Array, what: string): void {
  if (p.length !== PAGE_SIZE || (p.byteOffset & 3) !== 0) {
    throw new RangeError(
      `The ${what} page must be ${PAGE_SIZE} bytes at a 4-byte aligned offset, got ${p.length} at ${p.byteOffset}`,
    );
  }
}

/**
 * Encodes `cur` as a delta against `old` (both one page, 4-byte aligned) into
 * `out`. Returns the encoding's length; 0 when the pages are equal; -1 when
 * the encoding would be longer than `out` (overflow: send the full page).
 */
export function encodeXbzrle(old: Uint8Array, cur: Uint8Array, out: Uint8Array): number {
  checkPage(old, "old");
  checkPage(cur, "current");
  const o = OLD_VIEWS.of(old);
  const c = CUR_VIEWS.of(cur);
  const ob = old.byteOffset >> 2;
  const cb = cur.byteOffset >> 2;
  const wide = ((old.byteOffset | cur.byteOffset) & 7) === 0;
  const od = OLD_VIEWS.doubles, cd = CUR_VIEWS.doubles;
  const end = out.length;
  let i = 0; // byte position in the page
  let d = 0; // write position in out
  for (;;) {
    // Zero run: bytes where old and cur agree.
    const zs = i;
    let w = i >> 2;
    let found = false;
    if (i & 3) {
      const x = (o[ob + w] ^ c[cb + w]) >>> ((i & 3) << 3);
      if (x !== 0) {
        i += ctz(x) >> 3;
        found = true;
      } else w++;
    }
    if (!found) {
      // Short runs (scattered changes) end within a few words: look at those first.
      const first = w + 4 < WORDS ? w + 4 : WORDS;
      while (w < first && o[ob + w] === c[cb + w]) w++;
      if (wide && w === first) {
        // A long run: 8 bytes at a time. Equal doubles other than 0 have
        // equal bits; for zeros Object.is tells +0 from -0; NaN never
        // compares equal and falls through to the 4-byte loop, which
        // compares bits.
        if (w & 1 && w < WORDS && o[ob + w] === c[cb + w]) w++;
        if ((w & 1) === 0) {
          let p = (ob + w) >> 1;
          const e = (ob + WORDS) >> 1, delta = (cb - ob) >> 1;
          for (; p < e; p++) {
            const x = od[p], y = cd[p + delta];
            if (x !== y || (x === 0 && !Object.is(x, y))) break;
          }
          w = (p << 1) - ob;
        }
      }
      while (w < WORDS && o[ob + w] === c[cb + w]) w++;
      i = w < WORDS ? (w << 2) + (ctz(o[ob + w] ^ c[cb + w]) >> 3) : PAGE_SIZE;
    }
    if (i === PAGE_SIZE) return d; // the last zero run is implied (0 when nothing changed)
    const zlen = i - zs;
    if (zlen < 0x80) {
      if (d >= end) return -1;
      out[d++] = zlen;
    } else {
      if (d + 2 > end) return -1;
      out[d++] = (zlen & 0x7f) | 0x80;
      out[d++] = zlen >> 7;
    }

    // Non-zero run: bytes where they differ; it ends at the first zero byte of the XOR.
    const ns = i;
    w = i >> 2;
    let x = o[ob + w] ^ c[cb + w];
    x |= (1 << ((i & 3) << 3)) - 1; // bytes before i count as different
    let m = (x - 0x01010101) & ~x & 0x80808080;
    if (m !== 0) i = (w << 2) + (ctz(m) >> 3);
    else {
      w++;
      for (; w < WORDS; w++) {
        x = o[ob + w] ^ c[cb + w];
        m = (x - 0x01010101) & ~x & 0x80808080;
        if (m !== 0) break;
      }
      i = w < WORDS ? (w << 2) + (ctz(m) >> 3) : PAGE_SIZE;
    }
    const nlen = i - ns;
    if (nlen < 0x80) {
      if (d + 1 + nlen > end) return -1;
      out[d++] = nlen;
    } else {
      if (d + 2 + nlen > end) return -1;
      out[d++] = (nlen & 0x7f) | 0x80;
      out[d++] = nlen >> 7;
    }
    if (nlen < 48) {
      for (let k = ns; k < i; k++) out[d++] = cur[k];
    } else {
      out.set(cur.subarray(ns, i), d);
      d += nlen;
    }
    if (i === PAGE_SIZE) return d;
  }
}

/** Reads a ULEB128 length at `at` of `src` (shortest form, at most 2 bytes); returns value | (bytes << 16). */
function readLength(src: Uint8Array, at: number, what: string): number {
  if (at >= src.length) {
    throw new RangeError(`XBZRLE encoding ends before the ${what} length at byte ${at}`);
  }
  const a = src[at];
  if (a < 0x80) return a | (1 << 16);
  if (at + 1 >= src.length) {
    throw new RangeError(`XBZRLE encoding ends inside the ${what} length at byte ${at}`);
  }
  const b = src[at + 1];
  if (b === 0 || b >= 0x80) {
    throw new RangeError(
      `XBZRLE ${what} length at byte ${at} is malformed (0x${a.toString(16)} 0x${b.toString(16)}: ${
        b === 0 ? "not the shortest form" : "longer than 2 bytes"
      })`,
    );
  }
  const v = (a & 0x7f) | (b << 7);
  if (v > RUN_MAX) {
    throw new RangeError(
      `XBZRLE ${what} length ${v} at byte ${at} is longer than a page (${PAGE_SIZE})`,
    );
  }
  return v | (2 << 16);
}

/**
 * Checks `encoded` against the page it applies to and returns nothing;
 * throws a RangeError naming the first broken rule and its byte offset in
 * the encoding. Does not change `page`.
 */
export function checkXbzrle(encoded: Uint8Array, page: Uint8Array): void {
  if (page.length !== PAGE_SIZE) {
    throw new RangeError(`XBZRLE target must be one page (${PAGE_SIZE} bytes), got ${page.length}`);
  }
  const len = encoded.length;
  if (len === 0) throw new RangeError("XBZRLE encoding is empty (an unchanged page is not sent)");
  let i = 0, d = 0;
  while (i < len) {
    const at = i;
    let r = readLength(encoded, i, "zero-run");
    const zlen = r & 0xffff;
    i += r >>> 16;
    if (zlen === 0 && at > 0) {
      throw new RangeError(`XBZRLE zero run of length 0 after a non-zero run at byte ${at}`);
    }
    d += zlen;
    if (d >= PAGE_SIZE) {
      throw new RangeError(
        `XBZRLE zero run at byte ${at} reaches page offset ${d}, leaving no room for its non-zero run`,
      );
    }
    if (i >= len) {
      throw new RangeError(`XBZRLE encoding ends after the zero run at byte ${at}`);
    }
    const nat = i;
    r = readLength(encoded, i, "non-zero-run");
    const nlen = r & 0xffff;
    i += r >>> 16;
    if (nlen === 0) throw new RangeError(`XBZRLE non-zero run of length 0 at byte ${nat}`);
    if (d + nlen > PAGE_SIZE) {
      throw new RangeError(
        `XBZRLE non-zero run at byte ${nat} (page offset ${d}, ${nlen} bytes) goes past the page end`,
      );
    }
    if (i + nlen > len) {
      throw new RangeError(
        `XBZRLE non-zero run at byte ${nat} needs ${nlen} bytes, the encoding has ${len - i} left`,
      );
    }
    for (let k = 0; k < nlen; k++) {
      if (encoded[i + k] === page[d + k]) {
        throw new RangeError(
          `XBZRLE non-zero run at byte ${nat} leaves page offset ${
            d + k
          } unchanged: the delta is not against this page`,
        );
      }
    }
    i += nlen;
    d += nlen;
  }
}

/**
 * Applies `encoded` to `page` (the destination's copy, one page) in place,
 * after checking every rule (see {@link checkXbzrle}); a malformed encoding
 * throws a RangeError and leaves `page` untouched.
 */
export function decodeXbzrle(encoded: Uint8Array, page: Uint8Array): void {
  checkXbzrle(encoded, page);
  const len = encoded.length;
  let i = 0, d = 0;
  while (i < len) {
    let a = encoded[i++];
    if (a >= 0x80) a = (a & 0x7f) | (encoded[i++] << 7);
    d += a;
    let n = encoded[i++];
    if (n >= 0x80) n = (n & 0x7f) | (encoded[i++] << 7);
    if (n < 48) {
      for (let k = 0; k < n; k++) page[d + k] = encoded[i + k];
    } else page.set(encoded.subarray(i, i + n), d);
    i += n;
    d += n;
  }
}
