/**
 * The scenario's seed tree: the scenario seed is the root, and each consumer
 * draws from a stream forked by name, the same names in real and simulated
 * runs (so a scenario's link draws the same in both). Adding a consumer
 * changes no other stream.
 *
 * | name | consumer |
 * | --- | --- |
 * | `fill` | the guest's initial content |
 * | `workload` | the vCPU's workload |
 * | `balloon` | the balloon driver's choices (hostile behaviours) |
 * | `link/attempt-N/jitter` | the link's jitter in attempt N |
 * | `faults/attempt-N/corrupt` | which bits a `corrupt` fault flips in attempt N |
 *
 * @example
 * ```ts
 * import { scenarioSeeds } from "./seeds.ts";
 * const seeds = scenarioSeeds(42);
 * console.log(seeds.guest.fill === scenarioSeeds(42).guest.fill); // true
 * console.log(seeds.jitter(1) !== seeds.jitter(2)); // true
 * ```
 * @module
 */
import { SeedTree } from "../util/seed_tree.ts";
import type { GuestSeeds } from "../guest/replay.ts";

/** Every stream a run draws from, forked from the scenario seed. */
export interface ScenarioSeeds {
  guest: GuestSeeds;
  /** The link's jitter in attempt `n` (1, then 2 after a retry). */
  jitter(n: number): number;
  /** The bits a corrupt fault flips in attempt `n`. */
  corrupt(n: number): number;
}

/** The seed tree of a scenario whose seed is `seed`. */
export function scenarioSeeds(seed: number): ScenarioSeeds {
  const root = SeedTree.from(seed);
  return {
    guest: {
      fill: root.fork("fill").seed(),
      workload: root.fork("workload").seed(),
      balloon: root.fork("balloon").seed(),
    },
    jitter: (n) => root.fork("link").fork(`attempt-${n}`).fork("jitter").seed(),
    corrupt: (n) => root.fork("faults").fork(`attempt-${n}`).fork("corrupt").seed(),
  };
}
