/**
 * The source side of precopy, as QEMU does it:
 *
 * 1. setup: stream header and the block list; every page marked dirty;
 * 2. bulk: the first full pass (round 0);
 * 3. rounds: sync the dirty log, estimate the downtime, stop when it fits,
 *    otherwise send the dirty pages again, within the limits;
 * 4. stop-and-copy: pause the vCPU, final sync, send the rest, device state,
 *    end; then wait for the destination's ack on the return path.
 *
 * This file runs those phases and nothing else; each concern has its file:
 *
 * | file                     | concern (QEMU's)                                                     |
 * | ------------------------ | -------------------------------------------------------------------- |
 * | precopy_policy.ts        | the downtime estimate and when to stop (migration.c)                 |
 * | ram_sender.ts            | one RAM section: the bitmap walk, each page's record (ram.c)         |
 * | dirty_sync.ts            | the migration bitmap: dirty-log sync, free-page hints, torn pages    |
 * | xbzrle_cache_policy.ts   | when a page goes to or through the XBZRLE cache                      |
 * | rate_limiter.ts          | `maxBandwidth`                                                       |
 * | bandwidth_estimator.ts   | the bandwidth the downtime estimate divides by                       |
 * | cpu_cost.ts              | the CPU-cost port, for callers that model CPU time on their clock    |
 * | progress_log.ts          | one progress record per sync                                         |
 * | ../stream/records.ts     | each record's layout and size                                        |
 *
 * Before each buffer goes out, the writer's gate checks for a cancel or a
 * destination that gave up, charges the CPU-cost port, keeps to the rate
 * limit, and takes the free-page hints that arrived.
 *
 * A failure or cancel at any point leaves the source guest running with its
 * memory untouched (the engine only reads guest RAM).
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
import type { DirtyBitmap } from "../guest/dirty_log.ts";
import { PAGE_SIZE, type Ram } from "../guest/ram.ts";
import type {
  CompressionStatsRecord,
  FaultPhase,
  KindCounters,
  Outcome,
  ProgressRecord,
  XbzrleStatsRecord,
} from "../contract/types.ts";
import { ACK_LOADED, CAP_COMPRESS, CAP_HASH, CAP_XBZRLE } from "../stream/format.ts";
import { encodeSetupParams } from "../stream/params.ts";
import { StreamWriter } from "../stream/writer.ts";
import { readReturnPath } from "../stream/return_path.ts";
import type { MigrationConfig } from "./capabilities.ts";
import { K_HASH, K_OVERHEAD, KindStats } from "./stats.ts";
import { HashDedupSource, type SourceHashRecord } from "./hash_dedup.ts";
import type { PageHasher } from "./hash_workers.ts";
import { PageCompressor } from "./compress.ts";
import type { HintSource, HintStats } from "./free_page_hints.ts";
import { BandwidthEstimator } from "./bandwidth_estimator.ts";
import { type CpuCost, CpuMeter } from "./cpu_cost.ts";
import { DirtySync } from "./dirty_sync.ts";
import { PrecopyPolicy } from "./precopy_policy.ts";
import { ProgressLog } from "./progress_log.ts";
import { RamSender } from "./ram_sender.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { XbzrleCachePolicy } from "./xbzrle_cache_policy.ts";

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
  /**
   * Stream buffer size (default 1 MiB). It must hold the longest record: 257
   * KiB with `xbzrle` or `compress`, 61 KiB without; a smaller one fails the
   * migration before anything is sent.
   */
  bufferBytes?: number;
  /**
   * The CPU-cost port (cpu_cost.ts): what the pages sent cost in
   * milliseconds of `clock`, charged before each buffer goes out. None: the
   * CPU's own time is the cost (real peers).
   */
  cpuCostMs?: CpuCost;
  /** Where free-page hints come from (used when the capability `freePageHints` is on). */
  hints?: HintSource;
  /** Hashing off the main loop (capability `hashDedup`; none: inline, as the simulator does). */
  hasher?: PageHasher | null;
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
  /** Checkpoint-assisted statistics of the source (only with `hashDedup`). */
  hash?: SourceHashRecord;
}

/** Cancellation, as an error the engine recognises. */
class Cancelled extends Error {
  override name = "AbortError";
}

/** An option the engine cannot run with, found before anything was sent. */
class BadOption extends Error {}

/** Runs the source side of one migration. Never throws: failures are in the report. */
export async function runSource(options: SourceOptions): Promise<SourceReport> {
  const { guest, link, clock, config, hooks = {}, signal } = options;
  const ram = guest.ram;
  const caps = config.capabilities;
  const hashes = caps.hashDedup ? new HashDedupSource(ram, clock, options.hasher ?? null) : null;
  const stats = new KindStats({ hash: hashes !== null });
  const startAtMs = clock.nowMs();
  let setupDoneAtMs = startAtMs;
  let stopAtMs: number | null = null;
  let ackAtMs: number | null = null;
  let guestStopped = false;
  let round = 0;
  let converged = false;
  let forced = false;
  let outcome: Outcome = "failed";
  let error: string | undefined;

  const dirty = new DirtySync(guest, {
    clock,
    hints: caps.freePageHints ? options.hints : null,
    hintTimeoutMs: config.hintTimeoutMs,
  });
  const xbzrle = caps.xbzrle
    ? new XbzrleCachePolicy({
      cacheBytes: config.xbzrleCacheSize,
      guestPages: ram.totalPages,
      overflowBytes: config.xbzrleOverflowBytes,
    })
    : null;
  const compressor = caps.compress
    ? new PageCompressor(config.compressMethod, config.compressLevel)
    : null;

  // Before every buffer goes out: cancel, a failed destination, CPU cost, rate limit, hints.
  const limiter = new RateLimiter(config.maxBandwidth, startAtMs);
  const cpu = options.cpuCostMs ? new CpuMeter(options.cpuCostMs) : null;
  let peerFailure: string | null = null;
  const gate = async (bytes: number) => {
    if (signal?.aborted) throw new Cancelled(String(signal.reason ?? "cancelled"));
    if (peerFailure) throw new Error(peerFailure);
    if (hashes?.badInput) throw new Error(`Destination sent ${hashes.badInput}`);
    const costMs = cpu ? cpu.chargeMs(stats, xbzrle ? xbzrle.stats.unchanged : 0) : 0;
    if (costMs > 0) await clock.sleep(costMs);
    const waitMs = limiter.delayMs(bytes, clock.nowMs());
    if (waitMs > 0) await clock.sleep(waitMs);
    dirty.pollHints(); // what arrived meanwhile counts for the next buffer
  };
  const w = new StreamWriter(link, { bufferBytes: options.bufferBytes, gate });
  const sender = new RamSender({
    ram,
    bitmap: dirty.bitmap,
    writer: w,
    stats,
    clock,
    xbzrle,
    compressor,
    hash: hashes,
  });

  // The return path: read in the background, no timeout until the end is sent.
  const ack = readReturnPath(link, hashes?.handlers ?? {}).then((a) => {
    if (a && a.status !== ACK_LOADED) peerFailure = `Destination failed: ${a.message}`;
    return a;
  }, (e) => {
    return { status: -1, message: (e as Error).message };
  });

  const bandwidth = new BandwidthEstimator();
  const policy = new PrecopyPolicy(config);
  const progress = new ProgressLog({
    clock,
    startAtMs,
    writer: w,
    bandwidth,
    sender,
    kinds: stats,
    xbzrle: xbzrle?.stats,
    dirty,
    hook: hooks.progress,
  });
  /** One pass while the guest runs, measured for the bandwidth estimate. */
  let lastPass = 0;
  const sendPass = async (passRound: number) => {
    const t = clock.nowMs();
    const sent = w.offset;
    lastPass = passRound;
    await sender.sendDirty(passRound);
    await w.flush();
    bandwidth.measure(w.offset - sent, clock.nowMs() - t);
  };

  // A buffer too small for the longest record would fail mid-stream; refuse it before anything goes.
  const bufferTooSmall = w.capacity < sender.bufferBytesMin
    ? `bufferBytes ${w.capacity} is too small: this migration's longest record takes ${sender.bufferBytesMin} bytes`
    : null;

  try {
    if (bufferTooSmall) throw new BadOption(bufferTooSmall);
    await hooks.phase?.("setup", 0, w.offset);
    w.header();
    await w.setup({
      pageSize: PAGE_SIZE,
      capabilities: (xbzrle ? CAP_XBZRLE : 0) | (compressor ? CAP_COMPRESS : 0) |
        (hashes ? CAP_HASH : 0),
      blocks: ram.blocks.map((b) => ({ name: b.name, pages: b.pages })),
      params: encodeSetupParams({ compressMethod: compressor?.method }),
    });
    stats.bytes[K_OVERHEAD] += w.offset;
    if (hashes) await awaitSummary(hashes, w, ack, config.peerTimeoutMs, clock);
    dirty.markAll(); // everything goes in the bulk pass
    dirty.requestHints();
    progress.record("bulk", { round, dirtyPages: ram.totalPages, newlyDirty: 0 });
    setupDoneAtMs = clock.nowMs();

    await hooks.phase?.("bulk", 0, w.offset);
    await sendPass(0);

    for (;;) {
      const newlyDirty = dirty.sync();
      hashes?.takeRequests(dirty.bitmap); // pages the destination asked for go again, in full
      const dirtyPages = dirty.bitmap.count();
      round++;
      const r = progress.record("round", { round, dirtyPages, newlyDirty });
      const decision = policy.decide(round, {
        expectedDowntimeMs: r.expectedDowntimeMs,
        elapsedMs: clock.nowMs() - startAtMs,
      });
      if (decision === "cancel") throw new Cancelled(policy.reason);
      converged = decision === "converged";
      forced = decision === "forced";
      if (converged || forced) break;
      dirty.requestHints();
      await hooks.phase?.("round", round, w.offset);
      await sendPass(round);
    }

    // Stop-and-copy: unlimited, from guest RAM, the XBZRLE cache left alone.
    await hooks.phase?.("stop-and-copy", round, w.offset);
    // Every request of the sections sent must be in before the last sync (hash_dedup.ts).
    // A destination busy resolving hashes beats; one silent for peerTimeoutMs fails the migration.
    while (hashes?.active) {
      const done = await timed(hashes.doneThrough(lastPass), config.peerTimeoutMs, clock);
      if (done !== TIMEOUT) break;
      if (peerFailure) throw new Error(peerFailure);
      if (clock.nowMs() - hashes.heardAtMs >= config.peerTimeoutMs) {
        throw new Error(
          `The destination said nothing for ${config.peerTimeoutMs} ms before finishing RAM section ${lastPass}`,
        );
      }
    }
    stopAtMs = clock.nowMs();
    guestStopped = true;
    const device = await guest.stop();
    const newlyDirty = dirty.syncStopped();
    hashes?.takeRequests(dirty.bitmap);
    round++;
    progress.record("stop-and-copy", { round, dirtyPages: dirty.bitmap.count(), newlyDirty });
    limiter.lift();
    await sender.sendDirty(round, true);
    await hooks.phase?.("device-state", round, w.offset);
    const deviceBytes = await w.device(device);
    const endBytes = await w.end();
    stats.bytes[K_OVERHEAD] += deviceBytes + endBytes;
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
    if (e instanceof BadOption) {
      outcome = "failed";
      error = e.message;
    } else if (e instanceof Cancelled || signal?.aborted) {
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
      // (Nothing was sent on a bad option: the link is closed.)
      if (!(e instanceof BadOption)) await timed(w.abortQuietly(error ?? outcome), 200, clock);
    } catch {
      // the link is gone; nothing to tell
    }
    if (guestStopped) await guest.cont();
  } finally {
    dirty.stopHints();
    link.close();
  }
  const snap = stats.snapshot();
  const hints = dirty.hintStats();
  return {
    outcome,
    error,
    startAtMs,
    setupDoneAtMs,
    stopAtMs,
    ackAtMs,
    endAtMs: clock.nowMs(),
    iterations: progress.records.length,
    rounds: round,
    converged,
    forced,
    bytes: snap.bytes,
    pages: snap.pages,
    progress: progress.records,
    guestRunning: outcome !== "completed",
    xbzrle: xbzrle ? xbzrle.stats.total(stats) : null,
    compression: sender.compression ? sender.compression.record() : null,
    ...(hints ? { hints } : {}),
    ...(hashes ? { hash: hashes.record(stats.pages[K_HASH], stats.bytes[K_HASH]) } : {}),
  };
}

/**
 * Sends the setup out and waits for the destination's checkpoint summary
 * (capability HASH); a destination that fails first, or says nothing
 * within `timeoutMs`, fails the migration.
 */
async function awaitSummary(
  hashes: HashDedupSource,
  w: StreamWriter,
  ack: Promise<{ status: number; message: string } | null>,
  timeoutMs: number,
  clock: Clock,
): Promise<void> {
  await w.flush();
  const failed = ack.then((a) => a ? `Destination failed: ${a.message}` : "The return path closed");
  const got = await timed(
    Promise.race([hashes.summary.then(() => null), failed]),
    timeoutMs,
    clock,
  );
  if (got === TIMEOUT) {
    throw new Error(`No checkpoint summary from the destination within ${timeoutMs} ms`);
  }
  if (got !== null) throw new Error(got);
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
