/**
 * A token bucket on a caller-given time axis: `rate` bytes per second fill a
 * bucket `burst` bytes deep; sending `n` bytes takes `n` tokens. Taking more
 * than the bucket holds leaves a debt, and {@link TokenBucket.waitMs} says how
 * long until the debt is paid, so a sender that waits that long before its
 * next send goes at exactly `rate` on average, with bursts of at most
 * `burst` bytes after an idle spell. A rate of 0 means unlimited.
 *
 * It reads no clock itself: every call takes `nowMs`, so the shaping proxy
 * passes the system clock and tests pass numbers.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "./token_bucket.ts";
 * const b = new TokenBucket(1000, { burstBytes: 100, nowMs: 0 }); // 1000 B/s, 100 B deep
 * b.take(300, 0);
 * console.log(b.waitMs(0)); // 200: the 200-byte debt takes 200 ms to pay
 * console.log(b.waitMs(200)); // 0
 * ```
 * @module
 */

/** Token bucket with a debt, on explicit time. */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #last: number;

  /** A full bucket of `burstBytes` filling at `rateBytesPerSec` (0: unlimited). */
  constructor(rateBytesPerSec: number, options: { burstBytes: number; nowMs: number }) {
    if (!(rateBytesPerSec >= 0) || !Number.isFinite(rateBytesPerSec)) {
      throw new RangeError(`Token bucket rate must be >= 0 bytes/s, got ${rateBytesPerSec}`);
    }
    if (!(options.burstBytes >= 1)) {
      throw new RangeError(`Token bucket burst must be >= 1 byte, got ${options.burstBytes}`);
    }
    this.#rate = rateBytesPerSec;
    this.#burst = options.burstBytes;
    this.#tokens = options.burstBytes;
    this.#last = options.nowMs;
  }

  /** Bytes per second (0: unlimited). */
  get rateBytesPerSec(): number {
    return this.#rate;
  }

  /** Changes the rate from `nowMs` on; tokens earned so far at the old rate are kept. */
  setRate(rateBytesPerSec: number, nowMs: number): void {
    this.#refill(nowMs);
    this.#rate = rateBytesPerSec;
    if (rateBytesPerSec === 0) this.#tokens = this.#burst;
  }

  /** Takes `n` tokens at `nowMs`, going into debt if the bucket holds fewer. */
  take(n: number, nowMs: number): void {
    this.#refill(nowMs);
    if (this.#rate > 0) this.#tokens -= n;
  }

  /** Milliseconds from `nowMs` until the debt is paid at the current rate (0 when there is none). */
  waitMs(nowMs: number): number {
    this.#refill(nowMs);
    return this.#tokens >= 0 || this.#rate === 0 ? 0 : (-this.#tokens * 1000) / this.#rate;
  }

  #refill(nowMs: number): void {
    if (nowMs > this.#last && this.#rate > 0) {
      this.#tokens = Math.min(
        this.#burst,
        this.#tokens + ((nowMs - this.#last) * this.#rate) / 1000,
      );
    }
    if (nowMs > this.#last) this.#last = nowMs;
  }
}
