/**
 * CI regression suites: a list of scenarios and the thresholds each must
 * hold, as data in `ci/`.
 *
 * ```json
 * {
 *   "name": "quick",
 *   "mode": "real",
 *   "repeat": 1,
 *   "againstBaseline": { "totalTimeMs": "100%,200", "bytesTotal": "10%,256KiB" },
 *   "scenarios": [
 *     {
 *       "scenario": { "name": "idle-16m", "guest": { "ram": "16MiB" } },
 *       "set": { "guest.workload.kind": "idle" },
 *       "expect": { "memoryEqual": true, "downtimeMsMax": 300, "bytesMax": 20000000 },
 *       "againstBaseline": { "downtimeMs": "200%,50" }
 *     }
 *   ]
 * }
 * ```
 *
 * `expect` holds absolute thresholds and is merged into the scenario's own
 * `expect` (the checker judges it: outcome, memory equal, downtime, bytes,
 * total time). `againstBaseline` allows each metric a move of
 * `max(pct % of the baseline, abs)` in the worse direction against a stored
 * baseline (an entry's own values override the suite's; `"off"` drops one).
 * The baseline is the newest earlier batch of the same suite and mode in the
 * results database whose runs all passed, or the run, batch or commit given
 * with `--baseline`; with none, the relative checks are skipped, not failed.
 *
 * @example
 * ```ts ignore
 * const suite = await loadSuite("quick");
 * const report = await runSuite(suite, { store });
 * console.log(report.passed);
 * ```
 * @module
 */
import type { Scenario } from "../contract/types.ts";
import type { Comparison } from "./comparison.ts";
import { type CompareOptions, runGroup } from "./compare.ts";
import type { Group } from "./group_cases.ts";
import { applySet, baseName, loadBase, loadDataFile, readHeader, ROOT } from "./data_file.ts";
import {
  judgeMove,
  metric,
  type Move,
  parseThreshold,
  summarize,
  type Threshold,
} from "./metrics.ts";
import type { ResultsStore, StoredRun } from "./store.ts";

/** One scenario of a suite, with its thresholds against the baseline. */
export interface SuiteEntry {
  label: string;
  scenario: Scenario;
  againstBaseline: Record<string, Threshold>;
}

/** A suite, resolved. */
export interface Suite {
  name: string;
  description: string;
  path: string;
  mode?: "real" | "sim";
  repeat: number;
  entries: SuiteEntry[];
}

/** Folder searched for suite names. */
export const SUITE_FOLDERS = [new URL("ci/", ROOT)];

const SUITE_KEYS = new Set([
  "name",
  "description",
  "mode",
  "repeat",
  "seed",
  "againstBaseline",
  "scenarios",
]);
const ENTRY_KEYS = new Set(["scenario", "set", "expect", "againstBaseline"]);

/** Loads a suite by name (`ci/NAME.json` or `ci/NAME.ts` exporting `suite`) or file. */
export async function loadSuite(nameOrFile: string): Promise<Suite> {
  const { value, path } = await loadDataFile(nameOrFile, {
    what: "Suite",
    folders: SUITE_FOLDERS,
    exportName: "suite",
  });
  return await resolveSuite(value, { path, fallbackName: baseName(path) });
}

/** Resolves a suite definition. Throws TypeError listing every problem with its field. */
export async function resolveSuite(
  def: unknown,
  options: { path: string; fallbackName?: string },
): Promise<Suite> {
  const { d, header, errors, fail } = readHeader(def, {
    what: "suite",
    keys: SUITE_KEYS,
    ...options,
  });
  const suiteThresholds = parseThresholdMap(d.againstBaseline, "againstBaseline", errors);
  const entries: SuiteEntry[] = [];
  if (!Array.isArray(d.scenarios) || d.scenarios.length === 0) {
    errors.push("scenarios: must be a non-empty list");
  } else {
    for (const [i, e] of d.scenarios.entries()) {
      const where = `scenarios[${i}]`;
      if (typeof e !== "object" || e === null || Array.isArray(e)) {
        errors.push(`${where}: must be an object with a scenario`);
        continue;
      }
      const entry = e as Record<string, unknown>;
      for (const k of Object.keys(entry)) {
        if (!ENTRY_KEYS.has(k)) errors.push(`${where}.${k}: unknown field`);
      }
      let scenario: Scenario;
      try {
        scenario = await loadBase(entry.scenario, `${where}.scenario`);
      } catch (err) {
        errors.push((err as Error).message);
        continue;
      }
      errors.push(...applySet(scenario, entry.set, `${where}.set`));
      if (entry.expect !== undefined) {
        if (
          typeof entry.expect !== "object" || entry.expect === null || Array.isArray(entry.expect)
        ) {
          errors.push(`${where}.expect: must be an object`);
        } else scenario.expect = { ...scenario.expect, ...entry.expect as object };
      }
      if (header.seed !== undefined) scenario.seed = header.seed;
      const own = parseThresholdMap(entry.againstBaseline, `${where}.againstBaseline`, errors);
      const merged: Record<string, Threshold | null> = { ...suiteThresholds, ...own };
      const againstBaseline: Record<string, Threshold> = {};
      for (const [k, v] of Object.entries(merged)) if (v) againstBaseline[k] = v;
      if (entries.some((x) => x.label === scenario.name)) {
        errors.push(
          `${where}: two scenarios are named "${scenario.name}" (names pair runs with the baseline)`,
        );
      }
      entries.push({ label: scenario.name, scenario, againstBaseline });
    }
  }
  if (errors.length) throw fail();
  return { ...header, path: options.path, entries };
}

function parseThresholdMap(
  v: unknown,
  where: string,
  errors: string[],
): Record<string, Threshold | null> {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    errors.push(`${where}: must be an object of metric: threshold`);
    return {};
  }
  const out: Record<string, Threshold | null> = {};
  for (const [k, t] of Object.entries(v)) {
    try {
      metric(k);
      out[k] = t === "off" ? null : parseThreshold(t, k);
    } catch (e) {
      errors.push(`${where}.${k}: ${(e as Error).message}`);
    }
  }
  return out;
}

/** One check of a suite's scenario. */
export interface Check {
  name: string;
  ok: boolean;
  /** Not judged (no baseline). */
  skipped?: boolean;
  detail: string;
}

/** A scenario's verdict. */
export interface Verdict {
  label: string;
  mode: "real" | "sim";
  checks: Check[];
  passed: boolean;
  /** Sum of the runs' wall time on the runner, in seconds (for JUnit). */
  seconds: number;
  /** Moves against the baseline beyond their threshold in the better direction (informational). */
  improvements: Move[];
}

/** A suite's outcome. */
export interface SuiteReport {
  suite: string;
  comparison: Comparison;
  baseline: { what: string; runs: number } | null;
  verdicts: Verdict[];
  passed: boolean;
  crashed: boolean;
}

/** A suite as a comparison group: one case per scenario. */
export function suiteAsGroup(suite: Suite): Group {
  const { entries, ...rest } = suite;
  return { ...rest, cases: entries.map((e) => ({ label: e.label, scenario: e.scenario })) };
}

/** Runs a suite (interleaved, stored as kind "ci") and judges it against the baseline runs given. */
export async function runSuite(
  suite: Suite,
  options: Omit<CompareOptions, "kind" | "store"> & {
    store?: ResultsStore | null;
    baseline?: { what: string; runs: StoredRun[] } | null;
  } = {},
): Promise<SuiteReport> {
  const comparison = await runGroup(suiteAsGroup(suite), { ...options, kind: "ci" });
  return judgeSuite(suite, comparison, options.baseline ?? null);
}

/** Judges a suite's comparison: every run's expectations, and each metric's median against the baseline. */
export function judgeSuite(
  suite: Suite,
  comparison: Comparison,
  baseline: { what: string; runs: StoredRun[] } | null,
): SuiteReport {
  const verdicts: Verdict[] = comparison.cases.map((k) => {
    const entry = suite.entries.find((e) => e.label === k.runs[0].caseLabel)!;
    const checks: Check[] = [];
    for (const r of k.runs) {
      const tag = k.runs.length > 1 ? ` (repeat ${r.repeat})` : "";
      if (!r.result) {
        checks.push({ name: `harness${tag}`, ok: false, detail: (r.error ?? "").split("\n")[0] });
        continue;
      }
      for (const e of r.result.expectations) {
        checks.push({ name: `${e.name}${tag}`, ok: e.ok, detail: e.detail });
      }
    }
    const improvements: Move[] = [];
    const base = baseline?.runs.filter((b) =>
      b.scenarioName === entry.scenario.name && b.mode === k.mode
    ) ?? [];
    for (const [name, t] of Object.entries(entry.againstBaseline)) {
      const label = `${name} vs baseline`;
      if (!base.length) {
        checks.push({
          name: label,
          ok: true,
          skipped: true,
          detail: baseline
            ? `the baseline (${baseline.what}) has no run of this scenario in ${k.mode} mode`
            : "no baseline stored yet",
        });
        continue;
      }
      const move = judgeMove(
        name,
        summarize(base.map((b) => b.metrics[name]))?.median ?? null,
        k.stats[name]?.median ?? null,
        t,
      );
      if (move.flagged && !move.regression) improvements.push(move);
      checks.push({
        name: label,
        ok: !move.regression,
        detail: `${move.detail} (baseline ${baseline!.what})`,
      });
    }
    const seconds = k.runs.reduce((a, r) => a + Number(r.result?.wall?.runnerMs ?? 0) / 1000, 0);
    return {
      label: k.label,
      mode: k.mode,
      checks,
      passed: checks.every((c) => c.ok),
      seconds,
      improvements,
    };
  });
  return {
    suite: suite.name,
    comparison,
    baseline: baseline ? { what: baseline.what, runs: baseline.runs.length } : null,
    verdicts,
    passed: verdicts.every((v) => v.passed),
    crashed: comparison.cases.some((k) => k.crashed > 0),
  };
}

/**
 * The default baseline of a suite: the newest batch of this suite and mode,
 * stored as "ci", whose runs all passed; null when there is none.
 */
export function findBaseline(
  store: ResultsStore,
  suite: string,
  mode: string,
): { what: string; runs: StoredRun[] } | null {
  const b = store.batches({ kind: "ci", suite, mode }).find((x) => x.allPassed);
  return b ? { what: `batch ${b.batch}`, runs: store.list({ batch: b.batch }) } : null;
}

/** The verdicts as lines for the terminal. */
export function formatVerdicts(r: SuiteReport): string {
  const lines: string[] = [
    `suite ${r.suite}: ${
      r.baseline
        ? `baseline ${r.baseline.what} (${r.baseline.runs} runs)`
        : "no baseline stored yet: relative checks skipped"
    }`,
  ];
  for (const v of r.verdicts) {
    lines.push(`${v.passed ? "ok  " : "FAIL"} ${v.label} (${v.mode} mode)`);
    for (const c of v.checks) {
      if (!c.ok) lines.push(`       FAIL ${c.name}: ${c.detail}`);
    }
    const held = v.checks.filter((c) => c.ok && !c.skipped).map((c) => c.name);
    if (held.length) lines.push(`       held: ${held.join(", ")}`);
    for (const m of v.improvements) {
      lines.push(`       better: ${metric(m.metric).label}: ${m.detail}`);
    }
  }
  lines.push(r.passed ? "PASSED" : "REGRESSED");
  return lines.join("\n");
}
