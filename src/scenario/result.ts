/**
 * Builds the result of a run from what the engines and the checker found,
 * the same way in real and simulation mode. Expectations are evaluated here.
 *
 * In real mode every time depends on the machine, so the timings are also
 * kept under `wall`; in simulation mode they are virtual and deterministic,
 * and `wall` holds only what the host machine decided (how long the run took
 * on it), so that two runs of one seed compare byte for byte without it.
 *
 * @example
 * ```ts ignore
 * const result = buildResult(resolved, facts);
 * ```
 * @module
 */
import { hashResult } from "./hash_result.ts";
import type { DestinationSummary } from "../control/protocol.ts";
import type { SourceReport } from "../engine/source.ts";
import { type DigestComparison, evaluateExpectations } from "./checker.ts";
import type { ProgressRecord, Result } from "../contract/types.ts";
import type { ResolvedScenario } from "./validate.ts";

/** What a run found. */
export interface RunFacts {
  source: SourceReport;
  /** False when the source died before it reported: its figures by kind are unknown (null). */
  sourceReported?: boolean;
  destination: DestinationSummary | null;
  /** Completed: destination against source; otherwise: source against a replay of its workload. */
  comparison: DigestComparison | null;
  counter: { ok: boolean; detail: string } | null;
  downtimeMs: number | null;
  sourceGuestRunning: boolean;
  /** Whether the destination guest runs at the end. */
  destinationGuestRunning?: boolean;
  progress: ProgressRecord[];
  /** Figures that depend on the host machine. */
  wall: Record<string, unknown>;
  /** Pages the guest's balloon falsely reported free (null or absent: it never lied). */
  liedPages?: number | null;
  /** Whether the destination resumed the guest (false: discarded, or it died first). */
  destinationResumed?: boolean;
  /** Further result fields (faults, attempts, cleanup...), set before the expectations are judged. */
  extra?: Partial<Result>;
}

/** Assembles the result and evaluates the scenario's expectations. */
export function buildResult(s: ResolvedScenario, f: RunFacts): Result {
  const src = f.source;
  const dst = f.destination;
  const cmp = f.comparison;
  const reported = f.sourceReported ?? true;
  const counter = counterVerdict(f, src.outcome === "completed");
  const counterLiar = counter?.liarPages !== undefined;
  const totalTimeMs = (src.ackAtMs ?? src.endAtMs) - src.startAtMs;
  const setupTimeMs = src.setupDoneAtMs - src.startAtMs;
  const wall: Record<string, unknown> = { ...f.wall };
  if (s.mode === "real") {
    Object.assign(wall, {
      downtimeMs: f.downtimeMs,
      totalTimeMs,
      setupTimeMs,
      progress: f.progress.map((p) => ({
        timeMs: p.timeMs,
        bandwidthBytesPerSec: p.bandwidthBytesPerSec,
        expectedDowntimeMs: p.expectedDowntimeMs,
      })),
      throughputBytesPerSec: totalTimeMs > 0 && reported
        ? (src.bytes.total * 1000) / totalTimeMs
        : null,
    });
    if (src.compression) {
      wall.compression = {
        compressMs: src.compression.compressMs,
        decompressMs: dst?.decompressMs ?? null,
      };
    }
  }
  const compression = src.compression
    ? {
      ...src.compression,
      ...(dst?.decompressMs !== undefined ? { decompressMs: dst.decompressMs } : {}),
    }
    : null;
  const result: Result = {
    scenario: s.name,
    seed: s.seed,
    mode: s.mode,
    outcome: src.outcome,
    ...(src.error
      ? { error: src.error }
      : dst?.error && src.outcome !== "completed"
      ? { error: dst.error }
      : {}),
    memoryEqual: cmp ? cmp.memoryEqual && ((counter?.ok ?? true) || counterLiar) : null,
    mismatchedPages: cmp?.mismatchedPages ?? 0,
    mismatchedAddresses: cmp?.mismatchedAddresses ?? [],
    memoryCheck: src.outcome === "completed"
      ? "destination at resume equals source at stop"
      : "source guest intact: equals a replay of its workload",
    counterInvariant: counter,
    sourceGuestRunning: f.sourceGuestRunning,
    ...(f.destinationGuestRunning !== undefined
      ? { destinationGuestRunning: f.destinationGuestRunning }
      : {}),
    downtimeMs: f.downtimeMs,
    totalTimeMs,
    setupTimeMs,
    iterations: src.iterations,
    rounds: src.rounds,
    converged: src.converged,
    forcedStop: src.forced,
    bytes: reported ? src.bytes : null,
    pages: !reported
      ? null
      : src.hints
      ? { ...src.pages, skipped: src.hints.pagesSkipped }
      : src.pages,
    xbzrle: src.xbzrle ?? null,
    compression,
    progress: f.progress,
    faults: [],
    expectations: [],
    passed: false,
    destination: dst
      ? {
        outcome: dst.outcome,
        error: dst.error ?? null,
        receivedBytes: dst.receivedBytes,
        touchesAfterResume: dst.touchesAfterResume,
        ...(f.destinationResumed !== undefined ? { resumed: f.destinationResumed } : {}),
      }
      : null,
    wall,
    ...f.extra,
  };
  if (src.hints) result.hints = src.hints;
  if (s.migration.capabilities.hashDedup) {
    result.hash = hashResult(src.hash, dst?.hash);
    if (s.mode === "real") {
      wall.hash = {
        sourceHashMs: result.hash.sourceHashMs,
        destinationHashMs: result.hash.destinationHashMs,
        checkpointIndexMs: result.hash.checkpointIndexMs,
      };
    }
  }
  if (cmp?.freePagesExcluded !== undefined) {
    result.freePagesExcluded = cmp.freePagesExcluded;
    result.memoryCheck += ", on the pages the guest holds in use";
  }
  if (f.liedPages != null) result.liedPages = f.liedPages;
  if (cmp?.liarMismatchedPages !== undefined) {
    result.liarMismatchedPages = cmp.liarMismatchedPages;
    result.liarMismatchedAddresses = cmp.liarMismatchedAddresses;
  }
  result.expectations = evaluateExpectations(s.expect, result);
  result.passed = result.expectations.every((e) => e.ok);
  return result;
}

/**
 * The `counter` workload's invariant as the result states it. After a
 * completed migration of a guest whose balloon lied, the invariant also
 * spans the pages it lied about, which the guest gave up itself (they are
 * reported apart, `liarMismatchedPages`): a break there is the guest's own
 * loss, stated in the detail (`liarPages`), and does not make `memoryEqual`
 * false, as a liar's pages do not.
 */
function counterVerdict(
  f: RunFacts,
  completed: boolean,
): { ok: boolean; detail: string; liarPages?: number } | null {
  const c = f.counter;
  const lied = f.liedPages ?? 0;
  const liarDiffers = (f.comparison?.liarMismatchedPages ?? 0) > 0;
  if (!c || c.ok || !completed || lied === 0 || !liarDiffers) return c;
  return {
    ok: false,
    detail:
      `${c.detail}; the guest's balloon lied about ${lied} pages, and the invariant does not hold on what it gave up`,
    liarPages: lied,
  };
}
