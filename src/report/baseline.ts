/**
 * The figures a CI suite's runs are judged against: either runs stored in
 * the results database (by default the newest earlier batch of the suite
 * that all passed), or a baseline file checked in beside the suite
 * (`ci/baselines/NAME.json`), which a clean clone has.
 *
 * A baseline file holds the figures of one mode, sim (virtual time,
 * deterministic: the same code and seed give the same figures on any
 * machine), one entry per scenario: its seed, the SHA-256 of the scenario as
 * it ran (so a baseline written for another scenario is never compared),
 * the number of runs and the median of every metric (null: not measured).
 * `deno task ci SUITE --update-baseline` writes it; it is not edited by hand.
 *
 * ```json
 * {
 *   "suite": "quick",
 *   "mode": "sim",
 *   "about": "...",
 *   "scenarios": {
 *     "quick-idle": {
 *       "seed": 1,
 *       "scenarioSha256": "9f2c...",
 *       "runs": 1,
 *       "metrics": { "totalTimeMs": 5.79, "downtimeMs": 0.0004, "bytesTotal": 16793959 }
 *     }
 *   }
 * }
 * ```
 *
 * @example
 * ```ts
 * import { baselineKey, scenarioSha256 } from "./baseline.ts";
 * console.log(baselineKey("quick-idle", "sim")); // "quick-idle (sim)"
 * const a = scenarioSha256({ name: "a", seed: 1, guest: { ram: "16MiB", fill: "zero" } });
 * const b = scenarioSha256({ guest: { fill: "zero", ram: "16MiB" }, seed: 1, name: "a" });
 * console.log(a === b, a.length); // true 64
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import type { Scenario } from "../contract/types.ts";
import { METRICS, summarize } from "./metrics.ts";
import type { ResultsStore, StoredRun } from "./store.ts";

/** One scenario's figures in a baseline. */
export interface BaselineCase {
  /** Each metric's median over the baseline's runs of the scenario (null: not measured). */
  metrics: Record<string, number | null>;
  /** Runs the figures come from. */
  runs: number;
  /** SHA-256 of the scenario as it ran (see `scenarioSha256`); baseline files have it. */
  scenarioSha256?: string;
}

/** A baseline: figures by scenario and mode. */
export interface Baseline {
  /** For people: "batch 20250101-120000-1a2b", "ci/baselines/quick.json". */
  what: string;
  /** Runs stored in the results database, or a file checked in beside the suite. */
  source: "database" | "file";
  /** Runs the figures come from, over every scenario. */
  runs: number;
  /** By `baselineKey(scenario, mode)`. */
  cases: Map<string, BaselineCase>;
}

/** The key baselines pair runs by: scenario name and mode. */
export function baselineKey(scenario: string, mode: string): string {
  return `${scenario} (${mode})`;
}

/** A baseline made of stored runs: per scenario and mode, each metric's median. */
export function baselineFromRuns(what: string, runs: StoredRun[]): Baseline {
  const byKey = new Map<string, StoredRun[]>();
  for (const r of runs) {
    const k = baselineKey(r.scenarioName, r.mode);
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  const cases = new Map<string, BaselineCase>();
  for (const [k, rs] of byKey) {
    const metrics: Record<string, number | null> = {};
    for (const m of METRICS) {
      metrics[m.name] = summarize(rs.map((r) => r.metrics[m.name]))?.median ?? null;
    }
    cases.set(k, { metrics, runs: rs.length });
  }
  return { what, source: "database", runs: runs.length, cases };
}

/**
 * The default stored baseline of a suite: the newest batch of this suite and
 * mode, stored as "ci", whose runs all passed; null when there is none.
 */
export function findBaseline(
  store: ResultsStore,
  options: { suite: string; mode: string },
): Baseline | null {
  const { suite, mode } = options;
  const b = store.batches({ kind: "ci", suite, mode }).find((x) => x.allPassed);
  return b ? baselineFromRuns(`batch ${b.batch}`, store.list({ batch: b.batch })) : null;
}

/** JSON with object keys sorted at every level, so equal objects give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    return `{${
      Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
        .join(",")
    }}`;
  }
  return JSON.stringify(v) ?? "null";
}

/**
 * SHA-256 (hex) of what a run's figures depend on: the scenario as it ran,
 * seed and mode included, without its description and expectations (which
 * judge the figures but do not change them). Key order does not matter.
 */
export function scenarioSha256(scenario: Scenario): string {
  const { description: _d, expect: _e, ...rest } = scenario;
  return createHash("sha256").update(canonicalJson(rest)).digest("hex");
}

/** The baseline file of a suite: `baselines/NAME.json` in the suite's folder. */
export function baselineFilePath(suitePath: string, suiteName: string): string {
  const slash = suitePath.lastIndexOf("/");
  const folder = slash < 0 ? "." : suitePath.slice(0, slash);
  return `${folder}/baselines/${suiteName}.json`;
}

/** The one mode baseline files hold. */
export const BASELINE_FILE_MODE = "sim";

/** A baseline file as stored. */
export interface BaselineFile {
  suite: string;
  mode: typeof BASELINE_FILE_MODE;
  about: string;
  scenarios: Record<
    string,
    { seed: number; scenarioSha256: string; runs: number; metrics: Record<string, number | null> }
  >;
}

/**
 * Reads a suite's baseline file; null when there is none. Throws TypeError
 * naming the file and the field when it is not a baseline of `suite`.
 * `options.what` is how reports name it (default: the path).
 */
export async function readBaselineFile(
  path: string,
  suite: string,
  options: { what?: string } = {},
): Promise<Baseline | null> {
  const what = options.what ?? path;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new TypeError(`${path}: cannot be read: ${(e as Error).message}`);
  }
  let d: unknown;
  try {
    d = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  const errors: string[] = [];
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const cases = new Map<string, BaselineCase>();
  let runs = 0;
  if (!isObject(d)) errors.push("must be an object");
  else {
    if (d.suite !== suite) {
      errors.push(`suite: is ${JSON.stringify(d.suite)}, not the suite "${suite}"`);
    }
    if (d.mode !== BASELINE_FILE_MODE) {
      errors.push(`mode: must be "${BASELINE_FILE_MODE}", got ${JSON.stringify(d.mode)}`);
    }
    if (!isObject(d.scenarios)) errors.push("scenarios: must be an object of scenario: figures");
    else {
      for (const [name, e] of Object.entries(d.scenarios)) {
        const where = `scenarios.${name}`;
        if (!isObject(e)) {
          errors.push(`${where}: must be an object`);
          continue;
        }
        if (typeof e.scenarioSha256 !== "string" || !/^[0-9a-f]{64}$/.test(e.scenarioSha256)) {
          errors.push(`${where}.scenarioSha256: must be 64 hex digits`);
        }
        if (!Number.isSafeInteger(e.runs) || (e.runs as number) < 1) {
          errors.push(`${where}.runs: must be a whole number >= 1`);
        }
        if (!isObject(e.metrics)) {
          errors.push(`${where}.metrics: must be an object of metric: number or null`);
          continue;
        }
        const metrics: Record<string, number | null> = {};
        for (const m of METRICS) {
          const v = e.metrics[m.name];
          if (v === null || v === undefined) metrics[m.name] = null;
          else if (typeof v === "number" && Number.isFinite(v)) metrics[m.name] = v;
          else errors.push(`${where}.metrics.${m.name}: must be a number or null`);
        }
        for (const k of Object.keys(e.metrics)) {
          if (!METRICS.some((m) => m.name === k)) {
            errors.push(`${where}.metrics.${k}: unknown metric`);
          }
        }
        cases.set(baselineKey(name, BASELINE_FILE_MODE), {
          metrics,
          runs: e.runs as number,
          scenarioSha256: e.scenarioSha256 as string,
        });
        if (Number.isSafeInteger(e.runs)) runs += e.runs as number;
      }
    }
  }
  if (errors.length) {
    throw new TypeError(`${path}: invalid baseline file:\n  ${errors.join("\n  ")}`);
  }
  return { what, source: "file", runs, cases };
}

/** One scenario's runs, as a baseline file records them. */
export interface BaselineEntry {
  /** The scenario as it ran (seed and mode in). */
  scenario: Scenario & { seed: number };
  /** Each metric's median over the runs. */
  metrics: Record<string, number | null>;
  runs: number;
}

/** The text of a baseline file (stable: the same figures give the same bytes). */
export function renderBaselineFile(
  suite: string,
  entries: BaselineEntry[],
  options: { refresh: string },
): string {
  const file: BaselineFile = {
    suite,
    mode: BASELINE_FILE_MODE,
    about:
      `Figures of the ${suite} suite in sim mode (virtual time, deterministic), which deno task ci judges its sim-mode runs against (thresholds: againstSimBaseline). Written by ${options.refresh}; not edited by hand.`,
    scenarios: {},
  };
  for (const e of entries) {
    const metrics: Record<string, number | null> = {};
    for (const m of METRICS) {
      const v = e.metrics[m.name];
      metrics[m.name] = typeof v === "number" && Number.isFinite(v) ? v : null;
    }
    file.scenarios[e.scenario.name] = {
      seed: e.scenario.seed,
      scenarioSha256: scenarioSha256(e.scenario),
      runs: e.runs,
      metrics,
    };
  }
  return JSON.stringify(file, null, 2) + "\n";
}
