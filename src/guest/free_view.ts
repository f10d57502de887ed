/**
 * The guest's free-page view: one bit per page, set when the guest considers
 * the page free. Free pages are neither read nor written by the workload
 * until it allocates them again (see workload.ts for the allocation rule).
 *
 * The bits live in an Int32Array that may be backed by a SharedArrayBuffer:
 * the vCPU worker changes them with Atomics while the balloon driver reads
 * them from the peer's main thread. The view is part of the workload's state
 * (device state), so the destination resumes with the same view.
 *
 * The initial view is drawn from a PRNG: the pages of the static free map are
 * free, and `ratio` of the other pages, chosen in granules of
 * {@link FREE_GRANULE_PAGES} pages so that free memory comes in runs as a
 * real guest's does; the count is exact up to one granule.
 *
 * @example
 * ```ts
 * import { FreeView } from "./free_view.ts";
 * import { Prng } from "../util/prng.ts";
 * const view = new FreeView(1024);
 * view.initialise({ ratio: 0.75, prng: new Prng(1) });
 * console.log(view.count()); // 768
 * ```
 * @module
 */
import type { Prng } from "../util/prng.ts";
import { popcount32 } from "./dirty_log.ts";

/** Pages per granule of the initial free view (64 KiB). */
export const FREE_GRANULE_PAGES = 16;

/**
 * A page range: first page and page count.
 *
 * @example
 * ```ts
 * import type { PageRange } from "./free_view.ts";
 * const range: PageRange = [256, 16]; // pages 256 to 271
 * ```
 */
export type PageRange = readonly [start: number, pages: number];

/** One bit per page; set = free. */
export class FreeView {
  readonly pages: number;
  /** The bits, 32 pages a word. */
  readonly words: Int32Array;

  /** Creates an all-in-use view of `pages` pages, or wraps a shared buffer made elsewhere. */
  constructor(pages: number, sab?: SharedArrayBuffer) {
    this.pages = pages;
    const bytes = FreeView.byteLength(pages);
    this.words = new Int32Array(sab ?? new SharedArrayBuffer(bytes));
    if (this.words.byteLength !== bytes) {
      throw new RangeError(
        `Free-view buffer is ${this.words.byteLength} bytes, expected ${bytes} for ${pages} pages`,
      );
    }
  }

  /** Bytes of a view of `pages` pages (whole 32-bit words). */
  static byteLength(pages: number): number {
    return Math.ceil(pages / 32) * 4;
  }

  /** The backing buffer, to hand to a worker. */
  get buffer(): SharedArrayBuffer {
    return this.words.buffer as SharedArrayBuffer;
  }

  /** Draws the initial view: the static ranges free, then `ratio` of the other pages in granules. */
  initialise(options: { ratio: number; prng: Prng; staticFree?: readonly PageRange[] }): void {
    const { ratio, prng, staticFree = [] } = options;
    this.words.fill(0);
    for (const [start, n] of staticFree) this.setRange(start, n);
    const granules = Math.ceil(this.pages / FREE_GRANULE_PAGES);
    const want = Math.round(ratio * (this.pages - this.count()));
    // A partial Fisher-Yates shuffle of granule numbers picks them without repeats.
    const order = new Uint32Array(granules);
    for (let i = 0; i < granules; i++) order[i] = i;
    let free = 0;
    for (let i = 0; i < granules && free < want; i++) {
      const j = i + prng.nextInt(granules - i);
      const g = order[j];
      order[j] = order[i];
      const start = g * FREE_GRANULE_PAGES;
      const n = Math.min(FREE_GRANULE_PAGES, this.pages - start, want - free);
      free += n - this.countRange(start, n);
      this.setRange(start, n);
    }
  }

  /** Whether `page` is free. */
  isFree(page: number): boolean {
    return (Atomics.load(this.words, page >>> 5) & (1 << (page & 31))) !== 0;
  }

  /** Marks `page` in use (allocated). */
  take(page: number): void {
    Atomics.and(this.words, page >>> 5, ~(1 << (page & 31)));
  }

  /** Marks `page` free (released). */
  give(page: number): void {
    Atomics.or(this.words, page >>> 5, 1 << (page & 31));
  }

  /** Number of free pages. */
  count(): number {
    let n = 0;
    for (let i = 0; i < this.words.length; i++) n += popcount32(Atomics.load(this.words, i));
    return n;
  }

  /** Number of free pages in [start, start + n). */
  countRange(start: number, n: number): number {
    let c = 0;
    for (let p = start; p < start + n; p++) if (this.isFree(p)) c++;
    return c;
  }

  /** Marks [start, start + n) free. */
  setRange(start: number, n: number): void {
    for (let p = start; p < start + n; p++) this.give(p);
  }

  /** The first free page at or after `from`, or -1. */
  nextFree(from: number): number {
    return this.#next(from, 0);
  }

  /** The first page in use at or after `from`, or -1. */
  nextInUse(from: number): number {
    return this.#next(from, -1);
  }

  /** Scans for a bit that differs from `flip`'s (0: find set bits, -1: find clear bits). */
  #next(from: number, flip: number): number {
    if (from >= this.pages) return -1;
    const w = this.words;
    let i = from >>> 5;
    let word = (Atomics.load(w, i) ^ flip) & (-1 << (from & 31));
    while (word === 0) {
      if (++i >= w.length) return -1;
      word = Atomics.load(w, i) ^ flip;
    }
    const page = (i << 5) + (31 - Math.clz32(word & -word));
    return page < this.pages ? page : -1;
  }

  /** A copy of the bits as bytes (for device state). */
  bytes(): Uint8Array {
    const out = new Int32Array(this.words.length);
    for (let i = 0; i < out.length; i++) out[i] = Atomics.load(this.words, i);
    return new Uint8Array(out.buffer);
  }

  /** Loads bits saved by {@link bytes}; throws RangeError when the length does not fit this view. */
  load(bytes: Uint8Array): void {
    if (bytes.length !== this.words.byteLength) {
      throw new RangeError(
        `Free view of ${bytes.length} bytes does not fit a guest of ${this.pages} pages (${this.words.byteLength} bytes)`,
      );
    }
    // A copy into a fresh buffer (a Node Buffer's slice() would share its pool).
    const src = new Int32Array(bytes.length >> 2);
    new Uint8Array(src.buffer).set(bytes);
    const extra = this.words.length * 32 - this.pages;
    if (extra > 0) src[src.length - 1] &= -1 >>> extra;
    for (let i = 0; i < src.length; i++) Atomics.store(this.words, i, src[i]);
  }

  /** Marks every page in use. */
  clear(): void {
    for (let i = 0; i < this.words.length; i++) Atomics.store(this.words, i, 0);
  }
}
