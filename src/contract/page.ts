/**
 * Page geometry shared by the guest, the wire format and the engine.
 *
 * @example
 * ```ts
 * import { PAGE_SHIFT, PAGE_SIZE } from "./page.ts";
 * console.log(PAGE_SIZE === 1 << PAGE_SHIFT); // true
 * ```
 * @module
 */

/** The guest page size in bytes. */
export const PAGE_SIZE = 4096;
/** log2 of {@link PAGE_SIZE}. */
export const PAGE_SHIFT = 12;
/** Largest guest the peers accept (bytes). */
export const RAM_BYTES_MAX = 64 * 1024 ** 3;
