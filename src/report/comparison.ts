/**
 * A comparison: runs grouped into cases, with each metric's median, min and
 * max over the repeats. The reports (Markdown, HTML, JSON) render it; it is
 * built from a fresh `deno task compare` or from runs read back from the
 * results database.
 *
 * @example
 * ```ts ignore
 * const c = buildComparison({ title: "capabilities", ... }, runs);
 * console.log(c.cases[0].stats.totalTimeMs?.median);
 * ```
 * @module
 */
import type { Result } from "../contract/types.ts";
import type { CommitInfo, MachineDescription } from "./machine.ts";
import { extractMetrics, METRICS, summarize, type Summary } from "./metrics.ts";
import type { StoredRun } from "./store.ts";

/** One run of a case: its result, or the harness error that kept it from having one. */
export interface RunRecord {
  /** Row id in the results database (null when not stored). */
  id: number | null;
  /** The label of the case the run belongs to. */
  caseLabel: string;
  /** Which repeat of the case it was, from 0. */
  repeat: number;
  /** The seed the run used. */
  seed: number;
  /** The mode the run ran in. */
  mode: "real" | "sim";
  /** The run's result (null: the harness failed before there was one; see `error`). */
  result: Result | null;
  /** Why there is no result: the harness error, with its stack when it has one. */
  error?: string;
}

/** One case and its runs. */
export interface CaseReport {
  /** The case's label; with " (mode)" appended when the comparison has runs in both modes. */
  label: string;
  /** The mode the case's runs ran in (a case holds runs of one mode). */
  mode: "real" | "sim";
  /** The case's runs, by repeat. */
  runs: RunRecord[];
  /** Each metric over the runs that have a result. */
  stats: Record<string, Summary | null>;
  /** Runs whose expectations all held. */
  passed: number;
  /** Runs the harness could not finish. */
  crashed: number;
}

/** What a comparison is about. */
export interface ComparisonMeta {
  /** The group's or suite's name, or a title given for stored runs. */
  title: string;
  /** One line on what is compared. */
  description: string;
  /** The batch id in the results database, if stored. */
  batch: string | null;
  /** Runs per case (for stored runs: the most any case has). */
  repeat: number;
  /** Cases ran round-robin over repeats (real mode), not one block after another. */
  interleaved: boolean;
  /** The git commit the runs were made with (nulls: not known, or the runs span several). */
  commit: CommitInfo;
  /** The machine the runs were made on (null: not known). */
  machine: MachineDescription | null;
  /** When the comparison was made (stored runs: when the first was stored), as an ISO 8601 string. */
  createdAt: string;
}

/** A comparison, ready to render. */
export interface Comparison extends ComparisonMeta {
  /** Every mode the figures were measured in. */
  modes: ("real" | "sim")[];
  /** Every seed the runs used, ascending, once each. */
  seeds: number[];
  /** The cases, in the group's order (then by first appearance). */
  cases: CaseReport[];
}

/** Groups runs into cases (in the order of `caseOrder`, then first appearance) and summarizes them. */
export function buildComparison(
  meta: ComparisonMeta,
  runs: RunRecord[],
  caseOrder: string[] = [],
): Comparison {
  const byKey = new Map<string, RunRecord[]>();
  for (const label of caseOrder) {
    for (const r of runs) if (r.caseLabel === label) push(byKey, caseKey(r), r);
  }
  for (const r of runs) if (!caseOrder.includes(r.caseLabel)) push(byKey, caseKey(r), r);
  const modes = [...new Set(runs.map((r) => r.mode))].sort();
  const cases: CaseReport[] = [...byKey.values()].map((rs) => {
    rs.sort((a, b) => a.repeat - b.repeat);
    const metrics = rs.filter((r) => r.result).map((r) => extractMetrics(r.result!));
    const stats: Record<string, Summary | null> = {};
    for (const m of METRICS) stats[m.name] = summarize(metrics.map((x) => x[m.name]));
    const label = modes.length > 1 ? `${rs[0].caseLabel} (${rs[0].mode})` : rs[0].caseLabel;
    return {
      label,
      mode: rs[0].mode,
      runs: rs,
      stats,
      passed: rs.filter((r) => r.result?.passed).length,
      crashed: rs.filter((r) => !r.result).length,
    };
  });
  return {
    ...meta,
    modes,
    seeds: [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b),
    cases,
  };
}

function caseKey(r: RunRecord): string {
  return `${r.caseLabel}\u0000${r.mode}`;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V) {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** The run whose total time is the median of its case (the one the time plot draws). */
export function medianRun(c: CaseReport): RunRecord | undefined {
  const done = c.runs.filter((r) => r.result);
  if (!done.length) return undefined;
  const sorted = [...done].sort((a, b) => a.result!.totalTimeMs - b.result!.totalTimeMs);
  return sorted[(sorted.length - 1) >> 1];
}

/** Rebuilds a comparison from stored runs (with their progress), one case per label or scenario. */
export function comparisonFromStore(runs: StoredRun[], title?: string): Comparison {
  const ordered = [...runs].sort((a, b) => a.id - b.id);
  const suites = [...new Set(ordered.map((r) => r.suite).filter((s) => s))];
  const batches = [...new Set(ordered.map((r) => r.batch))];
  const commits = [...new Set(ordered.map((r) => r.commit.commit))];
  const first = ordered[0];
  const records: RunRecord[] = ordered.map((r) => ({
    id: r.id,
    caseLabel: r.caseLabel ?? r.scenarioName,
    repeat: r.repeat,
    seed: r.seed,
    mode: r.mode,
    result: r.result,
  }));
  const repeat = Math.max(1, ...count(records.map((r) => `${r.caseLabel}\u0000${r.mode}`)));
  return buildComparison({
    title: title ?? (suites.length === 1 ? suites[0]! : "stored runs"),
    description: `${ordered.length} stored runs, ids ${first?.id ?? "-"}..${
      ordered.at(-1)?.id ?? "-"
    }`,
    batch: batches.length === 1 ? batches[0] : null,
    repeat,
    interleaved: ordered.every((r) => r.kind === "compare"),
    commit: commits.length === 1 && first ? first.commit : { commit: null, dirty: null },
    machine: first?.machine ?? null,
    createdAt: first?.createdAt ?? new Date().toISOString(),
  }, records);
}

function count(keys: string[]): number[] {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return [...m.values()];
}
