/**
 * A bounded walk over msgpack bytes, before a decoder sees them: every
 * declared length and count must fit in the bytes that remain (each item
 * takes at least one byte), nesting is at most {@link MSGPACK_DEPTH_MAX}
 * deep, and exactly one value fills the input. A hostile 300-byte input that
 * declares an array of 2^31 items is thus refused in microseconds, instead of
 * costing the decoder seconds and memory.
 *
 * @example
 * ```ts
 * import { checkMsgpackBounds } from "./msgpack_bounds.ts";
 * checkMsgpackBounds(new Uint8Array([0x91, 0x01])); // [1]: fine
 * try {
 *   checkMsgpackBounds(new Uint8Array([0xdd, 0x7f, 0xff, 0xff, 0xff])); // array32 of 2^31 - 1
 * } catch (e) {
 *   console.log((e as Error).message); // "msgpack declares 2147483647 items ..."
 * }
 * ```
 * @module
 */

/** The deepest nesting of arrays and maps accepted. */
export const MSGPACK_DEPTH_MAX = 32;

/**
 * Throws RangeError when `bytes` is not one msgpack value whose every length
 * and count fits in the input; returns otherwise.
 *
 * @example
 * ```ts
 * import { checkMsgpackBounds } from "./msgpack_bounds.ts";
 * checkMsgpackBounds(new Uint8Array([0x80])); // {}
 * ```
 */
export function checkMsgpackBounds(bytes: Uint8Array): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  let pos = 0;
  // Items still to read at each open level; the outermost holds the one value.
  const stack: number[] = [1];
  const need = (k: number, what: string) => {
    if (k > n - pos) {
      throw new RangeError(
        `msgpack declares ${what} of ${k} bytes at byte ${pos} with ${n - pos} left`,
      );
    }
  };
  while (stack.length) {
    if (stack[stack.length - 1] === 0) {
      stack.pop();
      continue;
    }
    stack[stack.length - 1]--;
    if (pos >= n) throw new RangeError(`msgpack ends at byte ${pos} in the middle of a value`);
    const t = bytes[pos++];
    let items = -1;
    let skip = 0;
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) skip = 0;
    else if (t <= 0x8f) items = 2 * (t & 0x0f);
    else if (t <= 0x9f) items = t & 0x0f;
    else if (t <= 0xbf) skip = t & 0x1f;
    else if (t === 0xc1) {
      throw new RangeError(`msgpack has the unused type byte 0xc1 at byte ${pos - 1}`);
    } else if (t === 0xc4 || t === 0xd9) (need(1, "a length"), skip = bytes[pos], pos += 1);
    else if (t === 0xc5 || t === 0xda) (need(2, "a length"), skip = v.getUint16(pos), pos += 2);
    else if (t === 0xc6 || t === 0xdb) (need(4, "a length"), skip = v.getUint32(pos), pos += 4);
    else if (t === 0xc7) (need(1, "a length"), skip = bytes[pos] + 1, pos += 1);
    else if (t === 0xc8) (need(2, "a length"), skip = v.getUint16(pos) + 1, pos += 2);
    else if (t === 0xc9) (need(4, "a length"), skip = v.getUint32(pos) + 1, pos += 4);
    else if (t === 0xca) skip = 4;
    else if (t === 0xcb) skip = 8;
    else if (t >= 0xcc && t <= 0xcf) skip = 1 << (t - 0xcc);
    else if (t >= 0xd0 && t <= 0xd3) skip = 1 << (t - 0xd0);
    else if (t >= 0xd4 && t <= 0xd8) skip = (1 << (t - 0xd4)) + 1;
    else if (t === 0xdc) (need(2, "a count"), items = v.getUint16(pos), pos += 2);
    else if (t === 0xdd) (need(4, "a count"), items = v.getUint32(pos), pos += 4);
    else if (t === 0xde) (need(2, "a count"), items = 2 * v.getUint16(pos), pos += 2);
    else if (t === 0xdf) (need(4, "a count"), items = 2 * v.getUint32(pos), pos += 4);
    if (items >= 0) {
      // Every item takes at least a byte: more items than bytes left cannot be.
      const pending = stack.reduce((a, b) => a + b, 0) + items;
      if (pending > n - pos) {
        throw new RangeError(
          `msgpack declares ${items} items at byte ${pos} with ${n - pos} bytes left`,
        );
      }
      if (stack.length >= MSGPACK_DEPTH_MAX) {
        throw new RangeError(`msgpack nests deeper than ${MSGPACK_DEPTH_MAX} at byte ${pos}`);
      }
      stack.push(items);
    } else {
      need(skip, "a value");
      pos += skip;
    }
  }
  if (pos !== n) throw new RangeError(`msgpack has ${n - pos} bytes after its value`);
}
