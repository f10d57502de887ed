/**
 * Simulation speed: a bandwidth-bound scenario (a 1 GiB random guest with a
 * light hot-set workload over a simulated 1 Gbit/s link) against its virtual
 * duration. Prints the ratio for the whole run and for the migration alone:
 * booting (backing two GiB of fresh memory, filling one) costs more than the
 * migration on this machine (docs/simulation.md, "Speed").
 *
 * @example
 * ```ts ignore
 * await runSimBench();
 * ```
 * @module
 */
import { runScenario } from "../src/scenario/runner.ts";
import type { Scenario } from "../src/contract/types.ts";

/** The bench scenario. */
export const SIM_BENCH_SCENARIO: Scenario = {
  name: "sim-1gib-1gbit",
  seed: 1,
  mode: "sim",
  guest: {
    ram: "1GiB",
    fill: "random",
    workload: { kind: "hotset", dirtyRate: "32MiB/s", writeBytes: 256 },
  },
  network: { bandwidth: "1Gbit", latencyMs: 1 },
  expect: { outcome: "completed", memoryEqual: true },
};

/** Runs the bench and prints one table. */
export async function runSimBench(): Promise<void> {
  const r = await runScenario(SIM_BENCH_SCENARIO);
  const wall = r.wall as { runnerMs: number; bootMs: number; simEvents: number };
  const virtualMs = (SIM_BENCH_SCENARIO.warmupMs ?? 200) + r.totalTimeMs + 100;
  const migrationWallMs = wall.runnerMs - wall.bootMs;
  console.log(
    [
      `outcome ${r.outcome}, memory ${r.memoryEqual ? "equal" : "NOT equal"}, ${r.rounds} rounds`,
      `virtual: ${(r.totalTimeMs / 1000).toFixed(2)} s migration, ${
        (virtualMs / 1000).toFixed(2)
      } s with warm-up and settle`,
      `wall: ${(wall.runnerMs / 1000).toFixed(2)} s in all, boot ${
        (wall.bootMs / 1000).toFixed(2)
      } s, migration and checks ${(migrationWallMs / 1000).toFixed(2)} s, ${wall.simEvents} events`,
      `speed-up: ${(virtualMs / wall.runnerMs).toFixed(1)}x whole run, ${
        (r.totalTimeMs / migrationWallMs).toFixed(1)
      }x migration (goal: 10x)`,
    ].join("\n"),
  );
}

if (import.meta.main) await runSimBench();
