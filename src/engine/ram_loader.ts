/**
 * The RAM loader, the destination's mirror of ram_sender.ts (QEMU's
 * ram_load): reads the records of RAM sections into guest RAM, checking
 * each against the negotiated capabilities and its own bounds (the reader
 * checks addresses and lengths; sizes come from src/stream/format.ts, as the
 * writers' do).
 *
 * **Torn pages.** The source computes a NORMAL page's checksum from guest
 * RAM just before the page goes out; a page the guest wrote meanwhile
 * arrives with a mismatching checksum. That is not an error by itself (the
 * page is dirty and goes again), so such a page becomes *suspect*; a later
 * ZERO, NORMAL or DEFLATE record of it clears that (an XBZRLE delta on a
 * suspect copy leaves it suspect), and a page still suspect when the stream
 * ends fails the migration (destination.ts). The source's side of this is in
 * dirty_sync.ts.
 *
 * @example
 * ```ts ignore
 * const loader = new RamLoader(ram, { stats, clock, xbzrle: true, compress: "deflate" });
 * reader.ramBegin();
 * await loader.loadSection(reader);
 * console.log(loader.suspect.count()); // pages whose last copy failed its checksum
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { DirtyBitmap } from "../guest/dirty_log.ts";
import { PAGE_SIZE, type Ram } from "../guest/ram.ts";
import {
  COUNT_BYTES,
  DEFLATE_HEAD_BYTES,
  HASH_BEAT_RECORDS,
  HASH_BYTES,
  KIND_DEFLATE,
  KIND_HASH,
  KIND_NAMES,
  KIND_NORMAL,
  KIND_XBZRLE,
  KIND_ZERO,
  RUN_PAGES_MAX,
  XBZRLE_LEN_BYTES,
} from "../stream/format.ts";
import type { StreamReader } from "../stream/reader.ts";
import { isZeroPage, PAGE_WORDS } from "./zero_page.ts";
import { K_DEFLATE, K_HASH, K_NORMAL, K_XBZRLE, K_ZERO, type KindStats } from "./stats.ts";
import type { HashDedupDestination } from "./hash_dedup.ts";
import { decodeXbzrle } from "./xbzrle.ts";
import { type CompressMethod, decompressPages } from "./compress.ts";

/** What the loader works with. */
export interface RamLoaderOptions {
  /** Pages and bytes by kind, counted as records are read. */
  stats: KindStats;
  /** Times decompression (`decompressMs`). */
  clock: Clock;
  /** Whether the setup negotiated XBZRLE records. */
  xbzrle: boolean;
  /** The negotiated compression method; null: DEFLATE records are refused. */
  compress: CompressMethod | null;
  /** Capability HASH: resolves HASH records; null: they are refused. */
  hash?: HashDedupDestination | null;
  /** Asks the source for a page in full (a hash that could not be resolved). */
  requestPage?: (block: number, page: number) => Promise<void>;
  /**
   * Tells the source the destination is busy (every `HASH_BEAT_RECORDS` HASH
   * records, and every {@link BEAT_INTERVAL_MS} while records arrive: a section
   * still in flight over a slow link is not a silent destination).
   */
  beat?: () => Promise<void>;
}

/**
 * Milliseconds between the beats a destination resolving hashes sends while
 * records arrive: well under the shortest peer timeout a scenario sets in
 * practice, so that the source, waiting for a section's requests, hears it.
 */
export const BEAT_INTERVAL_MS = 100;

/** Loads RAM sections into one guest's RAM. */
export class RamLoader {
  /** Pages this stream has put data in. */
  readonly written: DirtyBitmap;
  /** Pages whose last full copy failed its checksum (see docs/stream.md). */
  readonly suspect: DirtyBitmap;
  /** Clock milliseconds spent decompressing. */
  decompressMs = 0;
  #ram: Ram;
  #words: Int32Array[];
  #o: RamLoaderOptions;
  #mismatched = new Uint8Array(RUN_PAGES_MAX);
  #sinceBeat = 0;
  #beatAtMs = -Infinity;

  /** A loader into `ram` (all zero to begin with). */
  constructor(ram: Ram, options: RamLoaderOptions) {
    this.#ram = ram;
    this.#o = options;
    this.#words = ram.blocks.map((b) => new Int32Array(b.sab, 0, b.bytes.length >> 2));
    this.written = new DirtyBitmap(ram.totalPages);
    this.suspect = new DirtyBitmap(ram.totalPages);
  }

  /** Loads the records of one RAM section, up to and including its end record. */
  async loadSection(r: StreamReader): Promise<void> {
    const { stats, clock } = this.#o;
    const words = this.#words, written = this.written, suspect = this.suspect;
    const mismatched = this.#mismatched;
    const blocks = this.#ram.blocks;
    const hash = this.#o.hash ?? null;
    for (;;) {
      const at = r.offset;
      const kind = await r.recordHead();
      if (hash && this.#o.beat && clock.nowMs() - this.#beatAtMs >= BEAT_INTERVAL_MS) {
        this.#beatAtMs = clock.nowMs();
        await this.#o.beat();
      }
      if (kind === 0) return await r.verifyChecksum("the RAM section");
      const b = blocks[r.block];
      switch (kind) {
        case KIND_ZERO: {
          r.checkRun(1);
          // RAM starts zero: only a page this stream wrote can need clearing.
          const g = b.firstPage + r.page;
          suspect.clear(g);
          if (written.has(g) && !isZeroPage(words[r.block], r.page * PAGE_WORDS)) {
            const off = r.page * PAGE_SIZE;
            b.bytes.fill(0, off, off + PAGE_SIZE);
          }
          hash?.received(g, null);
          stats.pages[K_ZERO]++;
          stats.bytes[K_ZERO] += r.offset - at;
          break;
        }
        case KIND_NORMAL: {
          await r.need(COUNT_BYTES, "a normal-page count");
          const count = r.u16();
          if (count < 1 || count > RUN_PAGES_MAX) {
            throw r.error(`Normal record count ${count} is not in 1..${RUN_PAGES_MAX}`, at);
          }
          r.checkRun(count);
          await r.align8("normal page data");
          const off = r.page * PAGE_SIZE;
          const bad = await r.pageData(
            b.bytes.subarray(off, off + count * PAGE_SIZE),
            "normal page data",
            mismatched,
          );
          for (let i = 0, g = b.firstPage + r.page; i < count; i++, g++) {
            written.set(g);
            if (bad > 0 && mismatched[i]) suspect.set(g);
            else suspect.clear(g);
            if (hash) {
              hash.received(g, b.bytes.subarray(off + i * PAGE_SIZE, off + (i + 1) * PAGE_SIZE));
            }
          }
          stats.pages[K_NORMAL] += count;
          stats.bytes[K_NORMAL] += r.offset - at;
          break;
        }
        case KIND_XBZRLE: {
          if (!this.#o.xbzrle) throw notNegotiated(r, kind, at);
          await r.need(XBZRLE_LEN_BYTES, "an XBZRLE length");
          const len = r.u16();
          if (len < 1 || len > PAGE_SIZE) {
            throw r.error(`XBZRLE record length ${len} is not in 1..${PAGE_SIZE}`, at);
          }
          r.checkRun(1);
          await r.need(len, "XBZRLE data");
          const off = r.page * PAGE_SIZE;
          try {
            decodeXbzrle(
              r.buf.subarray(r.pos, r.pos + len),
              b.bytes.subarray(off, off + PAGE_SIZE),
            );
          } catch (e) {
            throw r.error(
              `${(e as Error).message}, in the record for page ${r.page} of block "${b.name}"`,
              at,
            );
          }
          r.pos += len;
          // A delta on a suspect copy stays suspect: only a full page clears it.
          written.set(b.firstPage + r.page);
          stats.pages[K_XBZRLE]++;
          stats.bytes[K_XBZRLE] += r.offset - at;
          break;
        }
        case KIND_DEFLATE: {
          const method = this.#o.compress;
          if (!method) throw notNegotiated(r, kind, at);
          await r.need(DEFLATE_HEAD_BYTES, "a compressed-record head");
          const count = r.u16();
          const len = r.u32();
          if (count < 1 || count > RUN_PAGES_MAX) {
            throw r.error(`Compressed record count ${count} is not in 1..${RUN_PAGES_MAX}`, at);
          }
          r.checkRun(count);
          if (len < 1 || len >= count * PAGE_SIZE) {
            throw r.error(
              `Compressed record length ${len} is not in 1..${
                count * PAGE_SIZE - 1
              } for ${count} pages`,
              at,
            );
          }
          await r.need(len, "compressed page data");
          const off = r.page * PAGE_SIZE;
          const t = clock.nowMs();
          try {
            decompressPages(
              method,
              r.buf.subarray(r.pos, r.pos + len),
              b.bytes.subarray(off, off + count * PAGE_SIZE),
            );
          } catch (e) {
            throw r.error(
              `${(e as Error).message}, in the compressed record for pages ${r.page}..${
                r.page + count - 1
              } of block "${b.name}"`,
              at,
            );
          }
          this.decompressMs += clock.nowMs() - t;
          r.pos += len;
          // Full pages, under the section checksum: each clears an earlier suspect copy.
          for (let i = 0, g = b.firstPage + r.page; i < count; i++, g++) {
            written.set(g);
            suspect.clear(g);
            if (hash) {
              hash.received(g, b.bytes.subarray(off + i * PAGE_SIZE, off + (i + 1) * PAGE_SIZE));
            }
          }
          stats.pages[K_DEFLATE] += count;
          stats.bytes[K_DEFLATE] += r.offset - at;
          break;
        }
        case KIND_HASH: {
          if (!hash) throw notNegotiated(r, kind, at);
          r.checkRun(1);
          await r.need(HASH_BYTES, "a page hash");
          const g = b.firstPage + r.page;
          const off = r.page * PAGE_SIZE;
          const digest = r.buf.subarray(r.pos, r.pos + HASH_BYTES);
          const ok = hash.resolve(g, b.bytes.subarray(off, off + PAGE_SIZE), digest);
          r.pos += HASH_BYTES;
          written.set(g);
          // Verified against its SHA-256: a whole copy. Unresolved: wanted until it comes in full.
          if (ok) suspect.clear(g);
          else await this.#o.requestPage!(r.block, r.page);
          stats.pages[K_HASH]++;
          stats.bytes[K_HASH] += r.offset - at;
          if (++this.#sinceBeat >= HASH_BEAT_RECORDS) {
            this.#sinceBeat = 0;
            await this.#o.beat?.();
          }
          break;
        }
        default:
          throw notNegotiated(r, kind, at);
      }
    }
  }
}

function notNegotiated(r: StreamReader, kind: number, at: number): RangeError {
  return r.error(
    `Record kind ${kind} (${
      KIND_NAMES[kind] ?? "unknown"
    }) is not allowed by the negotiated capabilities`,
    at,
  );
}
