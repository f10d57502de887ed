/**
 * A partition shorter than the peer timeout in the middle of the first dirty
 * round: nothing moves for 800 ms, nothing is lost, the migration completes.
 *
 *     deno task scenario scenarios/faults/partition-ridden-out.ts
 * @module
 */
import type { Scenario } from "../../src/contract/types.ts";

/** The scenario. */
export const scenario: Scenario = {
  name: "partition-ridden-out",
  seed: 42,
  mode: "real",
  guest: { ram: "64MiB", workload: { kind: "counter", dirtyRate: "16MiB/s" } },
  // Never converges (limit 0): three dirty rounds, then a forced stop-and-copy.
  migration: {
    parameters: { downtimeLimitMs: 0, maxRounds: 3, maxBandwidth: "256MiB/s", peerTimeoutMs: 2000 },
  },
  faults: [{ at: { phase: "round", round: 1 }, action: "partition", durationMs: 800 }],
  expect: { outcome: "completed", memoryEqual: true },
};
