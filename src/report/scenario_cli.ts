/**
 * `deno task scenario [NAME|FILE] [--seed N] [--mode real|sim] [--json FILE] [--db FILE | --no-db] [--quiet]`
 *
 * Every option, output path and the scenario itself are checked before
 * anything runs; a problem is one line on standard error (every scenario
 * error is listed, one a line) and exit code 2. A parameter given for a
 * capability that is off is accepted and reported as one `warning:` line on
 * standard error. Then it prints the seed first, progress while it runs, and a
 * summary. Exit codes: 0 every expectation held, 1 an expectation failed, 2
 * the scenario or its options are invalid, 3 the harness itself crashed. A
 * scenario this machine cannot run (kernel shaping without root or without a
 * qdisc) prints `SKIPPED: reason` and exits 0. A failure ends with the one
 * command that replays it. Every run is stored in the results database
 * (`.ferry/results.db` unless `--db` or `--no-db` says otherwise; see
 * `deno task results`); a store that fails is reported, never fatal. The
 * contract is documented in docs/scenario.md.
 *
 * @example
 * ```ts ignore
 * import { main } from "./scenario_cli.ts";
 * const code = await main(["default", "--mode", "sim", "--no-db"]);
 * ```
 * @module
 */
import { resolve } from "node:path";
import { cliErrorLine, parseCli } from "../util/cli.ts";
import { outputPathProblem } from "../util/output_path.ts";
import { loadScenario } from "../scenario/load.ts";
import { KernelShapingUnavailable, runScenario } from "../scenario/runner.ts";
import { resolveScenario } from "../scenario/validate.ts";
import { formatProgress, formatSummary } from "../scenario/summary.ts";
import type { Result, Scenario } from "../contract/types.ts";
import { DEFAULT_DB, newBatchId, ResultsStore } from "./store.ts";
import { describeMachine, gitCommit } from "./machine.ts";

/**
 * Exit codes: 0 every expectation held, 1 an expectation failed, 2 the
 * scenario or its options are invalid, 3 the harness itself crashed.
 *
 * @example
 * ```ts ignore
 * import { EXIT_INVALID, main } from "./scenario_cli.ts";
 * console.log((await main(["--mode", "fast"])) === EXIT_INVALID); // true
 * ```
 */
export const EXIT_PASSED = 0, EXIT_FAILED = 1, EXIT_INVALID = 2, EXIT_CRASHED = 3;

const OPTIONS = {
  seed: { type: "string" },
  mode: { type: "string" },
  json: { type: "string" },
  quiet: { type: "boolean" },
  db: { type: "string" },
  "no-db": { type: "boolean" },
} as const;

/** The command line, checked: what to run and where its output goes. */
interface Options {
  which: string;
  seed?: number;
  mode?: "real" | "sim";
  json?: string;
  /** The results database, or null with `--no-db`. */
  db: string | null;
  quiet: boolean;
}

/**
 * Checks the command line and every output path before anything runs:
 * the options, or the one line that says what is wrong.
 */
function checkOptions(args: string[]): Options | string {
  let parsed;
  try {
    parsed = parseCli(args, OPTIONS);
  } catch (e) {
    return cliErrorLine(e, OPTIONS);
  }
  const { values, positionals, tokens } = parsed;
  const seen = new Set<string>();
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    if (seen.has(t.name)) return `--${t.name} is given more than once`;
    seen.add(t.name);
  }
  if (positionals.length > 1) return `one scenario at a time, got ${positionals.join(" ")}`;
  let seed: number | undefined;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!/^[0-9]+$/.test(values.seed) || !Number.isSafeInteger(seed)) {
      return `--seed must be a whole number >= 0, got "${values.seed}"`;
    }
  }
  if (values.mode !== undefined && values.mode !== "real" && values.mode !== "sim") {
    return `--mode must be real or sim, got "${values.mode}"`;
  }
  if (values.db !== undefined && values["no-db"]) {
    return "--db and --no-db contradict each other: give one";
  }
  const db = values["no-db"] ? null : values.db ?? DEFAULT_DB;
  if (values.json !== undefined) {
    const problem = outputPathProblem(values.json, "--json");
    if (problem) return problem;
  }
  if (db !== null) {
    // The results store creates its folder (`.ferry/` on a first run).
    const problem = outputPathProblem(db, "--db", { createsFolders: true });
    if (problem) return problem;
    if (values.json !== undefined && resolve(values.json) === resolve(db)) {
      return `--json and --db name the same file, ${values.json}`;
    }
  }
  return {
    which: positionals[0] ?? "default",
    seed,
    mode: values.mode as "real" | "sim" | undefined,
    json: values.json,
    db,
    quiet: values.quiet ?? false,
  };
}

/**
 * Runs the CLI; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./scenario_cli.ts";
 * Deno.exit(await main(["default", "--mode", "sim", "--no-db"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const options = checkOptions(args);
  if (typeof options === "string") {
    console.error(`scenario: ${options}`);
    return EXIT_INVALID;
  }
  const { which, seed, mode } = options;
  let scenario;
  try {
    scenario = await loadScenario(which);
  } catch (e) {
    console.error(`scenario: ${(e as Error).message}`);
    return EXIT_INVALID;
  }
  const { resolved, errors, warnings } = resolveScenario(scenario, { seed, mode });
  if (!resolved) {
    console.error(`scenario: ${which} is invalid:\n  ${errors.join("\n  ")}`);
    return EXIT_INVALID;
  }
  for (const w of warnings) console.error(`warning: ${w}`);
  console.log(`seed: ${resolved.seed}`);
  const replay = `deno task scenario ${which} --seed ${resolved.seed} --mode ${resolved.mode}`;
  const tty = Deno.stdout.isTerminal();
  let result;
  try {
    result = await runScenario(scenario, {
      seed,
      mode,
      log: options.quiet ? undefined : (line) => !tty && console.log(line),
      onProgress: options.quiet ? undefined : (p) => {
        const line = formatProgress(p);
        if (tty) Deno.stdout.writeSync(new TextEncoder().encode(`\r\x1b[K${line}`));
        else console.log(line);
      },
    });
  } catch (e) {
    if (tty) console.log();
    if (e instanceof KernelShapingUnavailable) {
      // Not a failure of the scenario: this machine cannot run it. Say so, pass.
      console.log(`SKIPPED: ${e.message}`);
      if (options.json) {
        const written = await writeJson(options.json, {
          scenario: resolved.name,
          skipped: e.message,
        });
        if (!written) return EXIT_CRASHED;
      }
      return EXIT_PASSED;
    }
    console.error(`scenario: the harness crashed: ${(e as Error).stack ?? e}`);
    console.error(`replay: ${replay}`);
    return EXIT_CRASHED;
  }
  if (tty && !options.quiet) console.log();
  console.log(formatSummary(result));
  // Nothing is lost: a result that cannot be written to --json is still stored.
  const written = options.json === undefined || await writeJson(options.json, result);
  if (options.db !== null) await storeRun(scenario, result, options.db);
  if (!written) return EXIT_CRASHED;
  if (!result.passed) {
    console.log(`replay: ${replay}`);
    return EXIT_FAILED;
  }
  return EXIT_PASSED;
}

/** Writes `value` as JSON to `path`; a failure is one line on stderr and false. */
async function writeJson(path: string, value: unknown): Promise<boolean> {
  try {
    await Deno.writeTextFile(path, JSON.stringify(value, null, 2) + "\n");
    return true;
  } catch (e) {
    console.error(
      `scenario: the result was not written to --json ${path}: ${(e as Error).message}`,
    );
    return false;
  }
}

/** Stores one run in the results database; a failure is reported on stderr, never fatal. */
async function storeRun(scenario: Scenario, result: Result, path: string): Promise<void> {
  try {
    const store = ResultsStore.open(path);
    try {
      const id = store.add(result, {
        batch: newBatchId(),
        kind: "scenario",
        suite: null,
        caseLabel: null,
        repeat: 0,
        scenario,
        commit: await gitCommit(),
        machine: describeMachine(),
      });
      console.log(`stored as run ${id} in ${path}`);
    } finally {
      store.close();
    }
  } catch (e) {
    console.error(`scenario: the run was not stored in ${path}: ${(e as Error).message}`);
  }
}

if (import.meta.main) {
  // Whatever escapes, now or from a task left running, is the harness's fault,
  // never the scenario's: exit 3, never 1 (an expectation failed).
  const crashed = (what: unknown) => {
    console.error(`scenario: the harness crashed: ${(what as Error)?.stack ?? what}`);
    Deno.exit(EXIT_CRASHED);
  };
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    crashed(e.reason);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    crashed(e.error);
  });
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    crashed(e);
    code = EXIT_CRASHED;
  }
  Deno.exit(code);
}
