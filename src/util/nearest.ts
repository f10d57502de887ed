/**
 * Suggestions for misspelt names: the known name nearest to an unknown one
 * (Levenshtein distance, case ignored), for messages such as
 * `expect.downtimeMax: unknown field (did you mean downtimeMsMax?)`.
 *
 * @example
 * ```ts
 * import { nearest } from "./nearest.ts";
 * console.log(`capabilites: unknown field${nearest("capabilites", ["capabilities", "parameters"])}`);
 * // capabilites: unknown field (did you mean capabilities?)
 * ```
 * @module
 */

/**
 * " (did you mean X?)" for the known name nearest to `name`, or the list of
 * known names when none is near (" (known: a, b)"), or "" when none is known.
 * A name is near when at most max(2, a third of its length) edits away.
 *
 * @example
 * ```ts
 * import { nearest } from "./nearest.ts";
 * console.log(nearest("downtimeMax", ["downtimeMsMax", "bytesMax"])); // " (did you mean downtimeMsMax?)"
 * console.log(nearest("zzz", ["ram", "fill"])); // " (known: ram, fill)"
 * ```
 */
export function nearest(name: string, known: readonly string[]): string {
  let best = "";
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  if (best && bestDistance <= Math.max(2, Math.floor(best.length / 3))) {
    return ` (did you mean ${best}?)`;
  }
  return known.length ? ` (known: ${known.join(", ")})` : "";
}

/**
 * Levenshtein distance between two strings (insertions, deletions and
 * substitutions each cost 1), in two rows of memory.
 *
 * @example
 * ```ts
 * import { editDistance } from "./nearest.ts";
 * console.log(editDistance("capabilites", "capabilities")); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        prev[j] + 1,
        row[j - 1] + 1,
        prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length];
}
