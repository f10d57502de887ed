/**
 * What one case of a matrix costs besides its migration, the figures the
 * scale estimate in docs/scale.md rests on: a run's wall time against the
 * migration's own (sim and real mode, by guest size), a results-database
 * insert, a merge per run, and the start of a `deno task` process.
 * Prints min, median and max over the repeats; asserts nothing.
 *
 * `deno run -A bench/scale_bench.ts [--repeat N]`
 *
 * @example
 * ```ts ignore
 * await runScaleBench(3);
 * ```
 * @module
 */
import { runScenario } from "../src/scenario/runner.ts";
import type { Scenario } from "../src/contract/types.ts";
import { ResultsStore } from "../src/report/store.ts";
import { mergeDatabases } from "../src/report/merge.ts";
import { fixtureResult } from "../src/report/fixtures_test_util.ts";
import { describeMachine } from "../src/report/machine.ts";

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(x < 10 ? 2 : 0);
  return `${f(s[(s.length - 1) >> 1])} (${f(s[0])}–${f(s[s.length - 1])})`;
}

function idle(ram: string, mode: "real" | "sim"): Scenario {
  return {
    name: `scale-${mode}-${ram}`,
    seed: 1,
    mode,
    guest: { ram, fill: "random", workload: { kind: "idle" } },
    warmupMs: 50,
    settleMs: 20,
    expect: { outcome: "completed", memoryEqual: true },
  };
}

/** Runs every measurement `repeat` times and prints a line each. */
export async function runScaleBench(repeat = 3): Promise<void> {
  const m = describeMachine();
  console.log(`machine: ${JSON.stringify(m)}`);
  console.log(
    "per case, idle guest, warm-up 50 ms, settle 20 ms: wall ms of the run | of which the migration (totalTimeMs) | the rest",
  );
  for (const mode of ["sim", "real"] as const) {
    for (const ram of ["4MiB", "16MiB", "64MiB", "128MiB"]) {
      const wall: number[] = [], mig: number[] = [], rest: number[] = [];
      for (let i = 0; i < repeat; i++) {
        const t0 = performance.now();
        const r = await runScenario(idle(ram, mode));
        const w = performance.now() - t0;
        if (!r.passed) throw new Error(`${mode} ${ram}: did not pass: ${r.error ?? ""}`);
        wall.push(w);
        // In sim mode totalTimeMs is virtual: the migration's wall share is not separable here.
        mig.push(mode === "real" ? r.totalTimeMs : NaN);
        rest.push(mode === "real" ? w - r.totalTimeMs : NaN);
      }
      console.log(
        `  ${mode} ${ram.padStart(6)}: run ${stats(wall)} | migration ${
          mode === "real" ? stats(mig) : "virtual"
        } | rest ${mode === "real" ? stats(rest) : "—"}`,
      );
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "ferry-scale-" });
  try {
    const n = 2000;
    const meta = (i: number, batch: string) => ({
      batch,
      kind: "compare" as const,
      suite: "scale",
      caseLabel: `case-${i}`,
      repeat: 0,
      scenario: { name: `scale.case-${i}` },
      commit: { commit: "0".repeat(40), dirty: false },
      machine: m,
    });
    const adds: number[] = [];
    for (let k = 0; k < repeat; k++) {
      const store = ResultsStore.open(`${dir}/a${k}.db`);
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        store.add(fixtureResult({ scenario: `scale.case-${i}` }), meta(i, `b${k}`), k * n + i + 1);
      }
      adds.push((performance.now() - t0) / n);
      store.close();
    }
    console.log(
      `results database: one insert (a result with 4 progress records) ${stats(adds)} ms`,
    );
    const merges: number[] = [];
    for (let k = 0; k < repeat; k++) {
      const t0 = performance.now();
      mergeDatabases([0, 1, 2].slice(0, repeat).map((j) => `${dir}/a${j}.db`), `${dir}/m${k}.db`);
      merges.push((performance.now() - t0) / (n * Math.min(3, repeat)));
    }
    console.log(
      `results merge: per run merged ${stats(merges)} ms (${n * Math.min(3, repeat)} runs a merge)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const starts: number[] = [];
  for (let k = 0; k < repeat; k++) {
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../src/report/compare_cli.ts", import.meta.url).pathname,
        "--list",
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!out.success) throw new Error("compare --list failed");
    starts.push(performance.now() - t0);
  }
  console.log(`process start: deno run src/report/compare_cli.ts --list ${stats(starts)} ms`);
  console.log(`load after: ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--repeat");
  await runScaleBench(i >= 0 ? Number(Deno.args[i + 1]) : 3);
}
