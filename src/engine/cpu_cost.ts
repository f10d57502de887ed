/**
 * The CPU-cost port: what sending pages costs in time of the engine's clock,
 * as the caller models it. On real peers the CPU spends its own time and no
 * port is given; a caller that runs the engine on a virtual clock passes a
 * function that turns the work done into milliseconds, and the source sleeps
 * that long on its clock before each buffer goes out (so the next buffer is
 * encoded while the last one is on the wire, as on a real machine).
 *
 * The engine only counts: {@link CpuMeter} hands the port the pages sent by
 * record kind since the last charge, and the XBZRLE pages found unchanged
 * (encoded, nothing sent).
 *
 * @example
 * ```ts
 * import { CpuMeter, type CpuCost } from "./cpu_cost.ts";
 * import { KindStats } from "./stats.ts";
 * const cost: CpuCost = (w) => (w.normal * 0.5 + w.zero * 0.1) / 1000; // µs per page
 * const stats = new KindStats();
 * const meter = new CpuMeter(cost);
 * stats.add("normal", 2000, 2000 * 4096);
 * console.log(meter.chargeMs(stats, 0)); // 1
 * console.log(meter.chargeMs(stats, 0)); // 0: nothing new
 * ```
 * @module
 */
import { K_DEFLATE, K_NORMAL, K_XBZRLE, K_ZERO, type KindStats } from "./stats.ts";

/** Pages handled since the last charge. */
export interface PagesWork {
  /** Pages sent in NORMAL records. */
  normal: number;
  /** Pages sent as ZERO records. */
  zero: number;
  /** Pages sent as XBZRLE deltas. */
  xbzrle: number;
  /** Pages sent in compressed (DEFLATE) records. */
  deflate: number;
  /** Pages XBZRLE found unchanged: encoded, nothing sent. */
  xbzrleUnchanged: number;
}

/** The port: milliseconds of the engine's clock that `work` costs (0 or less: none). */
export type CpuCost = (work: PagesWork) => number;

/** Counts the work done since the last charge and asks the port what it costs. */
export class CpuMeter {
  #cost: CpuCost;
  #charged = new Float64Array(4);
  #chargedUnchanged = 0;
  /** One record, reused: the port must not keep it. */
  #work: PagesWork = { normal: 0, zero: 0, xbzrle: 0, deflate: 0, xbzrleUnchanged: 0 };

  /** Charges through `cost`. */
  constructor(cost: CpuCost) {
    this.#cost = cost;
  }

  /**
   * What the pages in `stats` and the `unchanged` XBZRLE pages cost beyond
   * what was charged before, in milliseconds; they count as charged.
   */
  chargeMs(stats: KindStats, unchanged: number): number {
    const w = this.#work, c = this.#charged, p = stats.pages;
    w.normal = p[K_NORMAL] - c[0];
    w.zero = p[K_ZERO] - c[1];
    w.xbzrle = p[K_XBZRLE] - c[2];
    w.deflate = p[K_DEFLATE] - c[3];
    w.xbzrleUnchanged = unchanged - this.#chargedUnchanged;
    c[0] = p[K_NORMAL];
    c[1] = p[K_ZERO];
    c[2] = p[K_XBZRLE];
    c[3] = p[K_DEFLATE];
    this.#chargedUnchanged = unchanged;
    return this.#cost(w);
  }
}
