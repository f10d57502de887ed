/**
 * Page digests for the checker: SHA-256 of every page (native, node:crypto),
 * truncated to 16 bytes, in global page order.
 *
 * @example
 * ```ts
 * import { createRam } from "./ram.ts";
 * import { digestRam, DIGEST_BYTES } from "./digest.ts";
 * const ram = createRam([{ name: "pc.ram", bytes: 8192 }]);
 * console.log(digestRam(ram).length === 2 * DIGEST_BYTES); // true
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { PAGE_SIZE, type Ram } from "./ram.ts";

/** Bytes of digest kept per page. */
export const DIGEST_BYTES = 16;

/** Digests every page of `ram`. */
export function digestRam(ram: Ram): Uint8Array {
  const out = new Uint8Array(ram.totalPages * DIGEST_BYTES);
  let page = 0;
  for (const b of ram.blocks) {
    for (let p = 0; p < b.pages; p++, page++) {
      const h = createHash("sha256").update(b.bytes.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE))
        .digest();
      out.set(h.subarray(0, DIGEST_BYTES), page * DIGEST_BYTES);
    }
  }
  return out;
}
