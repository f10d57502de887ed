/**
 * The source side of precopy, as QEMU does it:
 *
 * 1. setup: stream header and the block list; every page marked dirty;
 * 2. bulk: the first full pass (round 0);
 * 3. rounds: sync the dirty log (fetch-and-clear), estimate the downtime as
 *    remaining bytes / measured bandwidth, stop when it fits `downtimeLimitMs`,
 *    otherwise send the dirty pages again; `maxRounds` and `maxTimeMs` cap
 *    this, and `onNoConvergence` says whether to force stop-and-copy or cancel;
 * 4. stop-and-copy: pause the vCPU, final sync, send the rest, device state,
 *    end; then wait for the destination's ack on the return path.
 *
 * With `xbzrle`, the rounds after the bulk pass send a dirty page found in
 * the page cache as a delta against the copy the destination holds, and the
 * cache always holds exactly that copy (docs/xbzrle.md); with `compress`,
 * pages that go in full are compressed in batches (docs/compression.md).
 *
 * A failure or cancel at any point leaves the source guest running with its
 * memory untouched (the engine only reads guest RAM).
 *
 * With `freePageHints` and a hint source, each sync retires the current hint
 * request and the source issues a new one while precopy goes on; hints are
 * taken before each buffer goes out and before each sync, never waited for
 * (see free_page_hints.ts).
 *
 * The engine is given its clock, link and guest: it never reads the system
 * clock, sets a timer or opens a socket itself.
 *
 * @example
 * ```ts ignore
 * const report = await runSource({ guest, link, clock: systemClock, config });
 * console.log(report.outcome);
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { Link } from "../net/link.ts";
import { DirtyBitmap } from "../guest/dirty_log.ts";
import { PAGE_SIZE, type Ram } from "../guest/ram.ts";
import type {
  CompressionStatsRecord,
  FaultPhase,
  KindCounters,
  Outcome,
  ProgressRecord,
  XbzrleStatsRecord,
} from "../contract/types.ts";
import {
  ACK_LOADED,
  CAP_COMPRESS,
  CAP_XBZRLE,
  KIND_DEFLATE,
  KIND_NORMAL,
  KIND_XBZRLE,
  KIND_ZERO,
  RP_ACK,
  RUN_PAGES_MAX,
} from "../stream/format.ts";
import { encodeSetupParams } from "../stream/params.ts";
import { StreamWriter } from "../stream/writer.ts";
import type { MigrationConfig } from "./capabilities.ts";
import { isZeroPage, PAGE_WORDS } from "./zero_page.ts";
import {
  CompressStats,
  K_DEFLATE,
  K_NORMAL,
  K_OVERHEAD,
  K_XBZRLE,
  K_ZERO,
  KindStats,
  STAT_KINDS,
  XbzrleStats,
} from "./stats.ts";
import { PageCache } from "./page_cache.ts";
import { encodeXbzrle } from "./xbzrle.ts";
import { COMPRESS_BATCH_PAGES, PageCompressor } from "./compress.ts";
import { FreePageHinting, type HintSource, type HintStats } from "./free_page_hints.ts";

/** Runs of at least this many pages go from guest RAM to the link without a copy. */
const DIRECT_PAGES_MIN = 16;

/** What the source engine needs of the guest. */
export interface SourceGuest {
  ram: Ram;
  /** Fetches and clears the dirty log into `into`; returns how many bits it held. */
  syncDirtyLog(into: DirtyBitmap): number;
  /** Pauses the vCPU and returns the device state (the guest's CPU state) as bytes. */
  stop(): Promise<Uint8Array>;
  /** Resumes the vCPU after a failed or cancelled stop-and-copy. */
  cont(): Promise<void>;
}

/** Hooks the peer uses to report and to inject faults at phase boundaries. */
export interface SourceHooks {
  /**
   * Called as each phase begins, with the stream offset reached (every byte
   * before it belongs to earlier phases); the engine awaits it.
   */
  phase?(phase: FaultPhase, round: number, streamBytes: number): Promise<void> | void;
  /** Called at each dirty-log sync. */
  progress?(record: ProgressRecord): void;
}

/** Source engine options. */
export interface SourceOptions {
  guest: SourceGuest;
  link: Link;
  clock: Clock;
  config: MigrationConfig;
  hooks?: SourceHooks;
  /** Aborting cancels the migration. */
  signal?: AbortSignal;
  /** Stream buffer size (default 1 MiB). */
  bufferBytes?: number;
  /**
   * CPU cost of sending one page, by record kind, in microseconds of the
   * clock (the simulator's cost model; default zero). Charged before each
   * buffer goes out.
   */
  cpuCostUs?: Partial<Record<"normal" | "zero" | "xbzrle" | "deflate", number>>;
  /** Where free-page hints come from (used when the capability `freePageHints` is on). */
  hints?: HintSource;
}

/** What the source reports. */
export interface SourceReport {
  outcome: Outcome;
  error?: string;
  startAtMs: number;
  setupDoneAtMs: number;
  /** When the vCPU was asked to stop (null when it never was). */
  stopAtMs: number | null;
  /** When the destination's ack arrived. */
  ackAtMs: number | null;
  endAtMs: number;
  iterations: number;
  rounds: number;
  converged: boolean;
  forced: boolean;
  bytes: KindCounters;
  pages: KindCounters;
  progress: ProgressRecord[];
  /** Whether the guest was left running (always true unless the migration completed). */
  guestRunning: boolean;
  /** XBZRLE statistics (null when xbzrle is off). */
  xbzrle?: XbzrleStatsRecord | null;
  /** Compression statistics (null when compress is off). */
  compression?: CompressionStatsRecord | null;
  /** Free-page hint statistics (only with `freePageHints` and a hint source). */
  hints?: HintStats;
}

/** Cancellation, as an error the engine recognises. */
class Cancelled extends Error {
  override name = "AbortError";
}

/** Runs the source side of one migration. Never throws: failures are in the report. */
export async function runSource(options: SourceOptions): Promise<SourceReport> {
  const { guest, link, clock, config, hooks = {}, signal } = options;
  const ram = guest.ram;
  const stats = new KindStats();
  const progress: ProgressRecord[] = [];
  const bitmap = new DirtyBitmap(ram.totalPages);
  const blockWords = ram.blocks.map((b) => new Int32Array(b.sab, 0, b.bytes.length >> 2));
  const hinting = options.hints && config.capabilities.freePageHints
    ? new FreePageHinting(options.hints, {
      ram,
      bitmap,
      clock,
      timeoutMs: config.hintTimeoutMs,
    })
    : null;
  const startAtMs = clock.nowMs();
  let setupDoneAtMs = startAtMs;
  let stopAtMs: number | null = null;
  let ackAtMs: number | null = null;
  let guestStopped = false;
  let iterations = 0;
  let round = 0;
  let converged = false;
  let forced = false;
  let outcome: Outcome = "failed";
  let error: string | undefined;

  // XBZRLE (after the bulk pass) and compression (every page that goes in full).
  const caps = config.capabilities;
  const cache = caps.xbzrle
    ? new PageCache(cacheSlots(config.xbzrleCacheSize, ram.totalPages))
    : null;
  const xb = cache ? new XbzrleStats(cache.bytes) : null;
  const xbOut = new Uint8Array(cache ? config.xbzrleOverflowBytes : 0);
  const snapshot = new Uint8Array(cache ? PAGE_SIZE : 0);
  const compressor = caps.compress
    ? new PageCompressor(config.compressMethod, config.compressLevel)
    : null;
  const cstats = compressor ? new CompressStats(compressor.method, compressor.level) : null;
  const stage = new Uint8Array(cache || compressor ? COMPRESS_BATCH_PAGES * PAGE_SIZE : 0);
  // With either on, the expected downtime counts what a dirty page cost on the wire last section.
  const estimating = cache !== null || compressor !== null;
  let wireBytesPerPage = PAGE_SIZE;

  // Rate limit and cancellation, checked before every buffer goes out.
  let limit = config.maxBandwidth;
  const windowStart = startAtMs;
  let windowBytes = 0;
  let peerFailure: string | null = null;
  const costs = STAT_KINDS.map((k) => (k === "overhead" ? 0 : options.cpuCostUs?.[k] ?? 0));
  const charged = new Float64Array(STAT_KINDS.length);
  let chargedUnchanged = 0;
  const gate = async (n: number) => {
    if (signal?.aborted) throw new Cancelled(String(signal.reason ?? "cancelled"));
    if (peerFailure) throw new Error(peerFailure);
    let costUs = 0;
    for (let k = 0; k < costs.length; k++) {
      costUs += (stats.pages[k] - charged[k]) * costs[k];
      charged[k] = stats.pages[k];
    }
    if (xb) {
      // An unchanged page sends nothing but costs its encoding.
      costUs += (xb.unchanged - chargedUnchanged) * costs[K_XBZRLE];
      chargedUnchanged = xb.unchanged;
    }
    if (costUs > 0) await clock.sleep(costUs / 1000);
    if (limit > 0) {
      windowBytes += n;
      const wait = windowStart + (windowBytes * 1000) / limit - clock.nowMs();
      if (wait > 0) await clock.sleep(wait);
    }
    hinting?.poll(); // what arrived meanwhile counts for the next buffer
  };
  const w = new StreamWriter(link, { bufferBytes: options.bufferBytes, gate });

  // The return path: read in the background, no timeout until the end is sent.
  const ack = readAck(link).then((a) => {
    if (a && a.status !== ACK_LOADED) peerFailure = `Destination failed: ${a.message}`;
    return a;
  }, (e) => {
    return { status: -1, message: (e as Error).message };
  });

  // Bandwidth estimate: bytes over the last window of at least 50 ms.
  let bwBytes = 0, bwMs = 0, bandwidth = 0;
  let lastSyncAt = startAtMs;
  const measure = (bytes: number, msSpent: number) => {
    bwBytes += bytes;
    bwMs += msSpent;
    if (bwMs >= 50 || bandwidth === 0) {
      if (bwMs > 0) bandwidth = (bwBytes * 1000) / bwMs;
      if (bwMs >= 50) bwBytes = bwMs = 0;
    }
  };
  const record = (phase: string, dirtyPages: number, newlyDirty: number) => {
    const now = clock.nowMs();
    const sinceSync = now - lastSyncAt;
    lastSyncAt = now;
    iterations++;
    const remainingBytes = dirtyPages * PAGE_SIZE;
    const expectedBytes = estimating ? dirtyPages * wireBytesPerPage : remainingBytes;
    const r: ProgressRecord = {
      timeMs: now - startAtMs,
      round,
      phase,
      transferredBytes: w.offset,
      remainingBytes,
      dirtyPages,
      dirtyRateBytesPerSec: sinceSync > 0 ? (newlyDirty * PAGE_SIZE * 1000) / sinceSync : 0,
      bandwidthBytesPerSec: bandwidth,
      expectedDowntimeMs: bandwidth > 0 ? (expectedBytes * 1000) / bandwidth : Infinity,
    };
    if (estimating) r.wireBytesPerPage = wireBytesPerPage;
    if (xb) r.xbzrle = xb.period(stats);
    if (cstats) r.compression = cstats.record();
    if (hinting) {
      const h = hinting.stats();
      r.hintPagesSkipped = h.pagesSkipped;
      r.hintsRejected = hinting.rejectedTotal;
      r.hintRequestsTimedOut = h.timedOut;
    }
    progress.push(r);
    hooks.progress?.(r);
    return r;
  };

  /**
   * XBZRLE for one dirty non-zero page: the delta's length (in xbOut), 0 when
   * the page is unchanged (nothing to send), -1 when it goes in full (a
   * miss or an overflow). Outside the last stage the cache is left holding
   * exactly what the destination will hold: the snapshot the delta was made
   * from, or the page copied for a full send (see sendStaged).
   */
  const xbzrleDelta = (
    page: number,
    bytes: Uint8Array,
    off: number,
    generation: number,
    lastStage: boolean,
  ): number => {
    xb!.lookups++;
    const slot = cache!.lookup(page, generation);
    if (slot < 0) {
      xb!.misses++;
      if (!lastStage) {
        const s = cache!.insert(page, generation);
        if (s >= 0) cache!.data.set(bytes.subarray(off, off + PAGE_SIZE), s * PAGE_SIZE);
      }
      return -1;
    }
    // The guest may write while we read: encode from, and cache, one snapshot.
    snapshot.set(bytes.subarray(off, off + PAGE_SIZE));
    const cached = cache!.data.subarray(slot * PAGE_SIZE, (slot + 1) * PAGE_SIZE);
    const len = encodeXbzrle(cached, snapshot, xbOut);
    if (len === 0) {
      xb!.unchanged++;
      return 0;
    }
    if (!lastStage) cached.set(snapshot);
    if (len < 0) xb!.overflows++;
    return len;
  };

  // Sends every page marked in `bitmap`, clearing the marks: one RAM section.
  // The last stage (guest stopped) sends from RAM and leaves the cache alone.
  const sendDirty = async (sectionRound: number, lastStage = false) => {
    const sectionStart = w.offset;
    let sectionPages = 0;
    const xbActive = cache !== null && sectionRound > 0;
    // Full pages go through the stage buffer when compressed, or when the
    // cache must hold exactly the bytes sent (XBZRLE outside the last stage).
    const staged = compressor !== null || (xbActive && !lastStage);
    const runMax = staged ? COMPRESS_BATCH_PAGES : RUN_PAGES_MAX;
    await w.ramBegin(sectionRound);
    stats.add("overhead", 0, 5);
    const words = bitmap.words;
    const blocks = ram.blocks;
    let bi = 0;
    let b = blocks[0];
    let bw = blockWords[0];
    let blockEnd = b.firstPage + b.pages;
    // The pending run of consecutive normal pages.
    let runBlock = -1, runStart = 0, runCount = 0;
    // A run of full pages, gathered into the stage (from the cache where the
    // cache holds the page: it is then exactly what goes), then compressed or not.
    const sendStaged = async () => {
      const rb = blocks[runBlock];
      const len = runCount * PAGE_SIZE;
      for (let k = 0; k < runCount; k++) {
        const s = xbActive && !lastStage ? cache!.slotOf(rb.firstPage + runStart + k) : -1;
        const off = s >= 0 ? s * PAGE_SIZE : (runStart + k) * PAGE_SIZE;
        stage.set((s >= 0 ? cache!.data : rb.bytes).subarray(off, off + PAGE_SIZE), k * PAGE_SIZE);
      }
      if (compressor) {
        const t = clock.nowMs();
        const packed = compressor.compress(stage.subarray(0, len));
        cstats!.compressMs += clock.nowMs() - t;
        cstats!.batches++;
        cstats!.pages += runCount;
        cstats!.bytesBefore += len;
        if (packed.length < len) {
          cstats!.bytesAfter += packed.length;
          await w.ensure(13 + packed.length);
          const head = w.recordHead(KIND_DEFLATE, runBlock, runStart, runCount);
          w.u16(runCount);
          w.u32(packed.length);
          w.copy(packed, 0, packed.length);
          stats.pages[K_DEFLATE] += runCount;
          stats.bytes[K_DEFLATE] += head + 6 + packed.length;
          runCount = 0;
          return;
        }
        cstats!.bytesAfter += len;
        cstats!.incompressibleBatches++;
      }
      await w.ensure(16 + 4 * runCount + len);
      const head = w.recordHead(KIND_NORMAL, runBlock, runStart, runCount);
      w.u16(runCount);
      const pad = w.align8();
      const data = await w.pageData(stage.subarray(0, len), false);
      stats.pages[K_NORMAL] += runCount;
      stats.bytes[K_NORMAL] += head + 2 + pad + data;
      runCount = 0;
    };
    const flushRun = async () => {
      if (staged) return await sendStaged();
      const len = runCount * PAGE_SIZE;
      const direct = runCount >= DIRECT_PAGES_MIN;
      // Room for the whole record (head, count, pad, data unless direct, one crc per page):
      // once started, a record is never split by a flush the gate could refuse.
      if (w.free < 16 + 4 * runCount + (direct ? 0 : len)) await w.flush();
      const rb = blocks[runBlock];
      const head = w.recordHead(KIND_NORMAL, runBlock, runStart, runCount);
      w.u16(runCount);
      const pad = w.align8();
      const off = runStart * PAGE_SIZE;
      const data = await w.pageData(rb.bytes.subarray(off, off + len), direct);
      stats.pages[K_NORMAL] += runCount;
      stats.bytes[K_NORMAL] += head + 2 + pad + data;
      runCount = 0;
    };
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
          bw = blockWords[bi];
          blockEnd = b.firstPage + b.pages;
        }
        const inBlock = page - b.firstPage;
        sectionPages++;
        if (isZeroPage(bw, inBlock * PAGE_WORDS)) {
          if (runCount > 0) await flushRun();
          if (w.free < 7) await w.flush();
          const head = w.recordHead(KIND_ZERO, b.id, inBlock, 1);
          stats.pages[K_ZERO]++;
          stats.bytes[K_ZERO] += head;
          if (xbActive && !lastStage) {
            // The destination now holds zeros: a stale cached copy must not stay.
            const s = cache!.insert(page, sectionRound);
            if (s >= 0) cache!.data.fill(0, s * PAGE_SIZE, (s + 1) * PAGE_SIZE);
          }
          continue;
        }
        if (xbActive) {
          const len = xbzrleDelta(page, b.bytes, inBlock * PAGE_SIZE, sectionRound, lastStage);
          if (len === 0) continue;
          if (len > 0) {
            if (runCount > 0) await flushRun();
            if (w.free < 9 + len) await w.flush();
            const head = w.recordHead(KIND_XBZRLE, b.id, inBlock, 1);
            w.u16(len);
            w.copy(xbOut, 0, len);
            stats.pages[K_XBZRLE]++;
            stats.bytes[K_XBZRLE] += head + 2 + len;
            continue;
          }
        }
        if (runCount > 0) {
          if (runBlock === b.id && runStart + runCount === inBlock && runCount < runMax) {
            runCount++;
            continue;
          }
          await flushRun();
        }
        runBlock = b.id;
        runStart = inBlock;
        runCount = 1;
      }
    }
    if (runCount > 0) await flushRun();
    await w.ramEnd();
    stats.add("overhead", 0, 5); // eos and its crc
    if (estimating && sectionPages > 0) wireBytesPerPage = (w.offset - sectionStart) / sectionPages;
  };

  try {
    await hooks.phase?.("setup", 0, w.offset);
    w.header();
    await w.setup({
      pageSize: PAGE_SIZE,
      capabilities: (cache ? CAP_XBZRLE : 0) | (compressor ? CAP_COMPRESS : 0),
      blocks: ram.blocks.map((b) => ({ name: b.name, pages: b.pages })),
      params: encodeSetupParams({ compressMethod: compressor?.method }),
    });
    stats.bytes[K_OVERHEAD] += w.offset;
    bitmap.setAll();
    guest.syncDirtyLog(bitmap); // clears the log: everything goes in the bulk pass
    hinting?.request();
    record("bulk", ram.totalPages, 0);
    setupDoneAtMs = clock.nowMs();

    await hooks.phase?.("bulk", 0, w.offset);
    let t = clock.nowMs();
    let sent = w.offset;
    await sendDirty(0);
    await w.flush();
    measure(w.offset - sent, clock.nowMs() - t);

    for (;;) {
      hinting?.retire();
      const newly = guest.syncDirtyLog(bitmap);
      const dirty = bitmap.count();
      round++;
      const r = record("round", dirty, newly);
      if (r.expectedDowntimeMs <= config.downtimeLimitMs) {
        converged = true;
        break;
      }
      const elapsed = clock.nowMs() - startAtMs;
      if (round > config.maxRounds || elapsed >= config.maxTimeMs) {
        const why = round > config.maxRounds
          ? `${config.maxRounds} rounds`
          : `${Math.round(elapsed)} ms (maxTimeMs ${config.maxTimeMs})`;
        if (config.onNoConvergence === "cancel") {
          throw new Cancelled(
            `Did not converge after ${why}: expected downtime ${
              r.expectedDowntimeMs.toFixed(0)
            } ms > limit ${config.downtimeLimitMs} ms`,
          );
        }
        forced = true;
        break;
      }
      hinting?.request();
      await hooks.phase?.("round", round, w.offset);
      t = clock.nowMs();
      sent = w.offset;
      await sendDirty(round);
      await w.flush();
      measure(w.offset - sent, clock.nowMs() - t);
    }

    // Stop-and-copy.
    await hooks.phase?.("stop-and-copy", round, w.offset);
    stopAtMs = clock.nowMs();
    guestStopped = true;
    const device = await guest.stop();
    hinting?.stop();
    const newly = guest.syncDirtyLog(bitmap);
    round++;
    record("stop-and-copy", bitmap.count(), newly);
    limit = 0;
    await sendDirty(round, true);
    await hooks.phase?.("device-state", round, w.offset);
    await w.device(device);
    await w.end();
    stats.bytes[K_OVERHEAD] += 5 + device.length + 4 + 5; // device section, end, crcs
    await w.finish();
    const a = await timed(ack, config.peerTimeoutMs, clock);
    if (a === TIMEOUT) {
      throw new Error(
        `No ack from the destination within ${config.peerTimeoutMs} ms after the end of the stream`,
      );
    }
    if (!a) throw new Error("The destination closed the return path without an ack");
    if (a.status !== ACK_LOADED) throw new Error(peerFailure ?? `Destination failed: ${a.message}`);
    ackAtMs = clock.nowMs();
    outcome = "completed";
  } catch (e) {
    if (e instanceof Cancelled || signal?.aborted) {
      outcome = "cancelled";
      error = e instanceof Cancelled ? e.message : String(signal?.reason ?? "cancelled");
    } else {
      outcome = "failed";
      // A write that failed because the destination gave up: prefer its own words.
      const a = await timed(ack, 200, clock);
      error = peerFailure ?? (a && a !== TIMEOUT && a.status !== ACK_LOADED
        ? `Destination failed: ${a.message}`
        : undefined) ??
        (e as Error).message;
    }
    try {
      await timed(w.abortQuietly(error ?? outcome), 200, clock);
    } catch {
      // the link is gone; nothing to tell
    }
    if (guestStopped) await guest.cont();
  } finally {
    hinting?.stop();
    link.close();
  }
  const snap = stats.snapshot();
  return {
    outcome,
    error,
    startAtMs,
    setupDoneAtMs,
    stopAtMs,
    ackAtMs,
    endAtMs: clock.nowMs(),
    iterations,
    rounds: round,
    converged,
    forced,
    bytes: snap.bytes,
    pages: snap.pages,
    progress,
    guestRunning: outcome !== "completed",
    xbzrle: xb ? xb.total(stats) : null,
    compression: cstats ? cstats.record() : null,
    ...(hinting ? { hints: hinting.stats() } : {}),
  };
}

/** Slots of the XBZRLE cache: the size asked for, but no more than the guest's pages rounded up to a power of two. */
function cacheSlots(cacheBytes: number, guestPages: number): number {
  const asked = Math.max(1, Math.floor(cacheBytes / PAGE_SIZE));
  let fit = 1;
  while (fit < guestPages) fit *= 2;
  return Math.min(asked, fit);
}

const TIMEOUT = Symbol("timeout");

/** Waits for `p` at most `ms` of the clock; the sleep is abandoned, not awaited, when p wins. */
async function timed<T>(p: Promise<T>, ms: number, clock: Clock): Promise<T | typeof TIMEOUT> {
  const ctl = new AbortController();
  const sleeper: Promise<typeof TIMEOUT> = clock.sleep(ms, ctl.signal).then(() => TIMEOUT);
  try {
    return await Promise.race([p, sleeper]);
  } finally {
    ctl.abort();
  }
}

/** Reads one ack message from the return path; null if the link ends first. */
async function readAck(link: Link): Promise<{ status: number; message: string } | null> {
  const buf = new Uint8Array(4 + 1024);
  let have = 0;
  const fill = async (n: number) => {
    while (have < n) {
      const got = await link.read(buf.subarray(have), Infinity);
      if (got === null) return false;
      have += got;
    }
    return true;
  };
  if (!(await fill(4))) return null;
  if (buf[0] !== RP_ACK) {
    return { status: -1, message: `unexpected return-path byte 0x${buf[0].toString(16)}` };
  }
  const len = Math.min((buf[2] << 8) | buf[3], 1024);
  if (!(await fill(4 + len))) return null;
  return { status: buf[1], message: new TextDecoder().decode(buf.subarray(4, 4 + len)) };
}
