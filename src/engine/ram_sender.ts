/**
 * The RAM sender, as QEMU's ram.c sends pages: one RAM section per pass,
 * walking the migration bitmap a word at a time, clearing each bit as its
 * page goes, and choosing each page's record:
 *
 * - a zero page: a ZERO record (one byte with NEXT addressing);
 * - with XBZRLE, after the bulk pass: what {@link XbzrleCachePolicy} says:
 *   nothing (unchanged), an XBZRLE record (a delta), or in full;
 * - with hashDedup, before the last stage: a page whose content the
 *   destination holds (hash_dedup.ts) goes as a HASH record, its SHA-256;
 * - in full: consecutive pages gather into a run, sent as one NORMAL record
 *   (up to `RUN_PAGES_MAX` pages, from guest RAM; runs of
 *   {@link DIRECT_PAGES_MIN} pages or more go to the link without a copy),
 *   or, when they must be staged, up to `COMPRESS_BATCH_PAGES` pages copied
 *   into a stage buffer first: with `compress` the batch is compressed and
 *   goes as a DEFLATE record when it shrinks; while the XBZRLE cache keeps
 *   copies, each page is staged from its cache slot (what is sent is what is
 *   cached).
 *
 * Records are written by src/stream/records.ts, after making room for their
 * largest size: a record is never split by a flush the gate could refuse.
 * Statistics by kind are counted as each record is written.
 *
 * With a page encoder on (XBZRLE or compression), {@link RamSender.wireBytesPerPage}
 * is what a page cost on the wire in the last section, for the downtime
 * estimate (precopy_policy.ts).
 *
 * @example
 * ```ts ignore
 * const sender = new RamSender({ ram, bitmap, writer, stats, clock });
 * await sender.sendDirty(0); // the bulk pass
 * await sender.sendDirty(5, true); // the last stage, guest stopped
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { DirtyBitmap } from "../guest/dirty_log.ts";
import { PAGE_SIZE, type Ram } from "../guest/ram.ts";
import { RUN_PAGES_MAX } from "../stream/format.ts";
import {
  deflateRecordBytesMax,
  HASH_RECORD_BYTES_MAX,
  normalRecordBytesMax,
  writeDeflateRecord,
  writeHashRecord,
  writeNormalRecord,
  writeXbzrleRecord,
  writeZeroRecord,
  xbzrleRecordBytesMax,
  ZERO_RECORD_BYTES_MAX,
} from "../stream/records.ts";
import type { StreamWriter } from "../stream/writer.ts";
import { isZeroPage, PAGE_WORDS } from "./zero_page.ts";
import {
  CompressStats,
  K_DEFLATE,
  K_HASH,
  K_NORMAL,
  K_OVERHEAD,
  K_XBZRLE,
  K_ZERO,
  type KindStats,
} from "./stats.ts";
import { COMPRESS_BATCH_PAGES, type PageCompressor } from "./compress.ts";
import type { XbzrleCachePolicy } from "./xbzrle_cache_policy.ts";
import type { HashDedupSource } from "./hash_dedup.ts";

/** Runs of at least this many pages go from guest RAM to the link without a copy. */
export const DIRECT_PAGES_MIN = 16;

/** What the sender works with. */
export interface RamSenderOptions {
  ram: Ram;
  /** The migration bitmap: the pages to send; the sender clears what it sends. */
  bitmap: DirtyBitmap;
  writer: StreamWriter;
  /** Pages and bytes by kind, counted as records are written. */
  stats: KindStats;
  /** Times compression (`compressMs`). */
  clock: Clock;
  /** XBZRLE's cache policy (capability `xbzrle`). */
  xbzrle?: XbzrleCachePolicy | null;
  /** The compressor (capability `compress`). */
  compressor?: PageCompressor | null;
  /** What the destination holds (capability `hashDedup`). */
  hash?: HashDedupSource | null;
}

/** Sends RAM sections. */
export class RamSender {
  /** Compression counters (null without a compressor). */
  readonly compression: CompressStats | null;
  /**
   * What a page cost on the wire in the last section that sent any (a full
   * page before the first); null without a page encoder.
   */
  wireBytesPerPage: number | null;
  #ram: Ram;
  #blockWords: Int32Array[];
  #bitmap: DirtyBitmap;
  #w: StreamWriter;
  #stats: KindStats;
  #clock: Clock;
  #xbzrle: XbzrleCachePolicy | null;
  #compressor: PageCompressor | null;
  #hash: HashDedupSource | null;
  #stage: Uint8Array;
  #xbzrleBytesMax: number;
  // The section being sent: the cache whose copies full pages go from, and whether they are staged.
  #fromCache: XbzrleCachePolicy | null = null;
  #staged = false;
  // The pending run of consecutive full pages.
  #runBlock = -1;
  #runStart = 0;
  #runCount = 0;

  /** A sender over `options.ram`. */
  constructor(options: RamSenderOptions) {
    this.#ram = options.ram;
    this.#blockWords = options.ram.blocks.map((b) => new Int32Array(b.sab, 0, b.bytes.length >> 2));
    this.#bitmap = options.bitmap;
    this.#w = options.writer;
    this.#stats = options.stats;
    this.#clock = options.clock;
    this.#xbzrle = options.xbzrle ?? null;
    this.#compressor = options.compressor ?? null;
    this.#hash = options.hash ?? null;
    const c = this.#compressor;
    this.compression = c ? new CompressStats(c.method, c.level) : null;
    const encoding = this.#xbzrle !== null || c !== null;
    this.#stage = new Uint8Array(encoding ? COMPRESS_BATCH_PAGES * PAGE_SIZE : 0);
    this.wireBytesPerPage = encoding ? PAGE_SIZE : null;
    this.#xbzrleBytesMax = this.#xbzrle ? xbzrleRecordBytesMax(this.#xbzrle.delta.length) : 0;
  }

  /**
   * The smallest stream buffer this sender can work with: its longest record
   * (a staged run with a page encoder on, else the longest run copied into
   * the buffer), which must fit in one buffer.
   */
  get bufferBytesMin(): number {
    return Math.max(
      this.#stage.length > 0
        ? normalRecordBytesMax(COMPRESS_BATCH_PAGES, true)
        : normalRecordBytesMax(DIRECT_PAGES_MIN - 1, true),
      normalRecordBytesMax(RUN_PAGES_MAX, false),
      this.#xbzrleBytesMax,
    );
  }

  /**
   * Sends every page marked in the bitmap, clearing the marks: one RAM
   * section for `round`. The last stage (guest stopped) sends from RAM and
   * leaves the XBZRLE cache alone.
   */
  async sendDirty(round: number, lastStage = false): Promise<void> {
    const w = this.#w, stats = this.#stats;
    const sectionStart = w.offset;
    let sectionPages = 0;
    const xb = this.#xbzrle?.appliesTo(round) ? this.#xbzrle : null;
    const keeps = xb !== null && xb.keepsCopies(round, lastStage);
    this.#fromCache = keeps ? xb : null;
    this.#staged = this.#compressor !== null || keeps;
    const runMax = this.#staged ? COMPRESS_BATCH_PAGES : RUN_PAGES_MAX;
    // The last stage sends no hashes: a request for one could no longer be answered.
    const hs = lastStage ? null : this.#hash;
    hs?.prepare(this.#bitmap); // with workers: the section's digests, off the main loop, a batch ahead
    const headBytes = await w.ramBegin(round);
    stats.bytes[K_OVERHEAD] += headBytes;
    const words = this.#bitmap.words;
    const blocks = this.#ram.blocks;
    let bi = 0;
    let b = blocks[0];
    let bw = this.#blockWords[0];
    let blockEnd = b.firstPage + b.pages;
    for (let i = 0; i < words.length; i++) {
      let word = words[i];
      if (word === 0) continue;
      words[i] = 0;
      while (word !== 0) {
        const low = word & -word;
        word ^= low;
        const page = (i << 5) + (31 - Math.clz32(low));
        while (page >= blockEnd) {
          b = blocks[++bi];
          bw = this.#blockWords[bi];
          blockEnd = b.firstPage + b.pages;
        }
        const inBlock = page - b.firstPage;
        sectionPages++;
        if (isZeroPage(bw, inBlock * PAGE_WORDS)) {
          if (this.#runCount > 0) await this.#flushRun();
          if (w.free < ZERO_RECORD_BYTES_MAX) await w.flush();
          const n = writeZeroRecord(w, b.id, inBlock);
          stats.pages[K_ZERO]++;
          stats.bytes[K_ZERO] += n;
          if (keeps) xb.zeroSent(page, round);
          continue;
        }
        if (xb) {
          const len = xb.encode(page, b.bytes, inBlock * PAGE_SIZE, round, lastStage);
          if (len === 0) continue;
          if (len > 0) {
            if (this.#runCount > 0) await this.#flushRun();
            if (w.free < xbzrleRecordBytesMax(len)) await w.flush();
            const n = writeXbzrleRecord(w, b.id, inBlock, xb.delta, len);
            stats.pages[K_XBZRLE]++;
            stats.bytes[K_XBZRLE] += n;
            continue;
          }
        }
        while (hs !== null && page >= hs.readyBelow) await hs.ready();
        if (hs !== null && hs.consider(page, b.bytes, inBlock * PAGE_SIZE)) {
          if (this.#runCount > 0) await this.#flushRun();
          if (w.free < HASH_RECORD_BYTES_MAX) await w.flush();
          const n = writeHashRecord(w, b.id, inBlock, hs.digest, 0);
          stats.pages[K_HASH]++;
          stats.bytes[K_HASH] += n;
          continue;
        }
        if (this.#runCount > 0) {
          if (
            this.#runBlock === b.id && this.#runStart + this.#runCount === inBlock &&
            this.#runCount < runMax
          ) {
            this.#runCount++;
            continue;
          }
          await this.#flushRun();
        }
        this.#runBlock = b.id;
        this.#runStart = inBlock;
        this.#runCount = 1;
      }
    }
    if (this.#runCount > 0) await this.#flushRun();
    await hs?.endSection();
    const eosBytes = await w.ramEnd();
    stats.bytes[K_OVERHEAD] += eosBytes;
    if (this.wireBytesPerPage !== null && sectionPages > 0) {
      this.wireBytesPerPage = (w.offset - sectionStart) / sectionPages;
    }
  }

  /** Sends the pending run of full pages and empties it. */
  async #flushRun(): Promise<void> {
    if (this.#staged) return await this.#sendStaged();
    const w = this.#w, count = this.#runCount;
    const len = count * PAGE_SIZE;
    const direct = count >= DIRECT_PAGES_MIN;
    if (w.free < normalRecordBytesMax(count, !direct)) await w.flush();
    const off = this.#runStart * PAGE_SIZE;
    const data = this.#ram.blocks[this.#runBlock].bytes.subarray(off, off + len);
    const n = await writeNormalRecord(w, this.#runBlock, this.#runStart, data, direct);
    this.#stats.pages[K_NORMAL] += count;
    this.#stats.bytes[K_NORMAL] += n;
    this.#runCount = 0;
  }

  /**
   * Sends the pending run through the stage buffer, each page from its cache
   * slot when the cache keeps it, else from guest RAM; compressed when that
   * shrinks it.
   */
  async #sendStaged(): Promise<void> {
    const w = this.#w, count = this.#runCount, stage = this.#stage;
    const rb = this.#ram.blocks[this.#runBlock];
    const len = count * PAGE_SIZE;
    const cache = this.#fromCache;
    for (let k = 0; k < count; k++) {
      const s = cache ? cache.slotOf(rb.firstPage + this.#runStart + k) : -1;
      const off = s >= 0 ? s * PAGE_SIZE : (this.#runStart + k) * PAGE_SIZE;
      stage.set(
        (s >= 0 ? cache!.cache.data : rb.bytes).subarray(off, off + PAGE_SIZE),
        k * PAGE_SIZE,
      );
    }
    const pages = stage.subarray(0, len);
    if (this.#compressor) {
      const packed = this.#compress(pages, count);
      if (packed) {
        await w.ensure(deflateRecordBytesMax(packed.length));
        const n = writeDeflateRecord(w, this.#runBlock, this.#runStart, count, packed);
        this.#stats.pages[K_DEFLATE] += count;
        this.#stats.bytes[K_DEFLATE] += n;
        this.#runCount = 0;
        return;
      }
    }
    await w.ensure(normalRecordBytesMax(count, true));
    const n = await writeNormalRecord(w, this.#runBlock, this.#runStart, pages, false);
    this.#stats.pages[K_NORMAL] += count;
    this.#stats.bytes[K_NORMAL] += n;
    this.#runCount = 0;
  }

  /** Compresses one batch of `count` staged pages; null when it does not shrink. */
  #compress(pages: Uint8Array, count: number): Uint8Array | null {
    const cs = this.compression!;
    const t = this.#clock.nowMs();
    const packed = this.#compressor!.compress(pages);
    cs.compressMs += this.#clock.nowMs() - t;
    cs.batches++;
    cs.pages += count;
    cs.bytesBefore += pages.length;
    if (packed.length < pages.length) {
      cs.bytesAfter += packed.length;
      return packed;
    }
    cs.bytesAfter += pages.length;
    cs.incompressibleBatches++;
    return null;
  }
}
