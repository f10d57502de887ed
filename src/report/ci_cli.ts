/**
 * `deno task ci SUITE [--junit FILE] [--mode real|sim] [--repeat N]
 * [--baseline RUN|BATCH|COMMIT | --no-baseline] [--db FILE] [--no-db]
 * [--out DIR] [--quiet]`
 *
 * Runs a CI suite (`ci/SUITE.json` or a file), stores its runs in the
 * results database, judges each scenario's thresholds (absolute ones through
 * the checker, relative ones against the baseline: by default the newest
 * earlier batch of the suite in the same mode whose runs all passed), prints
 * the verdicts and writes JUnit XML with `--junit`.
 *
 * Exit codes: 0 every threshold held, 1 something regressed or failed, 2 the
 * suite or the options are invalid, 3 the harness crashed on some run.
 * @module
 */
import { dirname } from "node:path";
import { parseCli } from "../util/cli.ts";
import { selectRuns } from "./diff.ts";
import { listNames } from "./data_file.ts";
import { parseMode, parseWhole } from "./compare_cli.ts";
import { renderJunit } from "./junit.ts";
import { LiveProgress, stdoutSink } from "./live.ts";
import { renderMarkdown } from "./markdown.ts";
import { writeReports } from "./report_files.ts";
import { DEFAULT_DB, newBatchId, ResultsStore, type StoredRun } from "./store.ts";
import { findBaseline, formatVerdicts, loadSuite, runSuite, SUITE_FOLDERS } from "./suite.ts";

/** Exit codes. */
export const EXIT_PASSED = 0, EXIT_REGRESSED = 1, EXIT_INVALID = 2, EXIT_CRASHED = 3;

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let opts;
  try {
    const { values, positionals } = parseCli(args, {
      junit: { type: "string" },
      mode: { type: "string" },
      repeat: { type: "string" },
      baseline: { type: "string" },
      "no-baseline": { type: "boolean" },
      db: { type: "string" },
      "no-db": { type: "boolean" },
      out: { type: "string" },
      quiet: { type: "boolean" },
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
    opts = {
      which: positionals[0],
      junit: values.junit,
      mode: parseMode(values.mode),
      repeat: parseWhole("repeat", values.repeat, 1),
      baseline: values.baseline,
      noBaseline: values["no-baseline"] ?? false,
      db: values["no-db"] ? null : values.db ?? DEFAULT_DB,
      out: values.out,
      quiet: values.quiet ?? false,
    };
  } catch (e) {
    console.error(`ci: ${(e as Error).message}`);
    return EXIT_INVALID;
  }
  let store: ResultsStore | null = null;
  let report;
  try {
    let suite;
    let baseline: { what: string; runs: StoredRun[] } | null = null;
    try {
      suite = await loadSuite(opts.which);
      if (opts.repeat) suite.repeat = opts.repeat;
      if (opts.db) store = ResultsStore.open(opts.db);
      if (store && opts.baseline !== undefined) {
        const sel = selectRuns(store, opts.baseline);
        baseline = { what: `${sel.kind} ${sel.value.slice(0, 20)}`, runs: sel.runs };
      } else if (store && !opts.noBaseline) {
        baseline = findBaseline(store, suite.name, opts.mode ?? suite.mode ?? "real");
      }
    } catch (e) {
      console.error(`ci: ${(e as Error).message}`);
      return EXIT_INVALID;
    }
    const batch = newBatchId();
    console.log(
      `suite ${suite.name}: ${suite.entries.length} scenarios x ${suite.repeat}, batch ${batch}; baseline: ${
        baseline?.what ?? "none"
      }`,
    );
    const live = new LiveProgress(
      opts.quiet ? { isTerminal: false, write: () => {} } : stdoutSink(),
    );
    try {
      report = await runSuite(suite, {
        mode: opts.mode,
        store,
        batch,
        baseline,
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
  } catch (e) {
    console.error(`ci: the harness crashed: ${(e as Error).stack ?? e}`);
    return EXIT_CRASHED;
  } finally {
    store?.close();
  }
  console.log();
  console.log(renderMarkdown(report.comparison));
  console.log(formatVerdicts(report));
  if (opts.junit) {
    await Deno.mkdir(dirname(opts.junit), { recursive: true });
    await Deno.writeTextFile(opts.junit, renderJunit(report));
    console.log(`wrote ${opts.junit}`);
  }
  if (opts.out) {
    const files = await writeReports(report.comparison, opts.out);
    console.log(`wrote ${files.markdown}, ${files.html}, ${files.json}`);
  }
  if (report.crashed) return EXIT_CRASHED;
  return report.passed ? EXIT_PASSED : EXIT_REGRESSED;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
