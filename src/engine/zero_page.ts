/**
 * Zero-page detection, a word at a time. A zero page travels as a one-byte
 * record (see stream/format.ts); the destination leaves an already-zero page
 * untouched so that an idle guest costs no destination memory.
 *
 * @example
 * ```ts
 * import { isZeroPage } from "./zero_page.ts";
 * const words = new Int32Array(2048);
 * console.log(isZeroPage(words, 1024)); // true: the second page
 * ```
 * @module
 */

/** Words of 4 bytes in a 4 KiB page. */
export const PAGE_WORDS = 1024;

/** Whether the page starting at word `wordOffset` of `words` is all zero. */
export function isZeroPage(words: Int32Array, wordOffset: number): boolean {
  // Random pages exit on the first word; zero pages pay one pass of ORs.
  if (words[wordOffset] !== 0) return false;
  const end = wordOffset + PAGE_WORDS;
  for (let i = wordOffset; i < end; i += 8) {
    if (
      (words[i] | words[i + 1] | words[i + 2] | words[i + 3] | words[i + 4] | words[i + 5] |
        words[i + 6] |
        words[i + 7]) !== 0
    ) return false;
  }
  return true;
}
