/**
 * The simulated world: the very engine of real mode (`runSource`,
 * `runDestination`) in one process on a virtual clock. What differs from
 * real mode is only what is passed in: a {@link SimClock} instead of the
 * system clock, a simulated link instead of TCP, and a vCPU stepped by
 * virtual time instead of a worker thread. Every random choice comes from the
 * scenario's seed tree, so one scenario and seed give one result, byte for
 * byte, once `wall` (what the host machine decided) is left out.
 *
 * Faults act on what a process would: `cut-link`, `partition` and `corrupt`
 * on the simulated link; `kill-source` stops the vCPU, aborts the engine and
 * cuts the link (the guest dies with it); `kill-destination` cuts the link
 * (and stops a resumed guest); `stop-source` holds the vCPU and stalls the
 * link; `stop-destination` stalls the link; `cancel` aborts the engine.
 *
 * The destination resumes its guest once the source has ended its attempt
 * (a held destination: once the harness confirms), at the same virtual
 * instant as it hands its memory to the harness, so that the harness judges
 * before either guest runs again.
 *
 * @example
 * ```ts ignore
 * import { SimWorld } from "./sim_world.ts";
 * import { runHarness } from "./harness.ts";
 * const result = await runHarness(resolved, new SimWorld(resolved), {});
 * ```
 * @module
 */
import { SimClock } from "../sim/sim_clock.ts";
import { SimVcpu } from "../sim/sim_vcpu.ts";
import { type SimLinkPair, simLinkPair } from "../net/sim_link.ts";
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
import { bootGuest, type GuestConfig, replayGuest } from "../guest/replay.ts";
import { checkCounterInvariant, type WorkloadState } from "../guest/workload.ts";
import { decodeDeviceState, encodeDeviceState } from "../guest/device_state.ts";
import { type HintWiring, startHintSource } from "../guest/hint_wiring.ts";
import { runSource, type SourceReport } from "../engine/source.ts";
import type { CpuCost } from "../engine/cpu_cost.ts";
import { type DestinationReport, runDestination } from "../engine/destination.ts";
import { type HeldCheckpoint, loadCheckpoint } from "../engine/checkpoint_index.ts";
import { ferryCheckpointPieces, fileAccess, memoryAccess } from "../stream/checkpoint_file.ts";
import { emptyDestinationSummary } from "../control/protocol.ts";
import type { FaultTargets } from "../faults/inject.ts";
import { triggerLink } from "../faults/trigger_link.ts";
import { compareImages } from "./checker.ts";
import { SimFileDestination } from "./sim_file_destination.ts";
import { type ScenarioSeeds, scenarioSeeds } from "./seeds.ts";
import type { ResolvedScenario } from "./validate.ts";
import type {
  AttemptLink,
  DestinationFinal,
  DestinationLoaded,
  DestinationPeer,
  PeerEvents,
  SourceAttempt,
  SourceEnd,
  SourceFinal,
  SourceJudgement,
  SourcePeer,
  World,
  WorldBoot,
} from "./world.ts";

/** Guests from this size on have their RAM backed on other threads before boot. */
const BACKGROUND_PREALLOC_BYTES = 256 * 1024 * 1024;

/** A run in simulation. */
export class SimWorld implements World {
  readonly clock: SimClock = new SimClock();
  readonly seeds: ScenarioSeeds;
  #s: ResolvedScenario;
  #guest: GuestConfig;
  #wallStartMs = performance.now();
  #bootMs: number | null = null;
  #firstDstRam: Promise<Ram>;
  #firstDstRamReady: Ram | null = null;
  #srcRam: Ram | null = null;
  #link: SimLinkPair | null = null;
  #source: SimSource | null = null;
  #destination: SimDestination | SimFileDestination | null = null;
  /** The checkpoint destinations hold (hashDedup): a copy of the guest saved in memory, or a file. */
  checkpointBytes: Uint8Array | null = null;

  /** A world for `s` (already resolved). */
  constructor(s: ResolvedScenario) {
    this.#s = s;
    this.seeds = scenarioSeeds(s.seed);
    this.#guest = {
      blocks: [{ name: "pc.ram", bytes: s.ramBytes }],
      fill: s.fill,
      seeds: this.seeds.guest,
      workload: s.workload,
      balloon: s.balloon,
    };
    // A large guest's destination RAM is backed by the kernel on other threads meanwhile.
    this.#firstDstRam = s.ramBytes >= BACKGROUND_PREALLOC_BYTES
      ? preallocateRamInBackground(this.#guest.blocks)
      : Promise.resolve(preallocateRam(this.#guest.blocks));
  }

  /** What faults act on: the current attempt's link, vCPU and engines. */
  get faultTargets(): FaultTargets {
    const link = () => {
      if (!this.#link) throw new Error("no link yet");
      return this.#link;
    };
    return {
      cutLink: () => link().cut(),
      partition: (ms) => link().stall(ms),
      corrupt: (bytes) => link().corrupt(bytes),
      kill: (role) => {
        if (role === "source") this.#source?.kill();
        else this.#destination?.kill();
        this.#link?.cut();
      },
      stop: (role, ms) => {
        if (role === "source") this.#source?.holdFor(ms);
        this.#link?.stall(ms);
      },
      cancel: () => this.#source?.cancel(),
    };
  }

  /**
   * Runs `main` on the virtual clock, once both guests' RAM is backed: that
   * work happens on other threads, outside virtual time, so it is awaited
   * before the clock runs (a promise the virtual clock does not drive would
   * look like a deadlock to it).
   */
  async run<T>(main: () => Promise<T>): Promise<T> {
    const s = this.#s;
    const srcRam = createRam(this.#guest.blocks);
    // The source's RAM is backed on other threads before a fill writes every page.
    if (s.ramBytes >= BACKGROUND_PREALLOC_BYTES && s.fill !== "zero") await populateRam(srcRam);
    this.#srcRam = srcRam;
    this.#firstDstRamReady = await this.#firstDstRam;
    return await this.clock.run(main);
  }

  /** Boots the source guest. */
  bootSource(boot: WorldBoot): Promise<SourcePeer> {
    const s = this.#s;
    const srcRam = this.#srcRam ?? createRam(this.#guest.blocks);
    const { ram, workload } = bootGuest(this.#guest, srcRam);
    const dirtyLog = new DirtyLog(ram.totalPages);
    const vcpu = new SimVcpu(ram, dirtyLog, this.clock);
    this.#bootMs = performance.now() - this.#wallStartMs;
    vcpu.run(workload.state());
    // The balloon driver runs with the guest, on the virtual clock.
    const hints = startHintSource(s.migration, {
      view: vcpu.freeView,
      ram,
      behaviour: s.balloon,
      clock: this.clock,
      seed: this.seeds.guest.balloon,
      staticFree: s.staticFree,
    });
    this.#source = new SimSource(this, { ram, dirtyLog, vcpu, hints, boot });
    return Promise.resolve(this.#source);
  }

  /** A fresh destination, on preallocated RAM. */
  startDestination(n: number, _confirm: boolean): Promise<DestinationPeer> {
    const ram = n === 1 && this.#firstDstRamReady
      ? this.#firstDstRamReady
      : preallocateRam(this.#guest.blocks);
    // A file transport: the file sink, then the restore step (sim_file_destination.ts).
    this.#destination = this.#s.transport.kind === "file"
      ? new SimFileDestination(this, ram)
      : new SimDestination(this, ram, heldCheckpoint(this));
    return Promise.resolve(this.#destination);
  }

  /** The simulated link of attempt `n`; the destination engine starts on its far end. */
  openLink(n: number): Promise<AttemptLink> {
    const s = this.#s;
    const t = s.transport;
    // A file transport: the link is the file device, at its bandwidth.
    const net = t.kind === "file"
      ? {
        ...s.network,
        bandwidthBytesPerSec: t.bandwidthBytesPerSec,
        latencyMs: 0,
        jitterMs: 0,
        schedule: [],
      }
      : s.network;
    const pair = simLinkPair(this.clock, {
      bandwidthBytesPerSec: net.bandwidthBytesPerSec,
      latencyMs: net.latencyMs,
      jitterMs: net.jitterMs,
      seed: this.seeds.jitter(n),
      corruptSeed: this.seeds.corrupt(n),
      idleTimeoutMs: s.migration.peerTimeoutMs,
    });
    const startMs = this.clock.nowMs();
    for (const change of net.schedule) {
      this.clock.at(startMs + change.atMs, () => pair.setBandwidth(change.bandwidthBytesPerSec));
    }
    this.#link = pair;
    this.#destination?.start(pair.b);
    return Promise.resolve({ kind: "sim", events: () => [] });
  }

  /** The current link (for the source). */
  get link(): SimLinkPair {
    return this.#link!;
  }

  /** The source's attempt under way (for a destination that resumes once it ended). */
  get sourceAttempt(): SourceAttempt | null {
    return this.#source?.attempt ?? null;
  }

  /** What this run cost the host: wall time of boot and the number of simulated events. */
  wall(): Record<string, unknown> {
    return { bootMs: round3(this.#bootMs ?? 0), simEvents: this.clock.events };
  }

  /** Nothing outside this process to clean up; a file the scenario names is written out. */
  async close(): Promise<null> {
    const t = this.#s.transport;
    const d = this.#destination;
    if (t.kind === "file" && t.path !== null && d instanceof SimFileDestination) {
      await Deno.writeFile(t.path, d.file.bytes());
    }
    return null;
  }

  /** The scenario (for the peers). */
  get scenario(): ResolvedScenario {
    return this.#s;
  }

  /** The guest configuration (for replays). */
  get guest(): GuestConfig {
    return this.#guest;
  }
}

/** The simulated source: the guest's RAM, its stepped vCPU and the source engine. */
class SimSource implements SourcePeer {
  killed = false;
  attempt: SourceAttempt | null = null;
  #w: SimWorld;
  #ram: Ram;
  #dirtyLog: DirtyLog;
  #vcpu: SimVcpu;
  #hints: HintWiring | null;
  #boot: WorldBoot;
  #abort = new AbortController();
  #report: SourceReport | null = null;

  constructor(
    w: SimWorld,
    o: { ram: Ram; dirtyLog: DirtyLog; vcpu: SimVcpu; hints: HintWiring | null; boot: WorldBoot },
  ) {
    this.#w = w;
    this.#ram = o.ram;
    this.#dirtyLog = o.dirtyLog;
    this.#vcpu = o.vcpu;
    this.#hints = o.hints;
    this.#boot = o.boot;
  }

  get alive(): boolean {
    return !this.killed;
  }

  /** Copies the guest's RAM into the world's checkpoint, in one step of the virtual clock. */
  saveCheckpoint(): Promise<void> {
    const pieces = ferryCheckpointPieces(this.#ram.blocks.map((b) => b.bytes));
    const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of pieces) {
      out.set(p, at);
      at += p.length;
    }
    this.#w.checkpointBytes = out;
    return Promise.resolve();
  }

  migrate(_n: number, events: PeerEvents): SourceAttempt {
    const w = this.#w;
    const clock = w.clock;
    this.#abort = new AbortController();
    let said: (o: { outcome: SourceReport["outcome"]; error?: string } | null) => void = () => {};
    const outcome = new Promise<{ outcome: SourceReport["outcome"]; error?: string } | null>(
      (r) => (said = r),
    );
    const pair = w.link;
    const link: Link = this.#boot.byteMarks.length
      ? triggerLink(pair.a, this.#boot.byteMarks, (bytes) => events.bytes(bytes))
      : pair.a;
    const end = (async (): Promise<SourceEnd> => {
      const report = await runSource({
        guest: {
          ram: this.#ram,
          syncDirtyLog: (into) => this.#dirtyLog.syncInto(into),
          stop: () => Promise.resolve(encodeDeviceState({ workload: this.#vcpu.pause()! })),
          cont: () => Promise.resolve(this.#vcpu.resume()),
        },
        link,
        clock,
        config: w.scenario.migration,
        signal: this.#abort.signal,
        hints: this.#hints?.source,
        cpuCostMs: cpuCostPort(w.scenario.sim.cpuCostUs),
        hooks: {
          phase: (phase, round, bytes) => events.phase(phase, round, bytes),
          progress: (record) => events.progress(record),
        },
      });
      if (this.killed) {
        said(null);
        return { report: null, endAtMs: clock.nowMs(), judged: null };
      }
      this.#report = report;
      said({ outcome: report.outcome, ...(report.error ? { error: report.error } : {}) });
      return {
        report,
        endAtMs: report.endAtMs,
        judged: this.#judge(report.outcome !== "completed"),
      };
    })();
    this.attempt = { outcome, end };
    return this.attempt;
  }

  /** Judges the guest as it stands: paused for the instant, as the real source does. */
  #judge(intactCheck: boolean): SourceJudgement {
    const vcpu = this.#vcpu;
    const wasRunning = vcpu.running;
    const state = vcpu.pause();
    const w = this.#w;
    const intact = intactCheck
      ? compareImages(
        { kind: "ram", ram: replayGuest(w.guest, state?.touches ?? 0) },
        { kind: "ram", ram: this.#ram },
      )
      : null;
    const counter = intactCheck && w.scenario.workload.kind === "counter"
      ? checkCounterInvariant(this.#ram)
      : null;
    if (wasRunning) vcpu.resume();
    return {
      image: { kind: "ram", ram: this.#ram },
      counter,
      intact,
      free: intactCheck ? null : state?.free ?? null,
      lied: this.#hints?.driver?.liedBytes() ?? null,
    };
  }

  cont(): Promise<SourceJudgement | null> {
    if (this.killed) return Promise.resolve(null);
    this.#vcpu.resume();
    return Promise.resolve(this.#judge(true));
  }

  quit(): Promise<SourceFinal> {
    const guestRunning = !this.killed && this.#vcpu.running;
    this.#vcpu.stop();
    this.#hints?.source.stop();
    return Promise.resolve({ guestRunning, rssBytesMax: null });
  }

  kill(): void {
    this.killed = true;
    this.#vcpu.stop();
    this.#abort.abort(new Error("The source was killed"));
  }

  holdFor(ms: number): void {
    this.#vcpu.holdUntil(this.#w.clock.nowMs() + ms);
  }

  cancel(): void {
    this.#abort.abort();
  }
}

/** The simulated destination: the destination engine on preallocated RAM, and its vCPU once resumed. */
class SimDestination implements DestinationPeer {
  killed = false;
  #w: SimWorld;
  #ram: Ram;
  #done: Promise<DestinationReport> | null = null;
  #started: (done: Promise<DestinationReport>) => void = () => {};
  #engine: Promise<Promise<DestinationReport>>;
  #state: WorkloadState | null = null;
  #endAtMs: number | null = null;
  #resumeAtMs: number | null = null;
  #vcpu: SimVcpu | null = null;
  #discarded = false;
  #checkpoint: HeldCheckpoint | undefined;

  constructor(w: SimWorld, ram: Ram, checkpoint: HeldCheckpoint | undefined) {
    this.#w = w;
    this.#ram = ram;
    this.#checkpoint = checkpoint;
    this.#engine = new Promise((r) => (this.#started = r));
  }

  /** The link is open: the destination engine starts on its end. */
  start(link: Link): void {
    const s = this.#w.scenario;
    this.#done = runDestination({
      link,
      clock: this.#w.clock,
      maxRamBytes: s.ramBytes,
      checkpoint: this.#checkpoint,
      createRam: (setup) => checkLayout(this.#ram, setup.blocks),
      loadDevice: (bytes) => {
        this.#state = decodeDeviceState(bytes).workload;
      },
    }).then((d) => {
      this.#endAtMs = this.#w.clock.nowMs();
      return d;
    });
    this.#started(this.#done);
  }

  async switchover(
    confirm: ((round: number) => Promise<boolean>) | null,
  ): Promise<DestinationLoaded | null> {
    const d = await (await this.#engine);
    const state = this.#state;
    if (d.outcome !== "completed" || state === null || this.killed) return null;
    let go: boolean;
    if (confirm) go = await confirm(d.rounds);
    else {
      // Unconfirmed: it resumes once the source has ended its attempt, as the handover completes.
      const out = await this.#w.sourceAttempt?.end;
      go = out?.report?.outcome === "completed";
    }
    if (!go || this.killed) {
      this.#discarded = true;
      return null;
    }
    const clock = this.#w.clock;
    this.#resumeAtMs = clock.nowMs();
    const counter = state.config.kind === "counter" ? checkCounterInvariant(this.#ram) : null;
    this.#vcpu = new SimVcpu(this.#ram, new DirtyLog(this.#ram.totalPages), clock);
    this.#vcpu.run(state);
    return { image: { kind: "ram", ram: this.#ram }, counter, resumeAtMs: this.#resumeAtMs };
  }

  async quit(): Promise<DestinationFinal> {
    const d = this.#done ? await this.#done : null;
    this.#checkpoint?.index?.close();
    const guestRunning = !this.killed && (this.#vcpu?.running ?? false);
    const touches = this.#vcpu?.stop()?.touches ?? 0;
    const summary = emptyDestinationSummary(
      this.killed ? "The destination was killed" : d?.error ?? "No source connected",
    );
    if (d) {
      summary.outcome = this.killed ? "failed" : d.outcome;
      if (!this.killed && d.outcome === "completed") delete summary.error;
      summary.firstByteAtMs = d.firstByteAtMs;
      summary.loadedAtMs = d.loadedAtMs;
      summary.receivedBytes = d.receivedBytes;
      summary.rounds = d.rounds;
      summary.decompressMs = d.decompressMs;
      if (d.hash) summary.hash = d.hash;
    }
    summary.resumeAtMs = this.#resumeAtMs;
    summary.touchesAfterResume = this.#vcpu && this.#state ? touches - this.#state.touches : 0;
    if (this.#endAtMs !== null) summary.endAtMs = this.#endAtMs;
    if (this.#discarded) summary.discarded = true;
    return { summary, guestRunning, rssBytesMax: null };
  }

  kill(): void {
    this.killed = true;
    this.#vcpu?.stop();
  }
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

/**
 * The checkpoint a new destination holds (hashDedup): the guest's copy in
 * memory, or the scenario's file, indexed on the virtual clock (no time
 * passes); undefined when the scenario names none.
 */
function heldCheckpoint(w: SimWorld): HeldCheckpoint | undefined {
  const c = w.scenario.checkpoint;
  if (!c || !w.scenario.migration.capabilities.hashDedup) return undefined;
  if (c.source === "guest") {
    const bytes = w.checkpointBytes;
    if (!bytes) {
      return { index: null, reason: "the guest's checkpoint was not saved", indexMs: null };
    }
    return loadCheckpoint(() => memoryAccess(bytes), "ferry", w.clock);
  }
  return loadCheckpoint(() => fileAccess(c.path), c.format, w.clock);
}
