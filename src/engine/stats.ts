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
import { PAGE_SIZE } from "../guest/ram.ts";
import type { CompressionStatsRecord, KindCounters, XbzrleStatsRecord } from "../contract/types.ts";

/** Record kinds counted; `overhead` is stream bytes outside page records (header, sections, device state). */
export const STAT_KINDS = ["normal", "zero", "xbzrle", "deflate", "overhead", "hash"] as const;
/** A counted kind. */
export type StatKind = (typeof STAT_KINDS)[number];

/** Page and byte counters by kind. */
export class KindStats {
  /** Pages by kind index (see {@link STAT_KINDS}). */
  readonly pages = new Float64Array(STAT_KINDS.length);
  /** Bytes by kind index. */
  readonly bytes = new Float64Array(STAT_KINDS.length);
  /** Whether the `hash` kind (capability hashDedup) is reported. */
  reportHash: boolean;

  /** Counters; `hash` (capability hashDedup) is reported only when `options.hash` is set. */
  constructor(options: { hash?: boolean } = {}) {
    this.reportHash = options.hash ?? false;
  }

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
      if (k === "hash" && !this.reportHash) return;
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
export const K_NORMAL = 0, K_ZERO = 1, K_XBZRLE = 2, K_DEFLATE = 3, K_OVERHEAD = 4, K_HASH = 5;

/**
 * XBZRLE counters beside the per-kind ones (the pages and bytes of XBZRLE
 * records are the `xbzrle` kind of {@link KindStats}).
 */
export class XbzrleStats {
  /** Bytes of the page cache. */
  cacheSizeBytes: number;
  /** Non-zero dirty pages looked up in the cache after the bulk pass. */
  lookups = 0;
  misses = 0;
  unchanged = 0;
  overflows = 0;
  /** Pages, bytes, misses and lookups at the start of the current period. */
  #mark = new Float64Array(4);

  /** Statistics for a cache of `cacheSizeBytes`. */
  constructor(cacheSizeBytes: number) {
    this.cacheSizeBytes = cacheSizeBytes;
  }

  /** The record with rates since the last call (or the start), then starts a new period. */
  period(kinds: KindStats): XbzrleStatsRecord {
    const r = this.#record(kinds, this.#mark);
    this.#mark.set([kinds.pages[K_XBZRLE], kinds.bytes[K_XBZRLE], this.misses, this.lookups]);
    return r;
  }

  /** The record with rates over the whole migration. */
  total(kinds: KindStats): XbzrleStatsRecord {
    return this.#record(kinds, new Float64Array(4));
  }

  #record(kinds: KindStats, from: Float64Array): XbzrleStatsRecord {
    const pages = kinds.pages[K_XBZRLE], bytes = kinds.bytes[K_XBZRLE];
    const dPages = pages - from[0], dBytes = bytes - from[1];
    const dMisses = this.misses - from[2], dLookups = this.lookups - from[3];
    return {
      cacheSizeBytes: this.cacheSizeBytes,
      bytes,
      pages,
      unchangedPages: this.unchanged,
      cacheMisses: this.misses,
      cacheMissRate: dLookups > 0 ? dMisses / dLookups : 0,
      encodingRate: dBytes > 0 ? (dPages * PAGE_SIZE) / dBytes : 0,
      overflows: this.overflows,
    };
  }
}

/** Page-compression counters. */
export class CompressStats {
  readonly method: string;
  readonly level: number;
  pages = 0;
  batches = 0;
  incompressibleBatches = 0;
  bytesBefore = 0;
  bytesAfter = 0;
  compressMs = 0;

  /** Counters for one method and level. */
  constructor(method: string, level: number) {
    this.method = method;
    this.level = level;
  }

  /** The counters as a result record. */
  record(): CompressionStatsRecord {
    return {
      method: this.method,
      level: this.level,
      pages: this.pages,
      batches: this.batches,
      incompressibleBatches: this.incompressibleBatches,
      bytesBefore: this.bytesBefore,
      bytesAfter: this.bytesAfter,
      ratio: this.bytesBefore > 0 ? this.bytesAfter / this.bytesBefore : 0,
      compressMs: this.compressMs,
    };
  }
}
