/**
 * Simulation mode: the very engine of real mode (`runSource`,
 * `runDestination`), run in one process on a virtual clock. What differs is
 * only what is passed in: a {@link SimClock} instead of the system clock, a
 * simulated link instead of TCP, and a vCPU stepped by virtual time instead
 * of a worker thread. Every random choice is drawn from the scenario seed, so
 * one scenario and seed give one result, byte for byte, once `wall` (what the
 * host machine decided) is left out.
 *
 * The run: boot the source guest (same fill and workload as real mode), let
 * it warm up, migrate over the simulated link, compare the destination's RAM
 * with the source's at resume (or, when the migration did not complete, the
 * source's RAM with a replay of its workload: it must be intact), let the
 * destination guest run `settleMs`, and judge.
 *
 * Downtime is virtual: from the source vCPU's stop to the destination vCPU's
 * resume. The optional cost model (`sim.cpuCostUs`) charges virtual CPU time
 * per page sent, by kind, through the engine's CPU-cost port.
 *
 * @example
 * ```ts ignore
 * import { runSimulation } from "./sim_runner.ts";
 * const result = await runSimulation(resolved);
 * console.log(result.outcome, result.totalTimeMs);
 * ```
 * @module
 */
import { SimClock } from "../sim/sim_clock.ts";
import { SimVcpu } from "../sim/sim_vcpu.ts";
import { SimFaults } from "../sim/sim_faults.ts";
import { simLinkPair } from "../net/sim_link.ts";
import type { Link } from "../net/link.ts";
import { DirtyLog } from "../guest/dirty_log.ts";
import {
  checkLayout,
  createRam,
  preallocateRam,
  preallocateRamInBackground,
  type Ram,
} from "../guest/ram.ts";
import { populateRam } from "../guest/populate.ts";
import { bootGuest, replayGuest } from "../guest/replay.ts";
import { checkCounterInvariant, type WorkloadState } from "../guest/workload.ts";
import { decodeDeviceState, encodeDeviceState } from "../guest/device_state.ts";
import { runSource } from "../engine/source.ts";
import type { CpuCost } from "../engine/cpu_cost.ts";
import { startHintSource } from "../guest/hint_wiring.ts";
import { runDestination } from "../engine/destination.ts";
import type { DestinationSummary, GuestConfig } from "../control/protocol.ts";
import { Prng } from "../util/prng.ts";
import { compareRams, countBits } from "./checker.ts";
import { buildResult } from "./result.ts";
import type { AttemptRecord, ProgressRecord, Result } from "../contract/types.ts";
import type { ResolvedScenario } from "./validate.ts";

/** Guests from this size on have their RAM backed on other threads before boot. */
const BACKGROUND_PREALLOC_BYTES = 256 * 1024 * 1024;

/** Simulation options. */
export interface SimRunOptions {
  /** Receives one line per notable event. */
  log?: (line: string) => void;
  /** Receives each progress record as it is made. */
  onProgress?: (record: ProgressRecord) => void;
}

/** Runs a resolved scenario in simulation mode. */
export async function runSimulation(
  s: ResolvedScenario,
  options: SimRunOptions = {},
): Promise<Result> {
  const log = options.log ?? (() => {});
  const wallStartMs = performance.now();
  const clock = new SimClock();
  const seeds = new Prng(s.seed);
  const linkSeed = seeds.nextU32();
  const blocks = [{ name: "pc.ram", bytes: s.ramBytes }];
  const guest: GuestConfig = {
    blocks,
    fill: s.fill,
    seed: s.seed,
    workload: s.workload,
    balloon: s.balloon,
  };
  // A large guest's RAM, both sides, is backed by the kernel on two other
  // threads; the source's is filled once its pages are there (a zero guest's
  // pages stay unbacked until used, as in real mode).
  const large = s.ramBytes >= BACKGROUND_PREALLOC_BYTES;
  const dstRamReady = large
    ? preallocateRamInBackground(blocks)
    : Promise.resolve(preallocateRam(blocks));
  const srcRam = createRam(blocks);
  if (large && s.fill !== "zero") await populateRam(srcRam);
  const { ram, workload } = bootGuest(guest, srcRam);
  const dirtyLog = new DirtyLog(ram.totalPages);
  const vcpu = new SimVcpu(ram, dirtyLog, clock);
  const firstDstRam = await dstRamReady;
  const net = s.network;
  const newLink = (attempt: number) =>
    simLinkPair(clock, {
      bandwidthBytesPerSec: net.bandwidthBytesPerSec,
      latencyMs: net.latencyMs,
      jitterMs: net.jitterMs,
      seed: (linkSeed + attempt) >>> 0,
      idleTimeoutMs: s.migration.peerTimeoutMs,
    });
  const faults = new SimFaults(s.faults, {
    clock,
    link: newLink(0),
    vcpu,
    source: new AbortController(),
  });
  const bootedAtMs = performance.now();

  const run = await clock.run(async () => {
    vcpu.run(workload.state());
    await clock.sleep(s.warmupMs);
    log(`migration starts at ${clock.nowMs()} ms (virtual)`);
    faults.start();
    // The balloon driver runs with the guest, on the virtual clock.
    const hints = startHintSource(s.migration, {
      view: vcpu.freeView,
      ram,
      behaviour: s.balloon,
      clock,
      seed: s.seed,
      staticFree: s.staticFree,
    });
    const attempts: AttemptRecord[] = [];
    for (let attempt = 1;; attempt++) {
      if (attempt > 1) {
        faults.retarget(newLink(attempt - 1), new AbortController());
        log(`attempt ${attempt}: a fresh destination`);
      }
      const dstRam = attempt === 1 ? firstDstRam : preallocateRam(blocks);
      const end = await migrateOnce(s, {
        clock,
        ram,
        dirtyLog,
        vcpu,
        dstRam,
        guest,
        faults,
        hints,
        log,
        onProgress: options.onProgress,
      });
      attempts.push({
        attempt,
        outcome: end.source.outcome,
        ...(end.source.error ? { error: end.source.error } : {}),
        destinationOutcome: end.summary.outcome,
        destinationError: end.summary.error ?? null,
        destinationResumed: end.summary.resumeAtMs !== null,
      });
      const again = s.retry && attempt === 1 && end.source.outcome === "failed" &&
        !faults.killed.source;
      if (!again) return { ...end, attempts };
    }
  });

  return buildResult(s, {
    source: run.source,
    destination: run.summary,
    comparison: run.comparison,
    counter: run.counter,
    downtimeMs: run.downtimeMs,
    sourceGuestRunning: run.sourceGuestRunning,
    progress: run.source.progress,
    liedPages: run.liedPages,
    destinationResumed: run.summary.resumeAtMs !== null,
    extra: {
      faults: faults.fired,
      faultsNotFired: faults.notFired(),
      guestLost: faults.killed.source && run.source.outcome !== "completed",
      attempts: run.attempts,
    },
    wall: {
      runnerMs: round3(performance.now() - wallStartMs),
      bootMs: round3(bootedAtMs - wallStartMs),
      simEvents: clock.events,
    },
  });
}

/** What one attempt needs. */
interface AttemptContext {
  clock: SimClock;
  ram: Ram;
  dirtyLog: DirtyLog;
  vcpu: SimVcpu;
  dstRam: Ram;
  guest: GuestConfig;
  faults: SimFaults;
  hints: ReturnType<typeof startHintSource>;
  log: (line: string) => void;
  onProgress?: (record: ProgressRecord) => void;
}

/**
 * One migration from the running source guest to a fresh destination, judged:
 * the source and destination engines over one simulated link, the handover,
 * the memory check, and the destination guest's first `settleMs`.
 */
async function migrateOnce(s: ResolvedScenario, c: AttemptContext) {
  const { clock, ram, dirtyLog, vcpu, dstRam, faults, hints, log } = c;
  const pair = faults.t.link;
  const cancel = faults.t.source;
  const startMs = clock.nowMs();
  for (const change of s.network.schedule) {
    clock.at(startMs + change.atMs, () => pair.setBandwidth(change.bandwidthBytesPerSec));
  }
  const sourceLink: Link = {
    write: async (data) => {
      await pair.a.write(data);
      faults.bytes();
    },
    read: (into, timeoutMs) => pair.a.read(into, timeoutMs),
    close: () => pair.a.close(),
  };
  let state: WorkloadState | null = null;
  const dstDone = runDestination({
    link: pair.b,
    clock,
    maxRamBytes: s.ramBytes,
    createRam: (setup) => checkLayout(dstRam, setup.blocks),
    loadDevice: (bytes) => {
      state = decodeDeviceState(bytes).workload;
    },
  });
  const source = await runSource({
    guest: {
      ram,
      syncDirtyLog: (into) => dirtyLog.syncInto(into),
      stop: () => Promise.resolve(encodeDeviceState({ workload: vcpu.pause()! })),
      cont: () => Promise.resolve(vcpu.resume()),
    },
    link: sourceLink,
    clock,
    config: s.migration,
    signal: cancel.signal,
    hints: hints?.source,
    cpuCostMs: cpuCostPort(s.sim.cpuCostUs),
    hooks: {
      phase: (phase, round) => {
        log(`source: ${phase}${phase === "round" ? ` ${round}` : ""}`);
        faults.phase(phase, round);
      },
      progress: (record) => c.onProgress?.(record),
    },
  });
  // The destination ends on its own: it loaded everything, or the link failed or timed out.
  const destination = await dstDone;
  if (faults.killed.source) {
    source.outcome = "failed";
    source.error = "The source was killed";
    source.guestRunning = false;
  }
  // The handover (confirmed switchover, as real mode does under faults): the
  // destination resumes only when the source completed, so two copies of the
  // guest never run; a destination that dies at `resume` leaves the guest to
  // the source, which resumes it (`cont`), and the migration has failed.
  const handover = source.outcome === "completed" && destination.outcome === "completed" &&
    state !== null;
  if (handover) faults.phase("resume", destination.rounds);
  const switchoverFailed = handover && faults.killed.destination;
  if (switchoverFailed) {
    source.outcome = "failed";
    source.error = "The destination died before it resumed the guest; the source resumes it";
  }
  const completed = source.outcome === "completed";
  // Judge before either guest runs again; no virtual time passes here.
  const srcState = vcpu.pause();
  const lied = hints?.driver?.liedBytes() ?? null;
  const comparison = completed
    ? compareRams(ram, dstRam, { free: srcState?.free ?? null, lied })
    : faults.killed.source
    ? null
    : compareRams(replayGuest(c.guest, srcState?.touches ?? 0), ram);
  if ((source.guestRunning || switchoverFailed) && !faults.killed.source) {
    vcpu.resume();
    source.guestRunning = true;
  }
  const counter = s.workload.kind === "counter" && comparison
    ? checkCounterInvariant(completed ? dstRam : ram)
    : null;
  let resumeAtMs: number | null = null;
  let touchesAfterResume = 0;
  if (completed && state) {
    const dstVcpu = new SimVcpu(dstRam, new DirtyLog(dstRam.totalPages), clock);
    resumeAtMs = clock.nowMs();
    dstVcpu.run(state);
    await clock.sleep(s.settleMs);
    touchesAfterResume = (dstVcpu.stop()?.touches ?? 0) - (state as WorkloadState).touches;
  }
  const sourceGuestRunning = !faults.killed.source && vcpu.running;
  const summary: DestinationSummary = {
    outcome: faults.killed.destination ? "failed" : destination.outcome,
    error: faults.killed.destination ? "The destination was killed" : destination.error,
    firstByteAtMs: destination.firstByteAtMs,
    loadedAtMs: destination.loadedAtMs,
    resumeAtMs,
    digestMs: 0,
    receivedBytes: destination.receivedBytes,
    rounds: destination.rounds,
    touchesAfterResume,
    counter: null,
  };
  return {
    source,
    summary,
    liedPages: lied ? countBits(lied) : null,
    comparison,
    counter,
    sourceGuestRunning,
    downtimeMs: completed && source.stopAtMs !== null && resumeAtMs !== null
      ? resumeAtMs - source.stopAtMs
      : null,
  };
}

/**
 * The scenario's cost model (`sim.cpuCostUs`: microseconds per page, by
 * record kind) as the engine's CPU-cost port; an XBZRLE page found unchanged
 * costs an XBZRLE page (its encoding is the same scan). None when every cost
 * is 0.
 */
function cpuCostPort(us: ResolvedScenario["sim"]["cpuCostUs"]): CpuCost | undefined {
  const normal = us.normal ?? 0, zero = us.zero ?? 0, xbzrle = us.xbzrle ?? 0;
  const deflate = us.deflate ?? 0;
  if (normal === 0 && zero === 0 && xbzrle === 0 && deflate === 0) return undefined;
  return (w) => {
    let costUs = w.normal * normal;
    costUs += w.zero * zero;
    costUs += w.xbzrle * xbzrle;
    costUs += w.deflate * deflate;
    costUs += w.xbzrleUnchanged * xbzrle;
    return costUs / 1000;
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
