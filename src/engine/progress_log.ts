/**
 * The source's progress records, one per dirty-log sync (QEMU's `info
 * migrate` at each iteration): when, which round and phase, bytes sent and
 * still to send, the dirty rate since the last sync, the measured bandwidth,
 * the expected downtime (precopy_policy.ts), and each capability's figures.
 * Each record is kept, and handed to the peer's hook as it is made.
 *
 * @example
 * ```ts ignore
 * const log = new ProgressLog({ clock, startAtMs, writer, bandwidth, sender, kinds, dirty });
 * const r = log.record("round", { round: 1, dirtyPages: 120, newlyDirty: 80 });
 * console.log(r.expectedDowntimeMs, log.records.length);
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { PAGE_SIZE } from "../contract/page.ts";
import type { ProgressRecord } from "../contract/types.ts";
import type { BandwidthEstimator } from "./bandwidth_estimator.ts";
import type { DirtySync } from "./dirty_sync.ts";
import { PrecopyPolicy } from "./precopy_policy.ts";
import type { RamSender } from "./ram_sender.ts";
import type { KindStats, XbzrleStats } from "./stats.ts";

/** Where the figures of a record come from. */
export interface ProgressLogOptions {
  clock: Clock;
  /** When the migration started, on `clock`. */
  startAtMs: number;
  /** The stream writer (its offset: bytes sent so far). */
  writer: { readonly offset: number };
  bandwidth: BandwidthEstimator;
  sender: Pick<RamSender, "wireBytesPerPage" | "compression">;
  kinds: KindStats;
  /** XBZRLE counters (capability `xbzrle`). */
  xbzrle?: XbzrleStats | null;
  dirty: Pick<DirtySync, "hintProgress">;
  /** Called with each record as it is made. */
  hook?: (record: ProgressRecord) => void;
}

/** The dirty-log sync a record is made at. */
export interface SyncFigures {
  round: number;
  /** Pages marked to send after the sync. */
  dirtyPages: number;
  /** Bits the guest's dirty log held at the sync. */
  newlyDirty: number;
}

/** One progress record per sync. */
export class ProgressLog {
  /** Every record so far. */
  readonly records: ProgressRecord[] = [];
  #o: ProgressLogOptions;
  #lastSyncAtMs: number;

  /** A log reading its figures from `options`. */
  constructor(options: ProgressLogOptions) {
    this.#o = options;
    this.#lastSyncAtMs = options.startAtMs;
  }

  /** Makes, keeps and reports the record of a sync in `phase`. */
  record(phase: string, sync: SyncFigures): ProgressRecord {
    const o = this.#o;
    const now = o.clock.nowMs();
    const sinceSync = now - this.#lastSyncAtMs;
    this.#lastSyncAtMs = now;
    const { dirtyPages, newlyDirty } = sync;
    const wireBytesPerPage = o.sender.wireBytesPerPage;
    const bandwidthBytesPerSec = o.bandwidth.bytesPerSec;
    const r: ProgressRecord = {
      timeMs: now - o.startAtMs,
      round: sync.round,
      phase,
      transferredBytes: o.writer.offset,
      remainingBytes: dirtyPages * PAGE_SIZE,
      dirtyPages,
      dirtyRateBytesPerSec: sinceSync > 0 ? (newlyDirty * PAGE_SIZE * 1000) / sinceSync : 0,
      bandwidthBytesPerSec,
      expectedDowntimeMs: PrecopyPolicy.expectedDowntimeMs(dirtyPages, {
        wireBytesPerPage,
        bandwidthBytesPerSec,
      }),
    };
    if (wireBytesPerPage !== null) r.wireBytesPerPage = wireBytesPerPage;
    if (o.xbzrle) r.xbzrle = o.xbzrle.period(o.kinds);
    if (o.sender.compression) r.compression = o.sender.compression.record();
    const h = o.dirty.hintProgress();
    if (h) {
      r.hintPagesSkipped = h.hintPagesSkipped;
      r.hintsRejected = h.hintsRejected;
      r.hintRequestsTimedOut = h.hintRequestsTimedOut;
    }
    this.records.push(r);
    o.hook?.(r);
    return r;
  }
}
