/**
 * The XBZRLE page cache on the source: a copy of each recently sent page, as
 * the destination holds it, so that the next send of the page can be a delta.
 *
 * Direct-mapped, as QEMU's: a power-of-two number of slots; global page `p`
 * lives in slot `p & (slots - 1)`. One big Uint8Array holds the page data and
 * two Int32Arrays the key (the global page number, -1 for an empty slot) and
 * the age (the dirty-log sync generation of the last insert or hit) of every
 * slot: no object per page.
 *
 * Ageing: an entry inserted or hit in generation `g` is not replaced by a
 * colliding page until generation `g + lifetime` (default 2, as QEMU), so a
 * page cached in this round is never evicted by another page of the same
 * round, and the hot pages that were just sent stay cached for the next
 * round. A page that finds its slot held by a fresher page is a cache miss
 * and goes in full.
 *
 * @example
 * ```ts
 * import { PageCache } from "./page_cache.ts";
 * const cache = new PageCache(4);
 * const slot = cache.insert(9, 1); // generation 1
 * console.log(slot, cache.lookup(9, 1), cache.insert(13, 1)); // 1 1 -1 (13 collides with 9)
 * ```
 * @module
 */
import { PAGE_SIZE } from "../guest/ram.ts";

/** Generations an entry is protected from a colliding page (QEMU's CACHED_PAGE_LIFETIME). */
export const CACHE_LIFETIME = 2;

/** A direct-mapped cache of guest pages. */
export class PageCache {
  /** Number of slots (a power of two). */
  readonly slots: number;
  /** Page data: slot `s` at bytes `s * PAGE_SIZE`. */
  readonly data: Uint8Array;
  /** Global page number held by each slot; -1 when empty. */
  readonly keys: Int32Array;
  /** Generation of each slot's last insert or hit. */
  readonly ages: Int32Array;
  #mask: number;
  #lifetime: number;
  #used = 0;

  /** Creates a cache of `slots` pages (a power of two, at least 1). */
  constructor(slots: number, options: { lifetime?: number } = {}) {
    if (!Number.isInteger(slots) || slots < 1 || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`Page cache size must be a power-of-two number of pages, got ${slots}`);
    }
    this.slots = slots;
    this.#mask = slots - 1;
    this.#lifetime = options.lifetime ?? CACHE_LIFETIME;
    this.data = new Uint8Array(slots * PAGE_SIZE);
    this.keys = new Int32Array(slots).fill(-1);
    this.ages = new Int32Array(slots);
  }

  /** Bytes of page data the cache holds when full. */
  get bytes(): number {
    return this.data.length;
  }

  /** Slots in use. */
  get used(): number {
    return this.#used;
  }

  /** The slot holding `page`, with its age refreshed to `generation`; -1 when not cached. */
  lookup(page: number, generation: number): number {
    const s = page & this.#mask;
    if (this.keys[s] !== page) return -1;
    this.ages[s] = generation;
    return s;
  }

  /** The slot holding `page`, without touching its age; -1 when not cached. */
  slotOf(page: number): number {
    const s = page & this.#mask;
    return this.keys[s] === page ? s : -1;
  }

  /**
   * Claims the slot for `page` in `generation` and returns it; the caller
   * then writes the page into `data` at `slot * PAGE_SIZE`. Returns -1 (and
   * changes nothing) when the slot holds another page that is still fresh.
   */
  insert(page: number, generation: number): number {
    const s = page & this.#mask;
    const key = this.keys[s];
    if (key !== page) {
      if (key >= 0 && this.ages[s] + this.#lifetime > generation) return -1;
      if (key < 0) this.#used++;
      this.keys[s] = page;
    }
    this.ages[s] = generation;
    return s;
  }

  /** The page data of `slot`, a view (allocates the view; hot paths use {@link data} with offsets). */
  page(slot: number): Uint8Array {
    return this.data.subarray(slot * PAGE_SIZE, (slot + 1) * PAGE_SIZE);
  }
}
