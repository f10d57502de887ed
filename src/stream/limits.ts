/**
 * Bounds a destination puts on a stream beyond each field's own: the most
 * bytes a migration of a guest can send, so that a source that never ends
 * (endless rounds of valid records) is refused instead of read forever.
 *
 * @example
 * ```ts
 * import { streamBytesBound } from "./limits.ts";
 * console.log(streamBytesBound(256 * 2 ** 20, 30) > 32 * 256 * 2 ** 20); // true
 * ```
 * @module
 */
import {
  DEVICE_BYTES_MAX,
  EOS_BYTES,
  PARAMS_BYTES_MAX,
  RAM_HEAD_BYTES,
  RECORD_HEAD_BYTES_MAX,
} from "./format.ts";
import { PAGE_SIZE } from "../contract/page.ts";

/** The most bytes one page can take in one pass: its head, count, padding, data and CRC. */
export const PAGE_BYTES_MAX = RECORD_HEAD_BYTES_MAX + 2 + 7 + PAGE_SIZE + 4;

/**
 * The most bytes a migration of `ramBytes` of guest RAM sends with at most
 * `maxRounds` dirty rounds after the bulk pass: every page in every pass
 * (bulk, each round, stop-and-copy) at its largest record, twice over
 * (slack for sections a pass may split into), plus setup, device state and
 * end at their largest.
 *
 * @example
 * ```ts
 * import { streamBytesBound } from "./limits.ts";
 * console.log(streamBytesBound(4096, 0)); // a page, three passes, twice, plus the fixed parts
 * ```
 */
export function streamBytesBound(ramBytes: number, maxRounds: number): number {
  const pages = Math.ceil(ramBytes / PAGE_SIZE);
  const passes = maxRounds + 2;
  return 2 * passes * (pages * PAGE_BYTES_MAX + RAM_HEAD_BYTES + EOS_BYTES) +
    PARAMS_BYTES_MAX + DEVICE_BYTES_MAX + (1 << 20);
}
