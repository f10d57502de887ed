/**
 * The fault schedule: which of a scenario's faults fire, fed with what the
 * migration does. It knows nothing of processes, sockets or clocks: the real
 * runner feeds it the source's phase notices, byte marks and its timer; a
 * simulation feeds it the engine's hooks, the simulated link's byte count and
 * the virtual clock. Each fault fires at most once.
 *
 * Triggers:
 * - `{ phase }`: when the source begins that phase (`setup`, `bulk`,
 *   `round`, `stop-and-copy`, `device-state`) or, for `resume`, when the
 *   destination is about to resume the guest; `{ phase: "round" }` without a
 *   round fires at the first dirty round, `{ phase: "round", round: N }` at
 *   round N (never, if the migration converges earlier);
 * - `{ afterBytes }`: when the source's stream reaches that offset;
 * - `{ afterMs }`: that many ms after the migration started.
 *
 * @example
 * ```ts
 * import { FaultSchedule } from "./schedule.ts";
 * const s = new FaultSchedule([
 *   { at: { phase: "round", round: 2 }, action: "cut-link" },
 *   { at: { afterBytes: 1000 }, action: "kill-destination" },
 * ]);
 * console.log(s.sourceHolds, s.byteMarks); // ["round"] [1000]
 * console.log(s.phase("round", 1, { bytes: 500, atMs: 10 }).length); // 0
 * console.log(s.bytes(1000, 12)[0].fault.action); // "kill-destination"
 * console.log(s.phase("round", 2, { bytes: 4000, atMs: 20 })[0].bytes); // 4000
 * ```
 * @module
 */
import type { FaultPhase, FaultSpec, FaultTrigger } from "../contract/types.ts";

/**
 * A fault that fires, and where the migration stood.
 *
 * @example
 * ```ts
 * import type { Firing } from "./schedule.ts";
 * const line = (f: Firing) => `${f.fault.action} at byte ${f.bytes}, ${f.atMs} ms in`;
 * ```
 */
export interface Firing {
  /** Index of the fault in the scenario's list. */
  index: number;
  /** The fault, as the scenario gave it. */
  fault: FaultSpec;
  /** The phase the source was in (the trigger's phase for phase triggers). */
  phase: string;
  /** The source's round (0: the bulk pass or before). */
  round: number;
  /** The source's stream offset. */
  bytes: number;
  /** Milliseconds since the migration started. */
  atMs: number;
}

/**
 * Which faults fire, given the migration's events.
 *
 * @example
 * ```ts
 * import { FaultSchedule } from "./schedule.ts";
 * const s = new FaultSchedule([{ at: { afterBytes: 1000 }, action: "cut-link" }]);
 * console.log(s.bytes(999, 4).length); // 0
 * console.log(s.bytes(1000, 5)[0].fault.action); // "cut-link"
 * ```
 */
export class FaultSchedule {
  /** The scenario's faults, in its order. */
  readonly faults: readonly FaultSpec[];
  /** Every firing so far, in order. */
  readonly fired: Firing[] = [];
  #done: boolean[];
  #phase = "before-start";
  #round = 0;

  /** A schedule for the scenario's faults (already validated). */
  constructor(faults: readonly FaultSpec[]) {
    this.faults = faults;
    this.#done = faults.map(() => false);
  }

  /** Source phases with a phase trigger: the source waits at these for the runner. */
  get sourceHolds(): FaultPhase[] {
    const set = new Set<FaultPhase>();
    for (const f of this.faults) {
      if ("phase" in f.at && f.at.phase !== "resume") set.add(f.at.phase);
    }
    return [...set];
  }

  /** Whether a fault waits for the destination's resume. */
  get holdsResume(): boolean {
    return this.faults.some((f) => "phase" in f.at && f.at.phase === "resume");
  }

  /** Stream offsets with a byte trigger, ascending. */
  get byteMarks(): number[] {
    const marks = this.faults.flatMap((f) => "afterBytes" in f.at ? [f.at.afterBytes] : []);
    return [...new Set(marks)].sort((a, b) => a - b);
  }

  /** The earliest time trigger not yet fired (ms since start), or null. */
  nextTimeMs(): number | null {
    let next: number | null = null;
    this.faults.forEach((f, i) => {
      if (!this.#done[i] && "afterMs" in f.at && (next === null || f.at.afterMs < next)) {
        next = f.at.afterMs;
      }
    });
    return next;
  }

  /** Where the migration stands, as last reported. */
  get position(): { phase: string; round: number } {
    return { phase: this.#phase, round: this.#round };
  }

  /** The source (or, for `resume`, the destination) begins `phase`; returns what fires. */
  phase(phase: FaultPhase, round: number, at: { bytes: number; atMs: number }): Firing[] {
    this.#phase = phase;
    this.#round = round;
    return this.#fire(at, (t) => {
      if (!("phase" in t) || t.phase !== phase) return false;
      return phase !== "round" || t.round === undefined || t.round === round;
    });
  }

  /** The source's stream reached `bytes`; returns what fires. */
  bytes(bytes: number, atMs: number): Firing[] {
    return this.#fire({ bytes, atMs }, (t) => "afterBytes" in t && t.afterBytes <= bytes);
  }

  /** `atMs` ms have passed since the start; `bytes` is the stream offset as last known. */
  time(atMs: number, bytes: number): Firing[] {
    return this.#fire({ bytes, atMs }, (t) => "afterMs" in t && t.afterMs <= atMs);
  }

  /** Faults that did not fire, and why (the result's `faultsNotFired`, once the migration ended). */
  notFired(): { index: number; action: string; at: FaultTrigger; reason: string }[] {
    return this.pending().map(({ index, fault }) => ({
      index,
      action: fault.action,
      at: fault.at,
      reason: `the migration ended before ${describeTrigger(fault.at)}`,
    }));
  }

  /** Faults that have not fired (yet). */
  pending(): { index: number; fault: FaultSpec }[] {
    return this.faults.flatMap((fault, index) => this.#done[index] ? [] : [{ index, fault }]);
  }

  #fire(
    at: { bytes: number; atMs: number },
    match: (t: FaultSpec["at"]) => boolean,
  ): Firing[] {
    const out: Firing[] = [];
    this.faults.forEach((fault, index) => {
      if (this.#done[index] || !match(fault.at)) return;
      this.#done[index] = true;
      out.push({ index, fault, phase: this.#phase, round: this.#round, ...at });
    });
    this.fired.push(...out);
    return out;
  }
}

/**
 * A trigger in words: "round 2", "byte 1048576", "1500 ms".
 *
 * @example
 * ```ts
 * import { describeTrigger } from "./schedule.ts";
 * console.log(describeTrigger({ afterMs: 1500 })); // "1500 ms"
 * ```
 */
export function describeTrigger(t: FaultTrigger): string {
  if ("phase" in t) return t.round !== undefined ? `round ${t.round}` : t.phase;
  if ("afterBytes" in t) return `byte ${t.afterBytes}`;
  return `${t.afterMs} ms`;
}
