/**
 * The real-mode vCPU: a worker thread that runs the workload against shared
 * guest RAM at its target rate, and can be paused, resumed and stopped. Pausing
 * hands back the workload state (the guest's CPU state).
 *
 * Control words (Int32Array over a SharedArrayBuffer): `CMD` (run, pause,
 * exit), `STATUS` (starting, running, paused, exited), `STATE_LEN`; the
 * workload state is JSON in a shared byte region, except the free-page view,
 * which lives in its own shared buffer ({@link Vcpu.freeView}) so that the
 * balloon driver can read it while the worker allocates and releases pages.
 *
 * @example
 * ```ts ignore
 * const vcpu = await Vcpu.create(ram, log);
 * await vcpu.run(Workload.fresh(config, seed).state());
 * const state = await vcpu.pause();
 * await vcpu.resume();
 * await vcpu.stop();
 * ```
 * @module
 */
import type { Ram } from "./ram.ts";
import type { DirtyLog } from "./dirty_log.ts";
import { hasFreeView, type WorkloadState } from "./workload.ts";
import { FreeView } from "./free_view.ts";

/** Control word indices. */
export const CMD = 0, STATUS = 1, STATE_LEN = 2, LOAD = 3;
/** Commands. */
export const CMD_RUN = 0, CMD_PAUSE = 1, CMD_EXIT = 2;
/** Statuses. */
export const ST_STARTING = 0, ST_RUNNING = 1, ST_PAUSED = 2, ST_EXITED = 3;
/** Bytes reserved for the workload state. */
export const STATE_BYTES = 64 * 1024;
/** How long {@link Vcpu.pause} waits for the guest to stop touching memory, by default. */
export const PAUSE_TIMEOUT_MS_DEFAULT = 5_000;

/**
 * A hostile guest, for tests: `ignore-pause` keeps running when asked to
 * pause; `touch-past-ram` writes past the end of its RAM (the worker fails).
 */
export type VcpuMisbehaviour = "ignore-pause" | "touch-past-ram";

/** The message that starts the worker. */
export interface VcpuInit {
  ramSabs: SharedArrayBuffer[];
  blocks: { name: string; bytes: number }[];
  logSab: SharedArrayBuffer;
  ctrlSab: SharedArrayBuffer;
  stateSab: SharedArrayBuffer;
  /** The free-page view, shared with the balloon driver. */
  freeSab: SharedArrayBuffer;
  /** A hostile guest, for tests. */
  misbehave?: VcpuMisbehaviour;
}

/** A vCPU in a worker thread; created paused, so that resuming costs microseconds, not a thread start. */
export class Vcpu {
  #worker: Worker;
  #ctrl: Int32Array;
  #state: Uint8Array;
  #last: WorkloadState | null = null;
  /** Why the worker failed (a guest that crashed), or null. */
  #fault: { message: string | null };
  /** The guest's free-page view, shared with the worker. */
  readonly freeView: FreeView;

  private constructor(
    worker: Worker,
    ctrl: Int32Array,
    state: Uint8Array,
    freeView: FreeView,
    fault: { message: string | null },
  ) {
    this.#fault = fault;
    this.#worker = worker;
    this.#ctrl = ctrl;
    this.#state = state;
    this.freeView = freeView;
  }

  /** Starts the worker, paused and without a workload. */
  static async create(
    ram: Ram,
    log: DirtyLog,
    options: { misbehave?: VcpuMisbehaviour } = {},
  ): Promise<Vcpu> {
    const ctrlSab = new SharedArrayBuffer(16);
    const stateSab = new SharedArrayBuffer(STATE_BYTES);
    const ctrl = new Int32Array(ctrlSab);
    const freeView = new FreeView(ram.totalPages);
    Atomics.store(ctrl, CMD, CMD_PAUSE);
    const worker = new Worker(new URL("./vcpu_worker.ts", import.meta.url), { type: "module" });
    const fault = { message: null as string | null };
    const failed = new Promise<never>((_, reject) => {
      worker.onerror = (e) => {
        // A guest that crashes fails its vCPU, never the process that hosts it.
        e.preventDefault();
        fault.message = e.message;
        Atomics.notify(ctrl, STATUS);
        reject(new Error(`vCPU worker failed: ${e.message}`));
      };
    });
    failed.catch(() => {});
    const init: VcpuInit = {
      ramSabs: ram.blocks.map((b) => b.sab),
      blocks: ram.blocks.map((b) => ({ name: b.name, bytes: b.bytes.length })),
      logSab: log.buffer,
      ctrlSab,
      stateSab,
      freeSab: freeView.buffer,
      misbehave: options.misbehave,
    };
    worker.postMessage(init);
    const vcpu = new Vcpu(worker, ctrl, new Uint8Array(stateSab), freeView, fault);
    await Promise.race([vcpu.#waitStatus(ST_STARTING), failed]);
    return vcpu;
  }

  /** Whether the vCPU is running (not paused or stopped). */
  get running(): boolean {
    return Atomics.load(this.#ctrl, STATUS) === ST_RUNNING;
  }

  /** Loads a workload state (the guest's CPU state) and runs it. */
  async run(state: WorkloadState): Promise<void> {
    await this.pause();
    const { free, ...rest } = state;
    if (free) this.freeView.load(free);
    else this.freeView.clear();
    const bytes = new TextEncoder().encode(JSON.stringify(rest));
    if (bytes.length > STATE_BYTES) {
      throw new RangeError(`Workload state of ${bytes.length} bytes is too large`);
    }
    this.#state.set(bytes);
    Atomics.store(this.#ctrl, STATE_LEN, bytes.length);
    Atomics.store(this.#ctrl, LOAD, 1);
    this.#last = state;
    await this.resume();
  }

  /**
   * Pauses the vCPU; resolves with the workload state once it has stopped
   * touching memory. A guest that does not pause within `timeoutMs` (default
   * {@link PAUSE_TIMEOUT_MS_DEFAULT}), or whose worker failed, rejects: the
   * pause request is withdrawn, so the guest goes on running as it was.
   */
  async pause(options: { timeoutMs?: number } = {}): Promise<WorkloadState | null> {
    const st = Atomics.load(this.#ctrl, STATUS);
    if (st === ST_EXITED) return this.#last;
    if (st !== ST_PAUSED) {
      Atomics.store(this.#ctrl, CMD, CMD_PAUSE);
      Atomics.notify(this.#ctrl, CMD);
      try {
        await this.#waitStatus(ST_RUNNING, options.timeoutMs ?? PAUSE_TIMEOUT_MS_DEFAULT);
      } catch (e) {
        Atomics.store(this.#ctrl, CMD, CMD_RUN);
        Atomics.notify(this.#ctrl, CMD);
        throw e;
      }
      this.#last = this.#readState();
    }
    return this.#last;
  }

  /** Resumes a paused vCPU (no-op without a workload). */
  async resume(): Promise<void> {
    if (Atomics.load(this.#ctrl, STATUS) !== ST_PAUSED || this.#last === null) return;
    Atomics.store(this.#ctrl, CMD, CMD_RUN);
    Atomics.notify(this.#ctrl, CMD);
    await this.#waitStatus(ST_PAUSED);
  }

  /** Stops the worker for good; resolves with the final workload state. */
  async stop(): Promise<WorkloadState | null> {
    const state = await this.pause().catch(() => this.#last);
    Atomics.store(this.#ctrl, CMD, CMD_EXIT);
    Atomics.notify(this.#ctrl, CMD);
    this.#worker.terminate();
    Atomics.store(this.#ctrl, STATUS, ST_EXITED);
    return state;
  }

  /** Waits while STATUS still equals `from`; rejects past `timeoutMs` or when the worker failed. */
  async #waitStatus(from: number, timeoutMs = Infinity): Promise<void> {
    const endMs = performance.now() + timeoutMs;
    while (Atomics.load(this.#ctrl, STATUS) === from) {
      if (this.#fault.message !== null) {
        throw new Error(`The guest's vCPU failed: ${this.#fault.message}`);
      }
      const leftMs = endMs - performance.now();
      if (leftMs <= 0) {
        throw new Error(`The guest did not pause within ${timeoutMs} ms of being asked`);
      }
      const r = Atomics.waitAsync(this.#ctrl, STATUS, from, Math.min(100, leftMs));
      if (r.async) await r.value;
    }
  }

  #readState(): WorkloadState {
    const len = Atomics.load(this.#ctrl, STATE_LEN);
    const state: WorkloadState = JSON.parse(new TextDecoder().decode(this.#state.slice(0, len)));
    if (hasFreeView(state.config)) state.free = this.freeView.bytes();
    return state;
  }
}
