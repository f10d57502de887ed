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
 * `max(pct % of the baseline, abs)` in the worse direction against a
 * baseline (an entry's own values override the suite's; `"off"` drops one);
 * `againstSimBaseline` does the same for runs in sim mode (default:
 * `againstBaseline`), where figures are deterministic and thresholds can be
 * exact. The baseline (see `baseline.ts`) is a file checked in beside the
 * suite (sim mode), stored runs, or none: then the relative checks are
 * skipped, or, when a baseline is required (CI=true), failed.
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
import type { CaseReport, Comparison } from "./comparison.ts";
import { type CompareOptions, runGroup } from "./compare.ts";
import type { Group } from "./group_cases.ts";
import { applySet, baseName, loadBase, loadDataFile, readHeader, ROOT } from "./data_file.ts";
import { type Baseline, baselineKey, scenarioSha256 } from "./baseline.ts";
import { judgeMove, metric, type Move, parseThreshold, type Threshold } from "./metrics.ts";
import type { ResultsStore } from "./store.ts";

/** One scenario of a suite, with its thresholds against the baseline in each mode. */
export interface SuiteEntry {
  /** The scenario's name, which pairs its runs with the baseline (unique within the suite). */
  label: string;
  /** The scenario, with the entry's `set`, `expect` and the suite's seed applied. */
  scenario: Scenario;
  /** Thresholds by the mode the scenario runs in (sim: `againstSimBaseline`, else `againstBaseline`). */
  againstBaseline: Record<"real" | "sim", Record<string, Threshold>>;
}

/** A suite, resolved. */
export interface Suite {
  /** The suite's name (letters, digits, ".", "_" and "-"); the file's base name when not given. */
  name: string;
  /** One line on what the suite covers; "" when not given. */
  description: string;
  /** The file it came from. */
  path: string;
  /** The suite's preferred mode (the CLI's --mode overrides it; absent: each scenario's own). */
  mode?: "real" | "sim";
  /** Runs per scenario, a whole number >= 1 (default 1). */
  repeat: number;
  /** The scenarios, in the order they run and are reported. */
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
  "againstSimBaseline",
  "scenarios",
]);
const ENTRY_KEYS = new Set(["scenario", "set", "expect", "againstBaseline", "againstSimBaseline"]);

/**
 * Loads a suite by name (`ci/NAME.json` or `ci/NAME.ts` exporting `suite`) or file.
 *
 * @example
 * ```ts
 * import { loadSuite } from "./suite.ts";
 * const suite = await loadSuite("quick");
 * console.log(suite.name, suite.entries.length > 0); // "quick" true
 * ```
 */
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
  const suiteSimThresholds = d.againstSimBaseline === undefined
    ? suiteThresholds
    : parseThresholdMap(d.againstSimBaseline, "againstSimBaseline", errors);
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
      const ownSim = entry.againstSimBaseline === undefined
        ? own
        : parseThresholdMap(entry.againstSimBaseline, `${where}.againstSimBaseline`, errors);
      const againstBaseline = {
        real: dropOff({ ...suiteThresholds, ...own }),
        sim: dropOff({ ...suiteSimThresholds, ...ownSim }),
      };
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

function dropOff(m: Record<string, Threshold | null>): Record<string, Threshold> {
  const out: Record<string, Threshold> = {};
  for (const [k, v] of Object.entries(m)) if (v) out[k] = v;
  return out;
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
  /**
   * What was checked: an expectation's name or "harness" (with " (repeat N)" when the scenario
   * ran more than once), or "METRIC vs baseline".
   */
  name: string;
  /** What kind of check: an expectation of the run, a metric against the baseline, or the harness. */
  kind: "expectation" | "baseline" | "harness";
  /** Held, or was skipped. */
  ok: boolean;
  /** Not judged (no baseline, `--no-baseline`, or no run to judge); `detail` says why. */
  skipped?: boolean;
  /** The harness crashed on a run: nothing to judge (an error, not a failure). */
  error?: boolean;
  /** For people: the figures judged, or why it was skipped, or the harness error. */
  detail: string;
}

/** A scenario's verdict. */
export interface Verdict {
  /** The scenario's case label (with " (mode)" when the suite ran in both modes). */
  label: string;
  /** The mode the scenario ran in. */
  mode: "real" | "sim";
  /** Every check of the scenario: its runs' expectations, then its metrics against the baseline. */
  checks: Check[];
  /** Every check held or was skipped. */
  passed: boolean;
  /** Sum of the runs' wall time on the runner, in seconds (null: some run did not report it). */
  seconds: number | null;
  /** Moves against the baseline beyond their threshold in the better direction (informational). */
  improvements: Move[];
}

/** How a suite's checks ended. */
export interface CheckCounts {
  /** All checks. */
  checks: number;
  /** Checks that held (skipped ones not included). */
  held: number;
  /** Checks that did not hold (the harness errors not included). */
  failed: number;
  /** Checks not judged. */
  skipped: number;
  /** Runs the harness crashed on. */
  errors: number;
}

/** A suite's outcome. */
export interface SuiteReport {
  /** The suite's name. */
  suite: string;
  /** The runs, grouped by scenario, with each metric's summary. */
  comparison: Comparison;
  /** The baseline judged against: what it is, where from, how many runs (null: none). */
  baseline: { what: string; source: Baseline["source"]; runs: number } | null;
  /** Why the relative checks were not judged on purpose (`--no-baseline`), else null. */
  noBaselineReason: string | null;
  /** A missing baseline failed the relative checks (CI=true) rather than skipping them. */
  baselineRequired: boolean;
  /** The command that writes the suite's baseline file (null: none given). */
  refresh: string | null;
  /** One verdict per scenario, in the comparison's order. */
  verdicts: Verdict[];
  /** How the checks ended, over every scenario. */
  counts: CheckCounts;
  /** Every scenario's verdict passed. */
  passed: boolean;
  /** The harness crashed on at least one run. */
  crashed: boolean;
}

/** How a suite is judged against its baseline. */
export interface JudgeOptions {
  /** The baseline (null or absent: none was found or looked for). */
  baseline?: Baseline | null;
  /** A missing baseline fails the relative checks (under CI=true) rather than skipping them. */
  requireBaseline?: boolean;
  /** Given when no baseline was looked for on purpose (`--no-baseline`): why. The checks are skipped. */
  noBaselineReason?: string;
  /** What was looked for when no baseline was found ("no file ..., no stored batch ..."). */
  missingReason?: string;
  /** The command that writes the suite's baseline file, for messages. */
  refresh?: string;
}

/** A suite as a comparison group: one case per scenario. */
export function suiteAsGroup(suite: Suite): Group {
  const { entries, ...rest } = suite;
  return { ...rest, cases: entries.map((e) => ({ label: e.label, scenario: e.scenario })) };
}

/**
 * Runs a suite (interleaved, stored as kind "ci") and judges it against the baseline given.
 *
 * @example
 * ```ts
 * import { resolveSuite, runSuite } from "./suite.ts";
 * const suite = await resolveSuite({
 *   name: "tiny",
 *   mode: "sim",
 *   scenarios: [{ scenario: { name: "idle-4m", guest: { ram: "4MiB" } } }],
 * }, { path: "inline" });
 * const report = await runSuite(suite); // no store, no baseline: relative checks skipped
 * console.log(report.passed, report.counts.held); // true 2
 * ```
 */
export async function runSuite(
  suite: Suite,
  options:
    & Omit<CompareOptions, "kind" | "store">
    & JudgeOptions
    & { store?: ResultsStore | null } = {},
): Promise<SuiteReport> {
  const {
    baseline = null,
    requireBaseline,
    noBaselineReason,
    missingReason,
    refresh,
    ...compare
  } = options;
  const comparison = await runGroup(suiteAsGroup(suite), { ...compare, kind: "ci" });
  return judgeSuite(suite, comparison, {
    baseline,
    requireBaseline,
    noBaselineReason,
    missingReason,
    refresh,
  });
}

/**
 * Judges a suite's comparison: every run's expectations (a run with no
 * result is a harness error), and each metric's median against the
 * baseline's. A relative check is skipped when no run finished or when
 * `noBaselineReason` is given; with no baseline, or none for the scenario
 * in its mode, it is skipped, or failed when `requireBaseline`; against a
 * baseline written for another scenario (its SHA-256 differs) it fails.
 */
export function judgeSuite(
  suite: Suite,
  comparison: Comparison,
  options: JudgeOptions = {},
): SuiteReport {
  const baseline = options.baseline ?? null;
  const verdicts: Verdict[] = comparison.cases.map((k) => {
    const entry = suite.entries.find((e) => e.label === k.runs[0].caseLabel)!;
    const checks: Check[] = [];
    for (const r of k.runs) {
      const tag = k.runs.length > 1 ? ` (repeat ${r.repeat})` : "";
      if (!r.result) {
        checks.push({
          name: `harness${tag}`,
          kind: "harness",
          ok: false,
          error: true,
          detail: r.error ?? "the run ended with neither a result nor an error",
        });
        continue;
      }
      for (const e of r.result.expectations) {
        checks.push({ name: `${e.name}${tag}`, kind: "expectation", ok: e.ok, detail: e.detail });
      }
    }
    const improvements: Move[] = [];
    const notJudged = whyNotJudged(entry, k, baseline, options);
    for (const [name, t] of Object.entries(entry.againstBaseline[k.mode])) {
      const label = `${name} vs baseline`;
      if (notJudged) {
        checks.push({
          name: label,
          kind: "baseline",
          ok: !notJudged.fails,
          skipped: !notJudged.fails,
          detail: notJudged.detail,
        });
        continue;
      }
      const figures = baseline!.cases.get(baselineKey(entry.scenario.name, k.mode))!;
      const move = judgeMove(name, figures.metrics[name] ?? null, k.stats[name]?.median ?? null, t);
      if (move.flagged && !move.regression) improvements.push(move);
      checks.push({
        name: label,
        kind: "baseline",
        ok: !move.regression,
        detail: `${move.detail} (baseline ${baseline!.what})`,
      });
    }
    const ms = k.runs.map((r) => r.result?.wall?.runnerMs);
    const seconds = ms.every((v) => typeof v === "number" && Number.isFinite(v))
      ? (ms as number[]).reduce((a, v) => a + v, 0) / 1000
      : null;
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
    baseline: baseline
      ? { what: baseline.what, source: baseline.source, runs: baseline.runs }
      : null,
    noBaselineReason: baseline ? null : options.noBaselineReason ?? null,
    baselineRequired: options.requireBaseline ?? false,
    refresh: options.refresh ?? null,
    verdicts,
    counts: countChecks(verdicts),
    passed: verdicts.every((v) => v.passed),
    crashed: comparison.cases.some((k) => k.crashed > 0),
  };
}

/** Why a scenario's relative checks are not judged, and whether that fails them; null: judge them. */
function whyNotJudged(
  entry: SuiteEntry,
  k: CaseReport,
  baseline: Baseline | null,
  o: JudgeOptions,
): { detail: string; fails: boolean } | null {
  if (!k.runs.some((r) => r.result)) {
    return { detail: "not judged: no run finished (see the harness error)", fails: false };
  }
  if (!baseline && o.noBaselineReason) return { detail: o.noBaselineReason, fails: false };
  const missing = (detail: string) =>
    o.requireBaseline
      ? {
        detail: `${detail}; a missing baseline fails under CI=true${
          o.refresh ? ` (write one: ${o.refresh})` : ""
        }`,
        fails: true,
      }
      : { detail, fails: false };
  if (!baseline) {
    return missing(`no baseline stored yet${o.missingReason ? ` (${o.missingReason})` : ""}`);
  }
  const figures = baseline.cases.get(baselineKey(entry.scenario.name, k.mode));
  if (!figures) {
    return missing(
      `the baseline (${baseline.what}) has no figures for this scenario in ${k.mode} mode`,
    );
  }
  if (figures.scenarioSha256 !== undefined) {
    const ran = k.runs[0];
    const now = scenarioSha256({ ...entry.scenario, seed: ran.seed, mode: ran.mode });
    if (now !== figures.scenarioSha256) {
      return {
        detail: `the scenario is not the one the baseline (${baseline.what}) was written for${
          o.refresh ? `; if the change is meant, refresh it: ${o.refresh}` : ""
        }`,
        fails: true,
      };
    }
  }
  return null;
}

/** Counts checks by how they ended. */
export function countChecks(verdicts: Verdict[]): CheckCounts {
  const all = verdicts.flatMap((v) => v.checks);
  return {
    checks: all.length,
    held: all.filter((c) => c.ok && !c.skipped).length,
    failed: all.filter((c) => !c.ok && !c.error).length,
    skipped: all.filter((c) => c.skipped).length,
    errors: all.filter((c) => c.error).length,
  };
}

/** The verdicts as lines for the terminal. */
export function formatVerdicts(r: SuiteReport): string {
  const lines: string[] = [`suite ${r.suite}: ${baselineLine(r)}`];
  let improved = false;
  for (const v of r.verdicts) {
    lines.push(`${v.passed ? "ok  " : "FAIL"} ${v.label} (${v.mode} mode)`);
    for (const g of byDetail(v.checks.filter((c) => c.error))) {
      lines.push(`       ERROR ${g.names}: ${g.detail.split("\n")[0]}`);
    }
    for (const g of byDetail(v.checks.filter((c) => !c.ok && !c.error))) {
      lines.push(`       FAIL ${g.names}: ${g.detail}`);
    }
    const held = v.checks.filter((c) => c.ok && !c.skipped).map((c) => c.name);
    if (held.length) lines.push(`       held: ${held.join(", ")}`);
    for (const g of byDetail(v.checks.filter((c) => c.skipped))) {
      lines.push(`       skipped ${g.names}: ${g.detail}`);
    }
    for (const m of v.improvements) {
      lines.push(`       better: ${metric(m.metric).label}: ${m.detail}`);
      improved = true;
    }
  }
  if (improved && r.baseline?.source === "file" && r.refresh) {
    lines.push(
      `figures beat the checked-in baseline; refresh it so that they are held: ${r.refresh}`,
    );
  }
  const c = r.counts;
  lines.push(
    `${c.checks} checks: ${c.held} held, ${c.failed} failed, ${c.skipped} skipped, ${c.errors} harness errors`,
  );
  lines.push(r.passed ? "PASSED" : "REGRESSED");
  return lines.join("\n");
}

function baselineLine(r: SuiteReport): string {
  if (r.baseline) {
    return `baseline ${r.baseline.what} (${r.baseline.runs} runs${
      r.baseline.source === "file" ? ", checked in" : ""
    })`;
  }
  if (r.noBaselineReason) return `no baseline (${r.noBaselineReason}): relative checks skipped`;
  return r.baselineRequired
    ? "no baseline stored yet: relative checks FAIL (a baseline is required under CI=true)"
    : "no baseline stored yet: relative checks skipped";
}

/** Checks with the same detail, together: "a, b" and the detail. */
function byDetail(checks: Check[]): { names: string; detail: string }[] {
  const m = new Map<string, string[]>();
  for (const c of checks) m.set(c.detail, [...(m.get(c.detail) ?? []), c.name]);
  return [...m].map(([detail, names]) => ({ names: names.join(", "), detail }));
}
