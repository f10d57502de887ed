/**
 * The ports between the harness and a world. The harness ({@link runHarness}
 * in `harness.ts`) owns a run: attempts and retry, the confirmed switchover,
 * faults, judging memory and downtime, the result. A world supplies what
 * differs between real and simulated runs, and nothing else: a clock, a
 * source peer with its guest, destination peers, the link of each attempt,
 * and what the faults act on.
 *
 * With a file transport (`migration.transport.kind: "file"`, docs/mapped_ram.md)
 * the run's shape is save, then restore, and the ports carry it unchanged in
 * meaning: the source's link ends in the file sink, which writes the file as
 * the stream comes (rounds included); the destination of the attempt is the
 * restore step, whose `switchover` waits for the file to be whole and the
 * source to have completed, restores the file into a fresh guest and resumes
 * it, and whose `quit` reports the file's figures (`DestinationFinal.file`).
 *
 * Real mode (`real_world.ts`) spawns peer processes and talks to them over
 * control connections; simulation (`sim_world.ts`) runs the same engine in
 * this process on a virtual clock. Every time a world reports is on the
 * world's clock (the runner's, for real peers: each peer's clock offset is
 * taken out before it reaches the harness).
 *
 * @example
 * ```ts ignore
 * import type { World } from "./world.ts";
 * async function warmUp(world: World, ms: number) {
 *   await world.clock.sleep(ms);
 * }
 * ```
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { FaultPhase, FileFigures, ProgressRecord } from "../contract/types.ts";
import type { DigestComparison } from "../contract/types.ts";
import type { SourceReport } from "../engine/source.ts";
import type { DestinationSummary } from "../control/protocol.ts";
import type { FaultTargets } from "../faults/inject.ts";
import type { PageImage } from "./checker.ts";

/** What a peer tells the harness while it migrates; a peer awaits each call before it goes on. */
export interface PeerEvents {
  /** The source begins a phase (`bytes`: its stream offset then); faults at that phase fire here. */
  phase(phase: FaultPhase, round: number, bytes: number): Promise<void>;
  /** The source's stream reached one of the world's byte marks; faults at that offset fire here. */
  bytes(bytes: number): Promise<void>;
  /** One record per dirty-log sync. */
  progress(record: ProgressRecord): void;
}

/** How the source judged its own guest once a migration attempt ended. */
export interface SourceJudgement {
  /** The source's memory: after a completed migration, as it stood at stop. */
  image: PageImage;
  /** The `counter` workload's invariant on that memory (null for other workloads). */
  counter: { ok: boolean; detail: string } | null;
  /** After a failure: the guest against a replay of its workload (it must be intact). */
  intact: DigestComparison | null;
  /** The guest's free-page view at stop (bit per page): its pages do not count. */
  free: Uint8Array | null;
  /** Pages the guest's balloon falsely reported free (bit per page). */
  lied: Uint8Array | null;
}

/** How a source's migration attempt ended. */
export interface SourceEnd {
  /** The source's report; null when the source died before it could send one. */
  report: SourceReport | null;
  /** When the attempt ended, on the world's clock (the source's own word, or when it was seen dead). */
  endAtMs: number;
  /** Null when the source died with its guest. */
  judged: SourceJudgement | null;
}

/** A migration attempt under way on the source. */
export interface SourceAttempt {
  /** The source's outcome as soon as it knows it; null when the source died first. */
  outcome: Promise<{ outcome: SourceReport["outcome"]; error?: string } | null>;
  /** The whole end, once the source has judged its guest. Never rejects. */
  end: Promise<SourceEnd>;
}

/** The source peer: the running guest and the source engine. */
export interface SourcePeer {
  /** Starts migration attempt `n` over the world's current link; the peer reports through `events`. */
  migrate(n: number, events: PeerEvents): SourceAttempt;
  /**
   * Resumes the guest on the source after a switchover that failed (the
   * destination never resumed it); resolves with the guest judged again
   * (intact against a replay), or null when the source is gone.
   */
  cont(): Promise<SourceJudgement | null>;
  /** Ends the source; resolves with what it knows at the end. Never rejects. */
  quit(): Promise<SourceFinal>;
  /**
   * Saves a Ferry checkpoint of the guest's RAM as it stands, the guest
   * paused meanwhile (`destination.checkpoint` with source "guest"); the
   * world hands it to every destination it starts afterwards (and removes
   * it at close). Rejects when it could not be saved.
   */
  saveCheckpoint(): Promise<void>;
  /** Killed by a fault. */
  readonly killed: boolean;
  /** Whether the source can still take another attempt. */
  readonly alive: boolean;
}

/** What the source knows at the end. */
export interface SourceFinal {
  /** Whether its guest runs at the end (false: stopped, handed over, or died). */
  guestRunning: boolean;
  /** Peak resident memory of its process in bytes (null: not measured). */
  rssBytesMax: number | null;
}

/** A destination's memory at resume, taken before its guest ran. */
export interface DestinationLoaded {
  image: PageImage;
  counter: { ok: boolean; detail: string } | null;
  /** When its guest resumed, on the world's clock (the lab's own digest time taken out). */
  resumeAtMs: number;
}

/** A destination peer, fresh for each attempt. */
export interface DestinationPeer {
  /**
   * Waits for the destination to load the guest and resume it. `confirm` is
   * null when it resumes on its own once it has loaded; otherwise it holds
   * the loaded guest and resumes only if `confirm` resolves true (the
   * confirmed switchover), and discards it otherwise. Resolves null when it
   * failed, died, or discarded the guest. Never rejects.
   *
   * The memory it resolves with is taken before the guest runs; a world
   * whose memory is live (the simulator) resolves at the very instant it
   * resumes, once the source has ended its attempt, so that the harness
   * judges before either guest runs again.
   */
  switchover(
    confirm: ((round: number) => Promise<boolean>) | null,
  ): Promise<DestinationLoaded | null>;
  /** Ends the destination; resolves with its summary. Never rejects. */
  quit(): Promise<DestinationFinal>;
  /** Killed by a fault. */
  readonly killed: boolean;
}

/** What a destination knows at the end. */
export interface DestinationFinal {
  summary: DestinationSummary;
  /** Whether its guest runs at the end. */
  guestRunning: boolean;
  rssBytesMax: number | null;
  /**
   * A file transport's figures (the save's, and the restore's); absent
   * without a file transport.
   */
  file?: FileFigures | null;
}

/** The link of one attempt, as the world built it. */
export interface AttemptLink {
  /** What carried it: the peers directly, the shaping proxy, the kernel, or the simulator. */
  kind: "direct" | "proxy" | "kernel" | "sim";
  /** What the link did (shaping changes, cuts), on the world's clock. */
  events(): { atMs: number; what: string }[];
}

/** Options the harness gives a world when it boots the run. */
export interface WorldBoot {
  /** Phases at which the source waits for the harness (faults fire there). */
  sourceHolds: FaultPhase[];
  /** Stream offsets at which the source waits for the harness. */
  byteMarks: number[];
  log(line: string): void;
}

/** A world: what real and simulated runs do differently. */
export interface World {
  /** The run's clock. */
  readonly clock: Clock;
  /** What faults act on: the current attempt's link and peers. */
  readonly faultTargets: FaultTargets;
  /** Runs `main` in the world (the simulator runs it on its virtual clock). */
  run<T>(main: () => Promise<T>): Promise<T>;
  /** Boots the source guest; resolves once it runs. */
  bootSource(boot: WorldBoot): Promise<SourcePeer>;
  /** Starts a fresh destination for attempt `n`; resolves once it listens. */
  startDestination(n: number, confirm: boolean): Promise<DestinationPeer>;
  /** Builds the link of attempt `n` to the latest destination (shaped as the scenario says). */
  openLink(n: number): Promise<AttemptLink>;
  /** Figures that depend on the machine, for the result's `wall`. */
  wall(): Record<string, unknown>;
  /** Stops everything the world started; reports what was left behind. Never rejects. */
  close(): Promise<WorldCleanup | null>;
}

/** What a real run left behind after cleaning up (all empty when clean). */
export interface WorldCleanup {
  processesLeft: number[];
  /** Peers or files left on other hosts (`hosts`), as `host: what`; absent when none. */
  remoteLeft?: string[];
  tempFilesLeft: string[];
  namespacesLeft: string[];
}
