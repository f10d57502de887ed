/**
 * Migration statistics: pages and bytes by record kind, in the shape of the
 * result's `pages` and `bytes` (kind counters that add up to `total`).
 *
 * @example
 * ```ts
 * import { KindStats } from "./stats.ts";
 * const s = new KindStats();
 * s.add("zero", 1, 1);
 * console.log(s.snapshot().pages.total); // 1
 * ```
 * @module
 */
import type { KindCounters } from "../scenario/types.ts";

/** Record kinds counted; `overhead` is stream bytes outside page records (header, sections, device state). */
export const STAT_KINDS = ["normal", "zero", "xbzrle", "deflate", "overhead"] as const;
/** A counted kind. */
export type StatKind = (typeof STAT_KINDS)[number];

/** Page and byte counters by kind. */
export class KindStats {
  /** Pages by kind index (see {@link STAT_KINDS}). */
  readonly pages = new Float64Array(STAT_KINDS.length);
  /** Bytes by kind index. */
  readonly bytes = new Float64Array(STAT_KINDS.length);

  /** Adds pages and bytes to a kind. */
  add(kind: StatKind, pages: number, bytes: number): void {
    const i = STAT_KINDS.indexOf(kind);
    this.pages[i] += pages;
    this.bytes[i] += bytes;
  }

  /** Total bytes counted. */
  get totalBytes(): number {
    let t = 0;
    for (const b of this.bytes) t += b;
    return t;
  }

  /** The counters as result objects; totals are sums of the kinds. */
  snapshot(): { pages: KindCounters; bytes: KindCounters } {
    const pages: KindCounters = { total: 0, normal: 0, zero: 0 };
    const bytes: KindCounters = { total: 0, normal: 0, zero: 0 };
    STAT_KINDS.forEach((k, i) => {
      if (k !== "overhead") {
        pages[k] = this.pages[i];
        pages.total += this.pages[i];
      }
      bytes[k] = this.bytes[i];
      bytes.total += this.bytes[i];
    });
    return { pages, bytes };
  }
}

/** Indexes of kinds, for hot paths that avoid string lookups. */
export const K_NORMAL = 0, K_ZERO = 1, K_XBZRLE = 2, K_DEFLATE = 3, K_OVERHEAD = 4;
