/**
 * The balloon: a device (the host's end, a bounded queue, which is the
 * {@link HintSource} the source engine consults) and a driver (the guest's
 * end, which answers hint requests from the guest's free-page view).
 *
 * The driver runs with the guest: in real mode in the source peer's main
 * thread beside the vCPU worker, reading the free view from shared memory;
 * in simulation on the virtual clock. It never reads the system clock or
 * sets timers itself: it is given a {@link Clock} and a {@link Prng}. Its
 * answers are asynchronous and batched: a request only wakes it; it answers
 * later, in batches of at most {@link HINT_BATCH_RANGES_MAX} ranges, and
 * gives up a request as soon as a newer one (or stop) arrives.
 *
 * The device holds at most {@link BALLOON_QUEUE_BATCHES} batches: a guest
 * that posts more is refused until the host has taken some (as a virtqueue
 * has a fixed number of buffers), so no guest can make the host's memory grow.
 *
 * Behaviours (the scenario's `guest.balloon.behaviour`):
 * - `honest`: maximal free runs (split at 4 MiB and at block ends), then done;
 * - `silent`: never answers;
 * - `slow`: answers honestly, but only after `slowDelayMs` (beyond the host's timeout);
 * - `stale`: answers honestly under the previous command id;
 * - `flood`: millions of one-page ranges, cycling over its free pages;
 * - `garbage`: unaligned, out-of-range, zero and over-long, not-a-number,
 *   block-crossing and overlapping ranges;
 * - `liar`: honest, plus in-use pages reported as free, which it records in
 *   {@link BalloonDriver.lied} for the checker and otherwise leaves alone.
 *
 * @example
 * ```ts
 * import { BalloonDevice, BalloonDriver } from "./balloon.ts";
 * import { FreeView } from "./free_view.ts";
 * import { Prng } from "../util/prng.ts";
 * import { systemClock } from "../util/clock.ts";
 * const view = new FreeView(64);
 * view.setRange(8, 16);
 * const device = new BalloonDevice();
 * new BalloonDriver(device, {
 *   view,
 *   blocks: [{ firstPage: 0, pages: 64 }],
 *   behaviour: "honest",
 *   clock: systemClock,
 *   prng: new Prng(1),
 * });
 * device.request(1);
 * await systemClock.sleep(20);
 * const batch = device.take()!;
 * console.log(batch.count, batch.ranges[0], batch.ranges[1]); // 1 32768 65536
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { Prng } from "../util/prng.ts";
import type { BalloonBehaviour } from "../contract/types.ts";
import {
  HINT_BATCH_RANGES_MAX,
  HINT_RANGE_BYTES_MAX,
  type HintBatch,
  type HintSource,
} from "../contract/ports.ts";
import { DirtyBitmap } from "./dirty_log.ts";
import type { FreeView } from "./free_view.ts";
import { PAGE_SIZE } from "./ram.ts";

/** Most batches the device holds. */
export const BALLOON_QUEUE_BATCHES = 64;
/** How long the driver takes to react to a request (ms of its clock). */
export const BALLOON_ANSWER_DELAY_MS = 1;
/** How long the driver waits before posting again to a full queue (ms). */
export const BALLOON_RETRY_MS = 1;
/** Ranges a flooding driver posts per request. */
export const FLOOD_RANGES_PER_REQUEST = 2_000_000;
/** In-use pages a liar reports per request. */
export const LIES_PER_REQUEST = 32;
/** Batches of garbage per request. */
export const GARBAGE_BATCHES_PER_REQUEST = 4;

/** The command id that tells the driver to stop. */
const STOP = 0;
const RANGE_PAGES_MAX = HINT_RANGE_BYTES_MAX / PAGE_SIZE;

/** The host's end of the balloon: a bounded queue of batches. */
export class BalloonDevice implements HintSource {
  readonly name = "balloon";
  #queue: HintBatch[] = [];
  #head = 0;
  #driver: ((commandId: number) => void) | null = null;
  /** Batches refused because the queue was full or the batch too large. */
  refused = 0;

  /** Connects the guest's driver (called with each command id, and 0 for stop). */
  connect(driver: (commandId: number) => void): void {
    this.#driver = driver;
  }

  /** Notifies the driver of a new command; returns at once. */
  request(commandId: number): void {
    this.#driver?.(commandId);
  }

  /** Tells the driver to stop and drops what waits. */
  stop(): void {
    this.#queue = [];
    this.#head = 0;
    this.#driver?.(STOP);
  }

  /** The oldest batch waiting, or null. */
  take(): HintBatch | null {
    if (this.#head >= this.#queue.length) return null;
    const b = this.#queue[this.#head++];
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    return b;
  }

  /** Batches waiting. */
  get waiting(): number {
    return this.#queue.length - this.#head;
  }

  /** The guest posts a batch; false when it is refused (queue full or batch too large). */
  post(batch: HintBatch): boolean {
    if (this.waiting >= BALLOON_QUEUE_BATCHES || batch.ranges.length > 2 * HINT_BATCH_RANGES_MAX) {
      this.refused++;
      return false;
    }
    this.#queue.push(batch);
    return true;
  }
}

/** Options of {@link BalloonDriver}. */
export interface BalloonDriverOptions {
  /** The guest's free-page view. */
  view: FreeView;
  /** RAM blocks in layout order (global page numbers). */
  blocks: readonly { firstPage: number; pages: number }[];
  behaviour: BalloonBehaviour;
  clock: Clock;
  prng: Prng;
  /** `slow`: delay before answering (default 1000 ms). */
  slowDelayMs?: number;
}

/** What the driver did. */
export interface BalloonStats {
  requests: number;
  batchesPosted: number;
  rangesPosted: number;
  /** Pages the liar reported free while they were in use. */
  liedPages: number;
}

/** The guest's balloon driver. */
export class BalloonDriver {
  #device: BalloonDevice;
  #o: BalloonDriverOptions;
  #current = STOP;
  #previous = STOP;
  /** Pages the driver reported free while the guest had them in use (liar only). */
  readonly lied: DirtyBitmap;
  #stats: BalloonStats = { requests: 0, batchesPosted: 0, rangesPosted: 0, liedPages: 0 };

  /** Attaches a driver to `device`. */
  constructor(device: BalloonDevice, options: BalloonDriverOptions) {
    this.#device = device;
    this.#o = options;
    this.lied = new DirtyBitmap(options.view.pages);
    device.connect((id) => this.#command(id));
  }

  /** Counters so far. */
  stats(): BalloonStats {
    return { ...this.#stats };
  }

  /** The lied-about pages as bytes (bit per page, little-endian words), or null when none. */
  liedBytes(): Uint8Array | null {
    return this.#stats.liedPages ? new Uint8Array(this.lied.words.slice().buffer) : null;
  }

  #command(id: number): void {
    this.#previous = this.#current === STOP ? this.#previous : this.#current;
    this.#current = id;
    if (id === STOP) return;
    this.#stats.requests++;
    if (this.#o.behaviour === "silent") return;
    this.#answer(id).catch(() => {});
  }

  /** Whether the driver should keep working on `id`. */
  #live(id: number): boolean {
    return this.#current === id || (this.#o.behaviour === "slow" && this.#current !== STOP);
  }

  async #answer(id: number): Promise<void> {
    const o = this.#o;
    const stale = this.#previous;
    await o.clock.sleep(o.behaviour === "slow" ? o.slowDelayMs ?? 1000 : BALLOON_ANSWER_DELAY_MS);
    if (!this.#live(id)) return;
    const out = new BatchWriter(this, id, o.behaviour === "stale" ? stale : id);
    switch (o.behaviour) {
      case "flood":
        await this.#flood(out);
        break;
      case "garbage":
        await this.#garbage(out);
        break;
      default:
        await this.#honest(out);
        if (o.behaviour === "liar") await this.#lie(out);
    }
    if (this.#live(id)) await out.finish();
  }

  /** Maximal free runs, split at the longest range and at block ends. */
  async #honest(out: BatchWriter): Promise<void> {
    const view = this.#o.view;
    for (const b of this.#o.blocks) {
      const end = b.firstPage + b.pages;
      let p = view.nextFree(b.firstPage);
      while (p >= 0 && p < end) {
        let q = view.nextInUse(p);
        if (q < 0 || q > end) q = end;
        for (let s = p; s < q; s += RANGE_PAGES_MAX) {
          if (
            out.add(s * PAGE_SIZE, Math.min(RANGE_PAGES_MAX, q - s) * PAGE_SIZE) &&
            !(await out.flush())
          ) return;
        }
        p = q < end ? view.nextFree(q) : -1;
      }
    }
  }

  /** In-use pages reported as free, recorded in {@link lied}. */
  async #lie(out: BatchWriter): Promise<void> {
    const { view, prng } = this.#o;
    for (let i = 0; i < LIES_PER_REQUEST; i++) {
      let p = view.nextInUse(prng.nextInt(view.pages));
      if (p < 0) p = view.nextInUse(0);
      if (p < 0) return;
      if (!this.lied.has(p)) {
        this.lied.set(p);
        this.#stats.liedPages++;
      }
      if (out.add(p * PAGE_SIZE, PAGE_SIZE) && !(await out.flush())) return;
    }
  }

  /** One-page ranges of free pages, over and over. */
  async #flood(out: BatchWriter): Promise<void> {
    const view = this.#o.view;
    let p = -1;
    for (let i = 0; i < FLOOD_RANGES_PER_REQUEST; i++) {
      p = view.nextFree(p + 1);
      if (p < 0) p = view.nextFree(0);
      if (p < 0) return;
      if (out.add(p * PAGE_SIZE, PAGE_SIZE) && !(await out.flush())) return;
    }
  }

  /** Ranges the host must refuse, and a few overlapping pairs of free pages. */
  async #garbage(out: BatchWriter): Promise<void> {
    const { view, prng, blocks } = this.#o;
    const totalBytes = view.pages * PAGE_SIZE;
    let overlaps = 8;
    for (let i = 0; i < GARBAGE_BATCHES_PER_REQUEST * HINT_BATCH_RANGES_MAX; i++) {
      const page = prng.nextInt(view.pages);
      const b = blocks[prng.nextInt(blocks.length)];
      let addr: number, len: number;
      switch (prng.nextInt(7)) {
        case 0: // unaligned
          addr = page * PAGE_SIZE + 1 + prng.nextInt(PAGE_SIZE - 1);
          len = PAGE_SIZE;
          break;
        case 1: // beyond RAM, or negative
          addr = prng.nextInt(2) ? totalBytes + page * PAGE_SIZE : -PAGE_SIZE * (1 + page);
          len = PAGE_SIZE;
          break;
        case 2: // zero, negative or over-long
          addr = page * PAGE_SIZE;
          len = [0, -PAGE_SIZE, 2 * HINT_RANGE_BYTES_MAX][prng.nextInt(3)];
          break;
        case 3: // not a number
          addr = [NaN, Infinity, -Infinity, 2 ** 60 + 1][prng.nextInt(4)];
          len = PAGE_SIZE;
          break;
        case 4: // crossing the end of a block
          addr = (b.firstPage + b.pages - 1) * PAGE_SIZE;
          len = 2 * PAGE_SIZE;
          break;
        case 5: // a page then the same page again (only a few pairs, of free pages)
          if (overlaps > 0) {
            const f = view.nextFree(page);
            if (f >= 0) {
              overlaps--;
              if (out.add(f * PAGE_SIZE, PAGE_SIZE) && !(await out.flush())) return;
              addr = f * PAGE_SIZE;
              len = PAGE_SIZE;
              break;
            }
          }
          addr = page * PAGE_SIZE + 7;
          len = PAGE_SIZE;
          break;
        default: // fractional
          addr = page * PAGE_SIZE + 0.5;
          len = PAGE_SIZE * 1.5;
      }
      if (out.add(addr, len) && !(await out.flush())) return;
    }
  }

  /** Posts a batch, waiting while the queue is full; false once the request is over. */
  async post(batch: HintBatch, id: number): Promise<boolean> {
    while (!this.#device.post(batch)) {
      await this.#o.clock.sleep(BALLOON_RETRY_MS);
      if (!this.#live(id)) return false;
    }
    this.#stats.batchesPosted++;
    this.#stats.rangesPosted += batch.count;
    return this.#live(id);
  }
}

/** Collects ranges into batches and posts them for one request. */
class BatchWriter {
  #driver: BalloonDriver;
  #id: number;
  #commandId: number;
  #ranges = new Float64Array(2 * HINT_BATCH_RANGES_MAX);
  #count = 0;

  constructor(driver: BalloonDriver, id: number, commandId: number) {
    this.#driver = driver;
    this.#id = id;
    this.#commandId = commandId;
  }

  /** Adds a range; true when the batch is full and must be flushed before the next add. */
  add(addr: number, len: number): boolean {
    this.#ranges[2 * this.#count] = addr;
    this.#ranges[2 * this.#count + 1] = len;
    return ++this.#count >= HINT_BATCH_RANGES_MAX;
  }

  /** Posts the batch so far. False once the request is over. */
  flush(): Promise<boolean> {
    return this.#flush(false);
  }

  /** Posts what is left with the done mark. */
  async finish(): Promise<void> {
    await this.#flush(true);
  }

  async #flush(done: boolean): Promise<boolean> {
    const batch: HintBatch = {
      commandId: this.#commandId,
      ranges: this.#ranges.subarray(0, 2 * this.#count),
      count: this.#count,
      done,
    };
    this.#ranges = new Float64Array(2 * HINT_BATCH_RANGES_MAX);
    this.#count = 0;
    return await this.#driver.post(batch, this.#id);
  }
}
