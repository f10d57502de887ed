/**
 * Free-page hints on the source: the engine's side of the capability
 * `freePageHints`, and the interface any source of hints implements.
 *
 * A {@link HintSource} is pluggable (the guest's balloon is one, a static map
 * from the scenario another): the engine asks it for hints under a command
 * id and takes whatever batches of free ranges it has, when it likes, without
 * ever waiting. {@link FreePageHinting} runs the protocol:
 *
 * - at each dirty-log sync the current command is retired (what is waiting
 *   for it is applied first) and, while precopy goes on, a request with a new
 *   command id is issued; the stop-and-copy retires the last one and tells
 *   the source to stop;
 * - a batch counts only while its command id is current and the request has
 *   not timed out (`hintTimeoutMs` of the clock after it was issued); a range
 *   counts only when it is within the request's budget (no more ranges than
 *   the guest has pages, valid or not), page aligned, 1 page to
 *   {@link HINT_RANGE_BYTES_MAX} long, inside one RAM block, and does not
 *   overlap a range already taken for the same request;
 * - a valid range clears the migration bitmap's bits of its pages: they are
 *   not sent. A page written after the guest reported it free is dirtied
 *   again by the log and goes at a later sync;
 * - except a page the source has already sent while the guest ran: a hint
 *   never clears its bit again, whatever the guest says (see below).
 *
 * Why the command id must change at every sync: a hint reflects the guest's
 * view at some moment after the request was issued; the sync that follows
 * may bring dirty bits of pages allocated after that moment, which the old
 * hint would wrongly clear.
 *
 * Why a page once sent is never skipped again: the source sends guest RAM
 * while the guest runs, so a page it sent may have been torn (written while
 * it was read); its per-page checksum then fails and the destination holds
 * the page as suspect until a later copy arrives (docs/stream.md). The page
 * is dirty, so without hints that copy always comes. A hint that cleared its
 * bit, because the guest said the page was free afterwards (honestly, by
 * flooding, or by lying), left the destination with a suspect page at the
 * end, and the whole migration failed: any balloon could make its own guest
 * unmigratable. So the destination's copy of every page it has been sent is
 * kept current exactly as without hints, and hints only spare pages the
 * destination never had. Which pages were sent is known without looking into
 * the sender: every bit set in the migration bitmap when a request is issued
 * and not cleared by a hint of that request is sent before the next sync
 * (the round sends every dirty page), so when a command is retired those
 * pages join the sent set ({@link FreePageHinting} keeps both, one bit per
 * page).
 *
 * Nothing here waits: {@link FreePageHinting.poll} runs at the engine's own
 * points (before each buffer goes out, at each sync), does a bounded amount
 * of work, and leaves the rest in the source's bounded queue.
 *
 * @example
 * ```ts
 * import { FreePageHinting, type HintBatch, type HintSource } from "./free_page_hints.ts";
 * import { createRam } from "../guest/ram.ts";
 * import { DirtyBitmap } from "../guest/dirty_log.ts";
 * import { systemClock } from "../util/clock.ts";
 * const ram = createRam([{ name: "pc.ram", bytes: 64 * 4096 }]);
 * const bitmap = new DirtyBitmap(ram.totalPages);
 * bitmap.setAll();
 * let waiting: HintBatch | null = null;
 * const source: HintSource = {
 *   name: "example",
 *   request(id) {
 *     waiting = { commandId: id, ranges: new Float64Array([0, 8 * 4096]), count: 1, done: true };
 *   },
 *   take() {
 *     const b = waiting;
 *     waiting = null;
 *     return b;
 *   },
 *   stop() {},
 * };
 * const hints = new FreePageHinting(source, { ram, bitmap, clock: systemClock, timeoutMs: 100 });
 * hints.request();
 * hints.poll();
 * console.log(hints.stats().pagesSkipped, bitmap.count()); // 8 56
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { type DirtyBitmap, popcount32 } from "../guest/dirty_log.ts";
import { PAGE_SIZE, type Ram } from "../guest/ram.ts";
import type { HintRejections, HintStats } from "../contract/types.ts";

export type { HintRejections, HintStats };

import {
  HINT_BATCH_RANGES_MAX,
  HINT_RANGE_BYTES_MAX,
  type HintBatch,
  type HintSource,
} from "../contract/ports.ts";
export { HINT_BATCH_RANGES_MAX, HINT_RANGE_BYTES_MAX, type HintBatch, type HintSource };
/** Most ranges looked at in one poll; the rest waits in the source for the next. */
export const HINT_RANGES_PER_POLL = 64 * 1024;

/** Options of {@link FreePageHinting}. */
export interface FreePageHintingOptions {
  ram: Ram;
  /** The migration bitmap whose bits valid hints clear. */
  bitmap: DirtyBitmap;
  clock: Clock;
  /** How long a request is honoured after it is issued. */
  timeoutMs: number;
  /** Most ranges taken per request (default: the guest's page count). */
  rangesPerRequestMax?: number;
}

/** The source engine's hint protocol: command ids, timeouts, validation, bitmap updates, stats. */
export class FreePageHinting {
  #source: HintSource;
  #ram: Ram;
  #bitmap: DirtyBitmap;
  #clock: Clock;
  #timeoutMs: number;
  #budgetMax: number;
  /** Pages already hinted under the current command (overlap check). */
  #seen: Int32Array;
  /**
   * Pages the source may have sent while the guest ran: the destination holds
   * a copy of them that may be torn, so no hint may clear their bits.
   */
  #sent: Int32Array;
  /** Pages due under the current command: its bitmap at request, less what hints cleared. */
  #due: Int32Array;
  /** The current command id; 0 when none is current. */
  #current = 0;
  #lastId = 0;
  #deadline = 0;
  #done = false;
  #expired = false;
  #budget = 0;
  #stopped = false;
  #stats: HintStats;

  /** Wraps `source`; issues nothing until {@link request}. */
  constructor(source: HintSource, options: FreePageHintingOptions) {
    this.#source = source;
    this.#ram = options.ram;
    this.#bitmap = options.bitmap;
    this.#clock = options.clock;
    this.#timeoutMs = options.timeoutMs;
    this.#budgetMax = options.rangesPerRequestMax ?? options.ram.totalPages;
    this.#seen = new Int32Array(options.bitmap.words.length);
    this.#sent = new Int32Array(options.bitmap.words.length);
    this.#due = new Int32Array(options.bitmap.words.length);
    this.#stats = {
      source: source.name,
      requests: 0,
      answered: 0,
      timedOut: 0,
      superseded: 0,
      rangesAccepted: 0,
      pagesSkipped: 0,
      pagesAlreadySent: 0,
      rejected: {
        stale: 0,
        late: 0,
        unaligned: 0,
        length: 0,
        outOfRange: 0,
        overlap: 0,
        budget: 0,
        malformed: 0,
      },
    };
  }

  /**
   * Issues a request with a new command id (call after a dirty-log sync,
   * before the round that sends the bitmap's pages).
   */
  request(): void {
    if (this.#stopped) return;
    this.retire();
    this.#due.set(this.#bitmap.words);
    this.#current = ++this.#lastId;
    this.#deadline = this.#clock.nowMs() + this.#timeoutMs;
    this.#done = false;
    this.#expired = false;
    this.#budget = this.#budgetMax;
    this.#seen.fill(0);
    this.#stats.requests++;
    this.#source.request(this.#current);
  }

  /**
   * Applies what waits for the current command, then retires it (call before
   * a dirty-log sync, once the round is sent): the pages it left due were
   * sent, and no hint clears their bits from now on.
   */
  retire(): void {
    if (this.#current === 0) return;
    this.poll();
    if (!this.#done && !this.#expired) this.#stats.superseded++;
    this.#current = 0;
    const sent = this.#sent, due = this.#due;
    for (let i = 0; i < sent.length; i++) sent[i] |= due[i];
    due.fill(0);
  }

  /** Retires the current command and tells the source to stop; later polls only drain. */
  stop(): void {
    if (this.#stopped) return;
    this.retire();
    this.#stopped = true;
    this.#source.stop();
  }

  /** Takes and applies what the source has, within a bounded amount of work. Never waits. */
  poll(): void {
    const s = this.#stats;
    if (this.#current !== 0 && !this.#done && !this.#expired) {
      if (this.#clock.nowMs() >= this.#deadline) {
        this.#expired = true;
        s.timedOut++;
      }
    }
    let work = HINT_RANGES_PER_POLL;
    while (work > 0) {
      const b = this.#source.take();
      if (!b) break;
      work--;
      const count = b.count;
      if (
        !Number.isInteger(count) || count < 0 || count > HINT_BATCH_RANGES_MAX ||
        !(b.ranges instanceof Float64Array) || count * 2 > b.ranges.length
      ) {
        s.rejected.malformed++;
        continue;
      }
      if (b.commandId !== this.#current || this.#current === 0) {
        s.rejected.stale += count;
        continue;
      }
      if (this.#expired) {
        s.rejected.late += count;
        continue;
      }
      const taken = Math.min(count, this.#budget);
      s.rejected.budget += count - taken;
      this.#budget -= taken;
      work -= taken;
      const r = b.ranges;
      for (let i = 0; i < taken; i++) this.#apply(r[2 * i], r[2 * i + 1]);
      if (b.done === true && !this.#done) {
        this.#done = true;
        s.answered++;
      }
    }
  }

  /** Validates one range and applies it. */
  #apply(addr: number, len: number): void {
    const rej = this.#stats.rejected;
    if (!Number.isInteger(addr) || !Number.isInteger(len) || addr % PAGE_SIZE || len % PAGE_SIZE) {
      rej.unaligned++;
      return;
    }
    if (len <= 0 || len > HINT_RANGE_BYTES_MAX) {
      rej.length++;
      return;
    }
    const page = addr / PAGE_SIZE;
    const n = len / PAGE_SIZE;
    if (page < 0 || !insideOneBlock(this.#ram, page, n)) {
      rej.outOfRange++;
      return;
    }
    if (bits(this.#seen, page, n, ANY)) {
      rej.overlap++;
      return;
    }
    bits(this.#seen, page, n, SET);
    this.#stats.rangesAccepted++;
    this.#skip(page, n);
  }

  /**
   * Clears the dirty bits of pages [page, page + n) that were never sent, in
   * the bitmap and in the current command's due set, a word at a time; dirty
   * pages that were sent before keep their bits (counted as already sent).
   */
  #skip(page: number, n: number): void {
    const dirty = this.#bitmap.words, sent = this.#sent, due = this.#due;
    let skipped = 0, kept = 0;
    const end = page + n;
    for (let p = page; p < end;) {
      const bit = p & 31;
      const take = Math.min(32 - bit, end - p);
      const mask = take === 32 ? -1 : ((1 << take) - 1) << bit;
      const i = p >>> 5;
      const hit = dirty[i] & mask;
      if (hit) {
        const clear = hit & ~sent[i];
        if (clear !== hit) kept += popcount32(hit & sent[i]);
        if (clear) {
          skipped += popcount32(clear);
          dirty[i] &= ~clear;
          due[i] &= ~clear;
        }
      }
      p += take;
    }
    this.#stats.pagesSkipped += skipped;
    this.#stats.pagesAlreadySent += kept;
  }

  /** The counters so far (a copy). */
  stats(): HintStats {
    return { ...this.#stats, rejected: { ...this.#stats.rejected } };
  }

  /** Total ranges and batches rejected so far. */
  get rejectedTotal(): number {
    let t = 0;
    for (const v of Object.values(this.#stats.rejected)) t += v;
    return t;
  }
}

/** Whether pages [page, page + n) lie inside one RAM block. */
function insideOneBlock(ram: Ram, page: number, n: number): boolean {
  for (const b of ram.blocks) {
    if (page >= b.firstPage && page < b.firstPage + b.pages) {
      return page + n <= b.firstPage + b.pages;
    }
  }
  return false;
}

const ANY = 0, SET = 1;

/**
 * One operation on bits [start, start + n), a word at a time: ANY returns 1
 * when one of them is set, SET sets them.
 */
function bits(words: Int32Array, start: number, n: number, op: number): number {
  const end = start + n;
  for (let p = start; p < end;) {
    const bit = p & 31;
    const take = Math.min(32 - bit, end - p);
    const mask = take === 32 ? -1 : ((1 << take) - 1) << bit;
    const i = p >>> 5;
    if (op === ANY) {
      if (words[i] & mask) return 1;
    } else words[i] |= mask;
    p += take;
  }
  return 0;
}
