/**
 * When precopy stops, as QEMU's migration.c decides it: after each dirty-log
 * sync the source estimates the downtime a stop now would cost, and
 *
 * - stops the guest and copies the rest when the estimate fits
 *   `downtimeLimitMs` (converged);
 * - otherwise sends another round, unless `maxRounds` rounds after the bulk
 *   pass were sent or `maxTimeMs` passed since the migration started: then
 *   `onNoConvergence` says whether to force the stop-and-copy or cancel.
 *
 * The estimate: bytes still to send / the measured bandwidth. Plain precopy
 * counts every dirty page at full size, as QEMU; with a page encoder on
 * (XBZRLE, compression) it counts what a dirty page cost on the wire in the
 * last section instead (docs/xbzrle.md, "Convergence"). No bandwidth
 * measured yet: the estimate is Infinity.
 *
 * @example
 * ```ts
 * import { PrecopyPolicy } from "./precopy_policy.ts";
 * const policy = new PrecopyPolicy({
 *   downtimeLimitMs: 300,
 *   maxRounds: 2,
 *   maxTimeMs: 60_000,
 *   onNoConvergence: "cancel",
 * });
 * // 1000 full pages at 1 GB/s
 * const ms = PrecopyPolicy.expectedDowntimeMs(1000, { wireBytesPerPage: null, bandwidthBytesPerSec: 1e9 });
 * console.log(ms.toFixed(1), policy.decide(1, { expectedDowntimeMs: ms, elapsedMs: 100 })); // 4.1 converged
 * console.log(policy.decide(3, { expectedDowntimeMs: 500, elapsedMs: 100 }));
 * // cancel (policy.reason: "Did not converge after 2 rounds: expected downtime 500 ms > limit 300 ms")
 * ```
 * @module
 */
import { PAGE_SIZE } from "../contract/page.ts";
import type { MigrationConfig } from "./capabilities.ts";

/** The parameters the policy reads. */
export type PrecopyLimits = Pick<
  MigrationConfig,
  "downtimeLimitMs" | "maxRounds" | "maxTimeMs" | "onNoConvergence"
>;

/**
 * What to do after a sync: send another round, stop (the estimate fits, or
 * the limits force it), or cancel the migration ({@link PrecopyPolicy.reason}
 * says why).
 */
export type PrecopyDecision = "continue" | "converged" | "forced" | "cancel";

/** The stop decision. */
export class PrecopyPolicy {
  #limits: PrecopyLimits;
  /** Why the last decision gave up on convergence ("" until one did). */
  reason = "";

  /** A policy with the migration's limits. */
  constructor(limits: PrecopyLimits) {
    this.#limits = limits;
  }

  /**
   * The downtime a stop now would cost: `dirtyPages` at `wireBytesPerPage`
   * each (null: a full page each) over `bandwidthBytesPerSec`; Infinity
   * before any bandwidth was measured.
   */
  static expectedDowntimeMs(
    dirtyPages: number,
    options: { wireBytesPerPage: number | null; bandwidthBytesPerSec: number },
  ): number {
    const { wireBytesPerPage, bandwidthBytesPerSec } = options;
    const expectedBytes = wireBytesPerPage !== null
      ? dirtyPages * wireBytesPerPage
      : dirtyPages * PAGE_SIZE;
    return bandwidthBytesPerSec > 0 ? (expectedBytes * 1000) / bandwidthBytesPerSec : Infinity;
  }

  /**
   * Decides after the sync that opens `round` (1 for the first after the
   * bulk pass), with the estimate and the milliseconds since the migration
   * started.
   */
  decide(
    round: number,
    options: { expectedDowntimeMs: number; elapsedMs: number },
  ): PrecopyDecision {
    const { expectedDowntimeMs, elapsedMs } = options;
    const l = this.#limits;
    if (expectedDowntimeMs <= l.downtimeLimitMs) return "converged";
    if (round <= l.maxRounds && elapsedMs < l.maxTimeMs) return "continue";
    const why = round > l.maxRounds
      ? `${l.maxRounds} rounds`
      : `${Math.round(elapsedMs)} ms (maxTimeMs ${l.maxTimeMs})`;
    this.reason = `Did not converge after ${why}: expected downtime ${
      expectedDowntimeMs.toFixed(0)
    } ms > limit ${l.downtimeLimitMs} ms`;
    return l.onNoConvergence === "cancel" ? "cancel" : "forced";
  }
}
