/**
 * The source's estimate of the bandwidth the stream gets: wire bytes over the
 * time spent sending them (encoding included), over the last window of at
 * least {@link BANDWIDTH_WINDOW_MS}, as QEMU measures it per iteration. Each
 * pass reports what it sent and how long it took; the estimate is what the
 * expected downtime divides by.
 *
 * Until a window is complete, the first measurement stands alone (so that the
 * estimate is never 0 once anything was sent); afterwards a window shorter
 * than the minimum keeps accumulating until it is long enough.
 *
 * @example
 * ```ts
 * import { BandwidthEstimator } from "./bandwidth_estimator.ts";
 * const bw = new BandwidthEstimator();
 * bw.measure(1_000_000, 20); // 20 ms: too short a window, but the first
 * console.log(bw.bytesPerSec); // 50000000
 * bw.measure(3_000_000, 40); // now 4 MB over 60 ms
 * console.log(Math.round(bw.bytesPerSec)); // 66666667
 * ```
 * @module
 */

/** The shortest window the estimate is taken over. */
export const BANDWIDTH_WINDOW_MS = 50;

/** Bytes per second over the last window of at least {@link BANDWIDTH_WINDOW_MS}. */
export class BandwidthEstimator {
  #bytes = 0;
  #ms = 0;
  #bytesPerSec = 0;

  /** The estimate in bytes per second; 0 until something was measured. */
  get bytesPerSec(): number {
    return this.#bytesPerSec;
  }

  /** Adds `bytes` sent in `ms` milliseconds of the clock. */
  measure(bytes: number, ms: number): void {
    this.#bytes += bytes;
    this.#ms += ms;
    if (this.#ms >= BANDWIDTH_WINDOW_MS || this.#bytesPerSec === 0) {
      if (this.#ms > 0) this.#bytesPerSec = (this.#bytes * 1000) / this.#ms;
      if (this.#ms >= BANDWIDTH_WINDOW_MS) this.#bytes = this.#ms = 0;
    }
  }
}
