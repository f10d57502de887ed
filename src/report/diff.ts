/**
 * Compares two sets of stored runs (a baseline and the current runs) metric
 * by metric: runs are paired by scenario name and mode, each side's median
 * over its runs is taken, and every move beyond its threshold is flagged; a
 * flagged move in the worse direction is a regression. Also resolves the
 * text a user gives as a baseline: a run id, a batch id or a commit.
 *
 * @example
 * ```ts ignore
 * const d = diffRuns(store.list({ commit: "abc123" }), store.list({ batch }), DEFAULT_THRESHOLDS);
 * console.log(d.pairs.filter((p) => p.regressions.length));
 * ```
 * @module
 */
import { judgeMove, METRICS, type Move, summarize, type Threshold } from "./metrics.ts";
import type { ResultsStore, StoredRun } from "./store.ts";

/** The default thresholds, from the metric table. */
export const DEFAULT_THRESHOLDS: Record<string, Threshold | null> = Object.fromEntries(
  METRICS.map((m) => [m.name, m.threshold]),
);

/** One scenario (in one mode) compared between the baseline and the current runs. */
export interface PairDiff {
  scenario: string;
  mode: string;
  baselineIds: number[];
  currentIds: number[];
  /** Every metric's move (medians on each side). */
  moves: Move[];
  flagged: Move[];
  regressions: Move[];
}

/** The comparison of two run sets. */
export interface RunDiff {
  pairs: PairDiff[];
  /** Scenarios (name/mode) with runs on one side only. */
  onlyBaseline: string[];
  onlyCurrent: string[];
  regressed: boolean;
}

/** The key runs are paired by. */
export function runKey(r: StoredRun): string {
  return `${r.scenarioName} (${r.mode})`;
}

/** Compares baseline and current runs, paired by scenario and mode. */
export function diffRuns(
  baseline: StoredRun[],
  current: StoredRun[],
  thresholds: Record<string, Threshold | null> = DEFAULT_THRESHOLDS,
): RunDiff {
  const group = (runs: StoredRun[]) => {
    const m = new Map<string, StoredRun[]>();
    for (const r of runs) m.set(runKey(r), [...(m.get(runKey(r)) ?? []), r]);
    return m;
  };
  const b = group(baseline), c = group(current);
  const pairs: PairDiff[] = [];
  for (const [key, cur] of c) {
    const base = b.get(key);
    if (!base) continue;
    const moves = METRICS.map((m) =>
      judgeMove(
        m.name,
        summarize(base.map((r) => r.metrics[m.name]))?.median ?? null,
        summarize(cur.map((r) => r.metrics[m.name]))?.median ?? null,
        m.name in thresholds ? thresholds[m.name] : m.threshold,
      )
    );
    pairs.push({
      scenario: cur[0].scenarioName,
      mode: cur[0].mode,
      baselineIds: base.map((r) => r.id),
      currentIds: cur.map((r) => r.id),
      moves,
      flagged: moves.filter((m) => m.flagged),
      regressions: moves.filter((m) => m.regression),
    });
  }
  return {
    pairs,
    onlyBaseline: [...b.keys()].filter((k) => !c.has(k)),
    onlyCurrent: [...c.keys()].filter((k) => !b.has(k)),
    regressed: pairs.some((p) => p.regressions.length > 0),
  };
}

/** What a selector named: one run, a batch or a commit, and its runs. */
export interface Selection {
  kind: "run" | "batch" | "commit";
  value: string;
  runs: StoredRun[];
}

/**
 * Resolves a selector: a run id (`42` or `#42`), a batch id, or a commit (a
 * hex prefix of at least 4 digits). Throws RangeError saying what matched
 * nothing or what was ambiguous.
 */
export function selectRuns(store: ResultsStore, text: string): Selection {
  const id = /^#?(\d+)$/.exec(text);
  if (id) {
    const run = store.get(Number(id[1]));
    if (run) return { kind: "run", value: String(run.id), runs: [run] };
    if (!/^[0-9a-f]{4,40}$/i.test(text)) {
      throw new RangeError(`No run has id ${id[1]} in ${store.path}`);
    }
  }
  const batch = store.list({ batch: text }, { withProgress: false });
  if (batch.length) return { kind: "batch", value: text, runs: batch };
  if (/^[0-9a-f]{4,40}$/i.test(text)) {
    const runs = store.list({ commit: text });
    const commits = [...new Set(runs.map((r) => r.commit.commit))];
    if (commits.length > 1) {
      throw new RangeError(
        `Commit prefix ${text} is ambiguous: ${commits.map((c) => c!.slice(0, 12)).join(", ")}`,
      );
    }
    if (runs.length) return { kind: "commit", value: commits[0]!, runs };
  }
  throw new RangeError(`No run id, batch or commit in ${store.path} matches "${text}"`);
}

/**
 * The runs to compare against a baseline when the user named none: for a
 * run, the newest other run of the same scenario and mode; for a batch, the
 * newest other batch of the same suite; for a commit, the runs of the newest
 * other commit.
 */
export function defaultCurrent(store: ResultsStore, baseline: Selection): StoredRun[] {
  const exclude = new Set(baseline.runs.map((r) => r.id));
  if (baseline.kind === "run") {
    const b = baseline.runs[0];
    return store.list({ scenario: b.scenarioName, mode: b.mode, limit: 2 })
      .filter((r) => !exclude.has(r.id)).slice(0, 1);
  }
  if (baseline.kind === "batch") {
    const b = baseline.runs[0];
    const other = store.batches({ suite: b.suite ?? undefined }).find((x) =>
      x.batch !== baseline.value
    );
    return other ? store.list({ batch: other.batch }) : [];
  }
  const newest = store.list({ limit: 500 }).find((r) =>
    r.commit.commit && r.commit.commit !== baseline.value
  );
  return newest ? store.list({ commit: newest.commit.commit! }) : [];
}
