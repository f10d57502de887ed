/**
 * Runs a comparison group: every case, repeated, with the same seed,
 * workload and network except for what the case changes. The runs are
 * interleaved (repeat 0 runs every case once, then repeat 1, ...; each repeat
 * starts one case further on), so that a burst of machine noise does not fall
 * on one case's block of repeats. Every run is stored as it finishes.
 *
 * @example
 * ```ts ignore
 * import { loadGroup } from "./group.ts";
 * import { runGroup } from "./compare.ts";
 * const c = await runGroup(await loadGroup("dirty-rate"), { repeat: 3 });
 * console.log(c.cases.map((k) => [k.label, k.stats.totalTimeMs?.median]));
 * ```
 * @module
 */
import { type RunOptions, runScenario } from "../scenario/runner.ts";
import type { ProgressRecord, Result, Scenario } from "../contract/types.ts";
import { resolveScenario } from "../scenario/validate.ts";
import { buildComparison, type Comparison, type RunRecord } from "./comparison.ts";
import { type Group, validateCases } from "./group_cases.ts";
import { type CommitInfo, describeMachine, gitCommit } from "./machine.ts";
import { newBatchId, type ResultsStore } from "./store.ts";
import { inShard, type Shard } from "../util/shard.ts";

/** One run to make. */
export interface Job {
  /** Index of the case in the group's `cases`, from 0. */
  caseIndex: number;
  /** The case's label. */
  label: string;
  /** Which repeat of the case this is, from 0. */
  repeat: number;
  /** The seed the run uses: the case's resolved seed, plus `repeat` when `varySeed` is set. */
  seed: number;
  /** The mode the run uses: `options.mode`, else the group's, else the scenario's (default "real"). */
  mode: "real" | "sim";
  /** The case's scenario, as given (the run passes `seed` and `mode` as overrides). */
  scenario: Scenario;
}

/** How to run a group. */
export interface CompareOptions {
  /** Repeats per case (default: the group's). */
  repeat?: number;
  /** Overrides every case's mode (passed to the runner as `mode`). */
  mode?: "real" | "sim";
  /** Overrides the seed every case shares. */
  seed?: number;
  /** Repeat r runs with seed + r (every case still shares each repeat's seed). */
  varySeed?: boolean;
  /** Where runs are stored (none: not stored). */
  store?: ResultsStore | null;
  /** Batch id (default: a new one). */
  batch?: string;
  /**
   * Runs only the cases whose label hashes to this shard (`--shard I/N`),
   * in the whole plan's order; each stored run's id is its place in the
   * whole plan (after the largest id the database held), so that the shards'
   * databases merge without clashes and equal one unsharded run's.
   */
  shard?: Shard;
  /** What the runs are stored as (default "compare"). */
  kind?: "compare" | "ci";
  /** Runs one scenario (default: runScenario). */
  run?: (scenario: Scenario, options: RunOptions) => Promise<Result>;
  /** Called before each run, with its place in the schedule (`index` from 0 of `total` runs). */
  onStart?: (job: Job, index: number, total: number) => void;
  /** Called with each progress record a run reports. */
  onProgress?: (job: Job, record: ProgressRecord) => void;
  /** Called with each log line a run writes. */
  onLog?: (job: Job, line: string) => void;
  /** Called after each run, with its record (a result, or the harness error). */
  onFinish?: (job: Job, run: RunRecord) => void;
}

/** The order runs are made in: round-robin over repeats, each repeat rotated by one case. */
export function schedule(cases: number, repeats: number): { caseIndex: number; repeat: number }[] {
  const out: { caseIndex: number; repeat: number }[] = [];
  for (let r = 0; r < repeats; r++) {
    for (let i = 0; i < cases; i++) out.push({ caseIndex: (i + r) % cases, repeat: r });
  }
  return out;
}

/**
 * Runs a group and returns the comparison. Throws TypeError listing every
 * invalid case (prefixed with its label) before running anything.
 *
 * @example
 * ```ts
 * import { runGroup } from "./compare.ts";
 * const c = await runGroup({
 *   name: "ram",
 *   description: "an idle guest of two sizes",
 *   path: "inline",
 *   repeat: 1,
 *   cases: [
 *     { label: "4MiB", scenario: { name: "ram.4MiB", guest: { ram: "4MiB" } } },
 *     { label: "8MiB", scenario: { name: "ram.8MiB", guest: { ram: "8MiB" } } },
 *   ],
 * }, { mode: "sim" });
 * console.log(c.cases.map((k) => k.passed)); // [1, 1]
 * ```
 */
export async function runGroup(group: Group, options: CompareOptions = {}): Promise<Comparison> {
  const repeat = options.repeat ?? group.repeat;
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new RangeError(`Repeat must be a whole number >= 1, got ${repeat}`);
  }
  const mode = options.mode ?? group.mode;
  const errors = validateCases(group.cases, { mode, seed: options.seed });
  if (errors.length) {
    throw new TypeError(
      `Group ${group.name} (${group.path}) is invalid:\n  ${errors.join("\n  ")}`,
      {
        cause: errors,
      },
    );
  }
  const resolved = group.cases.map((c) =>
    resolveScenario(c.scenario, { mode, seed: options.seed }).resolved!
  );
  const batch = options.batch ?? newBatchId();
  const commit: CommitInfo = await gitCommit();
  const run = options.run ?? runScenario;
  const whole = schedule(group.cases.length, repeat).map((p, index) => ({ ...p, index }));
  const shard = options.shard;
  const plan = whole.filter((p) => inShard(group.cases[p.caseIndex].label, shard));
  const idBase = shard && options.store ? options.store.maxId() : 0;
  if (shard && options.store) {
    options.store.addShard({
      batch,
      shard: shard.index,
      shards: shard.count,
      suite: group.name,
      planned: plan.length,
    });
  }
  const records: RunRecord[] = [];
  for (const [index, { caseIndex, repeat: r, index: wholeIndex }] of plan.entries()) {
    const c = group.cases[caseIndex];
    const job: Job = {
      caseIndex,
      label: c.label,
      repeat: r,
      seed: resolved[caseIndex].seed + (options.varySeed ? r : 0),
      mode: resolved[caseIndex].mode,
      scenario: c.scenario,
    };
    options.onStart?.(job, index, plan.length);
    const machine = describeMachine();
    let record: RunRecord;
    try {
      const result = await run(c.scenario, {
        seed: job.seed,
        mode: job.mode,
        log: options.onLog && ((line) => options.onLog!(job, line)),
        onProgress: options.onProgress && ((p) => options.onProgress!(job, p)),
      });
      const id = options.store?.add(result, {
        batch,
        kind: options.kind ?? "compare",
        suite: group.name,
        caseLabel: c.label,
        repeat: r,
        scenario: { ...c.scenario, seed: job.seed, mode: job.mode },
        commit,
        machine,
      }, shard ? idBase + wholeIndex + 1 : undefined) ?? null;
      record = { id, caseLabel: c.label, repeat: r, seed: job.seed, mode: job.mode, result };
    } catch (e) {
      record = {
        id: null,
        caseLabel: c.label,
        repeat: r,
        seed: job.seed,
        mode: job.mode,
        result: null,
        error: (e as Error).stack ?? String(e),
      };
    }
    records.push(record);
    options.onFinish?.(job, record);
  }
  return buildComparison(
    {
      title: group.name,
      description: group.description,
      batch: options.store ? batch : null,
      repeat,
      interleaved: true,
      commit,
      machine: describeMachine(),
      createdAt: new Date().toISOString(),
    },
    records,
    group.cases.map((c) => c.label),
  );
}
