/**
 * Faults between real peers, on the runner's side: feeds the
 * {@link FaultSchedule} with the source's phase and byte notices and a timer,
 * carries out what fires (the link through the shaping proxy or the kernel
 * link, kill -9, SIGSTOP for a duration then SIGCONT, cancel over the control
 * channel) and writes the report: which fault fired, when (phase, round,
 * bytes, time) and what the harness observed afterwards.
 *
 * @example
 * ```ts ignore
 * const faults = new RealFaults(scenario.faults, env);
 * const holds = faults.sourceHolds; // goes into the source's configuration
 * faults.start(startAtMs);
 * await faults.phase("round", 2, { bytes: 123456, atMs });
 * await faults.settle();
 * const records = faults.records(attempts);
 * ```
 * @module
 */
import type { FaultPhase, FaultRecord, FaultSpec, FaultTrigger } from "../contract/types.ts";
import { systemClock } from "../util/clock.ts";
import { type FaultTargets, injectFault, type PeerRole } from "./inject.ts";
import { describeTrigger, FaultSchedule, type Firing } from "./schedule.ts";

/** A peer process as the fault injector sees it. */
export interface FaultProcess {
  readonly pid: number;
  kill(signal: Deno.Signal): void;
  /** Set when a fault killed it. */
  killed: boolean;
}

/** The link faults of the link in use (shaping proxy or kernel link). */
export interface LinkFaults {
  cut(atByte: number): void | Promise<void>;
  partition(durationMs: number, atByte: number): void | Promise<void>;
  corrupt(bytes: number, atByte: number): void | Promise<void>;
}

/** What the runner gives the fault driver. */
export interface RealFaultEnv {
  /** The current process of a role (the destination changes on retry). */
  process(role: PeerRole): FaultProcess;
  /** The current attempt's link, or null when the peers are connected directly. */
  link(): LinkFaults | null;
  /** Asks the source to cancel the migration. */
  cancel(): Promise<void>;
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

/** Drives a scenario's faults against real peer processes. */
export class RealFaults {
  readonly schedule: FaultSchedule;
  #env: RealFaultEnv;
  #startAtMs = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pending = new Set<Promise<void>>();
  #fired: Fired[] = [];
  #attempt = 1;
  #bytes = 0;
  #closed = false;

  /** A driver for `faults` (validated). */
  constructor(faults: readonly FaultSpec[], env: RealFaultEnv) {
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

  /** Marks the start of the migration (runner clock) and arms the time triggers, once. */
  start(startAtMs: number): void {
    if (this.#startAtMs) return;
    this.#startAtMs = startAtMs;
    this.#arm();
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
  async phase(
    phase: FaultPhase,
    round: number,
    at: { bytes: number; atMs: number },
  ): Promise<void> {
    this.#bytes = at.bytes;
    await this.#fire(this.schedule.phase(phase, round, { ...at, atMs: at.atMs - this.#startAtMs }));
  }

  /** The source's stream reached a byte mark; fires what matches. */
  async bytes(bytes: number, atMs: number): Promise<void> {
    this.#bytes = bytes;
    await this.#fire(this.schedule.bytes(bytes, atMs - this.#startAtMs));
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

  /** Disarms the timer; faults that have not fired stay unfired. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const next = this.schedule.nextTimeMs();
    if (next === null || this.#closed) return;
    const wait = this.#startAtMs + next - systemClock.nowMs();
    this.#timer = setTimeout(() => {
      const p = this.#fire(
        this.schedule.time(systemClock.nowMs() - this.#startAtMs, this.#bytes),
      ).finally(() => this.#arm());
      this.#track(p);
    }, Math.max(0, wait));
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
        atMs: systemClock.nowMs(),
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
    const env = this.#env;
    const link = (what: string) => {
      const l = env.link();
      if (!l) throw new Error(`${what} needs a link the runner controls, and there is none`);
      return l;
    };
    const signal = (role: PeerRole, sig: Deno.Signal) => {
      const p = env.process(role);
      try {
        p.kill(sig);
        return true;
      } catch (e) {
        notes.push(`${sig} to the ${role} failed: ${(e as Error).message}`);
        return false;
      }
    };
    return {
      cutLink: (at) => link("cut-link").cut(at),
      partition: (ms, at) => link("partition").partition(ms, at),
      corrupt: (n, at) => link("corrupt").corrupt(n, at),
      kill: (role) => {
        const p = env.process(role);
        if (signal(role, "SIGKILL")) {
          p.killed = true;
          notes.push(`the ${role} (pid ${p.pid}) was killed with SIGKILL`);
        }
      },
      stop: (role, ms) => {
        if (!signal(role, "SIGSTOP")) return;
        const pid = env.process(role).pid;
        notes.push(`the ${role} (pid ${pid}) was stopped with SIGSTOP for ${ms} ms`);
        this.#track(
          systemClock.sleep(ms).then(() => {
            const p = env.process(role);
            if (p.pid !== pid || p.killed) return;
            if (signal(role, "SIGCONT")) notes.push(`SIGCONT after ${ms} ms`);
          }),
        );
      },
      cancel: async () => {
        await env.cancel();
        notes.push("the runner asked the source to cancel");
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
