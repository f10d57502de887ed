/**
 * `deno task fuzz [--count N] [--seed S] [--deadline-ms MS] [--rss-budget-mib M] [--keep DIR] [--quiet]`:
 * feeds N mutated streams (default 100 000) to the destination's loader in
 * process, seeded by S (a whole number; default 1), and prints as its last line
 * `fuzz: N streams, F failures, ...`. Exits 0 when nothing failed, 1 when
 * something did, 2 when the options are invalid. `--keep DIR` writes each
 * failing input (`failure-*.bin`) and each input with a new signature
 * (`signature-*.bin`) there, with a `.txt` beside it saying why.
 *
 * @example
 * ```sh
 * deno task fuzz --count 20000 --seed 7
 * ```
 * @module
 */
import { cliErrorLine, parseCli } from "../util/cli.ts";
import { runFuzz, summaryLine } from "./fuzzer.ts";
import type { Mutant } from "./mutators.ts";

const FLAGS = {
  count: { type: "string", default: "100000" },
  seed: { type: "string", default: "1" },
  "deadline-ms": { type: "string", default: "2000" },
  "rss-budget-mib": { type: "string", default: "1024" },
  keep: { type: "string" },
  quiet: { type: "boolean", default: false },
} as const;

/** Parsed options. */
export interface FuzzCliOptions {
  count: number;
  seed: number;
  deadlineMs: number;
  rssBudgetBytes: number;
  keep: string | null;
  quiet: boolean;
}

/**
 * Parses the command line; throws TypeError naming what is wrong.
 *
 * @example
 * ```ts
 * import { parseFuzzArgs } from "./fuzz_cli.ts";
 * console.log(parseFuzzArgs(["--count", "5", "--seed", "9"]).count); // 5
 * ```
 */
export function parseFuzzArgs(args: string[]): FuzzCliOptions {
  const { values, positionals } = parseCli(args, FLAGS);
  if (positionals.length) throw new TypeError(`Unexpected argument ${positionals[0]}`);
  const whole = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) {
      throw new TypeError(`--${name} must be a whole number >= ${min}, got ${v}`);
    }
    return n;
  };
  return {
    count: whole("count", values.count, 1),
    seed: whole("seed", values.seed, 0),
    deadlineMs: whole("deadline-ms", values["deadline-ms"], 1),
    rssBudgetBytes: whole("rss-budget-mib", values["rss-budget-mib"], 1) * 2 ** 20,
    keep: values.keep ?? null,
    quiet: values.quiet,
  };
}

async function main(args: string[]): Promise<number> {
  let o: FuzzCliOptions;
  try {
    o = parseFuzzArgs(args);
  } catch (e) {
    console.error(`fuzz: ${cliErrorLine(e, FLAGS)}`);
    return 2;
  }
  if (o.keep) await Deno.mkdir(o.keep, { recursive: true });
  let kept = 0;
  const keep = o.keep
    ? (kind: string, m: Mutant, what: string) => {
      const name = `${o.keep}/${kind}-${String(++kept).padStart(6, "0")}`;
      Deno.writeFileSync(`${name}.bin`, m.bytes);
      Deno.writeTextFileSync(`${name}.txt`, `${m.how}${m.forged ? " (forged)" : ""}\n${what}\n`);
    }
    : undefined;
  console.log(`fuzz: seed ${o.seed}, ${o.count} streams`);
  const report = await runFuzz({
    count: o.count,
    seed: o.seed,
    deadlineMs: o.deadlineMs,
    rssBudgetBytes: o.rssBudgetBytes,
    keep,
    log: o.quiet ? undefined : (line) => console.log(line),
  });
  for (const f of report.failures.slice(0, 20)) {
    console.log(`failure: stream ${f.index} (${f.how}): ${f.what}`);
  }
  console.log(summaryLine(report));
  return report.failures.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
