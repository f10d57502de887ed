/**
 * `deno task scenario [NAME|FILE] [--seed N] [--mode real|sim] [--json FILE] [--db FILE | --no-db]`
 *
 * Prints the seed first, progress while it runs, then a summary. Exit codes:
 * 0 every expectation held, 1 an expectation failed, 2 the scenario or its
 * options are invalid, 3 the harness itself crashed. A scenario this machine
 * cannot run (kernel shaping without root or without a qdisc) prints
 * `SKIPPED: reason` and exits 0. A failure ends with the
 * one command that replays it. Every run is stored in the results database
 * (`.ferry/results.db` unless `--db` or `--no-db` says otherwise; see
 * `deno task results`); a store that fails is reported, never fatal.
 * @module
 */
import { parseCli } from "../util/cli.ts";
import { loadScenario } from "../scenario/load.ts";
import { KernelShapingUnavailable, runScenario } from "../scenario/runner.ts";
import { resolveScenario } from "../scenario/validate.ts";
import { formatProgress, formatSummary } from "../scenario/summary.ts";
import type { Result, Scenario } from "../contract/types.ts";
import { DEFAULT_DB, newBatchId, ResultsStore } from "./store.ts";
import { describeMachine, gitCommit } from "./machine.ts";

/** Exit codes. */
export const EXIT_PASSED = 0, EXIT_FAILED = 1, EXIT_INVALID = 2, EXIT_CRASHED = 3;

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let values: {
    seed?: string;
    mode?: string;
    json?: string;
    quiet?: boolean;
    db?: string;
    "no-db"?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseCli(args, {
      seed: { type: "string" },
      mode: { type: "string" },
      json: { type: "string" },
      quiet: { type: "boolean" },
      db: { type: "string" },
      "no-db": { type: "boolean" },
    }));
  } catch (e) {
    console.error(`scenario: ${(e as Error).message}`);
    return EXIT_INVALID;
  }
  if (positionals.length > 1) {
    console.error(`scenario: one scenario at a time, got ${positionals.join(" ")}`);
    return EXIT_INVALID;
  }
  const which = positionals[0] ?? "default";
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) {
    console.error(`scenario: --seed must be a whole number >= 0, got "${values.seed}"`);
    return EXIT_INVALID;
  }
  if (values.mode !== undefined && values.mode !== "real" && values.mode !== "sim") {
    console.error(`scenario: --mode must be real or sim, got "${values.mode}"`);
    return EXIT_INVALID;
  }
  const mode = values.mode as "real" | "sim" | undefined;
  let scenario;
  try {
    scenario = await loadScenario(which);
  } catch (e) {
    console.error(`scenario: ${(e as Error).message}`);
    return EXIT_INVALID;
  }
  const { resolved, errors } = resolveScenario(scenario, { seed, mode });
  if (!resolved) {
    console.error(`scenario: ${which} is invalid:\n  ${errors.join("\n  ")}`);
    return EXIT_INVALID;
  }
  console.log(`seed: ${resolved.seed}`);
  const replay = `deno task scenario ${which} --seed ${resolved.seed} --mode ${resolved.mode}`;
  const tty = Deno.stdout.isTerminal();
  let result;
  try {
    result = await runScenario(scenario, {
      seed,
      mode,
      log: values.quiet ? undefined : (line) => !tty && console.log(line),
      onProgress: values.quiet ? undefined : (p) => {
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
      if (values.json) {
        await Deno.writeTextFile(
          values.json,
          JSON.stringify({ scenario: resolved.name, skipped: e.message }, null, 2) + "\n",
        );
      }
      return EXIT_PASSED;
    }
    console.error(`scenario: the harness crashed: ${(e as Error).stack ?? e}`);
    console.error(`replay: ${replay}`);
    return EXIT_CRASHED;
  }
  if (tty && !values.quiet) console.log();
  console.log(formatSummary(result));
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(result, null, 2) + "\n");
  if (!values["no-db"]) await storeRun(scenario, result, values.db ?? DEFAULT_DB);
  if (!result.passed) {
    console.log(`replay: ${replay}`);
    return EXIT_FAILED;
  }
  return EXIT_PASSED;
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

if (import.meta.main) Deno.exit(await main(Deno.args));
