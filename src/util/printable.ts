/**
 * A string from a hostile source made fit for a log line: control and
 * non-ASCII characters become "?", and it is cut at `maxChars`.
 *
 * @example
 * ```ts
 * import { printable } from "./printable.ts";
 * console.log(printable("ok\u001b[2Jboom", 8)); // "ok?[2Jbo…"
 * ```
 * @module
 */

/**
 * The printable form of `s`, at most `maxChars` characters and an ellipsis.
 *
 * @example
 * ```ts
 * import { printable } from "./printable.ts";
 * console.log(printable("a\nb")); // "a?b"
 * ```
 */
export function printable(s: string, maxChars = 120): string {
  const clean = s.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > maxChars ? `${clean.slice(0, maxChars)}…` : clean;
}
