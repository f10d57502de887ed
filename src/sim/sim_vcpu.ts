/**
 * The simulated vCPU: the same workload code as the real vCPU worker, stepped
 * by virtual time on a {@link SimClock}: every tick it makes the touches due
 * at its rate (pages per virtual second). Pause, resume and the state it
 * hands over work as in real mode.
 *
 * @example
 * ```ts ignore
 * const vcpu = new SimVcpu(ram, log, clock);
 * vcpu.run(Workload.fresh(config, seed).state());
 * await clock.sleep(100);
 * const state = vcpu.pause();
 * ```
 * @module
 */
import type { Ram } from "../guest/ram.ts";
import type { DirtyLog } from "../guest/dirty_log.ts";
import { Workload, type WorkloadState } from "../guest/workload.ts";
import { FreeView } from "../guest/free_view.ts";
import type { SimClock } from "./sim_clock.ts";

/** Shortest tick (virtual ms); slow workloads tick once per touch. */
export const SIM_TICK_MS = 1;

/** A vCPU stepped by virtual time. */
export class SimVcpu {
  #workload: Workload | null = null;
  #running = false;
  #stopped = false;
  #base = 0;
  #done = 0;
  #wake: (() => void) | null = null;
  #heldUntil = 0;
  /** The guest's free-page view, kept across runs (the balloon driver reads it). */
  readonly freeView: FreeView;

  /** Creates a paused vCPU without a workload. */
  constructor(readonly ram: Ram, readonly log: DirtyLog, readonly clock: SimClock) {
    this.freeView = new FreeView(ram.totalPages);
  }

  /** Whether it is running. */
  get running(): boolean {
    return this.#running;
  }

  /** Loads a workload state and runs it. */
  run(state: WorkloadState): void {
    if (!state.free) this.freeView.clear();
    this.#workload = Workload.resume(state, { freeView: this.freeView });
    const first = !this.#running && !this.#wake;
    this.resume();
    if (first) this.#loop();
  }

  /** Pauses at once (the simulation is single-threaded); returns the workload state. */
  pause(): WorkloadState | null {
    this.#running = false;
    return this.#workload?.state() ?? null;
  }

  /** Resumes. */
  resume(): void {
    if (!this.#workload || this.#stopped) return;
    this.#running = true;
    this.#base = this.clock.nowMs();
    this.#done = 0;
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /**
   * Holds the vCPU still until virtual time `untilMs` (the process is
   * stopped, as with SIGSTOP), whatever its pause state: the touches it would
   * have made meanwhile are not made up afterwards.
   */
  holdUntil(untilMs: number): void {
    this.#heldUntil = Math.max(this.#heldUntil, untilMs);
  }

  /** Stops for good; returns the final state. */
  stop(): WorkloadState | null {
    const s = this.pause();
    this.#stopped = true;
    this.#wake?.();
    return s;
  }

  async #loop(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const w = this.#workload!;
      const perMs = w.config.touchesPerSec / 1000;
      if (!this.#running || perMs <= 0) {
        await new Promise<void>((r) => (this.#wake = r));
        continue;
      }
      await this.clock.sleep(Math.max(SIM_TICK_MS, 1 / perMs));
      if (!this.#running) continue;
      if (this.clock.nowMs() < this.#heldUntil) {
        this.#base = this.clock.nowMs();
        this.#done = 0;
        continue;
      }
      const due = Math.floor((this.clock.nowMs() - this.#base) * perMs) - this.#done;
      if (due > 0) {
        w.touch(this.ram, this.log, due);
        this.#done += due;
      }
    }
  }
}
