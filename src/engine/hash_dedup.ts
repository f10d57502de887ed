/**
 * Checkpoint-assisted migration (capability `hashDedup`, seed 000): the
 * source sends a page's SHA-256 instead of the page when the destination
 * already holds its content, in an old checkpoint or among the pages this
 * migration has already put there.
 *
 * ```
 * source                                   destination
 *   setup (capability HASH)  ───────────▶    index the checkpoint (done at start)
 *                            ◀───────────    summary: 8-byte prefixes of its pages' SHA-256
 *   per page going in full:  hash it; prefix known to the destination?
 *     yes: HASH record (32 bytes) ───────▶  checkpoint hit?  read the page from the file
 *                                           received hit?    copy the page it was sent as
 *                                           either: verify the SHA-256 of what it copied
 *                            ◀───────────    unresolved: request(block, page)
 *     no:  in full (and remember: the destination now holds that content)
 *   every 4096 hashes        ◀───────────    beat: busy, not silent
 *   after each RAM section   ◀───────────    done(round): its requests went before this
 *   before stop-and-copy: wait for done of every section sent; requested pages
 *   go in full in the last stage, which sends no hashes
 * ```
 *
 * What the source knows ({@link HashDedupSource}): a set of 64-bit digest
 * prefixes (the summary, then every page it sent in full, the RFC's
 * `add_remote_hash`), in an open-addressing table of u32 pairs. A prefix set
 * rather than a Bloom filter: 8 bytes per distinct page (2 MiB per GiB of
 * checkpoint on the return path, once), and a false positive needs two
 * different pages' SHA-256 to agree on 64 bits (about n / 2^64 per lookup,
 * 1.5e-14 for a 1 GiB checkpoint); a 1 % Bloom filter would take 1.2 MiB per
 * GiB but turn 1 % of the misses into a request and a second copy.
 *
 * What the destination does ({@link HashDedupDestination}): looks the full
 * digest up in the checkpoint's index, then among the pages it received
 * (a table of 4-way buckets, 4 slots per guest page, of the page each
 * digest was last received at; a full bucket forgets its oldest entry), copies the candidate into the page, and hashes it
 * again: a page whose SHA-256 is not the record's is never installed as
 * resolved. An unresolved hash (a lying checkpoint, a page the destination
 * has since overwritten, a hostile digest) is not fatal, unlike the RFC's
 * `assert(0)`: the page is requested on the return path and stays *wanted*
 * until a full copy arrives; a page still wanted at `end` fails the
 * migration.
 *
 * @example
 * ```ts
 * import { HashDedupSource } from "./hash_dedup.ts";
 * import { createRam, PAGE_SIZE } from "../guest/ram.ts";
 * import { systemClock } from "../util/clock.ts";
 * const ram = createRam([{ name: "pc.ram", bytes: 4 * PAGE_SIZE }]);
 * const src = new HashDedupSource(ram, systemClock);
 * src.handlers.onSummary!(null, new Uint32Array(0));
 * ram.blocks[0].bytes[0] = 1;
 * console.log(src.consider(0, ram.blocks[0].bytes, 0)); // false: not known, remembered
 * console.log(src.consider(1, ram.blocks[0].bytes, 0)); // true: the destination holds it now
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { DirtyBitmap } from "../guest/dirty_log.ts";
import { PAGE_SIZE, type Ram } from "../guest/ram.ts";
import type { HashStatsRecord } from "../contract/types.ts";
import { HASH_BYTES } from "../stream/format.ts";
import type { ReturnPathHandlers } from "../stream/return_path.ts";
import type { CheckpointIndex } from "./checkpoint_index.ts";
import { sha256Into } from "./sha256.ts";
import type { PageHasher } from "./hash_workers.ts";

/** Pages hashed in one batch by the workers (32 MiB), one batch ahead of the walk. */
export const HASH_BATCH_PAGES = 8192;

/** A set of 64-bit digest prefixes, open addressing over u32 pairs; stops growing at 70 % load. */
export class PrefixSet {
  #keys: Uint32Array;
  #used: Uint8Array;
  #mask: number;
  #count = 0;
  #limit: number;

  /** A set for about `n` prefixes. */
  constructor(n: number) {
    let cap = 1024;
    while (cap < n * 2) cap *= 2;
    this.#keys = new Uint32Array(cap * 2);
    this.#used = new Uint8Array(cap);
    this.#mask = cap - 1;
    this.#limit = Math.floor(cap * 0.7);
  }

  /** Prefixes held. */
  get size(): number {
    return this.#count;
  }

  #slot(hi: number, lo: number): number {
    const k = this.#keys, u = this.#used;
    let s = (lo ^ (hi >>> 7)) & this.#mask;
    while (u[s] !== 0 && (k[2 * s] !== hi || k[2 * s + 1] !== lo)) s = (s + 1) & this.#mask;
    return s;
  }

  /** Adds a prefix (ignored once the set is full: it only makes hits rarer). */
  add(hi: number, lo: number): void {
    if (this.#count >= this.#limit) return;
    const s = this.#slot(hi, lo);
    if (this.#used[s] !== 0) return;
    this.#used[s] = 1;
    this.#keys[2 * s] = hi;
    this.#keys[2 * s + 1] = lo;
    this.#count++;
  }

  /** Whether the prefix is held. */
  has(hi: number, lo: number): boolean {
    return this.#used[this.#slot(hi, lo)] !== 0;
  }
}

const be32 = (d: Uint8Array, o: number) =>
  ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;

/** The source's side: what the destination holds, the requests it made, and the counters. */
export class HashDedupSource {
  /** The digest of the last page considered. */
  readonly digest = new Uint8Array(HASH_BYTES);
  /** Clock milliseconds spent hashing. */
  hashMs = 0;
  /** Set when the destination has no usable checkpoint: plain precopy. */
  fallback: string | null = null;
  /** Pages the destination asked for in full. */
  requests = 0;
  /** Whether the summary arrived and hashes may be sent. */
  active = false;
  /** When the destination last said anything on the return path (clock ms). */
  heardAtMs: number;
  /** Resolves when the summary arrived. */
  readonly summary: Promise<void>;
  /** The return path's handlers for capability HASH. */
  readonly handlers: ReturnPathHandlers;
  #ram: Ram;
  #clock: Clock;
  #known: PrefixSet | null = null;
  #noHash: DirtyBitmap;
  #pending: number[] = [];
  #done = -1;
  #doneWaiters: { round: number; resolve: () => void }[] = [];
  #bad: string | null = null;
  #hasher: PageHasher | null;
  #list: Uint32Array;
  #pre = false;

  /**
   * The source side for `ram`, timed on `clock`; with a `hasher` (workers),
   * each section's pages are hashed off the main loop before it is walked.
   */
  constructor(ram: Ram, clock: Clock, hasher: PageHasher | null = null) {
    this.#ram = ram;
    this.#clock = clock;
    this.#hasher = hasher;
    this.#list = new Uint32Array(hasher ? ram.totalPages : 0);
    this.#noHash = new DirtyBitmap(ram.totalPages);
    this.heardAtMs = clock.nowMs();
    const heard = () => this.heardAtMs = clock.nowMs();
    let summarised!: () => void;
    this.summary = new Promise((r) => summarised = r);
    const blocks = ram.blocks;
    this.handlers = {
      // A checkpoint may be larger than this guest; more than 4 GiB of distinct pages beyond it is refused.
      summaryEntriesMax: ram.totalPages + 1024 * 1024,
      onSummary: (reason, prefixes) => {
        heard();
        if (this.#known || this.fallback !== null) {
          this.#bad ??= "a second checkpoint summary on the return path";
          return;
        }
        if (reason !== null) this.fallback = reason;
        else {
          const set = new PrefixSet(prefixes.length / 2 + ram.totalPages);
          for (let i = 0; i < prefixes.length; i += 2) set.add(prefixes[i], prefixes[i + 1]);
          this.#known = set;
          this.active = true;
        }
        summarised();
      },
      onRequest: (block, page) => {
        heard();
        const b = blocks[block];
        if (!b || page >= b.pages) {
          this.#bad ??= `a page request for block ${block} page ${page}, outside the guest's RAM`;
          return;
        }
        this.requests++;
        const g = b.firstPage + page;
        this.#noHash.set(g);
        this.#pending.push(g);
      },
      onBeat: heard,
      onDone: (round) => {
        heard();
        this.#done = Math.max(this.#done, round);
        this.#doneWaiters = this.#doneWaiters.filter((w) => {
          if (w.round > this.#done) return true;
          w.resolve();
          return false;
        });
      },
    };
  }

  /** A malformed return-path message seen (the migration must fail), or null. */
  get badInput(): string | null {
    return this.#bad;
  }

  /**
   * With a hasher, lists every page marked in `bitmap` (and not asked for
   * in full) and starts hashing them in the workers, a batch of
   * {@link HASH_BATCH_PAGES} ahead of the walk, so that the stream never
   * waits for a whole section's hashing (the destination would find the
   * source silent). The walk calls {@link ready} before it considers a page
   * past {@link readyBelow}.
   */
  prepare(bitmap: DirtyBitmap): void {
    const h = this.#hasher;
    this.#pre = false;
    if (!h || !this.#known) return;
    const words = bitmap.words, list = this.#list, noHash = this.#noHash;
    let n = 0;
    for (let i = 0; i < words.length; i++) {
      let word = words[i];
      while (word !== 0) {
        const low = word & -word;
        word ^= low;
        const g = (i << 5) + (31 - Math.clz32(low));
        if (!noHash.has(g)) list[n++] = g;
      }
    }
    this.#listLen = n;
    this.#kicked = 0;
    this.#jobs = [];
    this.readyBelow = n === 0 ? Infinity : 0;
    this.#pre = true;
    this.#kick();
    this.#kick();
  }

  /** Digests are ready for every listed page below this global page number. */
  readyBelow = Infinity;
  #listLen = 0;
  #kicked = 0;
  #jobs: { done: Promise<number>; end: number }[] = [];

  #kick(): void {
    if (this.#kicked >= this.#listLen) return;
    const from = this.#kicked, to = Math.min(this.#listLen, from + HASH_BATCH_PAGES);
    this.#kicked = to;
    const t = this.#clock.nowMs();
    const done = this.#hasher!.hash(this.#list.subarray(from, to), to - from).then(() =>
      this.#clock.nowMs() - t
    );
    this.#jobs.push({ done, end: to });
  }

  /** Waits for the next batch of digests, and starts the one after. */
  async ready(): Promise<void> {
    const job = this.#jobs.shift();
    if (!job) {
      this.readyBelow = Infinity;
      return;
    }
    this.hashMs += await job.done;
    this.readyBelow = job.end >= this.#listLen ? Infinity : this.#list[job.end - 1] + 1;
    this.#kick();
  }

  /** The section's walk is over: digests are computed inline again until the next {@link prepare}. */
  async endSection(): Promise<void> {
    for (const j of this.#jobs) await j.done;
    this.#jobs = [];
    this.#pre = false;
    this.readyBelow = Infinity;
  }

  /**
   * Hashes the page at `off` of `bytes` (global page `page`) into
   * {@link digest}; true when the destination holds its content (send a
   * HASH record). Otherwise the page goes in full and its prefix is
   * remembered. A page the destination asked for never goes as a hash.
   */
  consider(page: number, bytes: Uint8Array, off: number): boolean {
    const known = this.#known;
    if (!known || this.#noHash.has(page)) return false;
    if (this.#pre) {
      const d = this.#hasher!.digests, at = page * HASH_BYTES, out = this.digest;
      for (let k = 0; k < HASH_BYTES; k++) out[k] = d[at + k];
    } else {
      const t = this.#clock.nowMs();
      sha256Into(bytes.subarray(off, off + PAGE_SIZE), this.digest, 0);
      this.hashMs += this.#clock.nowMs() - t;
    }
    const hi = be32(this.digest, 0), lo = be32(this.digest, 4);
    if (known.has(hi, lo)) return true;
    known.add(hi, lo);
    return false;
  }

  /** Marks every page requested since the last call in `bitmap` (they go again, in full); returns how many. */
  takeRequests(bitmap: DirtyBitmap): number {
    const p = this.#pending;
    for (const g of p) bitmap.set(g);
    const n = p.length;
    this.#pending = [];
    return n;
  }

  /** Resolves once the destination said it handled every record of `round` and earlier. */
  doneThrough(round: number): Promise<void> {
    if (this.#done >= round) return Promise.resolve();
    return new Promise((resolve) => this.#doneWaiters.push({ round, resolve }));
  }

  /** The source's counters for the result. */
  record(pages: number, bytes: number): SourceHashRecord {
    return {
      pages,
      bytes,
      sourceHashMs: this.hashMs,
      requests: this.requests,
      fallback: this.fallback,
    };
  }
}

/**
 * What the source reports of capability `hashDedup`.
 *
 * @example
 * ```ts
 * import type { SourceHashRecord } from "./hash_dedup.ts";
 * const r: SourceHashRecord = { pages: 1, bytes: 33, sourceHashMs: 0.1, requests: 0, fallback: null };
 * ```
 */
export interface SourceHashRecord {
  /** Pages sent as HASH records, and their bytes. */
  pages: number;
  bytes: number;
  sourceHashMs: number;
  /** Pages the destination asked for in full. */
  requests: number;
  /** Why the migration fell back to plain precopy (null: it did not). */
  fallback: string | null;
}

/** The destination's side: resolving HASH records, and the pages still wanted. */
export class HashDedupDestination {
  /** Pages whose hash could not be resolved and that have not come in full since. */
  readonly wanted: DirtyBitmap;
  checkpointHits = 0;
  receivedHits = 0;
  unresolved = 0;
  /** Clock milliseconds spent hashing during the migration. */
  hashMs = 0;
  #ram: Ram;
  #clock: Clock;
  #index: CheckpointIndex | null;
  #slots: Int32Array;
  #tags: Uint32Array;
  #mask: number;
  #digest = new Uint8Array(HASH_BYTES);

  /** The destination side for `ram`, with the checkpoint's index (null: none). */
  constructor(ram: Ram, index: CheckpointIndex | null, clock: Clock) {
    this.#ram = ram;
    this.#index = index;
    this.#clock = clock;
    this.wanted = new DirtyBitmap(ram.totalPages);
    let cap = 1024;
    while (cap < ram.totalPages * 4) cap *= 2;
    this.#slots = new Int32Array(cap);
    this.#tags = new Uint32Array(cap);
    this.#mask = cap - 1;
  }

  #hash(page: Uint8Array, into: Uint8Array): void {
    const t = this.#clock.nowMs();
    sha256Into(page, into, 0);
    this.hashMs += this.#clock.nowMs() - t;
  }

  /**
   * A full copy of global page `g` arrived (`page` is its bytes in guest
   * RAM, or null for a zero page): it is no longer wanted, and its content
   * can resolve later hashes.
   */
  received(g: number, page: Uint8Array | null): void {
    this.wanted.clear(g);
    if (page === null) return;
    const d = this.#digest;
    this.#hash(page, d);
    this.#note(g, d);
  }

  /**
   * Resolves a HASH record for global page `g`, whose bytes are `page`:
   * copies the content with SHA-256 `digest` into it and verifies it.
   * Returns false when it could not (the page is then wanted).
   */
  resolve(g: number, page: Uint8Array, digest: Uint8Array): boolean {
    const ix = this.#index, d = this.#digest;
    const same = (): boolean => {
      this.#hash(page, d);
      for (let k = 0; k < HASH_BYTES; k++) if (d[k] !== digest[k]) return false;
      return true;
    };
    if (ix) {
      const e = ix.lookup(digest, 0);
      if (e >= 0 && ix.readPage(e, page) && same()) {
        this.checkpointHits++;
        this.#note(g, digest);
        this.wanted.clear(g);
        return true;
      }
    }
    const s = this.#bucketSlot(digest);
    const from = s >= 0 ? this.#slots[s] - 1 : -1;
    if (from >= 0) {
      if (from !== g) {
        const src = this.#pageBytes(from);
        page.set(src);
      }
      if (same()) {
        this.receivedHits++;
        this.#note(g, digest);
        this.wanted.clear(g);
        return true;
      }
    }
    this.unresolved++;
    this.wanted.set(g);
    return false;
  }

  /** The slot holding `digest`'s tag in its bucket, or -1. */
  #bucketSlot(digest: Uint8Array): number {
    const base = be32(digest, 0) & this.#mask & ~3, tag = be32(digest, 4);
    for (let k = 0; k < 4; k++) {
      if (this.#slots[base + k] !== 0 && this.#tags[base + k] === tag) return base + k;
    }
    return -1;
  }

  /** Remembers that page `g` holds `digest`'s content (a full bucket forgets its oldest entry). */
  #note(g: number, digest: Uint8Array): void {
    let s = this.#bucketSlot(digest);
    if (s < 0) {
      const base = be32(digest, 0) & this.#mask & ~3;
      // Shift the bucket: the newest at its head.
      for (let k = 3; k > 0; k--) {
        this.#slots[base + k] = this.#slots[base + k - 1];
        this.#tags[base + k] = this.#tags[base + k - 1];
      }
      s = base;
    }
    this.#slots[s] = g + 1;
    this.#tags[s] = be32(digest, 4);
  }

  #pageBytes(g: number): Uint8Array {
    for (const b of this.#ram.blocks) {
      if (g < b.firstPage + b.pages) {
        const off = (g - b.firstPage) * PAGE_SIZE;
        return b.bytes.subarray(off, off + PAGE_SIZE);
      }
    }
    throw new RangeError(`page ${g} is outside the guest's RAM`);
  }

  /** The destination's counters for the result; `indexMs`: what indexing the checkpoint took. */
  record(fallback: string | null, indexMs: number | null): DestinationHashRecord {
    return {
      checkpointHits: this.checkpointHits,
      receivedHits: this.receivedHits,
      unresolved: this.unresolved,
      destinationHashMs: this.hashMs,
      fallback,
      checkpointPages: this.#index?.entries ?? null,
      checkpointIndexMs: indexMs,
    };
  }
}

/**
 * What the destination reports of capability `hashDedup`.
 *
 * @example
 * ```ts
 * import type { DestinationHashRecord } from "./hash_dedup.ts";
 * const r: DestinationHashRecord = {
 *   checkpointHits: 9, receivedHits: 1, unresolved: 0, destinationHashMs: 2, fallback: null,
 * };
 * ```
 */
export type DestinationHashRecord = Omit<HashStatsRecord, "sourceHashMs">;
