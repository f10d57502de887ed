/**
 * Guest workloads: what the vCPU writes. A workload is pure: it is given a
 * number of page touches to make and makes them, writing RAM and then marking
 * the dirty log. Its whole state (PRNG, position, sweep) is plain data, the
 * guest's "CPU state": it travels in the device-state section and the
 * destination resumes from it. Who decides how many touches are due (a real
 * vCPU worker on the system clock, or the simulator on virtual time) is not
 * the workload's concern.
 *
 * Kinds:
 * - `idle`: touches nothing;
 * - `sequential`: pages in order, wrapping;
 * - `random`: uniform over RAM;
 * - `hotset`: `hotsetProbability` of touches go to a hot set of `hotsetRatio` of RAM;
 * - `xbrle-seed`: seed 001's generator: 64 pages, byte `1234 + i` of page i += i;
 * - `counter`: byte 0 of each page incremented in sweeps over RAM, so that memory
 *   always has the shape "first k pages hold v+1, the rest v" (see {@link checkCounterInvariant}).
 *
 * Free memory (`freeRatio`, `staticFree`): the workload keeps a {@link FreeView}
 * of the pages it considers free, drawn from its PRNG at boot. It never reads
 * or writes a free page. A touch that lands on a free page first allocates
 * it: the page leaves the free view, is cleared to zero (as a kernel hands out
 * zeroed pages, so that its content never depends on what it held while
 * free), and only then is written and marked dirty; to keep the free share
 * steady, the allocation releases one other page in use, the first at or
 * after a PRNG-chosen page, which joins the free view unchanged and unwritten.
 * Pages of the static free map are never allocated: a touch that lands on
 * one does nothing. The `counter` workload, whose invariant spans every page,
 * takes no free memory.
 *
 * @example
 * ```ts
 * import { createRam } from "./ram.ts";
 * import { DirtyLog } from "./dirty_log.ts";
 * import { Workload } from "./workload.ts";
 * const ram = createRam([{ name: "pc.ram", bytes: 1 << 20 }]);
 * const log = new DirtyLog(ram.totalPages);
 * const w = Workload.fresh({ kind: "random", touchesPerSec: 1000, writeBytes: 64 }, 7);
 * w.touch(ram, log, 10);
 * ```
 * @module
 */
import { Prng } from "../util/prng.ts";
import type { WorkloadKind } from "../contract/types.ts";
import { PAGE_SIZE, type Ram } from "./ram.ts";
import type { DirtyLog } from "./dirty_log.ts";
import { FreeView, type PageRange } from "./free_view.ts";

/**
 * A resolved workload configuration (numbers, not text).
 *
 * @example
 * ```ts
 * import type { WorkloadConfig } from "./workload.ts";
 * const c: WorkloadConfig = { kind: "hotset", touchesPerSec: 16384, writeBytes: 64, hotsetRatio: 0.05 };
 * ```
 */
export interface WorkloadConfig {
  /** What the vCPU does. */
  kind: WorkloadKind;
  /** Page touches per second. */
  touchesPerSec: number;
  /** Bytes one touch changes, 1..4096. */
  writeBytes: number;
  /** hotset: share of RAM in the hot set (0..1). */
  hotsetRatio?: number;
  /** hotset: share of touches that go to the hot set (0..1). */
  hotsetProbability?: number;
  /** Share of the pages outside the static free map that are free at boot, [0, 1). */
  freeRatio?: number;
  /** The static free map: page ranges `[start, pages]`, sorted, that the guest never uses. */
  staticFree?: PageRange[];
}

/** The workload's state: the guest's CPU state. Plain data. */
export interface WorkloadState {
  config: WorkloadConfig;
  prng: number[];
  /** Next page (sequential, counter, xbrle-seed). */
  position: number;
  /** Completed sweeps (counter, sequential, xbrle-seed). */
  sweeps: number;
  /** Touches made so far. */
  touches: number;
  /** The free-page view's bits (see {@link FreeView.bytes}); absent when the guest has no free memory. */
  free?: Uint8Array;
}

/** Whether a workload keeps a free-page view. */
export function hasFreeView(config: WorkloadConfig): boolean {
  return (config.freeRatio ?? 0) > 0 || (config.staticFree?.length ?? 0) > 0;
}

/** Number of pages the `xbrle-seed` generator works on. */
export const XBRLE_SEED_PAGES = 64;

/** A running workload. */
export class Workload {
  readonly config: WorkloadConfig;
  #prng: Prng;
  #position: number;
  #sweeps: number;
  #touches: number;
  #free: FreeView | null;
  /** Saved free-view bits not yet loaded (the page count is known at the first touch). */
  #pendingFree: Uint8Array | null;

  private constructor(state: WorkloadState, freeView?: FreeView) {
    this.config = state.config;
    this.#prng = Prng.fromState(state.prng);
    this.#position = state.position;
    this.#sweeps = state.sweeps;
    this.#touches = state.touches;
    this.#free = hasFreeView(state.config) ? freeView ?? null : null;
    this.#pendingFree = hasFreeView(state.config) ? state.free ?? null : null;
    if (this.#free && this.#pendingFree) {
      this.#free.load(this.#pendingFree);
      this.#pendingFree = null;
    }
  }

  /** A workload at its start, seeded. */
  static fresh(config: WorkloadConfig, seed: number): Workload {
    return new Workload({
      config,
      prng: new Prng(seed).state(),
      position: 0,
      sweeps: 0,
      touches: 0,
    });
  }

  /**
   * Resumes a workload from a saved state; throws TypeError or RangeError on a
   * malformed one. With `freeView`, the workload keeps its free pages there
   * (loading the state's bits into it when the state has them): the vCPU
   * passes a view shared with the balloon driver.
   */
  static resume(state: WorkloadState, options: { freeView?: FreeView } = {}): Workload {
    validateWorkloadState(state);
    return new Workload(state, options.freeView);
  }

  /**
   * The state, for device-state migration. `free: false` leaves the free
   * view's bits out (the vCPU worker publishes them through shared memory).
   */
  state(options: { free?: boolean } = {}): WorkloadState {
    const s: WorkloadState = {
      config: { ...this.config },
      prng: this.#prng.state(),
      position: this.#position,
      sweeps: this.#sweeps,
      touches: this.#touches,
    };
    if (options.free !== false) {
      const free = this.#free?.bytes() ?? this.#pendingFree?.slice();
      if (free) s.free = free;
    }
    return s;
  }

  /** The free-page view (null when the guest has no free memory or has not booted yet). */
  get freeView(): FreeView | null {
    return this.#free;
  }

  /** Touches made so far. */
  get touches(): number {
    return this.#touches;
  }

  /**
   * Prepares RAM the workload relies on at guest boot (counter: byte 0 of
   * every page to 0) and draws the free-page view.
   */
  boot(ram: Ram): void {
    this.#ensureFree(ram);
    if (this.config.kind !== "counter") return;
    for (const b of ram.blocks) for (let p = 0; p < b.pages; p++) b.bytes[p * PAGE_SIZE] = 0;
  }

  /** Makes `count` page touches: writes RAM, then marks the dirty log. */
  touch(ram: Ram, log: DirtyLog, count: number): void {
    const c = this.config;
    const total = ram.totalPages;
    if (c.kind === "idle" || total === 0) return;
    const prng = this.#prng;
    const free = this.#ensureFree(ram);
    for (let i = 0; i < count; i++) {
      let page: number;
      switch (c.kind) {
        case "sequential":
          page = this.#position;
          if (++this.#position >= total) this.#position = 0, this.#sweeps++;
          if (free && !this.#use(ram, free, page)) continue;
          writeRandom(ram, page, c.writeBytes, prng);
          break;
        case "random":
          page = prng.nextInt(total);
          if (free && !this.#use(ram, free, page)) continue;
          writeRandom(ram, page, c.writeBytes, prng);
          break;
        case "hotset": {
          const hot = Math.max(1, Math.floor(total * (c.hotsetRatio ?? 0.05)));
          page = prng.nextFloat() < (c.hotsetProbability ?? 0.95)
            ? prng.nextInt(hot)
            : prng.nextInt(total);
          if (free && !this.#use(ram, free, page)) continue;
          writeRandom(ram, page, c.writeBytes, prng);
          break;
        }
        case "xbrle-seed": {
          const n = Math.min(XBRLE_SEED_PAGES, total);
          const j = this.#position;
          page = j;
          if (++this.#position >= n) this.#position = 0, this.#sweeps++;
          if (free && !this.#use(ram, free, page)) continue;
          const { bytes, offset } = locate(ram, page);
          bytes[offset + 1234 + j] = (bytes[offset + 1234 + j] + j) & 0xff;
          break;
        }
        case "counter": {
          page = this.#position;
          const { bytes, offset } = locate(ram, page);
          bytes[offset] = (bytes[offset] + 1) & 0xff;
          if (++this.#position >= total) this.#position = 0, this.#sweeps++;
          break;
        }
        default:
          throw new TypeError(`Unknown workload kind "${c.kind}"`);
      }
      log.mark(page);
    }
    this.#touches += count;
  }

  /** The free view, drawn (first boot) or loaded (resumed state) once the page count is known. */
  #ensureFree(ram: Ram): FreeView | null {
    if (this.#free || !hasFreeView(this.config)) return this.#free;
    const view = new FreeView(ram.totalPages);
    if (this.#pendingFree) view.load(this.#pendingFree);
    else {
      view.initialise({
        ratio: this.config.freeRatio ?? 0,
        prng: this.#prng.fork(),
        staticFree: this.config.staticFree,
      });
    }
    this.#pendingFree = null;
    this.#free = view;
    return view;
  }

  /**
   * Makes `page` usable before a touch: allocates it when free (see the
   * module comment). Returns false for a page of the static free map, which
   * the guest never uses.
   */
  #use(ram: Ram, free: FreeView, page: number): boolean {
    if (!free.isFree(page)) return true;
    if (inRanges(this.config.staticFree, page)) return false;
    free.take(page);
    const { bytes, offset } = locate(ram, page);
    bytes.fill(0, offset, offset + PAGE_SIZE);
    // Release one page in use, other than this one, to keep the free share.
    const from = this.#prng.nextInt(ram.totalPages);
    let q = free.nextInUse(from);
    if (q === page) q = free.nextInUse(page + 1);
    if (q < 0) q = free.nextInUse(0);
    if (q === page) q = free.nextInUse(page + 1);
    if (q >= 0 && q !== page) free.give(q);
    return true;
  }
}

/** Whether `page` lies in one of the sorted ranges. */
function inRanges(ranges: readonly PageRange[] | undefined, page: number): boolean {
  if (!ranges) return false;
  let lo = 0, hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [start, n] = ranges[mid];
    if (page < start) hi = mid - 1;
    else if (page >= start + n) lo = mid + 1;
    else return true;
  }
  return false;
}

function locate(ram: Ram, page: number): { bytes: Uint8Array<ArrayBufferLike>; offset: number } {
  const blocks = ram.blocks;
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i];
    if (page >= b.firstPage) {
      LOC.bytes = b.bytes;
      LOC.offset = (page - b.firstPage) * PAGE_SIZE;
      return LOC;
    }
  }
  throw new RangeError(`Page ${page} is outside guest RAM`);
}
const LOC: { bytes: Uint8Array<ArrayBufferLike>; offset: number } = {
  bytes: new Uint8Array(0),
  offset: 0,
};

function writeRandom(ram: Ram, page: number, writeBytes: number, prng: Prng): void {
  const { bytes, offset } = locate(ram, page);
  const start = offset + (writeBytes >= PAGE_SIZE ? 0 : prng.nextInt(PAGE_SIZE - writeBytes + 1));
  let v = 0;
  for (let k = 0; k < writeBytes; k++) {
    if ((k & 3) === 0) v = prng.nextU32();
    bytes[start + k] = v & 0xff;
    v >>>= 8;
  }
}

const KINDS = new Set(["idle", "sequential", "random", "hotset", "xbrle-seed", "counter"]);

/** Validates a workload state that came from the wire. Throws TypeError/RangeError. */
export function validateWorkloadState(s: unknown): asserts s is WorkloadState {
  const st = s as WorkloadState;
  if (typeof st !== "object" || st === null) throw new TypeError("Workload state is not an object");
  const c = st.config;
  if (typeof c !== "object" || c === null || !KINDS.has(c.kind)) {
    throw new TypeError("Workload state has no valid config.kind");
  }
  if (!Number.isFinite(c.touchesPerSec) || c.touchesPerSec < 0) {
    throw new RangeError("Workload state has an invalid touchesPerSec");
  }
  if (!Number.isInteger(c.writeBytes) || c.writeBytes < 1 || c.writeBytes > PAGE_SIZE) {
    throw new RangeError(`Workload state has an invalid writeBytes ${c.writeBytes}`);
  }
  if (
    !Array.isArray(st.prng) || st.prng.length !== 4 || !st.prng.every((x) => Number.isInteger(x))
  ) {
    throw new TypeError("Workload state has an invalid PRNG state");
  }
  for (const k of ["position", "sweeps", "touches"] as const) {
    if (!Number.isSafeInteger(st[k]) || st[k] < 0) {
      throw new RangeError(`Workload state has an invalid ${k}`);
    }
  }
  validateFreeMemory(st);
}

/** Checks the free-memory part of a workload state (freeRatio, staticFree, free bits). */
function validateFreeMemory(st: WorkloadState): void {
  const c = st.config;
  const ratio = c.freeRatio ?? 0;
  if (typeof ratio !== "number" || !(ratio >= 0 && ratio < 1)) {
    throw new RangeError(`Workload state has an invalid freeRatio ${JSON.stringify(c.freeRatio)}`);
  }
  if (c.staticFree !== undefined) {
    if (!Array.isArray(c.staticFree)) {
      throw new TypeError("Workload state staticFree is not a list");
    }
    let end = 0;
    for (const r of c.staticFree) {
      if (
        !Array.isArray(r) || r.length !== 2 || !Number.isSafeInteger(r[0]) || r[0] < end ||
        !Number.isSafeInteger(r[1]) || r[1] < 1
      ) {
        throw new RangeError(
          `Workload state staticFree has an invalid range ${
            JSON.stringify(r)
          } (sorted [start, pages] pairs)`,
        );
      }
      end = r[0] + r[1];
    }
  }
  if (hasFreeView(c) && c.kind === "counter") {
    throw new RangeError("Workload state gives the counter workload free memory");
  }
  if (st.free !== undefined) {
    if (!(st.free instanceof Uint8Array) || st.free.length % 4 !== 0) {
      throw new TypeError("Workload state free view is not a byte string of whole 32-bit words");
    }
    if (!hasFreeView(c)) throw new TypeError("Workload state has a free view but no free memory");
  }
}

/**
 * Checks the `counter` workload's invariant on RAM: byte 0 of the pages, in
 * global order, is v+1 for a prefix and v for the rest (mod 256), with at most
 * one step. Returns `{ ok, detail }`; never throws.
 */
export function checkCounterInvariant(ram: Ram): { ok: boolean; detail: string } {
  let prev = -1;
  let steps = 0;
  let first = -1;
  let page = 0;
  for (const b of ram.blocks) {
    for (let p = 0; p < b.pages; p++, page++) {
      const v = b.bytes[p * PAGE_SIZE];
      if (prev >= 0 && v !== prev) {
        if (((prev - v) & 0xff) !== 1) {
          return {
            ok: false,
            detail: `page ${page}: counter ${v} after ${prev}, expected ${prev} or ${
              (prev - 1) & 0xff
            }`,
          };
        }
        if (++steps > 1) {
          return { ok: false, detail: `page ${page}: a second step in the counter sweep` };
        }
      }
      if (first < 0) first = v;
      prev = v;
    }
  }
  return { ok: true, detail: steps ? "one sweep boundary" : "uniform" };
}
