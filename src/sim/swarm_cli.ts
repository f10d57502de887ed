/**
 * `deno task swarm [--seed S] [--count N] [--out DIR]`
 *
 * Draws `count` random valid scenarios from one seed (a whole number or a
 * git commit hash; a fresh one when none is given), runs each in simulation
 * and checks the swarm's invariants. Prints the seed first. For every
 * failure it writes the generated scenario to `DIR` (default
 * `.ferry/swarm/`) and prints the one command that replays it. Exit codes:
 * 0 every run held, 1 an invariant broke, 2 bad options.
 *
 * @module
 */
import { parseCli } from "../util/cli.ts";
import { resolveScenario } from "../scenario/validate.ts";
import { runSimulation } from "../scenario/runner.ts";
import type { Result } from "../contract/types.ts";
import { checkInvariants, drawScenario, swarmSeed, type Violation } from "./swarm.ts";

/** Runs the swarm CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let seed: number, count: number, out: string, quiet: boolean;
  try {
    const { values, positionals } = parseCli(args, {
      seed: { type: "string" },
      count: { type: "string", default: "200" },
      out: { type: "string", default: ".ferry/swarm" },
      quiet: { type: "boolean", default: false },
    });
    if (positionals.length) throw new TypeError(`unexpected argument ${positionals[0]}`);
    seed = swarmSeed(values.seed ?? String(crypto.getRandomValues(new Uint32Array(1))[0]));
    count = Number(values.count);
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new TypeError(`--count must be a whole number >= 1, got "${values.count}"`);
    }
    out = values.out!;
    quiet = values.quiet!;
  } catch (e) {
    console.error(`swarm: ${(e as Error).message}`);
    return 2;
  }
  console.log(`swarm seed: ${seed}`);
  const t0 = performance.now();
  let failures = 0;
  let virtualMs = 0;
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const scenario = drawScenario(seed, i);
    let violations: Violation[];
    let result: Result | null = null;
    const { resolved, errors } = resolveScenario(scenario);
    if (!resolved) {
      violations = [{ invariant: "valid scenario", detail: errors.join("; ") }];
    } else {
      try {
        result = await runSimulation(resolved);
        violations = checkInvariants(scenario, result);
      } catch (e) {
        violations = [{ invariant: "no crash", detail: (e as Error).stack ?? String(e) }];
      }
    }
    if (result) {
      virtualMs += result.totalTimeMs;
      outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
    }
    const line = `#${i} ${scenario.name}: ${result?.outcome ?? "unknown"}` +
      (result ? `, ${result.totalTimeMs.toFixed(0)} ms virtual` : "") +
      (result?.faults.length ? `, faults ${result.faults.map((f) => f.action).join("+")}` : "");
    if (violations.length === 0) {
      if (!quiet) console.log(`ok   ${line}`);
      continue;
    }
    failures++;
    await Deno.mkdir(out, { recursive: true });
    const file = `${out}/${scenario.name}.json`;
    await Deno.writeTextFile(file, JSON.stringify(scenario, null, 2) + "\n");
    console.log(`FAIL ${line}`);
    for (const v of violations) console.log(`  ${v.invariant}: ${v.detail}`);
    console.log(`  replay: deno task scenario ${file} --seed ${scenario.seed} --mode sim`);
  }
  const wallS = (performance.now() - t0) / 1000;
  console.log(
    `swarm seed ${seed}: ${count - failures}/${count} held, ${failures} failed; ` +
      `outcomes ${JSON.stringify(outcomes)}; ${(virtualMs / 1000).toFixed(1)} s virtual ` +
      `in ${wallS.toFixed(1)} s`,
  );
  if (failures) console.log(`replay the swarm: deno task swarm --seed ${seed} --count ${count}`);
  return failures ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
