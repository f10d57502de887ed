/**
 * The fault driver, one for both modes: feeds the {@link FaultSchedule} with
 * the source's phase and byte notices and with time on the run's clock,
 * carries out what fires through the mode's {@link FaultTargets} (real mode:
 * the shaping proxy or kernel link, signals to the peer processes, cancel
 * over the control channel; simulation: the simulated link, the stepped vCPU
 * and the engine's abort signal) and writes the report: which fault fired,
 * when (phase, round, bytes, time) and what the harness observed afterwards.
 *
 * @example
 * ```ts
 * import { FaultDriver } from "./driver.ts";
 * import type { Clock } from "../util/clock.ts";
 * const done: string[] = [];
 * const driver = new FaultDriver([{ at: { phase: "bulk" }, action: "cancel" }], {
 *   clock: systemClock,
 *   targets: {
 *     cutLink() {}, partition() {}, corrupt() {}, kill() {}, stop() {},
 *     cancel: () => void done.push("cancel"),
 *   },
 *   log: () => {},
 * });
 * driver.start();
 * await driver.phase("bulk", 0, { bytes: 0 });
 * driver.close();
 * console.log(done); // ["cancel"]
 * ```
 * @module
 */
import type { FaultPhase, FaultRecord, FaultSpec, FaultTrigger } from "../contract/types.ts";
import type { Clock } from "../util/clock.ts";
import { type FaultTargets, injectFault } from "./inject.ts";
import { describeTrigger, FaultSchedule, type Firing } from "./schedule.ts";

/** What the harness gives the fault driver. */
export interface FaultDriverEnv {
  /** The run's clock: time triggers and the ends of stops are measured on it. */
  clock: Clock;
  /** What carries out faults in this mode (always the current attempt's link and peers). */
  targets: FaultTargets;
  log(line: string): void;
}

/** What one migration attempt came to, for the report (runner clock, ms). */
export interface AttemptFacts {
  attempt: number;
  startAtMs: number;
  /** When the source's migration ended (null: the source died before it said). */
  endAtMs: number | null;
  /** The attempt's outcome (a completed migration whose destination never resumed is failed). */
  outcome: string;
  error?: string;
  /** What the source's migration itself came to. */
  sourceOutcome: string;
  destinationOutcome: string;
  destinationError?: string | null;
  destinationResumed: boolean;
  /** When the destination's migration ended (null: unknown, e.g. killed). */
  destinationEndAtMs: number | null;
  /** The source guest at the end of the attempt. */
  sourceGuest: string;
  linkEvents: { atMs: number; what: string }[];
}

interface Fired {
  firing: Firing;
  attempt: number;
  /** Runner clock when it fired. */
  atMs: number;
  notes: string[];
}

/** Drives a scenario's faults, in either mode. */
export class FaultDriver {
  readonly schedule: FaultSchedule;
  #env: FaultDriverEnv;
  #startAtMs = 0;
  #started = false;
  #timer = new AbortController();
  #pending = new Set<Promise<void>>();
  #fired: Fired[] = [];
  #attempt = 1;
  #bytes = 0;
  #closed = false;

  /** A driver for `faults` (validated). */
  constructor(faults: readonly FaultSpec[], env: FaultDriverEnv) {
    this.schedule = new FaultSchedule(faults);
    this.#env = env;
  }

  /** Phases at which the source must wait for the runner. */
  get sourceHolds(): FaultPhase[] {
    return this.schedule.sourceHolds;
  }

  /** Stream offsets at which the source must wait for the runner. */
  get byteMarks(): number[] {
    return this.schedule.byteMarks;
  }

  /** Marks the start of the migration (now, on the run's clock) and arms the time triggers, once. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#startAtMs = this.#env.clock.nowMs();
    // Not tracked: settle() waits for faults under way, not for triggers still to come.
    this.#timeTriggers().catch((e) => this.#env.log(`fault timer failed: ${(e as Error).message}`));
  }

  /** Milliseconds since {@link start}, on the run's clock. */
  sinceStartMs(): number {
    return this.#env.clock.nowMs() - this.#startAtMs;
  }

  /** The attempt now running (1, then 2 after a retry). */
  set attempt(n: number) {
    this.#attempt = n;
  }

  /** The latest known stream offset (from progress records or the proxy). */
  noteBytes(bytes: number): void {
    if (bytes > this.#bytes || this.#attempt > 1) this.#bytes = bytes;
  }

  /** The source (or for `resume` the destination) begins a phase; fires what matches. */
  async phase(phase: FaultPhase, round: number, at: { bytes: number }): Promise<void> {
    this.#bytes = at.bytes;
    await this.#fire(this.schedule.phase(phase, round, { ...at, atMs: this.sinceStartMs() }));
  }

  /** The source's stream reached a byte mark; fires what matches. */
  async bytes(bytes: number): Promise<void> {
    this.#bytes = bytes;
    await this.#fire(this.schedule.bytes(bytes, this.sinceStartMs()));
  }

  /** Whether a `resume` fault has yet to fire. */
  get resumePending(): boolean {
    return this.schedule.pending().some((p) =>
      "phase" in p.fault.at && p.fault.at.phase === "resume"
    );
  }

  /** Waits for every stop to end (SIGCONT sent). */
  async settle(): Promise<void> {
    while (this.#pending.size) await Promise.all(this.#pending);
  }

  /** Disarms the time triggers; faults that have not fired stay unfired. */
  close(): void {
    this.#closed = true;
    this.#timer.abort();
  }

  async #timeTriggers(): Promise<void> {
    const clock = this.#env.clock;
    for (;;) {
      const next = this.schedule.nextTimeMs();
      if (next === null || this.#closed) return;
      await clock.sleep(this.#startAtMs + next - clock.nowMs(), this.#timer.signal);
      if (this.#closed) return;
      await this.#fire(this.schedule.time(this.sinceStartMs(), this.#bytes));
    }
  }

  #track(p: Promise<void>): void {
    const q = p.catch((e) => this.#env.log(`fault injection failed: ${(e as Error).message}`));
    this.#pending.add(q);
    q.finally(() => this.#pending.delete(q));
  }

  async #fire(firings: Firing[]): Promise<void> {
    for (const firing of firings) {
      const fired: Fired = {
        firing,
        attempt: this.#attempt,
        atMs: this.#env.clock.nowMs(),
        notes: [],
      };
      this.#fired.push(fired);
      const f = firing.fault;
      this.#env.log(
        `fault: ${f.action} at ${
          describeTrigger(f.at)
        } (${firing.phase} ${firing.round}, byte ${firing.bytes})`,
      );
      try {
        await injectFault(f, firing.bytes, this.#targets(fired.notes));
      } catch (e) {
        fired.notes.push(`injection failed: ${(e as Error).message}`);
      }
    }
  }

  #targets(notes: string[]): FaultTargets {
    const t = this.#env.targets;
    const clock = this.#env.clock;
    return {
      cutLink: (at) => t.cutLink(at),
      partition: (ms, at) => t.partition(ms, at),
      corrupt: (n, at) => t.corrupt(n, at),
      kill: async (role) => {
        await t.kill(role);
        notes.push(`the ${role} was killed`);
      },
      stop: async (role, ms) => {
        await t.stop(role, ms);
        // The target continues the peer `ms` from now on the same clock; settle() waits past that.
        this.#track(clock.sleep(ms));
        notes.push(`the ${role} was stopped for ${ms} ms`);
      },
      cancel: async () => {
        await t.cancel();
        notes.push("the harness cancelled the migration");
      },
    };
  }

  /** The report: one record per fault that fired, with what followed it. */
  records(attempts: AttemptFacts[]): FaultRecord[] {
    return this.#fired.map((f) => {
      const a = attempts.find((x) => x.attempt === f.attempt);
      const seen: string[] = [...f.notes];
      let endedAfterMs: number | null = null;
      let destinationEndedAfterMs: number | null = null;
      if (a) {
        for (const e of a.linkEvents) {
          if (
            e.atMs >= f.atMs - 1 && !e.what.startsWith("bandwidth") && e.what !== "source connected"
          ) {
            seen.push(`link: ${e.what} (+${(e.atMs - f.atMs).toFixed(0)} ms)`);
          }
        }
        if (a.endAtMs !== null && a.endAtMs >= f.atMs - 1) endedAfterMs = a.endAtMs - f.atMs;
        const dEnd = a.destinationEndAtMs;
        if (dEnd !== null && dEnd >= f.atMs - 1) destinationEndedAfterMs = dEnd - f.atMs;
        const when = endedAfterMs === null
          ? ""
          : ` ${Math.max(0, endedAfterMs).toFixed(0)} ms later`;
        if (a.endAtMs !== null && a.endAtMs < f.atMs - 1) {
          seen.push(
            `the source's migration had already ${a.sourceOutcome}` +
              (a.outcome === a.sourceOutcome
                ? ": no effect on it"
                : `; then the attempt ${a.outcome}${a.error ? ` (${a.error})` : ""}`),
          );
        } else {
          seen.push(`the migration ${a.outcome}${when}${a.error ? ` (${a.error})` : ""}`);
        }
        const dWhen = destinationEndedAfterMs === null
          ? ""
          : ` ${Math.max(0, destinationEndedAfterMs).toFixed(0)} ms after the fault`;
        seen.push(
          a.destinationOutcome === "completed" && !a.destinationResumed
            ? "destination loaded everything but was discarded: the switchover was not confirmed"
            : `destination ${a.destinationOutcome}${
              a.destinationOutcome === "completed" ? "" : dWhen
            }${a.destinationError ? ` (${a.destinationError})` : ""}, ${
              a.destinationResumed ? "resumed the guest" : "discarded"
            }`,
        );
        seen.push(`source guest ${a.sourceGuest}`);
      }
      const later = attempts.filter((x) => x.attempt > f.attempt);
      for (const l of later) {
        seen.push(`retry, attempt ${l.attempt} with a fresh destination: ${l.outcome}`);
      }
      return {
        action: f.firing.fault.action,
        at: f.firing.fault.at as FaultTrigger,
        ...(f.firing.fault.durationMs ? { durationMs: f.firing.fault.durationMs } : {}),
        ...(f.firing.fault.bytes ? { corruptBytes: f.firing.fault.bytes } : {}),
        firedAtMs: f.firing.atMs,
        phase: f.firing.phase,
        round: f.firing.round,
        bytes: f.firing.bytes,
        attempt: f.attempt,
        endedAfterMs,
        destinationEndedAfterMs,
        observed: seen.join("; "),
      };
    });
  }

  /** Faults that never fired, with the reason. */
  notFired(): ReturnType<FaultSchedule["notFired"]> {
    return this.schedule.notFired();
  }
}
