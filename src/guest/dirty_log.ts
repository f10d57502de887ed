/**
 * The shared dirty log: one bit per guest page in a SharedArrayBuffer. The
 * vCPU sets bits with Atomics after it writes a page; the source fetches and
 * clears the log once per round, as KVM's dirty log works.
 *
 * @example
 * ```ts
 * import { DirtyLog, DirtyBitmap } from "./dirty_log.ts";
 * const log = new DirtyLog(64);
 * log.mark(3);
 * const bitmap = new DirtyBitmap(64);
 * console.log(log.syncInto(bitmap)); // 1
 * ```
 * @module
 */

/** The log shared between the vCPU (writer) and the source (fetch-and-clear). */
export class DirtyLog {
  /** The shared words (32 pages each). */
  readonly words: Int32Array;
  readonly pages: number;

  /** Creates a log for `pages` pages, or wraps a shared buffer made by another thread. */
  constructor(pages: number, sab?: SharedArrayBuffer) {
    this.pages = pages;
    const n = Math.ceil(pages / 32);
    this.words = new Int32Array(sab ?? new SharedArrayBuffer(n * 4));
    if (this.words.length !== n) {
      throw new RangeError(`Dirty log buffer holds ${this.words.length} words, expected ${n}`);
    }
  }

  /** The shared buffer, to hand to a worker. */
  get buffer(): SharedArrayBuffer {
    return this.words.buffer as SharedArrayBuffer;
  }

  /** Marks a page dirty (call after writing it). */
  mark(page: number): void {
    Atomics.or(this.words, page >>> 5, 1 << (page & 31));
  }

  /** Fetches and clears the log, ORing it into `bitmap`; returns how many bits the log held. */
  syncInto(bitmap: DirtyBitmap): number {
    const w = this.words;
    const b = bitmap.words;
    let count = 0;
    for (let i = 0; i < w.length; i++) {
      if (w[i] === 0) continue;
      const v = Atomics.exchange(w, i, 0);
      b[i] |= v;
      count += popcount32(v);
    }
    return count;
  }

  /** Clears the log, discarding what it held. */
  clear(): void {
    const w = this.words;
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) Atomics.store(w, i, 0);
  }
}

/** A private (unshared) bitmap of pages: the migration bitmap. */
export class DirtyBitmap {
  readonly words: Int32Array;
  readonly pages: number;

  /** Creates an all-clear bitmap of `pages` pages. */
  constructor(pages: number) {
    this.pages = pages;
    this.words = new Int32Array(Math.ceil(pages / 32));
  }

  /** Sets every page's bit. */
  setAll(): void {
    this.words.fill(-1);
    const extra = this.words.length * 32 - this.pages;
    if (extra > 0) this.words[this.words.length - 1] = -1 >>> extra;
  }

  /** Sets one page's bit. */
  set(page: number): void {
    this.words[page >>> 5] |= 1 << (page & 31);
  }

  /** Clears one page's bit. */
  clear(page: number): void {
    this.words[page >>> 5] &= ~(1 << (page & 31));
  }

  /** Whether a page's bit is set. */
  has(page: number): boolean {
    return (this.words[page >>> 5] & (1 << (page & 31))) !== 0;
  }

  /** Number of set bits. */
  count(): number {
    let n = 0;
    const w = this.words;
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) n += popcount32(w[i]);
    return n;
  }

  /** The first set page at or after `from`, or -1. */
  next(from: number): number {
    const w = this.words;
    let i = from >>> 5;
    if (i >= w.length) return -1;
    let word = w[i] & (-1 << (from & 31));
    while (word === 0) {
      if (++i >= w.length) return -1;
      word = w[i];
    }
    const page = (i << 5) + (31 - Math.clz32(word & -word));
    return page < this.pages ? page : -1;
  }
}

/** Number of set bits in a 32-bit word. */
export function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}
