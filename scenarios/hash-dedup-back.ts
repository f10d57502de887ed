/**
 * Checkpoint-assisted migration of a guest that migrated away and comes back:
 * the destination holds a checkpoint of it taken 200 ms into its run; since
 * then a hot set of 5 % of its RAM changed, so most pages go as hashes.
 * @module
 */
import type { Scenario } from "../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "hash-dedup-back",
  description:
    "128 MiB guest back on a host that holds its checkpoint from 200 ms into the run; hashDedup over 1 Gbit",
  seed: 42,
  mode: "real",
  guest: {
    ram: "128MiB",
    fill: "random",
    workload: { kind: "hotset", dirtyRate: "32MiB/s", writeBytes: 256 },
  },
  migration: { capabilities: { hashDedup: true }, parameters: { downtimeLimitMs: 300 } },
  network: { bandwidth: "1Gbit" },
  destination: { checkpoint: { source: "guest", atMs: 200 } },
  warmupMs: 600,
  expect: { outcome: "completed", memoryEqual: true, downtimeMsMax: 300 },
};
