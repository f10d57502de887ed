/**
 * `deno task results [filters] [--compare-to BASELINE [--to CURRENT]]`
 *
 * Lists and filters the runs in the results database (default
 * `.ferry/results.db`). Filters: `--batch ID`, `--suite NAME` (group or
 * suite), `--case LABEL`, `--scenario GLOB`, `--mode real|sim`, `--commit
 * PREFIX`, `--kind compare|ci|import|scenario`, `--since DATE`, `--passed`/`--failed`,
 * `--limit N` (default 30). Other views: `--run ID` (one run with its
 * progress series), `--batches`, `--json`, `--out DIR` (Markdown, HTML and
 * JSON reports of the selected runs). `--import FILE` stores a result
 * written by `deno task scenario --json FILE`.
 *
 * `--compare-to BASELINE` (a run id, batch id or commit) pairs the baseline's
 * runs with the current runs (`--to` a run, batch or commit; by default the
 * newest other run of the scenario, the newest other batch of the suite, or
 * the newest other commit; or what the filters select) by scenario and mode,
 * and flags every metric whose median moved beyond its threshold (override
 * with `--threshold metric=25%,10`, repeatable). Exit codes: 0 nothing
 * regressed, 1 a metric regressed, 2 invalid options or nothing to compare.
 *
 * `deno task results merge A.db B.db ... --into OUT.db` merges databases (the
 * shards of a matrix): runs keep their ids, batches their names, duplicates
 * are left out, clashing runs stop the merge with nothing stored (exit 2). It
 * exits 1 when a sharded batch misses a shard or runs, 0 otherwise.
 * @module
 */
import type { Result } from "../contract/types.ts";
import { parseCli } from "../util/cli.ts";
import { outputPathProblem } from "../util/output_path.ts";
import { mergeDatabases } from "./merge.ts";
import { formatBytes } from "../util/size.ts";
import { comparisonFromStore } from "./comparison.ts";
import { DEFAULT_THRESHOLDS, defaultCurrent, diffRuns, type RunDiff, selectRuns } from "./diff.ts";
import { describeMachine, gitCommit, machineLine } from "./machine.ts";
import { metric, NOT_MEASURED, parseThreshold, type Threshold } from "./metrics.ts";
import { renderMarkdown } from "./markdown.ts";
import { writeReports } from "./report_files.ts";
import { DEFAULT_DB, newBatchId, ResultsStore, type RunFilter, type StoredRun } from "./store.ts";
import { parseWhole } from "./compare_cli.ts";
import { formatLive } from "./live.ts";

/** Exit codes. */
export const EXIT_OK = 0, EXIT_REGRESSED = 1, EXIT_INVALID = 2;

const OPTIONS = {
  db: { type: "string" },
  run: { type: "string" },
  batch: { type: "string" },
  suite: { type: "string" },
  case: { type: "string" },
  scenario: { type: "string" },
  mode: { type: "string" },
  commit: { type: "string" },
  kind: { type: "string" },
  since: { type: "string" },
  passed: { type: "boolean" },
  failed: { type: "boolean" },
  limit: { type: "string" },
  json: { type: "boolean" },
  batches: { type: "boolean" },
  out: { type: "string" },
  import: { type: "string", multiple: true },
  "compare-to": { type: "string" },
  to: { type: "string" },
  threshold: { type: "string", multiple: true },
} as const;

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  if (args[0] === "merge") return mergeMain(args.slice(1));
  let values;
  let store: ResultsStore | undefined;
  try {
    const parsed = parseCli(args, OPTIONS);
    values = parsed.values;
    if (parsed.positionals.length) {
      throw new RangeError(`unexpected argument "${parsed.positionals[0]}"`);
    }
    if (values.passed && values.failed) {
      throw new RangeError("--passed and --failed exclude each other");
    }
    if (values.since !== undefined && Number.isNaN(Date.parse(values.since))) {
      throw new RangeError(`--since must be a date or time, got "${values.since}"`);
    }
    const path = values.db ?? DEFAULT_DB;
    if (!values.import && path !== ":memory:") {
      try {
        await Deno.stat(path);
      } catch {
        throw new RangeError(
          `no results database at ${path} (deno task compare or deno task ci makes one)`,
        );
      }
    }
    store = ResultsStore.open(path);
    if (values.import) return await importResults(store, values.import);
    if (values.run !== undefined) {
      return showRun(store, parseWhole("run", values.run, 1)!, values.json);
    }
    if (values.batches) return listBatches(store, values);
    const filter: RunFilter = {
      batch: values.batch,
      suite: values.suite,
      caseLabel: values.case,
      scenario: values.scenario,
      mode: values.mode,
      commit: values.commit,
      kind: values.kind,
      since: values.since,
      passed: values.passed ? true : values.failed ? false : undefined,
    };
    const filtered = Object.values(filter).some((v) => v !== undefined);
    if (values["compare-to"] !== undefined) {
      const thresholds = parseThresholds(values.threshold ?? []);
      return compareTo(store, values["compare-to"], {
        to: values.to,
        filter: filtered ? filter : undefined,
        thresholds,
        json: values.json,
      });
    }
    const limit = parseWhole("limit", values.limit, 1) ?? (values.out ? undefined : 30);
    const runs = store.list({ ...filter, limit }, { withProgress: !!values.out });
    if (values.out) {
      if (!runs.length) throw new RangeError("no runs match; nothing to report");
      const c = comparisonFromStore(runs);
      console.log(renderMarkdown(c));
      const files = await writeReports(c, values.out);
      console.log(`wrote ${files.markdown}, ${files.html}, ${files.json}`);
      return EXIT_OK;
    }
    if (values.json) console.log(JSON.stringify(runs, null, 1));
    else console.log(formatRunTable(runs, store.count()));
    return EXIT_OK;
  } catch (e) {
    console.error(`results: ${(e as Error).message}`);
    return EXIT_INVALID;
  } finally {
    store?.close();
  }
}

/** Parses `--threshold metric=25%,10` options. */
export function parseThresholds(items: string[]): Record<string, Threshold | null> {
  const out: Record<string, Threshold | null> = { ...DEFAULT_THRESHOLDS };
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq < 1) throw new RangeError(`--threshold must be metric=25%,10, got "${item}"`);
    const name = item.slice(0, eq);
    metric(name);
    const text = item.slice(eq + 1);
    try {
      out[name] = text === "off" ? null : parseThreshold(text, name);
    } catch (e) {
      throw new RangeError(`--threshold ${name}: ${(e as Error).message}`);
    }
  }
  return out;
}

function compareTo(
  store: ResultsStore,
  baselineText: string,
  o: {
    to?: string;
    filter?: RunFilter;
    thresholds: Record<string, Threshold | null>;
    json?: boolean;
  },
): number {
  const baseline = selectRuns(store, baselineText);
  const baseIds = new Set(baseline.runs.map((r) => r.id));
  const current =
    (o.to !== undefined
      ? selectRuns(store, o.to).runs
      : o.filter
      ? store.list(o.filter)
      : defaultCurrent(store, baseline)).filter((r) => !baseIds.has(r.id));
  if (!current.length) {
    throw new RangeError(`nothing to compare ${baseline.kind} ${baseline.value} with`);
  }
  const diff = diffRuns(baseline.runs, current, o.thresholds);
  if (!diff.pairs.length) {
    throw new RangeError(
      `the baseline (${
        [...new Set(baseline.runs.map((r) => `${r.scenarioName} ${r.mode}`))].join(", ")
      }) and the current runs (${
        [...new Set(current.map((r) => `${r.scenarioName} ${r.mode}`))].join(", ")
      }) share no scenario in the same mode`,
    );
  }
  if (o.json) console.log(JSON.stringify(diff, null, 1));
  else {console.log(
      formatDiff(diff, `${baseline.kind} ${short(baseline.value)}`, describeSet(current)),
    );}
  return diff.regressed ? EXIT_REGRESSED : EXIT_OK;
}

/** Formats a run diff for people: flagged moves per scenario, regressions marked. */
export function formatDiff(d: RunDiff, baselineName: string, currentName: string): string {
  const lines = [`baseline: ${baselineName}; current: ${currentName}`];
  for (const p of d.pairs) {
    const head = `${p.scenario} (${p.mode} mode): runs ${p.baselineIds.join(",")} -> ${
      p.currentIds.join(",")
    }`;
    if (!p.flagged.length) {
      lines.push(`  ok    ${head}: no metric moved beyond its threshold`);
      continue;
    }
    lines.push(`  ${p.regressions.length ? "REGR " : "moved"} ${head}`);
    for (const m of p.flagged) {
      lines.push(
        `        ${m.regression ? "worse " : "better"} ${metric(m.metric).label}: ${m.detail}`,
      );
    }
  }
  if (d.onlyBaseline.length) lines.push(`  only in the baseline: ${d.onlyBaseline.join(", ")}`);
  if (d.onlyCurrent.length) lines.push(`  only in the current runs: ${d.onlyCurrent.join(", ")}`);
  lines.push(d.regressed ? "REGRESSED" : "no regression");
  return lines.join("\n");
}

function describeSet(runs: StoredRun[]): string {
  const batches = [...new Set(runs.map((r) => r.batch))];
  const commits = [...new Set(runs.map((r) => r.commit.commit?.slice(0, 10) ?? "unknown"))];
  if (runs.length === 1) return `run ${runs[0].id}`;
  if (batches.length === 1) return `batch ${batches[0]}`;
  return `${runs.length} runs of commit ${commits.join(", ")}`;
}

function short(v: string): string {
  return /^[0-9a-f]{40}$/.test(v) ? v.slice(0, 10) : v;
}

/** The run list as an aligned table. */
export function formatRunTable(runs: StoredRun[], total: number): string {
  const header = [
    "id",
    "when",
    "suite/case",
    "mode",
    "seed",
    "commit",
    "outcome",
    "memory",
    "total",
    "downtime",
    "bytes",
  ];
  const rows = runs.map((r) => [
    String(r.id),
    r.createdAt.slice(0, 19).replace("T", " "),
    r.suite ? `${r.suite}/${r.caseLabel ?? r.scenarioName}` : r.scenarioName,
    r.mode,
    String(r.seed),
    (r.commit.commit?.slice(0, 8) ?? "unknown") + (r.commit.dirty ? "+" : ""),
    r.result.passed ? r.result.outcome : `${r.result.outcome} FAIL`,
    r.result.memoryEqual === null ? "unknown" : r.result.memoryEqual ? "equal" : "DIFFER",
    `${r.result.totalTimeMs.toFixed(1)} ms`,
    typeof r.result.downtimeMs === "number" ? `${r.result.downtimeMs.toFixed(1)} ms` : NOT_MEASURED,
    r.result.bytes ? formatBytes(r.result.bytes.total) : NOT_MEASURED,
  ]);
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) =>
    r.map((v, i) => (i >= 8 ? v.padStart(w[i]) : v.padEnd(w[i]))).join("  ").trimEnd();
  const shown =
    `${runs.length} of ${total} runs shown (newest first); mode is the mode each run was measured in`;
  return [fmt(header), ...rows.map(fmt), shown].join("\n");
}

function showRun(store: ResultsStore, id: number, json?: boolean): number {
  const r = store.get(id);
  if (!r) throw new RangeError(`no run has id ${id} in ${store.path}`);
  if (json) {
    console.log(JSON.stringify(r, null, 1));
    return EXIT_OK;
  }
  const lines = [
    `run ${r.id}: ${r.scenarioName} (${r.mode} mode, seed ${r.seed}) at ${r.createdAt}`,
    `batch ${r.batch} (${r.kind}${r.suite ? ` ${r.suite}` : ""}${
      r.caseLabel ? `, case ${r.caseLabel}` : ""
    }, repeat ${r.repeat})`,
    `commit ${r.commit.commit ?? "unknown"}${r.commit.dirty ? " with local changes" : ""}`,
    `machine ${machineLine(r.machine)}`,
    `outcome ${r.result.outcome}${r.result.error ? `: ${r.result.error}` : ""}, ${
      r.result.passed ? "passed" : "FAILED"
    }`,
    "metrics:",
    ...Object.entries(r.metrics).map(([k, v]) =>
      `  ${k}: ${v ?? `${NOT_MEASURED} (not measured)`}`
    ),
    `progress (${r.result.progress.length} records):`,
    ...r.result.progress.map((p) => `  ${formatLive(p)}`),
  ];
  console.log(lines.join("\n"));
  return EXIT_OK;
}

function listBatches(
  store: ResultsStore,
  v: { kind?: string; suite?: string; mode?: string },
): number {
  const rows = store.batches({ kind: v.kind, suite: v.suite, mode: v.mode });
  for (const b of rows) {
    console.log(
      `${b.batch}  ${b.kind.padEnd(7)} ${(b.suite ?? "-").padEnd(16)} ${b.mode.padEnd(4)} ${
        String(b.runs).padStart(3)
      } runs  ${b.commit?.slice(0, 8) ?? "-"}  ${b.allPassed ? "all passed" : "some failed"}  ${
        b.createdAt.slice(0, 19)
      }`,
    );
  }
  if (!rows.length) console.log("no batches");
  return EXIT_OK;
}

async function importResults(store: ResultsStore, files: string[]): Promise<number> {
  const commit = await gitCommit();
  const batch = newBatchId();
  for (const file of files) {
    let result: Result;
    try {
      result = JSON.parse(await Deno.readTextFile(file));
    } catch (e) {
      throw new RangeError(`${file}: not a result JSON file: ${(e as Error).message}`);
    }
    for (
      const k of [
        "scenario",
        "seed",
        "mode",
        "outcome",
        "totalTimeMs",
        "bytes",
        "progress",
      ] as const
    ) {
      if (!(k in result)) throw new RangeError(`${file}: not a result: no field ${k}`);
    }
    const id = store.add(result, {
      batch,
      kind: "import",
      suite: null,
      caseLabel: null,
      repeat: 0,
      scenario: { name: result.scenario, seed: result.seed, mode: result.mode },
      commit,
      machine: describeMachine(),
    });
    console.log(`${file}: stored as run ${id} (batch ${batch})`);
  }
  return EXIT_OK;
}

/**
 * `results merge A.db B.db ... --into OUT.db`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { mergeMain } from "./results_cli.ts";
 * Deno.exit(mergeMain(["shard-1.db", "shard-2.db", "--into", "all.db"]));
 * ```
 */
export function mergeMain(args: string[]): number {
  let into: string, inputs: string[];
  try {
    const { values, positionals } = parseCli(args, { into: { type: "string" } });
    if (values.into === undefined) {
      throw new RangeError("merge needs --into OUT.db: the database to merge into");
    }
    if (!positionals.length) throw new RangeError("merge needs the databases to merge");
    const problem = outputPathProblem(values.into, "--into");
    if (problem) throw new RangeError(problem);
    into = values.into;
    inputs = positionals;
  } catch (e) {
    console.error(`results merge: ${(e as Error).message}`);
    return EXIT_INVALID;
  }
  let m;
  try {
    m = mergeDatabases(inputs, into);
  } catch (e) {
    console.error(`results merge: ${(e as Error).message}`);
    return EXIT_INVALID;
  }
  for (const i of m.inputs) {
    console.log(
      `${i.path}: ${i.runs} runs, ${i.added} added, ${i.duplicates} already there (duplicates)`,
    );
  }
  for (const b of m.sharded) {
    console.log(
      `batch ${b.batch}${b.suite ? ` (${b.suite})` : ""}: shards ${
        b.present.join(", ")
      } of ${b.shards} present`,
    );
  }
  console.log(`${into}: ${m.total} runs (${m.added} added)`);
  for (const line of m.incomplete) console.error(`results merge: incomplete: ${line}`);
  return m.incomplete.length ? EXIT_REGRESSED : EXIT_OK;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
