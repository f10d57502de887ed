/**
 * When a page goes to, or through, the XBZRLE page cache (docs/xbzrle.md).
 * The RAM sender asks this file, page by page, and sends what it says; the
 * rule it keeps is that **the cache holds exactly what the destination
 * holds**, since the destination applies each delta to its own copy.
 *
 * - XBZRLE applies after the bulk pass only ({@link appliesTo}), as QEMU.
 * - A dirty non-zero page ({@link encode}): a hit is copied into a private
 *   snapshot (the guest keeps writing while the source reads), encoded
 *   against the cached copy, and the snapshot becomes the cached copy; an
 *   unchanged page sends nothing; an overflow goes in full. A miss goes in
 *   full and is inserted when its slot allows.
 * - A page that goes in full while the cache keeps copies ({@link keepsCopies})
 *   is sent from its cache slot ({@link slotOf}), through the sender's stage
 *   buffer: the bytes sent are the bytes cached, however the guest writes.
 * - A zero page sent ({@link zeroSent}) overwrites its cached copy with zeros.
 * - In the last stage (guest stopped) hits are still encoded, but the cache
 *   is left alone: it is thrown away after.
 *
 * @example
 * ```ts
 * import { XbzrleCachePolicy } from "./xbzrle_cache_policy.ts";
 * const policy = new XbzrleCachePolicy({ cacheBytes: 16 * 4096, guestPages: 64, overflowBytes: 4032 });
 * const ram = new Uint8Array(4096).fill(1);
 * console.log(policy.encode(5, ram, 0, 1, false)); // -1: a miss, now cached
 * ram[10] = 2;
 * console.log(policy.encode(5, ram, 0, 2, false)); // 3: zrun 10, nzrun 1, the byte
 * console.log(policy.delta.subarray(0, 3)); // Uint8Array(3) [ 10, 1, 2 ]
 * ```
 * @module
 */
import { PAGE_SIZE } from "../contract/page.ts";
import { PageCache } from "./page_cache.ts";
import { XbzrleStats } from "./stats.ts";
import { encodeXbzrle } from "./xbzrle.ts";

/** What the policy is built from (MigrationConfig's XBZRLE parameters and the guest's size). */
export interface XbzrleCachePolicyOptions {
  /** `xbzrleCacheSize`: bytes of cache asked for. */
  cacheBytes: number;
  /** Pages of the guest (the cache is capped at this, rounded up to a power of two). */
  guestPages: number;
  /** `xbzrleOverflowBytes`: the longest delta sent. */
  overflowBytes: number;
}

/** The XBZRLE page cache and the rules of its use. */
export class XbzrleCachePolicy {
  /** The cache. */
  readonly cache: PageCache;
  /** Lookups, misses, unchanged pages and overflows. */
  readonly stats: XbzrleStats;
  /** The last delta {@link encode} made: its first `len` bytes. */
  readonly delta: Uint8Array;
  #snapshot = new Uint8Array(PAGE_SIZE);

  /** A cache of `cacheBytes`, capped to the guest. */
  constructor(options: XbzrleCachePolicyOptions) {
    this.cache = new PageCache(cacheSlots(options.cacheBytes, options.guestPages));
    this.stats = new XbzrleStats(this.cache.bytes);
    this.delta = new Uint8Array(options.overflowBytes);
  }

  /** Whether XBZRLE applies to the RAM section of `round`: after the bulk pass (round 0) only. */
  appliesTo(round: number): boolean {
    return round > 0;
  }

  /**
   * Whether pages that go in full in this section must go from the cache
   * (the cache then keeps what is sent): outside the last stage, once
   * XBZRLE applies.
   */
  keepsCopies(round: number, lastStage: boolean): boolean {
    return this.appliesTo(round) && !lastStage;
  }

  /**
   * XBZRLE for one dirty non-zero page, global number `page`, whose bytes are
   * at `off` of `bytes`, in dirty-log generation `generation`: the delta's
   * length (in {@link delta}), 0 when the page is unchanged (nothing to
   * send), -1 when it goes in full (a miss or an overflow). Outside the last
   * stage the cache is left holding what the destination will hold.
   * (Positional parameters on purpose: called once per page, no options
   * object allocated.)
   */
  encode(
    page: number,
    bytes: Uint8Array,
    off: number,
    generation: number,
    lastStage: boolean,
  ): number {
    const cache = this.cache, xb = this.stats;
    xb.lookups++;
    const slot = cache.lookup(page, generation);
    if (slot < 0) {
      xb.misses++;
      if (!lastStage) {
        const s = cache.insert(page, generation);
        if (s >= 0) cache.data.set(bytes.subarray(off, off + PAGE_SIZE), s * PAGE_SIZE);
      }
      return -1;
    }
    // The guest may write while we read: encode from, and cache, one snapshot.
    const snapshot = this.#snapshot;
    snapshot.set(bytes.subarray(off, off + PAGE_SIZE));
    const cached = cache.data.subarray(slot * PAGE_SIZE, (slot + 1) * PAGE_SIZE);
    const len = encodeXbzrle(cached, snapshot, this.delta);
    if (len === 0) {
      xb.unchanged++;
      return 0;
    }
    if (!lastStage) cached.set(snapshot);
    if (len < 0) xb.overflows++;
    return len;
  }

  /**
   * The slot whose bytes a page going in full must be sent from (they are
   * what the cache keeps), or -1: send it from guest RAM.
   */
  slotOf(page: number): number {
    return this.cache.slotOf(page);
  }

  /**
   * A zero page went outside the last stage: the destination now holds
   * zeros, so a stale cached copy must not stay; the page is cached as zeros
   * when its slot allows.
   */
  zeroSent(page: number, generation: number): void {
    const s = this.cache.insert(page, generation);
    if (s >= 0) this.cache.data.fill(0, s * PAGE_SIZE, (s + 1) * PAGE_SIZE);
  }
}

/** Slots of the cache: the size asked for, but no more than the guest's pages rounded up to a power of two. */
export function cacheSlots(cacheBytes: number, guestPages: number): number {
  const asked = Math.max(1, Math.floor(cacheBytes / PAGE_SIZE));
  let fit = 1;
  while (fit < guestPages) fit *= 2;
  return Math.min(asked, fit);
}
