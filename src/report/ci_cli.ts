/**
 * `deno task ci SUITE [--junit FILE] [--mode real|sim] [--repeat N]
 * [--baseline RUN|BATCH|COMMIT | --no-baseline] [--db FILE] [--no-db]
 * [--out DIR] [--shard I/N --batch NAME] [--quiet]`, and
 * `deno task ci SUITE --update-baseline`.
 *
 * Runs a CI suite (`ci/SUITE.json` or a file), stores its runs in the
 * results database, judges each scenario's thresholds (absolute ones through
 * the checker, relative ones against the baseline), prints the verdicts and
 * writes JUnit XML with `--junit`. The baseline is, in this order: the run,
 * batch or commit `--baseline` names; in sim mode, the suite's checked-in
 * baseline file (`baselines/SUITE.json` beside the suite); the newest
 * earlier batch of the suite in the same mode whose runs all passed. With
 * none, the relative checks are skipped, or failed when the environment has
 * CI=true (CI must judge them); `--no-baseline` skips them on purpose.
 *
 * `--shard I/N` runs and judges only the scenarios whose label hashes to
 * shard I of N, stored under the batch `--batch` names (the same for every
 * shard); `deno task results merge` joins the shards' databases.
 *
 * `--update-baseline` runs the suite in sim mode and, when every run held
 * its expectations, writes the baseline file and prints what changed.
 *
 * Every output path (`--junit`, `--db`, `--out`, the baseline file) is
 * checked before anything runs. Exit codes: 0 every threshold held, 1
 * something regressed or failed (or a baseline was not written because a
 * run failed), 2 the suite or the options are invalid, 3 the harness
 * crashed.
 *
 * @example
 * ```ts ignore
 * import { main } from "./ci_cli.ts";
 * Deno.exit(await main(["quick", "--mode", "sim", "--junit", ".ferry/junit.xml"]));
 * ```
 * @module
 */
import { relative } from "node:path";
import { parseCli } from "../util/cli.ts";
import { outputPathProblem, pathExists } from "../util/output_path.ts";
import {
  type Baseline,
  BASELINE_FILE_MODE,
  type BaselineEntry,
  baselineFilePath,
  baselineFromRuns,
  baselineKey,
  findBaseline,
  readBaselineFile,
  renderBaselineFile,
} from "./baseline.ts";
import { selectRuns } from "./diff.ts";
import { listNames } from "./data_file.ts";
import { parseMode, parseShardOptions, parseWhole, shardLine } from "./compare_cli.ts";
import type { Shard } from "../util/shard.ts";
import { renderJunit, renderJunitCrash } from "./junit.ts";
import { LiveProgress, stdoutSink } from "./live.ts";
import { renderMarkdown } from "./markdown.ts";
import { formatValue, metric, METRICS } from "./metrics.ts";
import { outputFolderProblem } from "./output_folder.ts";
import { writeReports } from "./report_files.ts";
import { DEFAULT_DB, newBatchId, ResultsStore } from "./store.ts";
import {
  formatVerdicts,
  type JudgeOptions,
  loadSuite,
  runSuite,
  type Suite,
  SUITE_FOLDERS,
  type SuiteReport,
} from "./suite.ts";

/** Exit codes. */
export const EXIT_PASSED = 0, EXIT_REGRESSED = 1, EXIT_INVALID = 2, EXIT_CRASHED = 3;

/** Whether the environment says this is CI (`CI=true` or `CI=1`): then a missing baseline fails. */
export function isCi(value: string | undefined): boolean {
  return value !== undefined && ["true", "1"].includes(value.trim().toLowerCase());
}

interface Options {
  which: string;
  junit?: string;
  mode?: "real" | "sim";
  repeat?: number;
  baseline?: string;
  noBaseline: boolean;
  update: boolean;
  db: string | null;
  out?: string;
  quiet: boolean;
  shard?: Shard;
  batch?: string;
}

async function parseOptions(args: string[]): Promise<Options> {
  const { values, positionals } = parseCli(args, {
    junit: { type: "string" },
    mode: { type: "string" },
    repeat: { type: "string" },
    baseline: { type: "string" },
    "no-baseline": { type: "boolean" },
    "update-baseline": { type: "boolean" },
    db: { type: "string" },
    "no-db": { type: "boolean" },
    out: { type: "string" },
    quiet: { type: "boolean" },
    shard: { type: "string" },
    batch: { type: "string" },
  });
  if (positionals.length !== 1) {
    throw new RangeError(
      `give one suite (known: ${
        (await listNames(SUITE_FOLDERS)).join(", ")
      }), got ${positionals.length}`,
    );
  }
  if (values.baseline !== undefined && values["no-baseline"]) {
    throw new RangeError("--baseline and --no-baseline exclude each other");
  }
  if (values.baseline !== undefined && values["no-db"]) {
    throw new RangeError("--baseline needs the results database");
  }
  if (values.db !== undefined && values["no-db"]) {
    throw new RangeError("--db and --no-db exclude each other");
  }
  const mode = parseMode(values.mode);
  const update = values["update-baseline"] ?? false;
  if (update) {
    for (const flag of ["baseline", "no-baseline", "junit", "shard"] as const) {
      if (values[flag] !== undefined) {
        throw new RangeError(`--update-baseline and --${flag} exclude each other`);
      }
    }
    if (mode !== undefined && mode !== BASELINE_FILE_MODE) {
      throw new RangeError(
        `--update-baseline writes ${BASELINE_FILE_MODE}-mode figures only (real-mode figures depend on the machine), got --mode ${mode}`,
      );
    }
  }
  return {
    which: positionals[0],
    junit: values.junit,
    mode: update ? BASELINE_FILE_MODE : mode,
    repeat: parseWhole("repeat", values.repeat, 1),
    baseline: values.baseline,
    noBaseline: values["no-baseline"] ?? false,
    update,
    db: values["no-db"] ? null : values.db ?? DEFAULT_DB,
    out: values.out,
    quiet: values.quiet ?? false,
    ...parseShardOptions(values, !values["no-db"]),
  };
}

/** Every output path's problem, checked before anything runs (the default database's folder is made). */
function outputProblems(o: Options): string[] {
  const problems: (string | null)[] = [];
  // The default database's folder first: `--junit .ferry/junit.xml` works on a fresh clone.
  if (o.db === DEFAULT_DB) {
    Deno.mkdirSync(".ferry", { recursive: true });
    problems.push(outputPathProblem(o.db, "the results database"));
  } else if (o.db !== null && o.db !== ":memory:") problems.push(outputPathProblem(o.db, "--db"));
  if (o.junit !== undefined) problems.push(outputPathProblem(o.junit, "--junit"));
  if (o.out !== undefined) problems.push(outputFolderProblem(o.out, "--out"));
  return problems.filter((p): p is string => p !== null);
}

/** A path for people: relative to the working folder when inside it. */
function shown(path: string): string {
  const rel = relative(Deno.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let opts: Options;
  try {
    opts = await parseOptions(args);
    const problems = outputProblems(opts);
    if (problems.length) throw new RangeError(problems[0]);
  } catch (e) {
    console.error(`ci: ${(e as Error).message}`);
    return EXIT_INVALID;
  }
  let suite: Suite;
  try {
    suite = await loadSuite(opts.which);
    if (opts.repeat) suite.repeat = opts.repeat;
  } catch (e) {
    console.error(`ci: ${(e as Error).message}`);
    return EXIT_INVALID;
  }
  const file = baselineFilePath(suite.path, suite.name);
  const refresh = `deno task ci ${opts.which} --update-baseline`;
  if (opts.update) {
    const folder = file.slice(0, file.lastIndexOf("/"));
    const problem = outputPathProblem(
      pathExists(folder) ? file : folder,
      "--update-baseline",
    );
    if (problem) {
      console.error(`ci: ${problem}`);
      return EXIT_INVALID;
    }
  }
  const mode = opts.mode ?? suite.mode ?? "real";
  const requireBaseline = !opts.update && isCi(Deno.env.get("CI"));
  let store: ResultsStore | null = null;
  try {
    let baseline: Baseline | null = null;
    // The baseline file holds sim-mode figures: only there does refreshing it help.
    const judge: JudgeOptions = {
      requireBaseline,
      refresh: mode === BASELINE_FILE_MODE ? refresh : undefined,
    };
    try {
      if (opts.db) store = ResultsStore.open(opts.db);
      if (opts.update) {
        baseline = await readBaselineFile(file, suite.name, { what: shown(file) }).catch((e) => {
          console.log(`the old baseline is not used: ${(e as Error).message}`);
          return null;
        });
      } else if (store && opts.baseline !== undefined) {
        const sel = selectRuns(store, opts.baseline);
        baseline = baselineFromRuns(`${sel.kind} ${sel.value.slice(0, 20)}`, sel.runs);
      } else if (opts.noBaseline) {
        judge.noBaselineReason = "--no-baseline: relative checks not judged";
      } else {
        if (mode === BASELINE_FILE_MODE) {
          baseline = await readBaselineFile(file, suite.name, { what: shown(file) });
        }
        if (!baseline && store) baseline = findBaseline(store, { suite: suite.name, mode });
        if (!baseline) {
          judge.missingReason = [
            ...(mode === BASELINE_FILE_MODE ? [`no file ${shown(file)}`] : []),
            store
              ? `no batch of ${suite.name} in ${mode} mode that all passed in ${shown(store.path)}`
              : "--no-db",
            ...(mode === BASELINE_FILE_MODE ? [] : [
              "real-mode figures depend on the machine: a run without CI=true stores one, --no-baseline skips the relative checks",
            ]),
          ].join("; ");
        }
      }
    } catch (e) {
      console.error(`ci: ${(e as Error).message}`);
      return EXIT_INVALID;
    }
    const batch = opts.batch ?? newBatchId();
    console.log(
      `suite ${suite.name}: ${suite.entries.length} scenarios x ${suite.repeat}, ${mode} mode, batch ${batch}; baseline: ${
        baseline?.what ?? "none"
      }${opts.update ? ` (to be replaced: ${shown(file)})` : ""}`,
    );
    if (opts.shard) console.log(shardLine(suite.entries.map((e) => e.label), opts.shard));
    const live = new LiveProgress(
      opts.quiet ? { isTerminal: false, write: () => {} } : stdoutSink(),
    );
    let report: SuiteReport;
    try {
      report = await runSuite(suite, {
        ...judge,
        baseline,
        mode: opts.mode,
        store,
        batch,
        shard: opts.shard,
        onStart: (job, i, n) =>
          live.start(
            `${job.label}${suite.repeat > 1 ? ` #${job.repeat + 1}` : ""} (${job.mode})`,
            i,
            n,
          ),
        onLog: (_job, line) => live.log(line),
        onProgress: (_job, p) => live.progress(p),
        onFinish: (_job, run) => live.finish(run.result, run.error),
      });
    } catch (e) {
      live.close();
      if (e instanceof TypeError || e instanceof RangeError) {
        console.error(`ci: ${e.message}`);
        return EXIT_INVALID;
      }
      throw e;
    }
    console.log();
    console.log(renderMarkdown(report.comparison));
    if (opts.update) return await updateBaseline(suite, report, file, refresh);
    console.log(formatVerdicts(report));
    if (opts.junit) {
      await Deno.writeTextFile(opts.junit, renderJunit(report));
      console.log(`wrote ${opts.junit}`);
    }
    if (opts.out) {
      const files = await writeReports(report.comparison, opts.out);
      console.log(`wrote ${files.markdown}, ${files.html}, ${files.json}`);
    }
    if (report.crashed) return EXIT_CRASHED;
    return report.passed ? EXIT_PASSED : EXIT_REGRESSED;
  } catch (e) {
    console.error(`ci: the harness crashed: ${(e as Error).stack ?? e}`);
    if (opts.junit) {
      try {
        await Deno.writeTextFile(opts.junit, renderJunitCrash(suite.name, e));
        console.error(`wrote ${opts.junit}`);
      } catch (w) {
        console.error(`ci: ${opts.junit}: not written: ${(w as Error).message}`);
      }
    }
    return EXIT_CRASHED;
  } finally {
    store?.close();
  }
}

/** Writes the baseline file when every run held its expectations; prints what changed. */
async function updateBaseline(
  suite: Suite,
  report: SuiteReport,
  file: string,
  refresh: string,
): Promise<number> {
  const problems = report.verdicts.flatMap((v) =>
    v.checks.filter((c) => !c.ok && c.kind !== "baseline").map((c) =>
      `${v.label}: ${c.name}: ${c.detail.split("\n")[0]}`
    )
  );
  if (problems.length) {
    console.log(`baseline not written: every run must hold its expectations first:`);
    for (const p of problems) console.log(`  ${p}`);
    return report.crashed ? EXIT_CRASHED : EXIT_REGRESSED;
  }
  const old = await readBaselineFile(file, suite.name).catch(() => null);
  const entries: BaselineEntry[] = [];
  const changes: string[] = [];
  for (const k of report.comparison.cases) {
    const entry = suite.entries.find((e) => e.label === k.runs[0].caseLabel)!;
    const metrics: Record<string, number | null> = {};
    for (const m of METRICS) metrics[m.name] = k.stats[m.name]?.median ?? null;
    entries.push({
      scenario: { ...entry.scenario, seed: k.runs[0].seed, mode: k.mode },
      metrics,
      runs: k.runs.length,
    });
    const before = old?.cases.get(baselineKey(entry.scenario.name, k.mode));
    if (!before) {
      changes.push(`  ${entry.scenario.name}: new`);
      continue;
    }
    for (const m of METRICS) {
      const a = before.metrics[m.name], b = metrics[m.name];
      if (a !== b) {
        changes.push(
          `  ${entry.scenario.name}: ${metric(m.name).label} ${formatValue(a, m.unit)} -> ${
            formatValue(b, m.unit)
          }${
            a !== null && b !== null
              ? ` (${b - a > 0 ? "+" : ""}${Number((b - a).toPrecision(6))})`
              : ""
          }`,
        );
      }
    }
  }
  const text = renderBaselineFile(suite.name, entries, { refresh });
  const folder = file.slice(0, file.lastIndexOf("/"));
  await Deno.mkdir(folder, { recursive: true });
  const previous = await Deno.readTextFile(file).catch(() => null);
  if (previous === text) {
    console.log(`baseline ${shown(file)}: unchanged (${entries.length} scenarios, sim mode)`);
    return EXIT_PASSED;
  }
  await Deno.writeTextFile(file, text);
  console.log(
    `baseline ${shown(file)}: written (${entries.length} scenarios, sim mode)${
      changes.length ? "; changed:" : ""
    }`,
  );
  for (const c of changes) console.log(c);
  return EXIT_PASSED;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
