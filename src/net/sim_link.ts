/**
 * The simulated link: two directions, each a FIFO wire with a bandwidth, a
 * one-way latency and seeded jitter, on a {@link SimClock}. A write is cut
 * into packets; each packet takes `bytes / bandwidth` on the wire and arrives
 * `latency + jitter` later, never before the packet ahead of it. A write
 * resolves when its last packet has left (as a socket write returns once the
 * kernel has the data); a bounded window of unread bytes gives back-pressure.
 *
 * Faults, as real mode has them: `cut()` (both directions fail),
 * `stall(ms)` (nothing moves, nothing is lost), `corrupt(bytes)` (flip bits
 * in that many of the next bytes sent, seeded positions). Every read and
 * write has the idle timeout a TCP link has.
 *
 * @example
 * ```ts
 * import { SimClock } from "../sim/sim_clock.ts";
 * import { simLinkPair } from "./sim_link.ts";
 * const clock = new SimClock();
 * const { a, b } = simLinkPair(clock, { bandwidthBytesPerSec: 1e6, latencyMs: 5, seed: 1 });
 * const got = await clock.run(async () => {
 *   await a.write(new Uint8Array(1000));
 *   return [await b.read(new Uint8Array(2000)), clock.nowMs()];
 * });
 * console.log(got); // [1000, 6]
 * ```
 * @module
 */
import type { SchedulingClock } from "../contract/ports.ts";
import { Prng } from "../util/prng.ts";
import { type Link, timeoutError } from "./link.ts";

/** Simulated link options. */
export interface SimLinkOptions {
  /** Bytes per second each way; 0 or undefined: {@link SIM_LOOPBACK_BYTES_PER_SEC}. */
  bandwidthBytesPerSec?: number;
  latencyMs?: number;
  /** Uniform jitter in [0, jitterMs) added to each packet's latency. */
  jitterMs?: number;
  /** Seeds the jitter. */
  seed?: number;
  /** Seeds the corrupted bits (default: `seed`), a stream of its own so that a fault does not move the jitter. */
  corruptSeed?: number;
  /** Idle timeout of reads and writes (default: none). */
  idleTimeoutMs?: number;
  /** Unread bytes a direction holds before writes wait (default 8 MiB). */
  windowBytes?: number;
}

/** What an unshaped link does in simulation: loopback TCP between two Deno processes on this machine. */
export const SIM_LOOPBACK_BYTES_PER_SEC = 2.9e9;
/** Largest packet. */
export const SIM_PACKET_BYTES = 256 * 1024;

/** The two ends and the fault controls. */
export interface SimLinkPair {
  a: Link;
  b: Link;
  /** Both directions fail from now on. */
  cut(): void;
  /** Nothing moves for `ms`; nothing is lost. */
  stall(ms: number): void;
  /** Flips one bit in each of the next `bytes` bytes sent from a (seeded positions within the next 64 KiB). */
  corrupt(bytes: number): void;
  /** Changes the bandwidth from now on (bytes per second). */
  setBandwidth(bytesPerSec: number): void;
  /** Bytes sent from a to b so far. */
  readonly bytesAtoB: number;
}

class Direction {
  ring: Uint8Array;
  #head = 0; // read position in ring
  #tail = 0; // write position in ring
  #unread = 0; // bytes in ring (sent, not yet read)
  #arrived = 0; // bytes that have arrived and are unread
  #freeAt = 0;
  #lastArrival = 0;
  #readers: (() => void)[] = [];
  #writers: (() => void)[] = [];
  failed: string | null = null;
  closed = false;
  stalledUntil = 0;
  sent = 0;
  corruptLeft = 0;
  corruptSpan = 0;

  constructor(
    readonly clock: SchedulingClock,
    readonly o: Required<SimLinkOptions>,
    readonly prng: Prng,
    readonly corruptPrng: Prng = prng,
  ) {
    this.ring = new Uint8Array(o.windowBytes);
  }

  async write(data: Uint8Array): Promise<void> {
    let off = 0;
    while (off < data.length) {
      this.#check("Writing the migration stream");
      const room = this.ring.length - this.#unread;
      if (room === 0) {
        await this.#wait(this.#writers, "Writing the migration stream");
        continue;
      }
      const n = Math.min(room, SIM_PACKET_BYTES, data.length - off);
      this.#put(data, off, n);
      off += n;
      const now = this.clock.nowMs();
      const start = Math.max(now, this.#freeAt, this.stalledUntil);
      const done = start + (n * 1000) / this.o.bandwidthBytesPerSec;
      this.#freeAt = done;
      const jitter = this.o.jitterMs > 0 ? this.prng.nextFloat() * this.o.jitterMs : 0;
      const arrive = Math.max(this.#lastArrival, done + this.o.latencyMs + jitter);
      this.#lastArrival = arrive;
      this.sent += n;
      this.clock.at(arrive, () => this.#arrive(n));
      await this.#untilSent(done);
    }
  }

  /**
   * Waits until the packet has left at `done`, waking early when the link
   * fails or closes. A wire that stands still (a stall) for the idle timeout
   * fails the write, as a blocked socket write times out.
   */
  async #untilSent(done: number): Promise<void> {
    const idle = this.o.idleTimeoutMs;
    let stalledSince = -1;
    for (;;) {
      this.#check("Writing the migration stream");
      const now = this.clock.nowMs();
      if (now >= done) return;
      if (this.stalledUntil > now) {
        if (stalledSince < 0) stalledSince = now;
        // One expression for the deadline, compared as it is: `now - since >= idle`
        // can disagree with `since + idle <= now` in floating point (an endless wake-up loop).
        const deadline = stalledSince + idle;
        if (now >= deadline) throw timeoutError("Writing the migration stream", idle);
        await this.#park(this.#writers, Math.min(done, deadline));
      } else {
        stalledSince = -1;
        await this.#park(this.#writers, done);
      }
    }
  }

  async read(into: Uint8Array, timeoutMs: number): Promise<number | null> {
    for (;;) {
      if (this.#arrived > 0) {
        const n = Math.min(this.#arrived, into.length);
        this.#take(into, n);
        return n;
      }
      if (this.failed) throw new Error(this.failed);
      if (this.closed && this.#unread === 0) return null;
      await this.#wait(this.#readers, "Reading the migration stream", timeoutMs);
    }
  }

  fail(message: string): void {
    this.failed = message;
    this.#wakeAll();
  }

  close(): void {
    this.closed = true;
    this.#wakeAll();
  }

  #put(data: Uint8Array, off: number, n: number): void {
    const r = this.ring;
    const first = Math.min(n, r.length - this.#tail);
    r.set(data.subarray(off, off + first), this.#tail);
    if (first < n) r.set(data.subarray(off + first, off + n), 0);
    if (this.corruptLeft > 0) {
      // Flip bits at seeded positions of the bytes just sent.
      for (let i = 0; i < n && this.corruptLeft > 0; i++) {
        if (this.corruptPrng.nextInt(Math.max(1, this.corruptSpan)) < this.corruptLeft) {
          r[(this.#tail + i) % r.length] ^= 1 << this.corruptPrng.nextInt(8);
          this.corruptLeft--;
        }
        this.corruptSpan--;
      }
    }
    this.#tail = (this.#tail + n) % r.length;
    this.#unread += n;
  }

  #take(into: Uint8Array, n: number): void {
    const r = this.ring;
    const first = Math.min(n, r.length - this.#head);
    into.set(r.subarray(this.#head, this.#head + first));
    if (first < n) into.set(r.subarray(0, n - first), first);
    this.#head = (this.#head + n) % r.length;
    this.#unread -= n;
    this.#arrived -= n;
    const w = this.#writers.splice(0);
    for (const f of w) f();
  }

  #arrive(n: number): void {
    if (this.failed) return;
    if (this.clock.nowMs() < this.stalledUntil) {
      this.clock.at(this.stalledUntil, () => this.#arrive(n));
      return;
    }
    this.#arrived += n;
    const rs = this.#readers.splice(0);
    for (const f of rs) f();
  }

  #check(what: string): void {
    if (this.failed) throw new Error(this.failed);
    if (this.closed) throw new Error(`${what}: the link is closed`);
  }

  #wait(queue: (() => void)[], what: string, timeoutMs = this.o.idleTimeoutMs): Promise<void> {
    const timed = Number.isFinite(timeoutMs) && timeoutMs > 0;
    return this.#park(
      queue,
      timed ? this.clock.nowMs() + timeoutMs : Infinity,
      () => timeoutError(what, timeoutMs),
    );
  }

  /**
   * Waits in `queue` until woken, or until virtual time `untilMs`: then
   * resolves, or rejects with `onTimeout()` when given.
   */
  #park(queue: (() => void)[], untilMs: number, onTimeout?: () => Error): Promise<void> {
    return new Promise((resolve, reject) => {
      let timer: { cancelled: boolean } | null = null;
      const wake = () => {
        if (timer) timer.cancelled = true;
        resolve();
      };
      queue.push(wake);
      if (Number.isFinite(untilMs)) {
        timer = this.clock.at(untilMs, () => {
          const i = queue.indexOf(wake);
          if (i >= 0) queue.splice(i, 1);
          if (onTimeout) reject(onTimeout());
          else resolve();
        });
      }
    });
  }

  #wakeAll(): void {
    for (const f of this.#readers.splice(0)) f();
    for (const f of this.#writers.splice(0)) f();
  }
}

/** Creates a simulated link between two ends, `a` (the source's) and `b` (the destination's). */
export function simLinkPair(clock: SchedulingClock, options: SimLinkOptions = {}): SimLinkPair {
  const o: Required<SimLinkOptions> = {
    bandwidthBytesPerSec: options.bandwidthBytesPerSec || SIM_LOOPBACK_BYTES_PER_SEC,
    latencyMs: options.latencyMs ?? 0,
    jitterMs: options.jitterMs ?? 0,
    seed: options.seed ?? 1,
    corruptSeed: options.corruptSeed ?? options.seed ?? 1,
    idleTimeoutMs: options.idleTimeoutMs ?? Infinity,
    windowBytes: options.windowBytes ?? 8 * 1024 * 1024,
  };
  const prng = new Prng(o.seed);
  const ab = new Direction(clock, o, prng, new Prng(o.corruptSeed));
  const ba = new Direction(clock, { ...o, windowBytes: 64 * 1024 }, prng);
  const end = (out: Direction, inn: Direction): Link => ({
    write: (d) => out.write(d),
    read: (into, timeoutMs) => inn.read(into, timeoutMs ?? o.idleTimeoutMs),
    close: () => {
      out.close();
      inn.close();
    },
  });
  return {
    a: end(ab, ba),
    b: end(ba, ab),
    cut() {
      ab.fail("Connection reset: the link was cut");
      ba.fail("Connection reset: the link was cut");
    },
    stall(ms) {
      const until = clock.nowMs() + ms;
      ab.stalledUntil = Math.max(ab.stalledUntil, until);
      ba.stalledUntil = Math.max(ba.stalledUntil, until);
    },
    corrupt(bytes) {
      ab.corruptLeft += bytes;
      ab.corruptSpan = Math.max(ab.corruptSpan, 64 * 1024);
    },
    setBandwidth(bytesPerSec) {
      o.bandwidthBytesPerSec = bytesPerSec || SIM_LOOPBACK_BYTES_PER_SEC;
    },
    get bytesAtoB() {
      return ab.sent;
    },
  };
}
