/**
 * `deno task swarm [--seed S] [--count N] [--from I] [--mode sim|real] [--out DIR] [--dry-run] [--quiet]`
 *
 * Draws `count` random valid scenarios (draws `from` to `from + count - 1`)
 * from one seed (a whole number or a git commit hash; a fresh one when none is
 * given), runs each in simulation (or, with `--mode real`, between real peer
 * processes) and judges the swarm's invariants. Every option is checked
 * before anything runs.
 *
 * It prints the seed first; then a line per run (unless `--quiet`), what
 * broke in each failed run, how many runs each invariant judged, broke and
 * could not judge, and, last, for each failure the one command that replays
 * it. A failed run's scenario is also written to `DIR/NAME.json` (default
 * `.ferry/swarm/`) for `deno task scenario`. `--dry-run` runs nothing: it
 * prints each drawn scenario as one JSON line on stdout, the seed and any
 * other chatter on stderr.
 *
 * Exit codes: 0 every invariant held, 1 one broke or threw, 2 bad options,
 * 3 the swarm itself crashed.
 *
 * @example
 * ```sh
 * deno task swarm --seed "$(git rev-parse HEAD)" --count 1000 --quiet
 * deno task swarm --seed 42 --count 3 --dry-run > scenarios.jsonl
 * ```
 * @module
 */
import { parseCli } from "../util/cli.ts";
import { outputPathProblem } from "../util/output_path.ts";
import { resolveScenario } from "../scenario/validate.ts";
import { runScenario } from "../scenario/runner.ts";
import type { Result, Scenario } from "../contract/types.ts";
import {
  askKey,
  drawScenario,
  formatTally,
  INVARIANTS,
  type InvariantTally,
  judgeRun,
  swarmSeed,
  tally,
} from "./swarm.ts";

/** The swarm's options, checked. */
interface SwarmOptions {
  seed: string;
  count: number;
  from: number;
  mode: "sim" | "real";
  out: string;
  dryRun: boolean;
  quiet: boolean;
}

/**
 * Parses and checks the command line; throws TypeError naming the bad option.
 *
 * @example
 * ```ts
 * import { parseSwarmArgs } from "./swarm_cli.ts";
 * console.log(parseSwarmArgs(["--seed", "DEADBEEF", "--count", "3"]).seed); // "deadbeef"
 * ```
 */
export function parseSwarmArgs(args: string[]): SwarmOptions {
  const { values, positionals } = parseCli(args, {
    seed: { type: "string" },
    count: { type: "string", default: "200" },
    from: { type: "string", default: "0" },
    mode: { type: "string", default: "sim" },
    out: { type: "string", default: ".ferry/swarm" },
    "dry-run": { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
  });
  if (positionals.length) throw new TypeError(`unexpected argument ${positionals[0]}`);
  const seed = swarmSeed(values.seed ?? String(crypto.getRandomValues(new Uint32Array(1))[0]));
  const whole = (flag: string, text: string, min: number) => {
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min) {
      throw new TypeError(
        `--${flag} must be a whole number >= ${min}, got ${JSON.stringify(text)}`,
      );
    }
    return n;
  };
  const count = whole("count", values.count!, 1);
  const from = whole("from", values.from!, 0);
  if (!Number.isSafeInteger(from + count)) {
    throw new TypeError(`--from ${from} with --count ${count} goes past 2^53`);
  }
  const mode = values.mode!;
  if (mode !== "sim" && mode !== "real") {
    throw new TypeError(`--mode must be "sim" or "real", got ${JSON.stringify(mode)}`);
  }
  const out = values.out!;
  const problem = outFolderProblem(out);
  if (problem) throw new TypeError(problem);
  return { seed, count, from, mode, out, dryRun: values["dry-run"]!, quiet: values.quiet! };
}

/**
 * Why scenario files cannot be written under the folder `out` (made when the
 * first failure needs it), or null: the folder, or its nearest existing
 * ancestor, must be a folder that takes a new entry.
 */
function outFolderProblem(out: string): string | null {
  if (out === "") return "--out: an empty path";
  const path = out.replace(/\/+$/, "") || "/";
  let stat: Deno.FileInfo | null = null;
  try {
    stat = Deno.statSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return `--out ${out}: ${(e as Error).message}`;
  }
  if (stat) {
    if (!stat.isDirectory) return `--out ${out}: is not a folder`;
    // The probe names a file the swarm never writes; outputPathProblem removes it.
    return outputPathProblem(`${path}/.swarm-write-check`, "--out");
  }
  // Not there yet: its first missing part must be creatable in the nearest existing folder.
  let missing = path;
  for (;;) {
    const slash = missing.lastIndexOf("/");
    const parent = slash < 0 ? "." : slash === 0 ? "/" : missing.slice(0, slash);
    try {
      Deno.statSync(parent);
      return outputPathProblem(missing, "--out");
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) return `--out ${out}: ${(e as Error).message}`;
      missing = parent;
    }
  }
}

/**
 * Where the swarm runs scenarios and writes lines (tests replace them).
 *
 * @example
 * ```ts
 * import type { SwarmIo } from "./swarm_cli.ts";
 * const lines: string[] = [];
 * const io: SwarmIo = { out: (l) => lines.push(l), err: (l) => lines.push(l) };
 * ```
 */
export interface SwarmIo {
  /** Runs one scenario (default: `runScenario`). */
  run?: (scenario: Scenario) => Promise<Result>;
  /** Writes one line to stdout (default: console.log). */
  out?: (line: string) => void;
  /** Writes one line to stderr (default: console.error). */
  err?: (line: string) => void;
}

/**
 * Runs the swarm CLI; returns the exit code.
 *
 * @example
 * ```ts
 * import { main } from "./swarm_cli.ts";
 * const lines: string[] = [];
 * const code = await main(["--seed", "1", "--count", "2", "--dry-run"], { out: (l) => lines.push(l) });
 * console.log(code, lines.length); // 0 2
 * ```
 */
export async function main(args: string[], io: SwarmIo = {}): Promise<number> {
  const env: Required<SwarmIo> = {
    run: io.run ?? ((s) => runScenario(s)),
    out: io.out ?? ((line) => console.log(line)),
    err: io.err ?? ((line) => console.error(line)),
  };
  let o: SwarmOptions;
  try {
    o = parseSwarmArgs(args);
  } catch (e) {
    env.err(`swarm: ${(e as Error).message}`);
    return 2;
  }
  try {
    return o.dryRun ? dryRun(o, env) : await run(o, env);
  } catch (e) {
    env.err(`swarm: crashed: ${(e as Error)?.stack ?? String(e)}`);
    return 3;
  }
}

/** Prints the drawn scenarios as JSON lines; runs nothing. */
function dryRun(o: SwarmOptions, io: Required<SwarmIo>): number {
  io.err(`swarm seed: ${o.seed}`);
  const asks = new Set<string>();
  for (let i = o.from; i < o.from + o.count; i++) {
    const s = drawScenario(o.seed, i, { mode: o.mode });
    asks.add(askKey(s));
    io.out(JSON.stringify(s));
  }
  io.err(`swarm seed ${o.seed}: ${o.count} scenarios drawn, ${asks.size} distinct`);
  return 0;
}

/** The command that replays draw `i` alone, with the same invariants. */
function replayCommand(o: SwarmOptions, i: number): string {
  return `deno task swarm --seed ${o.seed} --from ${i} --count 1 --mode ${o.mode}`;
}

async function run(o: SwarmOptions, io: Required<SwarmIo>): Promise<number> {
  const log = io.out;
  log(`swarm seed: ${o.seed}`);
  const t0 = performance.now();
  const counts = new Map<string, InvariantTally>();
  const asks = new Set<string>();
  const outcomes: Record<string, number> = {};
  const replays: string[] = [];
  let runMs = 0;
  for (let i = o.from; i < o.from + o.count; i++) {
    const scenario = drawScenario(o.seed, i, { mode: o.mode });
    asks.add(askKey(scenario));
    const { errors } = resolveScenario(scenario);
    let result: Result | null = null;
    let thrown: string | null = null;
    if (errors.length === 0) {
      try {
        result = await io.run(scenario);
      } catch (e) {
        thrown = (e as Error)?.stack ?? String(e);
      }
    }
    const judgements = judgeRun({ scenario, result, errors, thrown });
    tally(counts, judgements);
    const outcome = result?.outcome ?? (thrown ? "threw" : "invalid");
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    if (result) runMs += result.totalTimeMs;
    const line = `#${i} ${scenario.name}: ${outcome}` +
      (result ? `, ${result.totalTimeMs.toFixed(0)} ms${o.mode === "sim" ? " virtual" : ""}` : "") +
      (result?.faults.length ? `, faults ${result.faults.map((f) => f.action).join("+")}` : "");
    const bad = judgements.filter((j) => j.verdict === "broken" || j.verdict === "unknown");
    if (bad.length === 0) {
      if (!o.quiet) log(`ok   ${line}`);
      continue;
    }
    await Deno.mkdir(o.out, { recursive: true });
    const file = `${o.out}/${scenario.name}.json`;
    await Deno.writeTextFile(file, JSON.stringify(scenario, null, 2) + "\n");
    log(`FAIL ${line}`);
    for (const j of bad) {
      log(`  ${j.invariant}${j.verdict === "unknown" ? " (unknown)" : ""}: ${j.detail}`);
    }
    log(`  scenario: ${file}`);
    replays.push(`replay #${i}: ${replayCommand(o, i)}`);
  }
  const wallS = (performance.now() - t0) / 1000;
  log(`invariants over ${o.count} runs:`);
  // Every invariant has a line, even one that never judged a run.
  const ordered = new Map(INVARIANTS.map((inv) => [inv.name, counts.get(inv.name)!]));
  for (const line of formatTally(ordered)) log(`  ${line}`);
  log(
    `swarm seed ${o.seed}: ${
      o.count - replays.length
    }/${o.count} held, ${replays.length} failed; ` +
      `${asks.size} distinct scenarios; outcomes ${JSON.stringify(outcomes)}; ` +
      `${(runMs / 1000).toFixed(1)} s ${o.mode === "sim" ? "virtual" : "of migrations"} ` +
      `in ${wallS.toFixed(1)} s`,
  );
  for (const r of replays) log(r);
  return replays.length ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
