/**
 * The harness: one module owns a run, in both modes. It boots the source
 * guest and a destination through a {@link World}, lets the guest warm up,
 * migrates (and, with `retry`, migrates again to a fresh destination after a
 * failure), fires the scenario's faults through one {@link FaultDriver},
 * confirms the switchover when faults or retry are in play, judges memory
 * and downtime, and builds the result. Real and simulated runs differ only
 * in the world they pass in.
 *
 * The confirmed switchover (as libvirt does it): the destination holds the
 * loaded guest at `resume` and resumes it only once the source has
 * completed; a destination that never resumes it makes the harness resume
 * the guest on the source (`cont`), so nothing is lost and two copies never
 * run.
 *
 * Judging: a completed migration compares the destination's memory at
 * resume with the source's at stop (pages the guest held free do not count;
 * pages its balloon lied about are reported apart); a failed one checks that
 * the source guest is intact, against a replay of its workload. Downtime is
 * the source's stop to the destination's resume, on the world's clock.
 *
 * @example
 * ```ts ignore
 * import { runHarness } from "./harness.ts";
 * const result = await runHarness(resolved, world, { log: console.error });
 * console.log(result.outcome, result.memoryEqual, result.downtimeMs);
 * ```
 * @module
 */
import type { AttemptRecord, ProgressRecord, Result } from "../contract/types.ts";
import type { DigestComparison } from "../contract/types.ts";
import { type AttemptFacts, FaultDriver } from "../faults/driver.ts";
import type { SourceReport } from "../engine/source.ts";
import { emptyDestinationSummary } from "../control/protocol.ts";
import { compareImages, countBits } from "./checker.ts";
import { buildResult } from "./result.ts";
import type { ResolvedScenario } from "./validate.ts";
import type {
  AttemptLink,
  DestinationFinal,
  DestinationLoaded,
  DestinationPeer,
  PeerEvents,
  SourceEnd,
  SourceFinal,
  SourceJudgement,
  World,
  WorldCleanup,
} from "./world.ts";

/** Harness options. */
export interface HarnessOptions {
  /** Receives one line per notable event (phases, faults, peers' errors). */
  log?: (line: string) => void;
  /** Receives each progress record as it arrives. */
  onProgress?: (record: ProgressRecord) => void;
}

/** One attempt, as it ended. */
interface AttemptEnd {
  n: number;
  destination: DestinationPeer;
  link: AttemptLink;
  startAtMs: number;
  source: SourceEnd;
  loaded: DestinationLoaded | null;
  /** Completed: destination against source. */
  comparison: DigestComparison | null;
  /** The source completed, but the destination never resumed the guest. */
  switchoverFailed: boolean;
  /** After a failed switchover: the source guest judged again once resumed. */
  contJudged: SourceJudgement | null;
  final: DestinationFinal | null;
}

/** Runs a resolved scenario in `world` and returns its result. */
export async function runHarness(
  s: ResolvedScenario,
  world: World,
  options: HarnessOptions = {},
): Promise<Result> {
  const log = options.log ?? (() => {});
  const clock = world.clock;
  // With faults (or retry) the harness confirms the switchover.
  const confirm = s.faults.length > 0 || s.retry;
  const progress: ProgressRecord[] = [];
  const faults = s.faults.length
    ? new FaultDriver(s.faults, { clock, targets: world.faultTargets, log })
    : null;
  let finish: ((cleanup: WorldCleanup | null) => Result) | null = null;
  let failure: unknown = null;
  try {
    finish = await world.run(async () => {
      const t0 = clock.nowMs();
      // A checkpoint of this guest (hashDedup) is taken during the warm-up, before the destination starts.
      const guestCheckpoint = s.checkpoint?.source === "guest" ? s.checkpoint : null;
      let first: DestinationPeer | null = guestCheckpoint
        ? null
        : await world.startDestination(1, confirm);
      const source = await world.bootSource({
        sourceHolds: faults?.sourceHolds ?? [],
        byteMarks: faults?.byteMarks ?? [],
        log,
      });
      log(`guest running; warming up for ${s.warmupMs} ms`);
      if (guestCheckpoint) {
        const bootAt = clock.nowMs();
        await clock.sleep(guestCheckpoint.atMs);
        // A copy that cannot be saved is not a failure: the destination holds none and says so (hash.fallback).
        await source.saveCheckpoint().then(
          () => log(`checkpoint of the guest saved at ${guestCheckpoint.atMs} ms`),
          (e) => log(`checkpoint of the guest not saved: ${(e as Error).message}`),
        );
        first = await world.startDestination(1, confirm);
        const left = s.warmupMs - (clock.nowMs() - bootAt);
        if (left > 0) await clock.sleep(left);
      } else await clock.sleep(s.warmupMs);
      let destination: DestinationPeer = first!;
      const events: PeerEvents = {
        phase: async (phase, round, bytes) => {
          log(`source: ${phase}${phase === "round" ? ` ${round}` : ""}`);
          await faults?.phase(phase, round, { bytes });
        },
        bytes: async (bytes) => {
          await faults?.bytes(bytes);
        },
        progress: (record) => {
          progress.push(record);
          options.onProgress?.(record);
          faults?.noteBytes(record.transferredBytes);
        },
      };

      const attempt = async (n: number, dst: DestinationPeer): Promise<AttemptEnd> => {
        const link = await world.openLink(n);
        if (faults) {
          faults.attempt = n;
          faults.start();
        }
        const startAtMs = clock.nowMs();
        const run = source.migrate(n, events);
        const loading = dst.switchover(
          confirm
            ? async (round) => {
              const out = await run.outcome;
              const go = out?.outcome === "completed";
              if (go && faults?.resumePending) {
                // Resume faults fire after the handover: the source has judged its guest.
                const end = await run.end;
                await faults.phase("resume", round, { bytes: end.report?.bytes.total ?? 0 });
              }
              if (dst.killed) return false;
              if (!go) log("destination: discarded, the source did not complete");
              return go;
            }
            : null,
        );
        const end = await run.end;
        const completed = end.report?.outcome === "completed";
        // The destination resumes once the source completed: judge at that instant.
        const loaded = completed ? await loading : null;
        const judged = end.judged;
        const comparison = loaded && judged
          ? compareImages(judged.image, loaded.image, { free: judged.free, lied: judged.lied })
          : null;
        const switchoverFailed = completed && loaded === null;
        let contJudged: SourceJudgement | null = null;
        if (switchoverFailed && source.alive) {
          log("switchover failed: resuming the source guest");
          contJudged = await source.cont();
        }
        return {
          n,
          destination: dst,
          link,
          startAtMs,
          source: end,
          loaded,
          comparison,
          switchoverFailed,
          contJudged,
          final: null,
        };
      };

      const ends: AttemptEnd[] = [];
      for (let n = 1;; n++) {
        const end = await attempt(n, destination);
        ends.push(end);
        const failed = end.source.report?.outcome === "failed" || end.switchoverFailed ||
          end.source.report === null;
        if (!(failed && s.retry && n === 1 && source.alive)) break;
        log("retry: starting a fresh destination");
        await faults?.settle();
        end.final = await destination.quit();
        destination = await world.startDestination(n + 1, confirm);
      }
      faults?.close();
      await faults?.settle();
      const last = ends.at(-1)!;
      if (last.loaded) await clock.sleep(s.settleMs);
      const [srcFinal, dstFinal] = await Promise.all([source.quit(), destination.quit()]);
      last.final = dstFinal;
      const runMs = clock.nowMs() - t0;
      return (cleanup: WorldCleanup | null) =>
        collect(s, {
          ends,
          srcFinal,
          sourceKilled: source.killed,
          progress,
          faults,
          t0: ends[0].startAtMs,
          cleanup,
          wall: { ...world.wall(), runnerMs: runMs },
        });
    });
  } catch (e) {
    failure = e;
  }
  faults?.close();
  const cleanup = await world.close();
  if (!finish) throw failure;
  return finish(cleanup);
}

interface Collected {
  ends: AttemptEnd[];
  srcFinal: SourceFinal;
  sourceKilled: boolean;
  progress: ProgressRecord[];
  faults: FaultDriver | null;
  /** World clock at the start of the first attempt. */
  t0: number;
  cleanup: WorldCleanup | null;
  wall: Record<string, unknown>;
}

/** A destination that sent no summary (killed, or gone). */
function lostSummary(e: AttemptEnd): DestinationFinal {
  return {
    summary: emptyDestinationSummary(
      e.destination.killed
        ? "The destination process was killed"
        : "The destination sent no result",
    ),
    guestRunning: false,
    rssBytesMax: null,
  };
}

/** What became of the source guest in an attempt, in words. */
function sourceGuestState(e: AttemptEnd, killed: boolean): string {
  if (e.source.report?.outcome === "completed" && !e.switchoverFailed) {
    return "handed over to the destination";
  }
  const judged = e.contJudged ?? e.source.judged;
  if (!judged) return killed ? "lost: it died with the source process" : "unknown";
  const intact = judged.intact;
  if (!intact) return "running";
  return intact.memoryEqual
    ? "kept running, intact (equal to a replay of its workload)"
    : `kept running, NOT intact: ${intact.mismatchedPages} pages differ from a replay`;
}

function switchoverError(e: AttemptEnd, sourceKilled: boolean): string {
  const d = e.final?.summary;
  return `The destination did not resume the guest (${
    e.destination.killed ? "its process was killed" : d?.error ?? "it sent no digest"
  }); ${sourceKilled ? "the source is gone too" : "the source guest was resumed"}`;
}

/** Why a source that died sent no report. */
function lostSourceError(killed: boolean): string {
  return killed
    ? "The source process was killed: the guest died with it"
    : "The source process died: the guest died with it";
}

/** The report of a source that died before it could send one: only what the harness saw. */
function lostSourceReport(
  e: AttemptEnd,
  killed: boolean,
  progress: ProgressRecord[],
): SourceReport {
  return {
    outcome: "failed",
    error: lostSourceError(killed),
    startAtMs: e.startAtMs,
    setupDoneAtMs: e.startAtMs,
    stopAtMs: null,
    ackAtMs: null,
    endAtMs: e.source.endAtMs,
    iterations: progress.length,
    rounds: progress.at(-1)?.round ?? 0,
    converged: false,
    forced: false,
    // Never reported: buildResult leaves bytes and pages by kind out (null).
    bytes: { total: 0, normal: 0, zero: 0 },
    pages: { total: 0, normal: 0, zero: 0 },
    progress,
    guestRunning: false,
  };
}

function collect(s: ResolvedScenario, c: Collected): Result {
  const last = c.ends.at(-1)!;
  const reported = last.source.report !== null;
  const src = last.source.report ??
    lostSourceReport(last, c.sourceKilled, c.progress.filter((p) => p.timeMs >= 0));
  const finals = c.ends.map((e) => e.final ?? lostSummary(e));
  const dstFinal = finals.at(-1)!;
  const dst = last.final ? dstFinal.summary : lostSummary(last).summary;
  const completed = src.outcome === "completed" && !last.switchoverFailed;
  const judged = last.contJudged ?? last.source.judged;
  const comparison = completed ? last.comparison : judged?.intact ?? null;
  const downtimeMs = completed && src.stopAtMs !== null && last.loaded
    ? last.loaded.resumeAtMs - src.stopAtMs
    : null;
  const report: SourceReport = last.switchoverFailed
    ? { ...src, outcome: "failed", error: switchoverError(last, c.sourceKilled) }
    : src;
  const guestLost = c.sourceKilled && !completed;
  const attempts: AttemptRecord[] = c.ends.map((e, i) => {
    const d = finals[i].summary;
    const failedOver = e.source.report?.outcome === "completed" && e.switchoverFailed;
    const outcome = failedOver ? "failed" as const : e.source.report?.outcome ?? "failed";
    const error = failedOver
      ? switchoverError(e, c.sourceKilled)
      : e.source.report
      ? e.source.report.error
      : lostSourceError(c.sourceKilled);
    return {
      attempt: e.n,
      outcome,
      ...(error ? { error } : {}),
      destinationOutcome: d.outcome,
      destinationError: d.error ?? null,
      destinationResumed: e.loaded !== null,
    };
  });
  const faultRecords = c.faults?.records(c.ends.map((e, i): AttemptFacts => ({
    attempt: e.n,
    startAtMs: e.startAtMs,
    endAtMs: e.source.endAtMs,
    outcome: attempts[i].outcome,
    error: i === c.ends.length - 1 ? report.error : attempts[i].error,
    sourceOutcome: e.source.report?.outcome ?? "failed",
    destinationOutcome: attempts[i].destinationOutcome,
    destinationError: attempts[i].destinationError,
    destinationResumed: attempts[i].destinationResumed,
    destinationEndAtMs: finals[i].summary.endAtMs ?? null,
    sourceGuest: sourceGuestState(e, c.sourceKilled && i === c.ends.length - 1),
    linkEvents: e.link.events(),
  }))) ?? [];
  const lied = last.source.judged?.lied ?? null;
  return buildResult(s, {
    source: report,
    sourceReported: reported,
    destination: dst,
    comparison,
    counter: completed ? last.loaded?.counter ?? null : judged?.counter ?? null,
    downtimeMs,
    sourceGuestRunning: c.srcFinal.guestRunning,
    destinationGuestRunning: dstFinal.guestRunning && last.final !== null,
    progress: src.progress.length ? src.progress : c.progress,
    destinationResumed: last.loaded !== null,
    liedPages: lied ? countBits(lied) : null,
    extra: {
      faults: faultRecords,
      ...(c.faults ? { faultsNotFired: c.faults.notFired() } : {}),
      guestLost,
      attempts,
      network: {
        link: last.link.kind,
        events: c.ends.flatMap((e) => e.link.events()).map((e) => ({
          atMs: Math.round((e.atMs - c.t0) * 10) / 10,
          what: e.what,
        })),
      },
      ...(c.cleanup ? { cleanup: c.cleanup } : {}),
      // A file transport: saved, then restored (docs/mapped_ram.md).
      ...(s.transport.kind === "file" ? { file: dstFinal.file ?? null } : {}),
    },
    wall: {
      ...c.wall,
      rssBytesMax: { source: c.srcFinal.rssBytesMax, destination: dstFinal.rssBytesMax },
    },
  });
}
