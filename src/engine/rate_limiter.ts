/**
 * The stream's rate limit (`maxBandwidth`), as QEMU's rate limiting of the
 * migration stream: the bytes sent since the migration started may not run
 * ahead of `limit` bytes per second. The source asks before each buffer goes
 * out how long to wait; the stop-and-copy lifts the limit (the guest is
 * stopped: every millisecond is downtime).
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./rate_limiter.ts";
 * const limiter = new RateLimiter(1_000_000, 0); // 1 MB/s from t = 0 ms
 * console.log(limiter.delayMs(500_000, 100)); // 400: 500 KB are due at 500 ms
 * limiter.lift();
 * console.log(limiter.delayMs(500_000, 100)); // 0
 * ```
 * @module
 */

/** A rate limit over the whole stream, from its start. */
export class RateLimiter {
  #bytesPerSec: number;
  #startAtMs: number;
  #bytes = 0;

  /** A limit of `bytesPerSec` (0: unlimited) counted from `startAtMs` of the engine's clock. */
  constructor(bytesPerSec: number, startAtMs: number) {
    this.#bytesPerSec = bytesPerSec;
    this.#startAtMs = startAtMs;
  }

  /** The limit in bytes per second; 0 when unlimited. */
  get bytesPerSec(): number {
    return this.#bytesPerSec;
  }

  /**
   * Counts `bytes` about to go out at `nowMs` and returns how many
   * milliseconds to wait first so that the stream keeps to the limit (0 or
   * less: none). Unlimited, it counts nothing and returns 0.
   */
  delayMs(bytes: number, nowMs: number): number {
    if (this.#bytesPerSec <= 0) return 0;
    this.#bytes += bytes;
    return this.#startAtMs + (this.#bytes * 1000) / this.#bytesPerSec - nowMs;
  }

  /** Lifts the limit (stop-and-copy). */
  lift(): void {
    this.#bytesPerSec = 0;
  }
}
