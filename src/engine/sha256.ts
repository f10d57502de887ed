/**
 * SHA-256 of one page with the runtime's native implementation
 * (`node:crypto`): its one-shot `hash()` where this Deno has it (a third
 * faster on 4 KiB inputs than `createHash`), else `createHash`. The digest
 * is copied into the caller's buffer; node:crypto has no digest-into API, so
 * each call allocates the 32-byte result it returns.
 *
 * @example
 * ```ts
 * import { sha256Into } from "./sha256.ts";
 * const out = new Uint8Array(32);
 * sha256Into(new Uint8Array(4096), out, 0);
 * console.log(out[0].toString(16)); // "ad"
 * ```
 * @module
 */
import * as nodeCrypto from "node:crypto";

type OneShot = (alg: string, data: Uint8Array, enc: "buffer") => Uint8Array;
const oneShot = (nodeCrypto as unknown as { hash?: OneShot }).hash;

/** Writes the SHA-256 of `data` into `out` at `off`. */
export function sha256Into(data: Uint8Array, out: Uint8Array, off: number): void {
  const d = oneShot
    ? oneShot("sha256", data, "buffer")
    : nodeCrypto.createHash("sha256").update(data).digest();
  out.set(d, off);
}
