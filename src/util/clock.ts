/**
 * The clock the engine is given. The engine never reads the system clock
 * itself: real peers pass {@link systemClock}, the simulation a virtual clock.
 *
 * @example
 * ```ts
 * import { systemClock } from "./clock.ts";
 * const t0 = systemClock.nowMs();
 * await systemClock.sleep(1);
 * console.log(systemClock.nowMs() - t0 >= 1);
 * ```
 * @module
 */

/**
 * Time source and sleeper. `nowMs` is milliseconds on a clock shared by the peers of one host.
 *
 * @example
 * ```ts
 * import type { Clock } from "./clock.ts";
 * async function timed(clock: Clock, f: () => Promise<void>): Promise<number> {
 *   const t = clock.nowMs();
 *   await f();
 *   return clock.nowMs() - t;
 * }
 * ```
 */
export interface Clock {
  /** Milliseconds, fractional. On real peers: Unix epoch with sub-millisecond precision. */
  nowMs(): number;
  /** Resolves after `ms` milliseconds of this clock's time, or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The system clock: `performance.timeOrigin + performance.now()`, consistent across processes of a host.
 *
 * @example
 * ```ts
 * import { systemClock } from "./clock.ts";
 * const t0 = systemClock.nowMs();
 * await systemClock.sleep(5);
 * console.log(systemClock.nowMs() - t0 >= 5); // true
 * ```
 */
export const systemClock: Clock = {
  nowMs: () => performance.timeOrigin + performance.now(),
  sleep: (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done);
    }),
};
