/**
 * `deno task compare GROUP [--repeat N] [--mode real|sim] [--seed N]
 * [--vary-seed] [--shard I/N --batch NAME] [--out DIR] [--db FILE] [--no-db]
 * [--quiet]`
 *
 * Runs a comparison group (a name in `scenarios/groups/` or `ci/`, or a
 * group file), shows a live line per run, stores every run in the results
 * database, prints the Markdown table and writes `report.md`, `report.html`
 * and `report.json` into the output folder (default
 * `.ferry/reports/GROUP-BATCH`). `deno task compare --list` lists the groups.
 * `--shard I/N` runs only the cases whose label hashes to shard I of N, into
 * the batch `--batch` names (every shard of a matrix gives the same one);
 * `deno task results merge` joins the shards' databases.
 *
 * The output paths (`--db`, `--out`: an existing folder, or a new one in an
 * existing folder) are checked before anything runs. Exit codes: 0 every
 * run held its expectations, 1 some run did not, 2 the group or the options
 * are invalid, 3 the harness crashed on some run.
 * @module
 */
import { parseCli } from "../util/cli.ts";
import { inShard, parseShard, type Shard } from "../util/shard.ts";
import { outputPathProblem } from "../util/output_path.ts";
import { runGroup } from "./compare.ts";
import { listNames } from "./data_file.ts";
import { GROUP_FOLDERS, loadGroup } from "./group.ts";
import { validateCases } from "./group_cases.ts";
import { LiveProgress, stdoutSink } from "./live.ts";
import { renderMarkdown } from "./markdown.ts";
import { outputFolderProblem } from "./output_folder.ts";
import { writeReports } from "./report_files.ts";
import { DEFAULT_DB, newBatchId, ResultsStore } from "./store.ts";

/** Exit codes. */
export const EXIT_PASSED = 0, EXIT_FAILED = 1, EXIT_INVALID = 2, EXIT_CRASHED = 3;

/** Parses `--mode`; throws RangeError with the CLI's wording. */
export function parseMode(v: string | undefined): "real" | "sim" | undefined {
  if (v !== undefined && v !== "real" && v !== "sim") {
    throw new RangeError(`--mode must be real or sim, got "${v}"`);
  }
  return v as "real" | "sim" | undefined;
}

/** Parses a whole-number option; throws RangeError naming it. */
export function parseWhole(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new RangeError(`--${name} must be a whole number >= ${min}, got "${v}"`);
  }
  return n;
}

/**
 * Parses `--shard I/N` and `--batch NAME` (a shard needs a batch name, shared
 * by every shard of the matrix, and a results database); throws RangeError
 * with the CLI's wording.
 *
 * @example
 * ```ts
 * import { parseShardOptions } from "./compare_cli.ts";
 * const o = parseShardOptions({ shard: "2/3", batch: "nightly-7" }, true);
 * console.log(o.shard?.index, o.batch); // 2 nightly-7
 * ```
 */
export function parseShardOptions(
  v: { shard?: string; batch?: string },
  stored: boolean,
): { shard?: Shard; batch?: string } {
  if (v.batch !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(v.batch)) {
    throw new RangeError(
      `--batch must be 1 to 100 letters, digits, ".", "_" or "-", got "${v.batch}"`,
    );
  }
  if (v.shard === undefined) return { batch: v.batch };
  const shard = parseShard(v.shard);
  if (v.batch === undefined) {
    throw new RangeError(
      `--shard ${v.shard} needs --batch NAME: every shard of a matrix stores its runs under the same batch, so that the merged database reports them as one`,
    );
  }
  if (!stored) throw new RangeError("--shard stores its runs for merging: it excludes --no-db");
  return { shard, batch: v.batch };
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let opts;
  try {
    const { values, positionals } = parseCli(args, {
      repeat: { type: "string" },
      mode: { type: "string" },
      seed: { type: "string" },
      "vary-seed": { type: "boolean" },
      out: { type: "string" },
      db: { type: "string" },
      "no-db": { type: "boolean" },
      quiet: { type: "boolean" },
      list: { type: "boolean" },
      shard: { type: "string" },
      batch: { type: "string" },
    });
    if (values.list) {
      console.log((await listNames(GROUP_FOLDERS)).join("\n"));
      return EXIT_PASSED;
    }
    if (positionals.length !== 1) {
      throw new RangeError(
        `give one group (known: ${
          (await listNames(GROUP_FOLDERS)).join(", ")
        }), got ${positionals.length}`,
      );
    }
    if (values.db !== undefined && values["no-db"]) {
      throw new RangeError("--db and --no-db exclude each other");
    }
    opts = {
      which: positionals[0],
      repeat: parseWhole("repeat", values.repeat, 1),
      mode: parseMode(values.mode),
      seed: parseWhole("seed", values.seed, 0),
      varySeed: values["vary-seed"] ?? false,
      out: values.out,
      db: values["no-db"] ? null : values.db ?? DEFAULT_DB,
      quiet: values.quiet ?? false,
      ...parseShardOptions(values, !values["no-db"]),
    };
    // Every output path, before anything runs (the default database's folder is made).
    if (opts.db === DEFAULT_DB) Deno.mkdirSync(".ferry", { recursive: true });
    const problems = [
      opts.db === DEFAULT_DB
        ? outputPathProblem(opts.db, "the results database")
        : opts.db !== null && opts.db !== ":memory:"
        ? outputPathProblem(opts.db, "--db")
        : null,
      opts.out !== undefined ? outputFolderProblem(opts.out, "--out") : null,
    ].filter((p) => p !== null);
    if (problems.length) throw new RangeError(problems[0]!);
  } catch (e) {
    console.error(`compare: ${(e as Error).message}`);
    return EXIT_INVALID;
  }
  let group;
  try {
    group = await loadGroup(opts.which);
  } catch (e) {
    console.error(`compare: ${(e as Error).message}`);
    return EXIT_INVALID;
  }
  const repeat = opts.repeat ?? group.repeat;
  const mode = opts.mode ?? group.mode;
  const invalid = validateCases(group.cases, { mode, seed: opts.seed });
  if (invalid.length) {
    console.error(
      `compare: group ${group.name} (${group.path}) is invalid:\n  ${invalid.join("\n  ")}`,
    );
    return EXIT_INVALID;
  }
  if (mode === "sim" && repeat > 1 && !opts.varySeed) {
    console.log(
      "note: sim mode is deterministic; repeats of one seed give the same numbers (--vary-seed steps the seed)",
    );
  }
  let store: ResultsStore | null = null;
  try {
    if (opts.db) store = ResultsStore.open(opts.db);
  } catch (e) {
    console.error(`compare: ${(e as Error).message}`);
    return EXIT_INVALID;
  }
  const batch = opts.batch ?? newBatchId();
  const live = new LiveProgress(opts.quiet ? { isTerminal: false, write: () => {} } : stdoutSink());
  let comparison;
  try {
    console.log(
      `group ${group.name}: ${group.cases.length} cases x ${repeat} repeats${
        mode ? `, ${mode} mode` : ""
      }${opts.varySeed ? ", seed stepped per repeat" : ""}, batch ${batch}` +
        (store ? `, stored in ${store.path}` : ""),
    );
    if (opts.shard) console.log(shardLine(group.cases.map((c) => c.label), opts.shard));
    comparison = await runGroup(group, {
      repeat,
      mode,
      seed: opts.seed,
      varySeed: opts.varySeed,
      store,
      batch,
      shard: opts.shard,
      onStart: (job, i, n) =>
        live.start(
          `${job.label} #${job.repeat + 1} (${job.mode}${
            opts.varySeed ? `, seed ${job.seed}` : ""
          })`,
          i,
          n,
        ),
      onLog: (_job, line) => live.log(line),
      onProgress: (_job, p) => live.progress(p),
      onFinish: (_job, run) => live.finish(run.result, run.error),
    });
  } catch (e) {
    live.close();
    const invalid = e instanceof TypeError || e instanceof RangeError;
    console.error(
      `compare: ${invalid ? (e as Error).message : `the harness crashed: ${(e as Error).stack}`}`,
    );
    return invalid ? EXIT_INVALID : EXIT_CRASHED;
  } finally {
    store?.close();
  }
  console.log();
  console.log(renderMarkdown(comparison));
  const dir = opts.out ?? `.ferry/reports/${group.name}-${batch}`;
  const files = await writeReports(comparison, dir);
  console.log(`wrote ${files.markdown}, ${files.html}, ${files.json}`);
  const crashed = comparison.cases.some((k) => k.crashed > 0);
  for (const k of comparison.cases) {
    for (const r of k.runs) if (r.error) console.error(`${k.label} repeat ${r.repeat}: ${r.error}`);
  }
  if (crashed) return EXIT_CRASHED;
  return comparison.cases.every((k) => k.passed === k.runs.length) ? EXIT_PASSED : EXIT_FAILED;
}

/**
 * Says which of the labels a shard runs ("shard 2/4 runs 3 of 10 cases: a, b, c").
 *
 * @example
 * ```ts
 * import { shardLine } from "./compare_cli.ts";
 * console.log(shardLine(["a"], { index: 1, count: 1 })); // shard 1/1 runs 1 of 1 cases: a
 * ```
 */
export function shardLine(labels: string[], shard: Shard): string {
  const mine = labels.filter((l) => inShard(l, shard));
  return `shard ${shard.index}/${shard.count} runs ${mine.length} of ${labels.length} cases${
    mine.length ? `: ${mine.join(", ")}` : " (none hashes to it)"
  }`;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
