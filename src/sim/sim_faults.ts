/**
 * Fault injection in simulation mode: the scenario's `faults` list, matched
 * against the run's events (phase boundaries, bytes sent, virtual time) by
 * the same {@link FaultSchedule} real mode uses, and carried out on the
 * simulated link, the simulated vCPU and the source engine's abort signal.
 * Each fault fires at most once, in list order when several match the same
 * event.
 *
 * How each action maps onto one process (real mode does it to processes):
 * - `cut-link`: the link fails both ways;
 * - `partition`: the link stalls for `durationMs`, nothing is lost;
 * - `corrupt`: that many of the next bytes from the source get a flipped bit;
 * - `kill-source`: the source engine stops dead, the link fails, the source
 *   guest is gone (as after `kill -9`);
 * - `kill-destination`: the link fails, so the destination engine fails, and
 *   a destination that had resumed is gone;
 * - `stop-source`: the source vCPU and the link stand still for `durationMs`;
 * - `stop-destination`: the link stands still for `durationMs` (nothing is
 *   read at the destination);
 * - `cancel`: the migration is cancelled, as `migrate_cancel` does.
 *
 * @example
 * ```ts ignore
 * const faults = new SimFaults(scenario.faults, { clock, link: pair, vcpu, ... });
 * await faults.phase("round", 2);
 * ```
 * @module
 */
import type { SimClock } from "./sim_clock.ts";
import type { SimVcpu } from "./sim_vcpu.ts";
import type { SimLinkPair } from "../net/sim_link.ts";
import type { FaultPhase, FaultRecord, FaultSpec } from "../contract/types.ts";
import { FaultSchedule, type Firing } from "../faults/schedule.ts";

/** What the injector acts on. */
export interface SimFaultTargets {
  clock: SimClock;
  link: SimLinkPair;
  vcpu: SimVcpu;
  /** Aborts the source engine (cancel, kill). */
  source: AbortController;
}

/** Matches (with the shared {@link FaultSchedule}) and carries out the faults of one simulated run. */
export class SimFaults {
  /** Faults that fired, in order. */
  readonly fired: FaultRecord[] = [];
  /** Which peers were killed. */
  readonly killed = { source: false, destination: false };
  #schedule: FaultSchedule;
  #startMs = 0;

  /** Prepares the injector; nothing fires before {@link start}. */
  constructor(faults: FaultSpec[], public t: SimFaultTargets) {
    this.#schedule = new FaultSchedule(faults);
  }

  /**
   * A new attempt (`retry`) with a fresh link and source engine: later faults
   * act on them; faults that fired do not fire again.
   */
  retarget(link: SimLinkPair, source: AbortController): void {
    this.t = { ...this.t, link, source };
    this.killed.destination = false;
  }

  /** Migration starts now: arms the time triggers. */
  start(): void {
    this.#startMs = this.t.clock.nowMs();
    for (const f of this.#schedule.faults) {
      if ("afterMs" in f.at) {
        this.t.clock.at(this.#startMs + f.at.afterMs, () => {
          this.#apply(this.#schedule.time(this.#sinceStart(), this.t.link.bytesAtoB));
        });
      }
    }
  }

  /** A phase begins (source phases, and `resume` at the destination). */
  phase(phase: FaultPhase, round: number): void {
    const at = { bytes: this.t.link.bytesAtoB, atMs: this.#sinceStart() };
    this.#apply(this.#schedule.phase(phase, round, at));
  }

  /** Called after bytes went out from the source. */
  bytes(): void {
    this.#apply(this.#schedule.bytes(this.t.link.bytesAtoB, this.#sinceStart()));
  }

  /** Faults that did not fire, and why (the checker's `faultsFired`). */
  notFired(): ReturnType<FaultSchedule["notFired"]> {
    return this.#schedule.notFired();
  }

  #sinceStart(): number {
    return this.t.clock.nowMs() - this.#startMs;
  }

  #apply(firings: Firing[]): void {
    for (const firing of firings) this.#fire(firing);
  }

  #fire(firing: Firing): void {
    const f = firing.fault;
    const { clock, link, vcpu } = this.t;
    const ms = f.durationMs ?? 0;
    let observed: string;
    switch (f.action) {
      case "cut-link":
        link.cut();
        observed = "the link failed both ways";
        break;
      case "partition":
        link.stall(ms);
        observed = `the link stood still for ${ms} ms`;
        break;
      case "corrupt":
        link.corrupt(f.bytes ?? 1);
        observed = `${f.bytes ?? 1} byte(s) of the stream corrupted`;
        break;
      case "kill-source":
        this.killed.source = true;
        vcpu.stop();
        this.t.source.abort(new Error("The source was killed"));
        link.cut();
        observed = "the source died with its guest";
        break;
      case "kill-destination":
        this.killed.destination = true;
        link.cut();
        observed = "the destination died";
        break;
      case "stop-source":
        vcpu.holdUntil(clock.nowMs() + ms);
        link.stall(ms);
        observed = `the source stood still for ${ms} ms`;
        break;
      case "stop-destination":
        link.stall(ms);
        observed = `the destination stood still for ${ms} ms`;
        break;
      case "cancel":
        this.t.source.abort();
        observed = "the migration was cancelled";
        break;
    }
    this.fired.push({
      action: f.action,
      at: f.at,
      firedAtMs: firing.atMs,
      phase: firing.phase,
      round: firing.round,
      bytes: firing.bytes,
      observed,
    });
  }
}
