/**
 * A virtual clock and the scheduler that drives it. Every task of a
 * simulation (both engines, the guest, the link) waits only on this clock's
 * timers or on each other; when every task is waiting, time jumps to the next
 * timer. The order is fixed by (time, creation order), so one seed always
 * gives one run.
 *
 * The driver yields to the host event loop with `setImmediate` between
 * events: that runs after all pending promise reactions, i.e. once every task
 * has gone as far as it can at the current instant.
 *
 * @example
 * ```ts
 * import { SimClock } from "./sim_clock.ts";
 * const clock = new SimClock();
 * const t = await clock.run(async () => {
 *   await clock.sleep(1500);
 *   return clock.nowMs();
 * });
 * console.log(t); // 1500
 * ```
 * @module
 */
import { setImmediate } from "node:timers";
import type { Clock } from "../util/clock.ts";

/** Timer events at one virtual instant beyond which the run is declared livelocked. */
const MAX_EVENTS_AT_ONE_INSTANT = 1_000_000;

interface Timer {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

/**
 * A virtual clock with a deterministic scheduler.
 *
 * @example
 * ```ts
 * import { SimClock } from "./sim_clock.ts";
 * const clock = new SimClock();
 * const order: string[] = [];
 * await clock.run(async () => {
 *   await Promise.all([
 *     clock.sleep(20).then(() => order.push("b")),
 *     clock.sleep(10).then(() => order.push("a")),
 *   ]);
 * });
 * console.log(order, clock.nowMs()); // ["a", "b"] 20
 * ```
 */
export class SimClock implements Clock {
  #now = 0;
  #seq = 0;
  #heap: Timer[] = [];
  #events = 0;
  #lastAdvanceMs = -1;
  #eventsAtInstant = 0;

  /** Virtual milliseconds since the start. */
  nowMs(): number {
    return this.#now;
  }

  /** Timer events fired so far. */
  get events(): number {
    return this.#events;
  }

  /** Resolves after `ms` virtual milliseconds, or when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.sleepUntil(this.#now + Math.max(0, ms), signal);
  }

  /** Resolves at virtual time `atMs` (at once if it has passed), or when `signal` aborts. */
  sleepUntil(atMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const t = this.at(atMs, () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      const onAbort = () => {
        t.cancelled = true;
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Calls `fire` at virtual time `atMs`; returns a handle whose `cancelled` can be set. */
  at(atMs: number, fire: () => void): { cancelled: boolean } {
    const t: Timer = { at: Math.max(atMs, this.#now), seq: this.#seq++, fire, cancelled: false };
    const h = this.#heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
    return t;
  }

  /**
   * Runs `main` to completion on virtual time. Throws Error when every task
   * waits and no timer is set (a deadlock), or `main`'s own error.
   */
  async run<T>(main: () => Promise<T>, options: { maxEvents?: number } = {}): Promise<T> {
    const maxEvents = options.maxEvents ?? 100_000_000;
    let done = false;
    let value: T | undefined;
    let error: unknown;
    let failed = false;
    main().then((v) => {
      done = true;
      value = v;
    }, (e) => {
      done = true;
      failed = true;
      error = e;
    });
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (done) break;
      const t = this.#pop();
      if (!t) {
        throw new Error(
          `Simulation deadlocked at ${
            this.#now.toFixed(3)
          } ms: every task waits and no timer is set`,
        );
      }
      this.#fire(t, maxEvents);
      // Fire every other live timer due at this same instant before yielding.
      // Cancelled timers on top are dropped first: the next live one may be
      // due later (it waits for its turn) or there may be none.
      for (let u = this.#peek(); u !== undefined && u.at === this.#now; u = this.#peek()) {
        this.#pop();
        this.#fire(u, maxEvents);
      }
    }
    if (failed) throw error;
    return value as T;
  }

  /** Moves the clock to `t`'s instant, counts it against the limits, and fires it. */
  #fire(t: Timer, maxEvents: number): void {
    this.#now = t.at;
    this.#events++;
    if (this.#events > maxEvents) {
      throw new Error(`Simulation exceeded ${maxEvents} events at ${this.#now} ms`);
    }
    if (t.at > this.#lastAdvanceMs) {
      this.#lastAdvanceMs = t.at;
      this.#eventsAtInstant = 0;
    } else if (++this.#eventsAtInstant > MAX_EVENTS_AT_ONE_INSTANT) {
      throw new Error(
        `Simulation livelocked at ${this.#now} ms: ${MAX_EVENTS_AT_ONE_INSTANT} events without time moving on`,
      );
    }
    t.fire();
  }

  /** The earliest live timer, left in place (cancelled ones on top are dropped); undefined when none. */
  #peek(): Timer | undefined {
    const h = this.#heap;
    while (h.length > 0 && h[0].cancelled) this.#removeTop();
    return h[0];
  }

  /** Takes the earliest live timer out; undefined when none is left. */
  #pop(): Timer | undefined {
    const t = this.#peek();
    if (t !== undefined) this.#removeTop();
    return t;
  }

  /** Removes the heap's top, whatever it is. */
  #removeTop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && before(h[l], h[m])) m = l;
      if (r < h.length && before(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
