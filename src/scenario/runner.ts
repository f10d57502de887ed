/**
 * Runs a scenario: validates it, builds the world its mode asks for (peer
 * processes over real sockets, or the simulator on a virtual clock) and hands
 * both to the one harness, which owns the run.
 *
 * @example
 * ```ts ignore
 * import { runScenario } from "./runner.ts";
 * const result = await runScenario({ name: "idle", guest: { ram: "64MiB", workload: { kind: "idle" } } });
 * console.log(result.outcome, result.memoryEqual);
 * ```
 * @module
 */
import type { ProgressRecord, Result, Scenario } from "../contract/types.ts";
import { type HarnessOptions, runHarness } from "./harness.ts";
import { RealWorld } from "./real_world.ts";
import { SimWorld } from "./sim_world.ts";
import { type ResolvedScenario, resolveScenario } from "./validate.ts";

export { KernelShapingUnavailable } from "./real_world.ts";

/** Runner options. */
export interface RunOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Overrides the scenario's mode. */
  mode?: "real" | "sim";
  /** Receives one line per notable event (phases, faults, peers' errors). */
  log?: (line: string) => void;
  /** Receives each progress record as it arrives. */
  onProgress?: (record: ProgressRecord) => void;
}

/**
 * Runs one scenario and returns its result. Throws TypeError (with every
 * validation error in the message) when the scenario is invalid.
 */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<Result> {
  const { resolved, errors } = resolveScenario(scenario, {
    seed: options.seed,
    mode: options.mode,
  });
  if (!resolved) {
    throw new TypeError(`Scenario is invalid:\n  ${errors.join("\n  ")}`, { cause: errors });
  }
  return await runResolved(resolved, options);
}

/** Runs a scenario that is already resolved, in its mode. */
export async function runResolved(
  s: ResolvedScenario,
  options: HarnessOptions = {},
): Promise<Result> {
  const world = s.mode === "sim" ? new SimWorld(s) : await RealWorld.create(s, options);
  return await runHarness(s, world, options);
}

/**
 * Runs a resolved scenario in simulation, whatever its mode says.
 *
 * @example
 * ```ts ignore
 * const result = await runSimulation(resolved);
 * console.log(result.totalTimeMs);
 * ```
 */
export async function runSimulation(
  s: ResolvedScenario,
  options: HarnessOptions = {},
): Promise<Result> {
  return await runHarness({ ...s, mode: "sim" }, new SimWorld({ ...s, mode: "sim" }), options);
}
