/**
 * The destination's index of a checkpoint (capability `hashDedup`, seed
 * 000): every distinct non-zero page of the file, by SHA-256, with where it
 * is in the file. The file is read once, a chunk at a time (never held
 * whole), and stays open: a hit reads its page from the file straight into
 * guest RAM.
 *
 * Memory: 32 bytes of digest, 8 of file offset and 8 of table per distinct
 * page, 48 bytes per 4 KiB page (12 MiB per GiB of checkpoint).
 *
 * @example
 * ```ts
 * import { CheckpointIndex } from "./checkpoint_index.ts";
 * import { ferryCheckpointHeader, memoryAccess } from "../stream/checkpoint_file.ts";
 * const file = new Uint8Array(4096 * 3);
 * file.set(ferryCheckpointHeader(2));
 * file[4096 + 4096] = 7; // page 1 is not zero
 * const index = CheckpointIndex.build(memoryAccess(file), "ferry");
 * console.log(index.entries, index.pages); // 1 2
 * ```
 * @module
 */
import { PAGE_SIZE } from "../contract/page.ts";
import { HASH_BYTES } from "../stream/format.ts";
import {
  checkpointExtents,
  CheckpointFileError,
  type RandomAccess,
} from "../stream/checkpoint_file.ts";
import { sha256Into } from "./sha256.ts";
import { isZeroPage, PAGE_WORDS } from "./zero_page.ts";

/** Pages read from the file at a time while indexing (1 MiB). */
const CHUNK_PAGES = 256;

/** A checkpoint's pages by SHA-256. */
export class CheckpointIndex {
  /** Pages in the file. */
  readonly pages: number;
  /** Distinct non-zero pages indexed. */
  entries = 0;
  /** Digests of the entries, {@link HASH_BYTES} each. */
  readonly digests: Uint8Array;
  #offsets: Float64Array;
  #table: Int32Array;
  #mask: number;
  #file: RandomAccess;
  // Read-ahead: a chunk of the file, read when hits walk it in order.
  #chunk = new Uint8Array(CHUNK_PAGES * PAGE_SIZE);
  #chunkAt = -1;
  #chunkLen = 0;
  #lastAt = -1;

  private constructor(file: RandomAccess, pages: number) {
    this.#file = file;
    this.pages = pages;
    this.digests = new Uint8Array(pages * HASH_BYTES);
    this.#offsets = new Float64Array(pages);
    let cap = 2;
    while (cap < pages * 2) cap *= 2;
    this.#table = new Int32Array(cap);
    this.#mask = cap - 1;
  }

  /**
   * Indexes `file` in `format`; throws {@link CheckpointFileError} when it
   * is not a usable checkpoint. The index keeps the file open.
   */
  static build(file: RandomAccess, format: "elf" | "ferry"): CheckpointIndex {
    const { extents, pages } = checkpointExtents(file, format);
    const ix = new CheckpointIndex(file, pages);
    const chunk = new Uint8Array(CHUNK_PAGES * PAGE_SIZE);
    const words = new Int32Array(chunk.buffer);
    for (const e of extents) {
      for (let p = 0; p < e.pages; p += CHUNK_PAGES) {
        const n = Math.min(CHUNK_PAGES, e.pages - p);
        const at = e.offset + p * PAGE_SIZE;
        const want = n * PAGE_SIZE;
        let got = 0;
        while (got < want) {
          const k = file.readAt(at + got, chunk.subarray(got, want));
          if (k <= 0) {
            throw new CheckpointFileError(
              `checkpoint file ended at offset ${at + got} while indexing (it shrank?)`,
            );
          }
          got += k;
        }
        for (let i = 0; i < n; i++) {
          if (isZeroPage(words, i * PAGE_WORDS)) continue;
          ix.#add(chunk.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), at + i * PAGE_SIZE);
        }
      }
    }
    return ix;
  }

  #add(page: Uint8Array, offset: number): void {
    const d = this.digests, e = this.entries;
    sha256Into(page, d, e * HASH_BYTES);
    const slot = this.#find(d, e * HASH_BYTES);
    if (this.#table[slot] !== 0) return; // the same content again
    this.#table[slot] = e + 1;
    this.#offsets[e] = offset;
    this.entries++;
  }

  /** The slot of `digest` (at `off`): its entry's, or the empty one where it would go. */
  #find(digest: Uint8Array, off: number): number {
    const t = this.#table, d = this.digests;
    let s = ((digest[off] << 24) | (digest[off + 1] << 16) | (digest[off + 2] << 8) |
      digest[off + 3]) & this.#mask;
    for (;;) {
      const v = t[s];
      if (v === 0) return s;
      const at = (v - 1) * HASH_BYTES;
      let k = 0;
      while (k < HASH_BYTES && d[at + k] === digest[off + k]) k++;
      if (k === HASH_BYTES) return s;
      s = (s + 1) & this.#mask;
    }
  }

  /** The entry holding content with SHA-256 `digest` (at `off`), or -1. */
  lookup(digest: Uint8Array, off: number): number {
    const v = this.#table[this.#find(digest, off)];
    return v - 1;
  }

  /**
   * Reads entry `e`'s page from the file into `into` (one page); false if
   * the file is short. A page that follows the last one read starts a
   * 1 MiB read-ahead (a guest's pages come back in order; one read per
   * page costs as much as hashing it); others are read alone.
   */
  readPage(e: number, into: Uint8Array): boolean {
    const at = this.#offsets[e];
    const sequential = at === this.#lastAt + PAGE_SIZE;
    this.#lastAt = at;
    if (at >= this.#chunkAt && at + PAGE_SIZE <= this.#chunkAt + this.#chunkLen) {
      const o = at - this.#chunkAt;
      into.set(this.#chunk.subarray(o, o + PAGE_SIZE));
      return true;
    }
    if (sequential) {
      const n = this.#file.readAt(at, this.#chunk);
      this.#chunkAt = at;
      this.#chunkLen = n > 0 ? n : 0;
      if (this.#chunkLen >= PAGE_SIZE) {
        into.set(this.#chunk.subarray(0, PAGE_SIZE));
        return true;
      }
    }
    let got = 0;
    while (got < PAGE_SIZE) {
      const k = this.#file.readAt(at + got, into.subarray(got, PAGE_SIZE));
      if (k <= 0) return false;
      got += k;
    }
    return true;
  }

  /** The summary: the first 8 bytes of every entry's digest, as two u32 (high, low) each. */
  prefixes(): Uint32Array {
    const out = new Uint32Array(this.entries * 2);
    const v = new DataView(this.digests.buffer);
    for (let e = 0; e < this.entries; e++) {
      out[2 * e] = v.getUint32(e * HASH_BYTES);
      out[2 * e + 1] = v.getUint32(e * HASH_BYTES + 4);
    }
    return out;
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}

/**
 * A checkpoint as the destination holds it: its index, or why it has none
 * (the migration then falls back to plain precopy, and says why).
 *
 * @example
 * ```ts
 * import type { HeldCheckpoint } from "./checkpoint_index.ts";
 * const none: HeldCheckpoint = { index: null, reason: "no such file", indexMs: null };
 * ```
 */
export interface HeldCheckpoint {
  index: CheckpointIndex | null;
  reason: string | null;
  /** Milliseconds of the clock spent indexing (null: nothing was indexed). */
  indexMs: number | null;
}

/**
 * Opens and indexes a checkpoint; never throws: a file that cannot be
 * opened or is not a valid checkpoint of `format` comes back as a reason.
 *
 * @example
 * ```ts
 * import { loadCheckpoint } from "./checkpoint_index.ts";
 * import { memoryAccess } from "../stream/checkpoint_file.ts";
 * import { systemClock } from "../util/clock.ts";
 * const held = loadCheckpoint(() => memoryAccess(new Uint8Array(100)), "ferry", systemClock);
 * console.log(held.index, held.reason); // null "not a Ferry checkpoint: 100 bytes, shorter than its 4096-byte header"
 * ```
 */
export function loadCheckpoint(
  open: () => RandomAccess,
  format: "elf" | "ferry",
  clock: { nowMs(): number },
): HeldCheckpoint {
  let file: RandomAccess | null = null;
  const t = clock.nowMs();
  try {
    file = open();
    const index = CheckpointIndex.build(file, format);
    return { index, reason: null, indexMs: clock.nowMs() - t };
  } catch (e) {
    file?.close();
    const why = e instanceof CheckpointFileError
      ? e.message
      : `unreadable: ${(e as Error).message}`;
    return { index: null, reason: `checkpoint unusable: ${why}`, indexMs: null };
  }
}
